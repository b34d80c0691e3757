// The interpreter's pre-decoded program: what `prepare` produces and `execute` walks.
//
// One Slot per isa::Insn slot (the LDDW tail keeps its own slot so pc numbering and jump targets stay
// those of the raw program). Everything a handler would otherwise recompute on every execution is done
// once here: the handler's label address, K operands already extended the way the op reads them, jump
// and local-call targets as Slot pointers, helper functions resolved to their address.
#pragma once

#include <cstdint>
#include <vector>

#include "tcbpf/isa.h"
#include "tcbpf/vm.h"

namespace tcbpf::vm::detail {

// Handler indexes: one per opcodes.def row (the same numbering as isa::Op), then the forms `prepare`
// specializes that have no row of their own.
enum Handler : uint16_t {
    kHandlerLddwTail = static_cast<uint16_t>(isa::kOpCount),  // never executed: LDDW skips it
    kHandlerTailCall,                                          // CALL_HELPER with id 12
    kHandlerCount,
};

struct Slot {
    const void* handler;  // label address inside execute<Checked>; first so dispatch is one load
    uint8_t dst;
    uint8_t src;
    int16_t off;
    uint32_t pc;          // for fault messages
    // K operand pre-extended for this op (s64 for ALU64/JMP, u32 for ALU/JMP32, masked shift amount),
    // the full LDDW value, the ST value, or the atomic's operation-independent nothing.
    uint64_t imm;
    union {
        const Slot* target;  // jumps and local calls
        HelperFn helper;     // CALL_HELPER
        const HelperFn* helper_table;  // CALLX: helpers indexed by id; `imm` holds the table size
    };
};
static_assert(sizeof(Slot) == 32, "two slots per cache line");

// Signature of both interpreter instantiations. With cx == nullptr it returns the address of its label
// table instead of running (label addresses cannot escape a function any other way).
using ExecuteFn = uint64_t (*)(const Slot* entry, Context* cx, uint64_t r1, uint64_t r2);

template <bool Checked>
uint64_t execute(const Slot* entry, Context* cx, uint64_t r1, uint64_t r2);

}  // namespace tcbpf::vm::detail

namespace tcbpf::vm {

struct Program::Impl {
    isa::Program source;
    bool checked = false;
    std::vector<detail::Slot> slots;
    // callx resolves a register value at run time: helper functions indexed by id (nullptr = unknown).
    std::vector<HelperFn> helpers_by_id;
};

}  // namespace tcbpf::vm
