// Out-of-line routines the generated code calls. Faults reuse the interpreter's recorders, so a JIT
// run reports exactly the interpreter's fault kind, pc and text.
#include "jit/runtime.h"

#include <cstdint>

#include "jit/program_impl.h"
#include "vm/faults.h"

namespace tcbpf::jit::detail {

void fault_call_depth(vm::Context* cx, uint32_t pc) { vm::detail::fault_call_depth(*cx, pc); }

void fault_callx(vm::Context* cx, uint32_t pc, uint64_t target) {
    vm::detail::fault_callx(*cx, pc, target, target <= static_cast<uint64_t>(INT32_MAX));
}

const void* tail_call_target(vm::Context* cx, uint64_t prog_array, uint64_t index) {
    if (cx->tail_calls_done >= vm::kMaxTailCalls || cx->jit_tail_call == nullptr) return nullptr;
    const Program* next = cx->jit_tail_call(cx, prog_array, index);
    if (next == nullptr) return nullptr;
    ++cx->tail_calls_done;
    return next->impl().tail_entry;
}

uint64_t load_packet(vm::Context* cx, uint64_t skb, int64_t offset, uint64_t size) {
    uint64_t value = 0;
    const int bytes = static_cast<int>(size);
    if (cx->load_packet == nullptr || !cx->load_packet(cx, skb, offset, bytes, &value)) return kPacketLoadFailed;
    return bytes == 4 ? static_cast<uint32_t>(value) : bytes == 2 ? static_cast<uint16_t>(value) : static_cast<uint8_t>(value);
}

}  // namespace tcbpf::jit::detail
