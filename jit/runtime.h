// What generated code shares with C++: the per-run state block it keeps on the native stack, and the
// out-of-line routines it calls for the rare or complicated operations (faults, tail calls, legacy
// packet loads). Everything here runs with the System V calling convention.
#pragma once

#include <cstdint>

#include "tcbpf/vm.h"

namespace tcbpf::jit::detail {

// The state block, addressed through r12 while a program that needs it runs.
inline constexpr int32_t kStateContext = 0;    // vm::Context*
inline constexpr int32_t kStateFaultRsp = 8;   // rsp at main-body entry: a fault unwinds to it and returns 0
inline constexpr int32_t kStateDepth = 16;     // active local calls (u32), the interpreter's `depth`
inline constexpr int32_t kStateStackTop = 24;  // r10 of the main frame
inline constexpr int32_t kStateSize = 32;

// The generated entry point: (r1, r2, context) → r0.
using EntryFn = uint64_t (*)(uint64_t r1, uint64_t r2, vm::Context* cx);

void fault_call_depth(vm::Context* cx, uint32_t pc);
void fault_callx(vm::Context* cx, uint32_t pc, uint64_t target);
// Resolves a tail call: the target's body address, or nullptr to fall through (no hook, empty slot,
// limit of kMaxTailCalls reached). Counts successful calls in cx->tail_calls_done.
const void* tail_call_target(vm::Context* cx, uint64_t prog_array, uint64_t index);
// Legacy packet load through Context::load_packet; kPacketLoadFailed when the program must return 0.
inline constexpr uint64_t kPacketLoadFailed = ~uint64_t{0};
uint64_t load_packet(vm::Context* cx, uint64_t skb, int64_t offset, uint64_t size);

}  // namespace tcbpf::jit::detail
