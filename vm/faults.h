// Fault reporting for the interpreter: the cold paths that name what went wrong and where.
//
// These run at most once per run (the program stops right after), so they may format and allocate;
// they never throw. Checked-mode memory validation lives here too: a load, store or atomic may touch
// the live stack frames, a registered Region, or whatever Context::extra_region approves.
#pragma once

#include <cstdint>

#include "tcbpf/vm.h"

namespace tcbpf::vm::detail {

enum class Access : uint8_t { Load, Store, Atomic };

// The common case of checked mode, inlined into the handlers: the access lies inside the live stack or
// inside a registered region that allows it. False sends the handler to access_allowed, which also
// asks extra_region and, if that refuses too, records the fault.
inline bool access_in_known_region(const Context& cx, uint64_t addr, uint32_t size, bool write, uint64_t stack_lo,
                                   uint64_t stack_hi) {
    if (addr >= stack_lo && size <= stack_hi - addr && addr < stack_hi) return true;
    for (const Region& r : cx.regions) {
        if (addr >= r.begin && addr - r.begin <= r.size && size <= r.size - (addr - r.begin))
            return !write || r.writable;
    }
    return false;
}

// True when [addr, addr + size) may be accessed as `kind`; otherwise records OutOfBounds or ReadOnly
// in `cx` (naming pc, address, size and the nearest region) and returns false.
bool access_allowed(Context& cx, uint32_t pc, uint64_t addr, uint32_t size, Access kind, uint64_t stack_lo,
                    uint64_t stack_hi) noexcept;

[[gnu::cold]] void fault_call_depth(Context& cx, uint32_t pc) noexcept;
[[gnu::cold]] void fault_budget(Context& cx, uint32_t pc, uint64_t budget) noexcept;
[[gnu::cold]] void fault_callx(Context& cx, uint32_t pc, uint64_t target, bool is_helper_id) noexcept;

}  // namespace tcbpf::vm::detail
