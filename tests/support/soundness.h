// The soundness check behind the verifier's fuzzer and kernel differential: a program the verifier
// accepted runs in the checked interpreter, as a classifier, on seeded random frames, and must never
// touch memory outside what it may touch, never exceed an instruction budget (the verifier proved it
// terminates), and never let a register it did not initialise decide anything. The last is tested by
// running the program twice behind a prologue that fills r0 and r2..r9 with two different poison
// values: every result (return value, frame bytes, skb fields, map contents) must come out identical
// (for programs that cannot see addresses: SoundnessOptions::compare_runs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tcbpf/isa.h"
#include "tcbpf/loader.h"

namespace tcbpf::test {

// The maps soundness runs give a program, referenced as map[idx:N]:
//   0 array  key 4 value 16 entries 1   (also reachable as global data, map[idx:0][0]+off)
//   1 hash   key 4 value 16 entries 8
//   2 prog array, 2 entries (empty: tail calls fall through)
//   3 per-CPU array key 4 value 8 entries 2
std::vector<loader::MapDef> soundness_maps();

struct SoundnessOptions {
    uint64_t seed = 1;          // of the frames
    size_t frames = 4;          // frames per program
    uint64_t insn_budget = 1u << 24;  // executed instructions per run before "does not terminate"
    // Compare the two poisoned runs. Only meaningful for programs that cannot observe addresses — those
    // the verifier accepts with --strict: the default (privileged) rules let a program compare pointers
    // with numbers or store them, and addresses differ from run to run.
    bool compare_runs = true;
};

// Empty when every run was clean; otherwise what went wrong, naming the frame and the pc.
std::string check_soundness(const isa::Program& prog, const SoundnessOptions& options = {});

}  // namespace tcbpf::test
