// Internal: the four interval facts of one width (64 bits, or the low 32 bits) as one value, so ALU and
// branch rules are written once and applied to both widths. In width 32 the unsigned fields hold values
// < 2^32 and the signed fields values of the int32 range.
#pragma once

#include <cstdint>

#include "verifier/scalar.h"

namespace tcbpf::verifier::detail {

using i128 = __int128;
using u128 = unsigned __int128;

struct Bounds {
    uint64_t umin, umax;
    int64_t smin, smax;
};

inline uint64_t width_mask(unsigned width) { return width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1; }
inline int64_t signed_min(unsigned width) { return width == 64 ? INT64_MIN : INT32_MIN; }
inline int64_t signed_max(unsigned width) { return width == 64 ? INT64_MAX : INT32_MAX; }
inline Bounds full_bounds(unsigned width) { return {0, width_mask(width), signed_min(width), signed_max(width)}; }
// The low `width` bits of x read as a signed number.
inline int64_t as_signed(uint64_t x, unsigned width) {
    return width == 64 ? static_cast<int64_t>(x) : static_cast<int32_t>(static_cast<uint32_t>(x));
}

inline Bounds get_bounds(const Scalar& s, unsigned width) {
    if (width == 64) return {s.umin, s.umax, s.smin, s.smax};
    return {s.u32_min, s.u32_max, s.s32_min, s.s32_max};
}

inline void set_bounds(Scalar& s, unsigned width, const Bounds& b) {
    if (width == 64) {
        s.umin = b.umin, s.umax = b.umax, s.smin = b.smin, s.smax = b.smax;
    } else {
        s.u32_min = static_cast<uint32_t>(b.umin), s.u32_max = static_cast<uint32_t>(b.umax);
        s.s32_min = static_cast<int32_t>(b.smin), s.s32_max = static_cast<int32_t>(b.smax);
    }
}

// The bits of a width's view: the whole tnum, or the low half.
inline Tnum width_tnum(const Scalar& s, unsigned width) { return width == 64 ? s.var_off : tnum_subreg(s.var_off); }

// The exact integers [lo, hi] wrapped into the width: one interval when the whole span lands in the same
// 2^width "lap" (then wrapping is monotonic), otherwise everything.
inline void wrap_unsigned(i128 lo, i128 hi, unsigned width, Bounds& out) {
    if ((lo >> width) == (hi >> width)) {
        out.umin = static_cast<uint64_t>(lo) & width_mask(width);
        out.umax = static_cast<uint64_t>(hi) & width_mask(width);
    } else {
        out.umin = 0, out.umax = width_mask(width);
    }
}
inline void wrap_unsigned(u128 lo, u128 hi, unsigned width, Bounds& out) {
    if ((lo >> width) == (hi >> width)) {
        out.umin = static_cast<uint64_t>(lo) & width_mask(width);
        out.umax = static_cast<uint64_t>(hi) & width_mask(width);
    } else {
        out.umin = 0, out.umax = width_mask(width);
    }
}
inline void wrap_signed(i128 lo, i128 hi, unsigned width, Bounds& out) {
    i128 half = i128{1} << (width - 1);
    i128 lap = (lo + half) >> width;
    if (lap == ((hi + half) >> width)) {
        out.smin = static_cast<int64_t>(lo - (lap << width));
        out.smax = static_cast<int64_t>(hi - (lap << width));
    } else {
        out.smin = signed_min(width), out.smax = signed_max(width);
    }
}

}  // namespace tcbpf::verifier::detail
