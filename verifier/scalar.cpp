// The bounds sync. Its steps, each sound on its own, run to a fixed point the kernel's order reaches too:
//  1. tnum → intervals: the tnum's smallest and largest members bound the value (per width, unsigned; for
//     signed, the sign bit set if unknown gives the minimum, cleared the maximum).
//  2. signed ↔ unsigned: an unsigned interval that does not cross the sign boundary is also a signed one,
//     and a signed interval that does not cross zero is also an unsigned one.
//  3. 64 ↔ 32 bits: when the 64-bit bounds agree on the high 32 bits, the low halves of the bounds bound the
//     low half; conversely, a 64-bit bound's low half can be raised/lowered to the 32-bit bounds.
//  4. intervals → tnum: the tnum of each width's unsigned interval is intersected in.
#include "verifier/scalar.h"

#include <algorithm>

#include <fmt/format.h>

#include "verifier/scalar_bounds.h"

namespace tcbpf::verifier {

using namespace detail;

Scalar Scalar::constant(uint64_t v) {
    Scalar s;
    s.var_off = Tnum::constant(v);
    s.umin = s.umax = v;
    s.smin = s.smax = static_cast<int64_t>(v);
    s.u32_min = s.u32_max = static_cast<uint32_t>(v);
    s.s32_min = s.s32_max = static_cast<int32_t>(static_cast<uint32_t>(v));
    return s;
}

Scalar Scalar::from_tnum(Tnum t) {
    Scalar s;
    s.var_off = t;
    sync_bounds(s);
    return s;
}

bool Scalar::contains(uint64_t x) const {
    uint32_t low = static_cast<uint32_t>(x);
    return var_off.contains(x) && x >= umin && x <= umax && static_cast<int64_t>(x) >= smin &&
           static_cast<int64_t>(x) <= smax && low >= u32_min && low <= u32_max &&
           static_cast<int32_t>(low) >= s32_min && static_cast<int32_t>(low) <= s32_max;
}

bool Scalar::includes(const Scalar& o) const {
    return umin <= o.umin && o.umax <= umax && smin <= o.smin && o.smax <= smax && u32_min <= o.u32_min &&
           o.u32_max <= u32_max && s32_min <= o.s32_min && o.s32_max <= s32_max && var_off.includes(o.var_off);
}

bool Scalar::is_consistent() const {
    if (umin > umax || smin > smax || u32_min > u32_max || s32_min > s32_max) return false;
    if (var_off.value & var_off.mask) return false;
    if (var_off.min() > umax || var_off.max() < umin) return false;
    Tnum low = tnum_subreg(var_off);
    return low.min() <= u32_max && low.max() >= u32_min;
}

namespace {

void bounds_from_tnum(Scalar& s, unsigned width) {
    Tnum t = width_tnum(s, width);
    Bounds b = get_bounds(s, width);
    uint64_t sign = uint64_t{1} << (width - 1);
    b.umin = std::max(b.umin, t.min());
    b.umax = std::min(b.umax, t.max());
    b.smin = std::max(b.smin, as_signed(t.value | (t.mask & sign), width));
    b.smax = std::min(b.smax, as_signed(t.value | (t.mask & ~sign), width));
    set_bounds(s, width, b);
}

void deduce_signed_unsigned(Scalar& s, unsigned width) {
    Bounds b = get_bounds(s, width);
    if (as_signed(b.umin, width) <= as_signed(b.umax, width)) {
        b.smin = std::max(b.smin, as_signed(b.umin, width));
        b.smax = std::min(b.smax, as_signed(b.umax, width));
    }
    uint64_t mask = width_mask(width);
    if ((static_cast<uint64_t>(b.smin) & mask) <= (static_cast<uint64_t>(b.smax) & mask)) {
        b.umin = std::max(b.umin, static_cast<uint64_t>(b.smin) & mask);
        b.umax = std::min(b.umax, static_cast<uint64_t>(b.smax) & mask);
    }
    set_bounds(s, width, b);
}

void deduce_32_from_64(Scalar& s) {
    if ((s.umin >> 32) == (s.umax >> 32)) {
        s.u32_min = std::max(s.u32_min, static_cast<uint32_t>(s.umin));
        s.u32_max = std::min(s.u32_max, static_cast<uint32_t>(s.umax));
        if (static_cast<int32_t>(s.umin) <= static_cast<int32_t>(s.umax)) {
            s.s32_min = std::max(s.s32_min, static_cast<int32_t>(s.umin));
            s.s32_max = std::min(s.s32_max, static_cast<int32_t>(s.umax));
        }
    }
    if ((s.smin >> 32) == (s.smax >> 32)) {
        if (static_cast<uint32_t>(s.smin) <= static_cast<uint32_t>(s.smax)) {
            s.u32_min = std::max(s.u32_min, static_cast<uint32_t>(s.smin));
            s.u32_max = std::min(s.u32_max, static_cast<uint32_t>(s.smax));
        }
        if (static_cast<int32_t>(s.smin) <= static_cast<int32_t>(s.smax)) {
            s.s32_min = std::max(s.s32_min, static_cast<int32_t>(s.smin));
            s.s32_max = std::min(s.s32_max, static_cast<int32_t>(s.smax));
        }
    }
}

void deduce_64_from_32(Scalar& s) {
    // Values above umin either share its high half (then their low half is ≥ u32_min) or have a larger
    // one: so umin can take u32_min as its low half when that raises it. Symmetric for the maxima, and the
    // same reasoning holds in signed order, where the high half decides first too.
    constexpr uint64_t kHigh = 0xffffffff00000000;
    uint64_t new_umin = (s.umin & kHigh) | s.u32_min;
    uint64_t new_umax = (s.umax & kHigh) | s.u32_max;
    s.umin = std::max(s.umin, new_umin);
    s.umax = std::min(s.umax, new_umax);
    int64_t new_smin = static_cast<int64_t>((static_cast<uint64_t>(s.smin) & kHigh) | s.u32_min);
    int64_t new_smax = static_cast<int64_t>((static_cast<uint64_t>(s.smax) & kHigh) | s.u32_max);
    s.smin = std::max(s.smin, new_smin);
    s.smax = std::min(s.smax, new_smax);
}

void tnum_from_bounds(Scalar& s) {
    Tnum wide = tnum_intersect(s.var_off, Tnum::range(s.umin, s.umax));
    Tnum low = tnum_intersect(tnum_subreg(s.var_off), Tnum::range(s.u32_min, s.u32_max));
    s.var_off = tnum_with_subreg(wide, low);
}

}  // namespace

void sync_bounds(Scalar& s) {
    for (int round = 0; round < 3; ++round) {
        Scalar before = s;
        bounds_from_tnum(s, 64);
        bounds_from_tnum(s, 32);
        deduce_signed_unsigned(s, 32);
        deduce_32_from_64(s);
        deduce_signed_unsigned(s, 32);
        deduce_64_from_32(s);
        deduce_signed_unsigned(s, 64);
        if (!s.is_consistent()) return;  // a dead path: nothing more to learn, and tnum_range needs min ≤ max
        tnum_from_bounds(s);
        if (s == before) return;
    }
}

Scalar zero_extend_32(const Scalar& s) {
    Scalar out;
    out.var_off = tnum_subreg(s.var_off);
    out.u32_min = s.u32_min, out.u32_max = s.u32_max;
    out.s32_min = s.s32_min, out.s32_max = s.s32_max;
    out.umin = s.u32_min, out.umax = s.u32_max;
    out.smin = static_cast<int64_t>(s.u32_min), out.smax = static_cast<int64_t>(s.u32_max);
    sync_bounds(out);
    return out;
}

Scalar truncate(const Scalar& s, unsigned bytes) {
    if (bytes >= 8) return s;
    if (bytes == 4) return zero_extend_32(s);
    uint64_t limit = (uint64_t{1} << (8 * bytes)) - 1;
    if (s.umax <= limit) return s;
    return Scalar::from_tnum(tnum_cast(s.var_off, bytes));
}

Scalar sign_extend(const Scalar& s, unsigned bytes) {
    if (bytes >= 8) return s;
    int64_t half = int64_t{1} << (8 * bytes - 1);
    if (s.smin >= -half && s.smax < half) return s;  // already the sign extension of its low bytes
    Scalar out = Scalar::from_tnum(tnum_sign_extend(s.var_off, 8 * bytes));
    // The tnum cannot say "the high bits copy bit n-1"; the signed interval can.
    out.smin = std::max(out.smin, -half);
    out.smax = std::min(out.smax, half - 1);
    if (bytes < 4) {
        out.s32_min = std::max<int32_t>(out.s32_min, static_cast<int32_t>(-half));
        out.s32_max = std::min<int32_t>(out.s32_max, static_cast<int32_t>(half - 1));
    }
    sync_bounds(out);
    if (bytes == 4) {
        // The result is the low half read as signed: exactly the 32-bit signed interval.
        out.smin = std::max<int64_t>(out.smin, s.s32_min);
        out.smax = std::min<int64_t>(out.smax, s.s32_max);
        out.u32_min = std::max(out.u32_min, s.u32_min);
        out.u32_max = std::min(out.u32_max, s.u32_max);
        out.s32_min = std::max(out.s32_min, s.s32_min);
        out.s32_max = std::min(out.s32_max, s.s32_max);
        sync_bounds(out);
    }
    return out;
}

std::string to_string(const Scalar& s) {
    if (s.is_const()) return fmt::format("{}", static_cast<int64_t>(s.const_value()));
    // The kernel log merges equal bounds of the same kind (all minima, all maxima) into one
    // "smin=umin=5" item, never mixing a negative signed value with an unsigned one of the same bits.
    struct Item {
        const char* name;
        uint64_t value;
        bool is_signed;
        bool omit;
    };
    Item items[] = {
        {"smin", static_cast<uint64_t>(s.smin), true, s.smin == INT64_MIN},
        {"smax", static_cast<uint64_t>(s.smax), true, s.smax == INT64_MAX},
        {"umin", s.umin, false, s.umin == 0},
        {"umax", s.umax, false, s.umax == UINT64_MAX},
        {"smin32", static_cast<uint64_t>(int64_t{s.s32_min}), true, s.s32_min == INT32_MIN},
        {"smax32", static_cast<uint64_t>(int64_t{s.s32_max}), true, s.s32_max == INT32_MAX},
        {"umin32", s.u32_min, false, s.u32_min == 0},
        {"umax32", s.u32_max, false, s.u32_max == UINT32_MAX},
    };
    std::string out = "scalar(";
    const char* separator = "";
    for (size_t i = 0; i < std::size(items); ++i) {
        if (items[i].omit) continue;
        bool negative = items[i].is_signed && static_cast<int64_t>(items[i].value) < 0;
        out += fmt::format("{}{}=", separator, items[i].name);
        separator = ",";
        for (size_t j = i + 2; j < std::size(items); j += 2) {
            if (items[j].omit || items[j].value != items[i].value) continue;
            if ((items[j].is_signed && static_cast<int64_t>(items[j].value) < 0) != negative) continue;
            out += fmt::format("{}=", items[j].name);
            items[j].omit = true;
        }
        out += items[i].is_signed ? fmt::format("{}", static_cast<int64_t>(items[i].value))
                                  : fmt::format("{}", items[i].value);
    }
    if (!s.var_off.is_unknown()) out += fmt::format("{}var_off={}", separator, to_string(s.var_off));
    return out + ")";
}

}  // namespace tcbpf::verifier
