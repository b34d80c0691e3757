// Tnum arithmetic. The carry-propagation trick of add/sub: compute the sum of the smallest members
// (values) and of the largest (values + masks); any bit where the two sums differ may flip depending on
// the unknown bits, and so may every bit that was unknown in an input. Everything else is fixed.
#include "verifier/tnum.h"

#include <bit>

#include <fmt/format.h>

namespace tcbpf::verifier {

Tnum Tnum::range(uint64_t min, uint64_t max) {
    uint64_t differing = min ^ max;
    if (differing == 0) return constant(min);
    int bits = 64 - std::countl_zero(differing);
    if (bits >= 64) return unknown();
    uint64_t low = (uint64_t{1} << bits) - 1;
    return Tnum{min & ~low, low};
}

bool Tnum::includes(Tnum other) const {
    if ((other.mask & ~mask) != 0) return false;  // other leaves a bit unknown that this fixes
    return (other.value & ~mask) == value;
}

Tnum tnum_add(Tnum a, Tnum b) {
    uint64_t masks = a.mask + b.mask;
    uint64_t values = a.value + b.value;
    uint64_t maybe_carried = (values + masks) ^ values;
    uint64_t unknown = maybe_carried | a.mask | b.mask;
    return Tnum{values & ~unknown, unknown};
}

Tnum tnum_sub(Tnum a, Tnum b) {
    uint64_t diff = a.value - b.value;
    uint64_t largest = diff + a.mask;   // a at its max, b at its min
    uint64_t smallest = diff - b.mask;  // a at its min, b at its max
    uint64_t unknown = (largest ^ smallest) | a.mask | b.mask;
    return Tnum{diff & ~unknown, unknown};
}

Tnum tnum_neg(Tnum a) { return tnum_sub(Tnum::constant(0), a); }

Tnum tnum_mul(Tnum a, Tnum b) {
    // Long multiplication over a's bits: a known-one bit adds b's unknown part (the known part is in the
    // exact product of the values); an unknown bit adds everything b might be.
    uint64_t exact = a.value * b.value;
    Tnum uncertain = Tnum::constant(0);
    while (a.value != 0 || a.mask != 0) {
        if (a.value & 1)
            uncertain = tnum_add(uncertain, Tnum{0, b.mask});
        else if (a.mask & 1)
            uncertain = tnum_add(uncertain, Tnum{0, b.value | b.mask});
        a = tnum_rshift(a, 1);
        b = tnum_lshift(b, 1);
    }
    return tnum_add(Tnum::constant(exact), uncertain);
}

Tnum tnum_and(Tnum a, Tnum b) {
    uint64_t maybe_a = a.value | a.mask;
    uint64_t maybe_b = b.value | b.mask;
    uint64_t ones = a.value & b.value;
    return Tnum{ones, (maybe_a & maybe_b) & ~ones};
}

Tnum tnum_or(Tnum a, Tnum b) {
    uint64_t ones = a.value | b.value;
    return Tnum{ones, (a.mask | b.mask) & ~ones};
}

Tnum tnum_xor(Tnum a, Tnum b) {
    uint64_t unknown = a.mask | b.mask;
    return Tnum{(a.value ^ b.value) & ~unknown, unknown};
}

Tnum tnum_lshift(Tnum a, unsigned shift) { return Tnum{a.value << shift, a.mask << shift}; }

Tnum tnum_rshift(Tnum a, unsigned shift) { return Tnum{a.value >> shift, a.mask >> shift}; }

Tnum tnum_arshift(Tnum a, unsigned shift, unsigned width) {
    // A sign bit that is unknown spreads as unknown, a known one as ones: shifting value and mask as
    // signed numbers does exactly that.
    if (width == 32)
        return Tnum{static_cast<uint32_t>(static_cast<int32_t>(static_cast<uint32_t>(a.value)) >> shift),
                    static_cast<uint32_t>(static_cast<int32_t>(static_cast<uint32_t>(a.mask)) >> shift)};
    return Tnum{static_cast<uint64_t>(static_cast<int64_t>(a.value) >> shift),
                static_cast<uint64_t>(static_cast<int64_t>(a.mask) >> shift)};
}

Tnum tnum_intersect(Tnum a, Tnum b) {
    uint64_t value = a.value | b.value;
    uint64_t mask = a.mask & b.mask;
    return Tnum{value & ~mask, mask};
}

bool tnum_conflict(Tnum a, Tnum b) { return ((a.value ^ b.value) & ~(a.mask | b.mask)) != 0; }

Tnum tnum_union(Tnum a, Tnum b) {
    uint64_t unknown = a.mask | b.mask | (a.value ^ b.value);
    return Tnum{a.value & ~unknown, unknown};
}

Tnum tnum_cast(Tnum a, unsigned bytes) {
    if (bytes >= 8) return a;
    uint64_t keep = (uint64_t{1} << (bytes * 8)) - 1;
    return Tnum{a.value & keep, a.mask & keep};
}

Tnum tnum_sign_extend(Tnum a, unsigned bits) {
    if (bits >= 64) return a;
    unsigned up = 64 - bits;
    return Tnum{static_cast<uint64_t>(static_cast<int64_t>(a.value << up) >> up),
                static_cast<uint64_t>(static_cast<int64_t>(a.mask << up) >> up)};
}

static uint64_t swap_bytes(uint64_t x, unsigned bytes) {
    uint64_t out = 0;
    for (unsigned i = 0; i < bytes; ++i) out |= ((x >> (8 * i)) & 0xff) << (8 * (bytes - 1 - i));
    return out;
}

Tnum tnum_bswap(Tnum a, unsigned bytes) {
    a = tnum_cast(a, bytes);
    return Tnum{swap_bytes(a.value, bytes), swap_bytes(a.mask, bytes)};
}

Tnum tnum_subreg(Tnum a) { return tnum_cast(a, 4); }

Tnum tnum_clear_subreg(Tnum a) { return tnum_lshift(tnum_rshift(a, 32), 32); }

Tnum tnum_with_subreg(Tnum a, Tnum low) { return tnum_or(tnum_clear_subreg(a), tnum_subreg(low)); }

Tnum tnum_const_subreg(Tnum a, uint32_t v) { return tnum_with_subreg(a, Tnum::constant(v)); }

std::string to_string(Tnum a) { return fmt::format("({:#x}; {:#x})", a.value, a.mask); }

}  // namespace tcbpf::verifier
