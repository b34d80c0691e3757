// The x86-64 code generator's interface to jit::Program (see x86_64.cpp for how code is laid out).
#pragma once

#include <cstddef>
#include <vector>

#include "jit/code_memory.h"
#include "tcbpf/jit.h"

namespace tcbpf::jit::detail {

struct CodegenInput {
    const isa::Program& prog;   // already validated by vm::Program::prepare
    // Per pc: the resolved function of a CALL_HELPER (nullptr for tail calls and other instructions).
    std::vector<vm::HelperFn> helper_at;
    // callx: helper functions indexed by id (nullptr = unknown), owned by the Program.
    const vm::HelperFn* helper_table;
    size_t helper_table_size;
    Options options;
};

struct GeneratedCode {
    CodeMemory memory;
    size_t entry_offset = 0;       // EntryFn
    size_t tail_entry_offset = 0;  // the body, entered by tail calls with the caller's state
    bool uses_context = true;      // false: the code never reads its Context argument (calls nothing)
    std::vector<uint32_t> insn_offsets;  // per eBPF slot: where its code starts; then the cold paths
};

// Normal: the EntryFn (run) and direct entry. Batch: Program::BatchEntry, one loop over many frames
// with the body inline (only for batch_eligible programs and Options::batch_frames; Unsupported otherwise).
enum class EntryKind { Normal, Batch };

// The program calls nothing and uses none of r6..r9 (the batch loop keeps its state there), and uses r1
// only to load the frame's pointers and length at `fields` (the loop's frame cursor is r1).
bool batch_eligible(const isa::Program& prog, const FrameFields& fields);

GeneratedCode generate_x86_64(const CodegenInput& input, EntryKind entry = EntryKind::Normal);

}  // namespace tcbpf::jit::detail
