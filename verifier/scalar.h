// What the verifier knows about a scalar: a Tnum for its bits plus signed and unsigned intervals, for the
// whole 64-bit value and separately for its low 32 bits (the kernel's bpf_reg_state without the pointer
// parts). The five facts describe the same value, so each can sharpen the others: `sync_bounds` is the
// kernel's reg_bounds_sync (tnum → intervals, signed ↔ unsigned, 32 ↔ 64 bit, intervals → tnum).
//
// Every transfer function here is sound: when the inputs contain concrete values x and y, the result
// contains the value the instruction computes from them. Precision follows the kernel's (6.x) rules and
// is sometimes better (e.g. division by a known divisor, byte swaps as exact tnum permutations), which
// only ever lets more programs through — never a program the kernel's rules would show unsafe.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "tcbpf/isa.h"
#include "verifier/tnum.h"

namespace tcbpf::verifier {

struct Scalar {
    Tnum var_off = Tnum::unknown();
    int64_t smin = std::numeric_limits<int64_t>::min();
    int64_t smax = std::numeric_limits<int64_t>::max();
    uint64_t umin = 0;
    uint64_t umax = std::numeric_limits<uint64_t>::max();
    int32_t s32_min = std::numeric_limits<int32_t>::min();
    int32_t s32_max = std::numeric_limits<int32_t>::max();
    uint32_t u32_min = 0;
    uint32_t u32_max = std::numeric_limits<uint32_t>::max();

    static Scalar unknown() { return Scalar{}; }
    static Scalar constant(uint64_t v);
    // The tightest scalar whose bits are `t` (intervals derived from it).
    static Scalar from_tnum(Tnum t);

    bool is_const() const { return var_off.is_const(); }
    uint64_t const_value() const { return var_off.value; }
    // The low 32 bits are known.
    bool is_const32() const { return tnum_subreg(var_off).is_const(); }
    bool is_unknown() const { return *this == Scalar{}; }
    // x satisfies all nine facts.
    bool contains(uint64_t x) const;
    // Every value of `other` is a value of this (the kernel's range_within + tnum_in).
    bool includes(const Scalar& other) const;
    // False when the facts contradict each other: no value satisfies them (a path that cannot run).
    bool is_consistent() const;

    bool operator==(const Scalar&) const = default;
};

// reg_bounds_sync: make the nine facts agree with each other.
void sync_bounds(Scalar& s);

// The value after an ALU32 result is written: low 32 bits kept, zero-extended.
Scalar zero_extend_32(const Scalar& s);
// An n-byte zero-extending truncation (loads of n < 8 bytes).
Scalar truncate(const Scalar& s, unsigned bytes);
// Sign-extending an n-byte value to 64 bits (sign-extending loads, movsx).
Scalar sign_extend(const Scalar& s, unsigned bytes);

// The result of the ALU instruction `op` (any Shape AluK/AluX/Neg/MovSx/End row of opcodes.def).
// `dst` is the destination's value before the instruction, `src` the source operand: for K forms the
// immediate as the instruction uses it (Scalar::constant of the sign-extended imm), for MovSx the source
// register; ignored by Neg and End. Shift amounts ≥ the width and unknown shift amounts give an unknown
// result (the checker rejects immediate shifts out of range before getting here).
Scalar alu(isa::Op op, const Scalar& dst, const Scalar& src);

// Conditional jumps: the comparison a JMP/JMP32 row performs, dst `cmp` src.
enum class Cmp : uint8_t { Eq, Ne, Gt, Ge, Lt, Le, Sgt, Sge, Slt, Sle, Set };
struct Condition {
    Cmp cmp;
    bool is32;  // compares the low 32 bits
};
// The condition of a JccK/JccX row; throws std::invalid_argument for other ops.
Condition condition_of(isa::Op op);
bool evaluate(Condition c, uint64_t a, uint64_t b);

// Whether `a cmp b` holds for every pair of values (true), for none (false), or depends (nullopt).
std::optional<bool> branch_outcome(Condition c, const Scalar& a, const Scalar& b);
// Narrows a and b to the pairs for which `a cmp b` == outcome. Returns false when no pair can satisfy it
// (the branch is dead); a and b are then meaningless.
bool refine(Condition c, bool outcome, Scalar& a, Scalar& b);

// The kernel log's form: "5", or "scalar(smin=...,umax=...,var_off=(0x0; 0xff))" with default facts left out.
std::string to_string(const Scalar& s);

}  // namespace tcbpf::verifier
