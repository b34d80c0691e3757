// Internal: precision tracking (verifier.md §6.5). Checkpoints compare scalars only where some
// continuation's safety depended on the value; everywhere else any number will do, so loop counters that
// bound nothing, hashes, header fields and hit counts do not split states. A scalar becomes "precise" when
// it decides a branch, moves a pointer, sizes a helper's memory or picks a callx target: the exploration
// then walks back through the instructions the path executed (its history since each checkpoint, then
// the checkpoint's own history, and so on up the parent chain), following the value to where it came
// from — `r1 = r2` hands the need to r2, a fill hands it to the stack slot, the spill back to the
// register stored, a bpf-to-bpf call hands callee arguments to the caller's r1-r5 and an exit hands the
// caller's r0 to the callee's — and marks every checkpoint on the way. Pruning against a checkpoint
// passes its precise values on to the pruned path's own checkpoints, whose continuation now relies on
// them too.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "tcbpf/isa.h"
#include "verifier/state.h"

namespace tcbpf::verifier::detail {

// One executed instruction: where, in which frame, and for fixed-offset stack loads and stores which
// slot of which frame's stack it touched, and which bytes of that slot (bit b: byte b).
struct HistEntry {
    uint32_t pc = 0;
    uint8_t frame = 0;
    uint8_t slot_frame = 0;
    int8_t spi = -1;
    uint8_t bytes = 0;
};

inline constexpr int kMaxFrames = 8;

// Registers and stack bytes (per frame) whose values a continuation needs. Bytes, not slots: a
// narrow store defines only its own bytes, so the want for the slot's other bytes goes on past it.
struct Wanted {
    std::array<uint16_t, kMaxFrames> regs{};
    std::array<uint64_t, kMaxFrames> slots{};  // slot i (r10 - 8*(i+1) ..) has wanted bytes
    std::array<std::array<uint8_t, 64>, kMaxFrames> slot_bytes{};  // which bytes, per slot
    bool empty() const;
    void want(uint32_t frame, int spi, uint8_t bytes);
    void drop(uint32_t frame, int spi, uint8_t bytes = 0xff);
};

// Undoes `entry` on the wanted sets: what was needed after the instruction becomes what was needed before.
void step_back(const isa::Program& prog, const HistEntry& entry, Wanted& wanted);
// Marks the wanted scalars of `state` precise, and slots whose wanted bytes hold known zeros
// (StackSlot::zero_precise); pointers and other bytes leave the sets (their values are compared exactly,
// or are unknown numbers anyway). Returns false when nothing new was marked (the ancestors have the marks).
bool mark_precise(State& state, Wanted& wanted);
// Every precise scalar of `state`, as wanted sets.
Wanted precise_values(State& state);
void clear_precision(State& state);

}  // namespace tcbpf::verifier::detail
