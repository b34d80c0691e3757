// Tristate numbers: what the verifier knows about the individual bits of a 64-bit value.
//
// A Tnum is a pair (value, mask). A mask bit of 1 means "this bit is unknown"; where the mask is 0 the bit
// is known and equals the bit of `value`. A value bit is never set where the mask is set, so a Tnum stands
// for the set of every x with (x & ~mask) == value. Every operation here over-approximates: for any x in a
// and y in b, `x op y` is in `op(a, b)` (soundness), and most are exact where the kernel's are (e.g.
// shifts, xor, byte swaps). The same Tnum describes either the full 64-bit value or, through the subreg
// helpers, its low 32 bits; 32-bit operations work on the low half and zero the rest.
#pragma once

#include <cstdint>
#include <string>

namespace tcbpf::verifier {

struct Tnum {
    uint64_t value = 0;
    uint64_t mask = ~uint64_t{0};

    static constexpr Tnum constant(uint64_t v) { return Tnum{v, 0}; }
    static constexpr Tnum unknown() { return Tnum{0, ~uint64_t{0}}; }
    // The smallest Tnum containing every value of [min, max] (unsigned): the common high bits of min and
    // max are known, everything below the highest differing bit is unknown.
    static Tnum range(uint64_t min, uint64_t max);

    bool is_const() const { return mask == 0; }
    bool is_unknown() const { return mask == ~uint64_t{0}; }
    bool equals_const(uint64_t v) const { return mask == 0 && value == v; }
    bool contains(uint64_t x) const { return (x & ~mask) == value; }
    // Every value of `other` is a value of this (other ⊆ this).
    bool includes(Tnum other) const;
    // Low log2(size) bits all known zero (size a power of two).
    bool is_aligned(uint64_t size) const { return ((value | mask) & (size - 1)) == 0; }
    uint64_t min() const { return value; }
    uint64_t max() const { return value | mask; }

    bool operator==(const Tnum&) const = default;
};

Tnum tnum_add(Tnum a, Tnum b);
Tnum tnum_sub(Tnum a, Tnum b);
Tnum tnum_neg(Tnum a);
Tnum tnum_mul(Tnum a, Tnum b);
Tnum tnum_and(Tnum a, Tnum b);
Tnum tnum_or(Tnum a, Tnum b);
Tnum tnum_xor(Tnum a, Tnum b);
// Shifts by a known amount; the caller guarantees shift < the operation's width.
Tnum tnum_lshift(Tnum a, unsigned shift);
Tnum tnum_rshift(Tnum a, unsigned shift);
// Arithmetic right shift of a 64-bit value, or (width 32) of the low 32 bits, zero-extended.
Tnum tnum_arshift(Tnum a, unsigned shift, unsigned width);
// Two facts about the same value: keep every bit either knows. Meaningless when they conflict, which
// only happens on paths that cannot execute (see tnum_conflict).
Tnum tnum_intersect(Tnum a, Tnum b);
bool tnum_conflict(Tnum a, Tnum b);
// The smallest Tnum containing both (a value is either one or the other).
Tnum tnum_union(Tnum a, Tnum b);
// Keep the low `bytes` bytes, the rest known zero (a zero-extending truncation).
Tnum tnum_cast(Tnum a, unsigned bytes);
// Sign-extend the low `bits` bits to 64 bits.
Tnum tnum_sign_extend(Tnum a, unsigned bits);
// Reverse the byte order of the low `bytes` bytes (2, 4, 8); the rest known zero.
Tnum tnum_bswap(Tnum a, unsigned bytes);

// Halves: the low 32 bits (as a zero-extended Tnum), the high 32 bits with the low ones known zero.
Tnum tnum_subreg(Tnum a);
Tnum tnum_clear_subreg(Tnum a);
// Replace the low 32 bits of `a` by the low 32 bits of `low`.
Tnum tnum_with_subreg(Tnum a, Tnum low);
Tnum tnum_const_subreg(Tnum a, uint32_t v);

// "(0x5; 0xa)" in the kernel log's var_off style.
std::string to_string(Tnum a);

}  // namespace tcbpf::verifier
