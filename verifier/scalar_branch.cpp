// Conditional jumps on scalars: deciding a branch and learning from it.
//
// Both work on the width the jump compares (all 64 bits, or the low 32 for JMP32) and on both operands
// symmetrically, so `r1 > r2` teaches something about r1 and r2 alike and reg-vs-const is just the case
// of a constant operand. A not-taken branch is the taken branch of the negated comparison, and the "less"
// comparisons are the "greater" ones with operands swapped, leaving five rules to write: ==, !=, > / >=
// (unsigned and signed) and & (set and clear). The learned intervals are then spread to the other width
// and the tnum by the sync.
#include <algorithm>
#include <bit>
#include <stdexcept>
#include <utility>

#include "verifier/scalar.h"
#include "verifier/scalar_bounds.h"

namespace tcbpf::verifier {

using namespace detail;
using isa::Op;

Condition condition_of(Op op) {
    switch (op) {
#define BOTH(name, cmp)                                   \
    case Op::name##64_K:                                  \
    case Op::name##64_X: return {Cmp::cmp, false};        \
    case Op::name##32_K:                                  \
    case Op::name##32_X: return {Cmp::cmp, true};
        BOTH(JEQ, Eq)
        BOTH(JNE, Ne)
        BOTH(JGT, Gt)
        BOTH(JGE, Ge)
        BOTH(JLT, Lt)
        BOTH(JLE, Le)
        BOTH(JSGT, Sgt)
        BOTH(JSGE, Sge)
        BOTH(JSLT, Slt)
        BOTH(JSLE, Sle)
        BOTH(JSET, Set)
#undef BOTH
        default: throw std::invalid_argument("not a conditional jump");
    }
}

bool evaluate(Condition c, uint64_t a, uint64_t b) {
    unsigned width = c.is32 ? 32 : 64;
    a &= width_mask(width), b &= width_mask(width);
    int64_t sa = as_signed(a, width), sb = as_signed(b, width);
    switch (c.cmp) {
        case Cmp::Eq: return a == b;
        case Cmp::Ne: return a != b;
        case Cmp::Gt: return a > b;
        case Cmp::Ge: return a >= b;
        case Cmp::Lt: return a < b;
        case Cmp::Le: return a <= b;
        case Cmp::Sgt: return sa > sb;
        case Cmp::Sge: return sa >= sb;
        case Cmp::Slt: return sa < sb;
        case Cmp::Sle: return sa <= sb;
        case Cmp::Set: return (a & b) != 0;
    }
    return false;
}

namespace {

// The comparisons the rules are written for, after negation and operand swapping.
enum class Rule { Eq, Ne, Gt, Ge, Sgt, Sge, Set, Clear };

std::pair<Rule, bool /*swap*/> normalize(Cmp cmp, bool outcome) {
    if (!outcome) {
        switch (cmp) {
            case Cmp::Eq: return {Rule::Ne, false};
            case Cmp::Ne: return {Rule::Eq, false};
            case Cmp::Gt: return {Rule::Ge, true};   // !(a > b)  ⇔ b >= a
            case Cmp::Ge: return {Rule::Gt, true};   // !(a >= b) ⇔ b > a
            case Cmp::Lt: return {Rule::Ge, false};  // !(a < b)  ⇔ a >= b
            case Cmp::Le: return {Rule::Gt, false};
            case Cmp::Sgt: return {Rule::Sge, true};
            case Cmp::Sge: return {Rule::Sgt, true};
            case Cmp::Slt: return {Rule::Sge, false};
            case Cmp::Sle: return {Rule::Sgt, false};
            case Cmp::Set: return {Rule::Clear, false};
        }
    }
    switch (cmp) {
        case Cmp::Eq: return {Rule::Eq, false};
        case Cmp::Ne: return {Rule::Ne, false};
        case Cmp::Gt: return {Rule::Gt, false};
        case Cmp::Ge: return {Rule::Ge, false};
        case Cmp::Lt: return {Rule::Gt, true};
        case Cmp::Le: return {Rule::Ge, true};
        case Cmp::Sgt: return {Rule::Sgt, false};
        case Cmp::Sge: return {Rule::Sge, false};
        case Cmp::Slt: return {Rule::Sgt, true};
        case Cmp::Sle: return {Rule::Sge, true};
        case Cmp::Set: return {Rule::Set, false};
    }
    return {Rule::Eq, false};
}

// Whether the rule holds always / never / depends, on one width's view.
std::optional<bool> decide(Rule rule, const Scalar& a, const Scalar& b, unsigned width) {
    Bounds x = get_bounds(a, width), y = get_bounds(b, width);
    Tnum ta = width_tnum(a, width), tb = width_tnum(b, width);
    switch (rule) {
        case Rule::Eq:
        case Rule::Ne: {
            std::optional<bool> equal;
            if (ta.is_const() && tb.is_const())
                equal = ta.value == tb.value;
            else if (tnum_conflict(ta, tb) || x.umin > y.umax || x.umax < y.umin || x.smin > y.smax ||
                     x.smax < y.smin)
                equal = false;
            if (equal && rule == Rule::Ne) return !*equal;
            return equal;
        }
        case Rule::Gt:
            if (x.umin > y.umax) return true;
            if (x.umax <= y.umin) return false;
            return std::nullopt;
        case Rule::Ge:
            if (x.umin >= y.umax) return true;
            if (x.umax < y.umin) return false;
            return std::nullopt;
        case Rule::Sgt:
            if (x.smin > y.smax) return true;
            if (x.smax <= y.smin) return false;
            return std::nullopt;
        case Rule::Sge:
            if (x.smin >= y.smax) return true;
            if (x.smax < y.smin) return false;
            return std::nullopt;
        case Rule::Set:
        case Rule::Clear: {
            std::optional<bool> set;
            if ((ta.value & tb.value) != 0)
                set = true;
            else if ((ta.max() & tb.max()) == 0)
                set = false;
            if (set && rule == Rule::Clear) return !*set;
            return set;
        }
    }
    return std::nullopt;
}

// a != c for a constant c: only an interval end equal to c can move.
void exclude_value(Scalar& a, uint64_t c, unsigned width) {
    Bounds x = get_bounds(a, width);
    if (x.umin == c && x.umin < x.umax) ++x.umin;
    else if (x.umax == c && x.umin < x.umax) --x.umax;
    else if (x.umin == c) x.umin = 1, x.umax = 0;  // the only value is excluded: dead
    int64_t sc = as_signed(c, width);
    if (x.smin == sc && x.smin < x.smax) ++x.smin;
    else if (x.smax == sc && x.smin < x.smax) --x.smax;
    set_bounds(a, width, x);
}

// Narrow a and b to pairs with `a rule b` on one width. Returns false when no pair remains.
bool apply(Rule rule, Scalar& a, Scalar& b, unsigned width) {
    Bounds x = get_bounds(a, width), y = get_bounds(b, width);
    Tnum ta = width_tnum(a, width), tb = width_tnum(b, width);
    auto set_tnum = [width](Scalar& s, Tnum t) {
        s.var_off = width == 64 ? t : tnum_with_subreg(s.var_off, t);
    };
    switch (rule) {
        case Rule::Eq: {
            if (tnum_conflict(ta, tb)) return false;
            Bounds both{std::max(x.umin, y.umin), std::min(x.umax, y.umax), std::max(x.smin, y.smin),
                        std::min(x.smax, y.smax)};
            if (both.umin > both.umax || both.smin > both.smax) return false;
            set_bounds(a, width, both), set_bounds(b, width, both);
            Tnum t = tnum_intersect(ta, tb);
            set_tnum(a, t), set_tnum(b, t);
            break;
        }
        case Rule::Ne:
            if (tb.is_const()) exclude_value(a, tb.value, width);
            if (ta.is_const()) exclude_value(b, ta.value, width);
            break;
        case Rule::Gt:  // a > b
            if (y.umin == width_mask(width) || x.umax == 0) return false;
            x.umin = std::max(x.umin, y.umin + 1);
            y.umax = std::min(y.umax, x.umax - 1);
            set_bounds(a, width, x), set_bounds(b, width, y);
            break;
        case Rule::Ge:
            x.umin = std::max(x.umin, y.umin);
            y.umax = std::min(y.umax, x.umax);
            set_bounds(a, width, x), set_bounds(b, width, y);
            break;
        case Rule::Sgt:
            if (y.smin == signed_max(width) || x.smax == signed_min(width)) return false;
            x.smin = std::max(x.smin, y.smin + 1);
            y.smax = std::min(y.smax, x.smax - 1);
            set_bounds(a, width, x), set_bounds(b, width, y);
            break;
        case Rule::Sge:
            x.smin = std::max(x.smin, y.smin);
            y.smax = std::min(y.smax, x.smax);
            set_bounds(a, width, x), set_bounds(b, width, y);
            break;
        case Rule::Set: {
            // A single possible bit in the other operand must be set here.
            auto force_bit = [&](Scalar& s, Tnum own, Tnum other) {
                if (other.is_const() && std::has_single_bit(other.value)) set_tnum(s, tnum_or(own, other));
            };
            force_bit(a, ta, tb);
            force_bit(b, tb, ta);
            break;
        }
        case Rule::Clear:
            if (tb.is_const()) set_tnum(a, tnum_and(ta, Tnum::constant(~tb.value & width_mask(width))));
            if (ta.is_const()) set_tnum(b, tnum_and(tb, Tnum::constant(~ta.value & width_mask(width))));
            break;
    }
    return true;
}

}  // namespace

std::optional<bool> branch_outcome(Condition c, const Scalar& a, const Scalar& b) {
    auto [rule, swap] = normalize(c.cmp, true);
    unsigned width = c.is32 ? 32 : 64;
    return swap ? decide(rule, b, a, width) : decide(rule, a, b, width);
}

bool refine(Condition c, bool outcome, Scalar& a, Scalar& b) {
    auto [rule, swap] = normalize(c.cmp, outcome);
    unsigned width = c.is32 ? 32 : 64;
    if (std::optional<bool> known = decide(rule, swap ? b : a, swap ? a : b, width)) {
        if (!*known) return false;
    }
    bool feasible = swap ? apply(rule, b, a, width) : apply(rule, a, b, width);
    if (!feasible) return false;
    sync_bounds(a);
    sync_bounds(b);
    return a.is_consistent() && b.is_consistent();
}

}  // namespace tcbpf::verifier
