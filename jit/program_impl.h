// jit::Program's private state, shared by program.cpp and the runtime routines (tail calls).
#pragma once

#include <vector>

#include "jit/code_memory.h"
#include "jit/runtime.h"
#include "tcbpf/jit.h"

namespace tcbpf::jit {

struct Program::Impl {
    isa::Program source;
    std::vector<vm::HelperFn> helpers_by_id;  // callx table, referenced by the generated code
    detail::CodeMemory code;
    detail::EntryFn entry = nullptr;
    Program::DirectEntry direct_entry = nullptr;  // programs that call nothing
    detail::CodeMemory batch_code;                // Options::batch_frames
    Program::BatchEntry batch_entry = nullptr;
    const void* tail_entry = nullptr;
    std::vector<uint32_t> insn_offsets;
};

}  // namespace tcbpf::jit
