// Seeded random programs shaped like what the verifier judges in real tc programs, for the kernel
// differential of the verifier: context loads (valid and invalid fields and sizes), packet bounds
// checks with accesses inside and just past the proven range, stack spills and fills, map lookups with
// and without null checks, bounded loops, helper calls (some of which invalidate packet pointers),
// scalar arithmetic with edge immediates, forward branches, and the occasional read of a register that
// was never written or was clobbered by a call. Roughly two thirds come out safe.
//
// Maps are referenced as map[idx:N] with N as in soundness_maps() (tests/support/soundness.h):
// 0 array 4/16/1, 1 hash 4/16/8, 2 prog array, 3 per-CPU array 4/8/2.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "tcbpf/isa.h"

namespace tcbpf::test {

// The program as assembly text (tcbpf/asm.h syntax), so a failure can be printed and re-run by hand.
std::string generate_verifier_program(uint64_t seed);

// One instruction field of `prog` changed (register, offset, immediate, size, jump distance) the way real
// bugs change programs; nullopt-like empty program when the change made an undecodable instruction.
isa::Program mutate_program(const isa::Program& prog, std::mt19937_64& rng);

}  // namespace tcbpf::test
