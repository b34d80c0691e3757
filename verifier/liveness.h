// Internal: register liveness (verifier.md §6.4, computed ahead of time instead of by read marks).
// A register is live at an instruction when some path from there reads it before writing it. A
// checkpoint forgets dead registers (they become "uninitialised", which includes anything), so states
// differing only in values no continuation reads prune each other — temporaries and the r1-r5 a call
// left behind never split states.
#pragma once

#include <cstdint>
#include <vector>

#include "tcbpf/isa.h"
#include "verifier/state.h"

namespace tcbpf::verifier::detail {

// Per instruction, a bit per register live before it executes.
std::vector<uint16_t> compute_liveness(const isa::Program& prog);
// Forgets the registers of `state` (at `pc`, its callers at their return points) that are dead.
void forget_dead_registers(State& state, size_t pc, const std::vector<uint16_t>& live);

}  // namespace tcbpf::verifier::detail
