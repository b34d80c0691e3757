// Checked-mode access validation and the messages of every fault (see faults.h).
#include "vm/faults.h"

#include <fmt/format.h>

#include <iterator>
#include <limits>
#include <string_view>

#include "tcbpf/isa.h"

namespace tcbpf::vm::detail {
namespace {

struct Range {
    uint64_t begin;
    uint64_t size;
    bool writable;
    std::string_view name;
};

bool contains(const Range& r, uint64_t addr, uint64_t size) {
    if (addr < r.begin) return false;
    const uint64_t from_start = addr - r.begin;
    return from_start <= r.size && size <= r.size - from_start;
}

// Gap in bytes between the access and the range (0 when they overlap), used to name the region the
// program most likely meant.
uint64_t distance(const Range& r, uint64_t addr, uint64_t size) {
    const uint64_t max = std::numeric_limits<uint64_t>::max();
    const uint64_t last = addr > max - (size - 1) ? max : addr + (size - 1);
    if (last < r.begin) return r.begin - last;
    const uint64_t end = r.size > max - r.begin ? max : r.begin + r.size;
    if (addr >= end) return addr - end + 1;
    return 0;
}

const char* access_word(Access kind) {
    switch (kind) {
        case Access::Load: return "load";
        case Access::Store: return "store";
        case Access::Atomic: return "atomic";
    }
    return "access";
}

template <typename... Args>
void record(Context& cx, Fault fault, uint32_t pc, fmt::format_string<Args...> format, Args&&... args) noexcept {
    cx.fault = fault;
    cx.fault_pc = pc;
    try {
        cx.fault_detail = fmt::format("pc {}: ", pc);
        fmt::format_to(std::back_inserter(cx.fault_detail), format, std::forward<Args>(args)...);
    } catch (...) {
        // Out of memory while describing a fault: the fault itself is still reported.
        cx.fault_detail.clear();
    }
}

}  // namespace

bool access_allowed(Context& cx, uint32_t pc, uint64_t addr, uint32_t size, Access kind, uint64_t stack_lo,
                    uint64_t stack_hi) noexcept {
    const Range stack{stack_lo, stack_hi - stack_lo, true, "stack"};
    if (contains(stack, addr, size)) return true;
    const bool write = kind != Access::Load;
    for (const Region& region : cx.regions) {
        const Range r{region.begin, region.size, region.writable, region.name};
        if (!contains(r, addr, size)) continue;
        if (write && !r.writable) {
            record(cx, Fault::ReadOnly, pc, "{}-byte {} at 0x{:x} writes read-only region \"{}\" [0x{:x}, 0x{:x})",
                   size, access_word(kind), addr, r.name, r.begin, r.begin + r.size);
            return false;
        }
        return true;
    }
    if (cx.extra_region != nullptr && cx.extra_region(&cx, addr, size, write)) return true;

    Range nearest = stack;
    uint64_t best = distance(stack, addr, size);
    for (const Region& region : cx.regions) {
        const Range r{region.begin, region.size, region.writable, region.name};
        const uint64_t d = distance(r, addr, size);
        if (d < best) {
            best = d;
            nearest = r;
        }
    }
    record(cx, Fault::OutOfBounds, pc,
           "{}-byte {} at 0x{:x} is outside every region (nearest: \"{}\" [0x{:x}, 0x{:x}))", size,
           access_word(kind), addr, nearest.name, nearest.begin, nearest.begin + nearest.size);
    return false;
}

void fault_call_depth(Context& cx, uint32_t pc) noexcept {
    record(cx, Fault::CallDepth, pc, "call exceeds the limit of {} stack frames", isa::kMaxCallDepth);
}

void fault_budget(Context& cx, uint32_t pc, uint64_t budget) noexcept {
    record(cx, Fault::InstructionBudget, pc, "instruction budget of {} exhausted", budget);
}

void fault_callx(Context& cx, uint32_t pc, uint64_t target, bool is_helper_id) noexcept {
    if (is_helper_id)
        record(cx, Fault::UnknownHelper, pc, "callx to unknown helper id {}", target);
    else
        record(cx, Fault::BadCallTarget, pc, "callx target 0x{:x} is not a helper id", target);
}

}  // namespace tcbpf::vm::detail
