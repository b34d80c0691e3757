// ALU transfer functions. Each operation is computed three ways that are then combined by the sync:
// on the tnum (bit knowledge), on the intervals of the operation's own width, and — for 64-bit
// operations whose low 32 result bits depend only on the low 32 operand bits (add, sub, mul, bitwise,
// left shift) — on the 32-bit intervals too. Interval arithmetic is done exactly in 128 bits and then
// wrapped (scalar_bounds.h), which covers overflow in one rule: a result that crosses a wrap boundary
// gives the full interval, one that stays within a lap keeps its (shifted) interval.
// 32-bit operations compute the low half and zero-extend, as the ISA defines.
#include <algorithm>

#include "verifier/scalar.h"
#include "verifier/scalar_bounds.h"

namespace tcbpf::verifier {

using namespace detail;
using isa::Op;

namespace {

enum class Kind { Add, Sub, Mul, Div, Sdiv, Mod, Smod, And, Or, Xor, Lsh, Rsh, Arsh, Neg, Mov, MovSx, End };

struct Form {
    Kind kind;
    unsigned width;
};

Form form_of(Op op) {
    switch (op) {
#define BOTH(name, kind)              \
    case Op::name##64_K:              \
    case Op::name##64_X: return {Kind::kind, 64}; \
    case Op::name##32_K:              \
    case Op::name##32_X: return {Kind::kind, 32};
        BOTH(ADD, Add)
        BOTH(SUB, Sub)
        BOTH(MUL, Mul)
        BOTH(DIV, Div)
        BOTH(SDIV, Sdiv)
        BOTH(MOD, Mod)
        BOTH(SMOD, Smod)
        BOTH(AND, And)
        BOTH(OR, Or)
        BOTH(XOR, Xor)
        BOTH(LSH, Lsh)
        BOTH(RSH, Rsh)
        BOTH(ARSH, Arsh)
        BOTH(MOV, Mov)
#undef BOTH
        case Op::NEG64: return {Kind::Neg, 64};
        case Op::NEG32: return {Kind::Neg, 32};
        case Op::MOVSX64_S8:
        case Op::MOVSX64_S16:
        case Op::MOVSX64_S32: return {Kind::MovSx, 64};
        case Op::MOVSX32_S8:
        case Op::MOVSX32_S16: return {Kind::MovSx, 32};
        case Op::LE16:
        case Op::LE32:
        case Op::LE64:
        case Op::BE16:
        case Op::BE32:
        case Op::BE64:
        case Op::BSWAP16:
        case Op::BSWAP32:
        case Op::BSWAP64: return {Kind::End, 64};
        default: throw std::invalid_argument("not an ALU instruction");
    }
}

// Interval rule of one width, or full bounds when the operation is not tracked on intervals.
Bounds interval_rule(Kind kind, const Bounds& a, const Bounds& b, std::optional<unsigned> shift, unsigned width) {
    Bounds r = full_bounds(width);
    switch (kind) {
        case Kind::Add:
            wrap_unsigned(i128(a.umin) + b.umin, i128(a.umax) + b.umax, width, r);
            wrap_signed(i128(a.smin) + b.smin, i128(a.smax) + b.smax, width, r);
            break;
        case Kind::Sub:
            wrap_unsigned(i128(a.umin) - b.umax, i128(a.umax) - b.umin, width, r);
            wrap_signed(i128(a.smin) - b.smax, i128(a.smax) - b.smin, width, r);
            break;
        case Kind::Neg:
            wrap_unsigned(-i128(a.umax), -i128(a.umin), width, r);
            wrap_signed(-i128(a.smax), -i128(a.smin), width, r);
            break;
        case Kind::Mul: {
            wrap_unsigned(u128(a.umin) * b.umin, u128(a.umax) * b.umax, width, r);
            i128 products[] = {i128(a.smin) * b.smin, i128(a.smin) * b.smax, i128(a.smax) * b.smin,
                               i128(a.smax) * b.smax};
            wrap_signed(*std::min_element(std::begin(products), std::end(products)),
                        *std::max_element(std::begin(products), std::end(products)), width, r);
            break;
        }
        case Kind::Div:
            // Division by zero yields 0, by anything else at most the dividend.
            if (b.umin >= 1) {
                r.umin = a.umin / b.umax;
                r.umax = a.umax / b.umin;
            } else {
                r.umax = a.umax;
            }
            break;
        case Kind::Mod:
            // Modulo by zero leaves the dividend, by b ≥ 1 gives less than b and at most the dividend.
            r.umax = b.umin >= 1 ? std::min(a.umax, b.umax - 1) : a.umax;
            break;
        case Kind::And: r.umax = std::min(a.umax, b.umax); break;
        case Kind::Or: r.umin = std::max(a.umin, b.umin); break;
        case Kind::Lsh:
            if (shift) {
                wrap_unsigned(u128(a.umin) << *shift, u128(a.umax) << *shift, width, r);
                wrap_signed(i128(a.smin) * (i128{1} << *shift), i128(a.smax) * (i128{1} << *shift), width, r);
            }
            break;
        case Kind::Rsh:
            if (shift) r.umin = a.umin >> *shift, r.umax = a.umax >> *shift;
            break;
        case Kind::Arsh:
            if (shift) r.smin = a.smin >> *shift, r.smax = a.smax >> *shift;
            break;
        default: break;
    }
    return r;
}

Tnum tnum_rule(Kind kind, Tnum a, Tnum b, std::optional<unsigned> shift, unsigned width) {
    switch (kind) {
        case Kind::Add: return tnum_add(a, b);
        case Kind::Sub: return tnum_sub(a, b);
        case Kind::Neg: return tnum_neg(a);
        case Kind::Mul: return tnum_mul(a, b);
        case Kind::And: return tnum_and(a, b);
        case Kind::Or: return tnum_or(a, b);
        case Kind::Xor: return tnum_xor(a, b);
        case Kind::Lsh: return shift ? tnum_lshift(a, *shift) : Tnum::unknown();
        case Kind::Rsh: return shift ? tnum_rshift(a, *shift) : Tnum::unknown();
        case Kind::Arsh: return shift ? tnum_arshift(a, *shift, width) : Tnum::unknown();
        default: return Tnum::unknown();
    }
}

// Low result bits that depend only on low operand bits: the 32-bit intervals of a 64-bit op stay exact.
bool low_half_is_local(Kind kind) {
    switch (kind) {
        case Kind::Add:
        case Kind::Sub:
        case Kind::Neg:
        case Kind::Mul:
        case Kind::And:
        case Kind::Or:
        case Kind::Xor:
        case Kind::Lsh: return true;
        default: return false;
    }
}

Scalar byte_swap(Op op, const Scalar& dst) {
    switch (op) {
        // tcbpf runs on little-endian hosts: `le` is a truncation there, `be` a byte swap.
        case Op::LE16: return truncate(dst, 2);
        case Op::LE32: return truncate(dst, 4);
        case Op::LE64: return dst;
        case Op::BE16:
        case Op::BSWAP16: return Scalar::from_tnum(tnum_bswap(dst.var_off, 2));
        case Op::BE32:
        case Op::BSWAP32: return Scalar::from_tnum(tnum_bswap(dst.var_off, 4));
        default: return Scalar::from_tnum(tnum_bswap(dst.var_off, 8));
    }
}

unsigned movsx_bytes(Op op) {
    switch (op) {
        case Op::MOVSX64_S8:
        case Op::MOVSX32_S8: return 1;
        case Op::MOVSX64_S16:
        case Op::MOVSX32_S16: return 2;
        default: return 4;
    }
}

}  // namespace

Scalar alu(Op op, const Scalar& dst, const Scalar& src) {
    Form form = form_of(op);
    if (form.kind == Kind::End) return byte_swap(op, dst);
    if (form.kind == Kind::Mov) return form.width == 64 ? src : zero_extend_32(src);
    if (form.kind == Kind::MovSx) {
        Scalar extended = sign_extend(src, movsx_bytes(op));
        return form.width == 64 ? extended : zero_extend_32(extended);
    }
    unsigned width = form.width;
    std::optional<unsigned> shift;
    bool is_shift = form.kind == Kind::Lsh || form.kind == Kind::Rsh || form.kind == Kind::Arsh;
    if (is_shift) {
        // The ISA masks register shift amounts; the kernel tracks only amounts known to be in range.
        Tnum amount = width_tnum(src, width);
        if (amount.is_const() && amount.value < width) shift = static_cast<unsigned>(amount.value);
        if (!shift) return width == 64 ? Scalar::unknown() : zero_extend_32(Scalar::unknown());
    }
    Scalar out;
    if (width == 64) {
        out.var_off = tnum_rule(form.kind, dst.var_off, src.var_off, shift, 64);
        set_bounds(out, 64, interval_rule(form.kind, get_bounds(dst, 64), get_bounds(src, 64), shift, 64));
        if (low_half_is_local(form.kind))
            set_bounds(out, 32, interval_rule(form.kind, get_bounds(dst, 32), get_bounds(src, 32), shift, 32));
        sync_bounds(out);
        return out;
    }
    Tnum low = tnum_rule(form.kind, tnum_subreg(dst.var_off), tnum_subreg(src.var_off), shift, 32);
    out.var_off = tnum_subreg(low);
    set_bounds(out, 32, interval_rule(form.kind, get_bounds(dst, 32), get_bounds(src, 32), shift, 32));
    return zero_extend_32(out);
}

}  // namespace tcbpf::verifier
