// Seeded, repeatable random eBPF programs that the Linux verifier accepts, for differential testing
// against the kernel (BPF_PROG_TEST_RUN) and fuzzing-style checks.
//
// Every program is one random straight-line-with-forward-branches body of scalar arithmetic, byte swaps,
// stack loads/stores and stack atomics, between a fixed prologue and one of two epilogues:
//
//   prologue  save r1 at r10-8; give r0..r9 edge-case values (0, ±1, INT32/INT64 extremes, 0x80000000,
//             0xffffffff, random); fill the whole scratch stack, so nothing the body reads is
//             uninitialised (the verifier's rule) and every result is a function of the seed alone.
//   body      register/stack operations only; jumps are forward only, so every program terminates.
//             Most register writes are followed by an atomic add/xor of the new value into one of the
//             trace slots: a value later overwritten still leaves its mark, so a wrong intermediate
//             result cannot hide.
//   epilogue  spill r0..r9 next to the scratch area, then copy the frame bytes [r10-512, r10-8) to an
//             output buffer and return 0. The kernel variant finds that buffer through the __sk_buff
//             (data/data_end at offsets 76/80, bounds-checked as the verifier demands); the memory
//             variant writes it at r1 (the `raw` program type: r1 = memory, r2 = length).
//
// The two variants therefore compute identical bytes, and comparing a kernel packet with our memory
// compares all 64-bit register results and every stack byte at once.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tcbpf/isa.h"

namespace tcbpf::test {

// Frame layout shared by the generator and whoever reads the output.
inline constexpr int kSavedPointerOffset = -8;    // r1 on entry (ctx or output memory)
inline constexpr int kRegisterSpillOffset = -88;  // r0..r9, 8 bytes each, written by the epilogue
inline constexpr int kTraceOffset = -152;         // 8 slots the body folds intermediate results into
inline constexpr int kTraceSlots = 8;
inline constexpr int kScratchOffset = -512;       // the body's own stack area: [r10-512, r10-152)
// Output byte i is frame byte r10 - 512 + i.
inline constexpr size_t kRandomProgramOutputSize = 504;
inline constexpr size_t kOutputTraceAt = static_cast<size_t>(kTraceOffset - kScratchOffset);
inline constexpr size_t kOutputRegistersAt = static_cast<size_t>(kRegisterSpillOffset - kScratchOffset);

struct RandomProgramOptions {
    // Body length is drawn from [min_body, max_body] instructions (an LDDW counts once).
    size_t min_body = 24;
    size_t max_body = 72;
};

struct RandomProgram {
    uint64_t seed = 0;
    isa::Program kernel;  // BPF_PROG_TYPE_SCHED_CLS: output into the packet (≥ kRandomProgramOutputSize bytes)
    isa::Program memory;  // raw: output at r1, which must point to ≥ kRandomProgramOutputSize writable bytes
    size_t body_begin = 0;  // pc of the first body instruction (identical in both variants)
    size_t body_end = 0;    // pc after the body
};

// Same seed and options, same programs, on every platform and compiler.
RandomProgram generate_random_program(uint64_t seed, const RandomProgramOptions& options = {});

}  // namespace tcbpf::test
