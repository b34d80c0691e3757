// Conditional jumps on scalars: decided branches are right for every value, and the refined states of
// both branches keep every pair of values that takes that branch. Plus the narrowing programs rely on.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "tests/verifier/samples.h"
#include "verifier/scalar.h"

namespace tcbpf::verifier {
namespace {

using isa::Op;

Scalar hull(const std::vector<uint64_t>& xs, std::mt19937_64& rng) {
    // Union tnum plus the unsigned interval; signed/32-bit facts come from the sync, sometimes forgotten.
    Scalar s;
    Tnum t = Tnum::constant(xs.front());
    for (uint64_t x : xs) t = tnum_union(t, Tnum::constant(x));
    if (rng() % 4) s.var_off = t;
    if (rng() % 4) {
        s.umin = *std::min_element(xs.begin(), xs.end());
        s.umax = *std::max_element(xs.begin(), xs.end());
    }
    sync_bounds(s);
    return s;
}

struct Branches {
    Scalar taken_dst, taken_src, fall_dst, fall_src;
    bool taken_feasible, fall_feasible;
};

Branches both_branches(Op op, Scalar dst, Scalar src) {
    Branches b{dst, src, dst, src, false, false};
    b.taken_feasible = refine(condition_of(op), true, b.taken_dst, b.taken_src);
    b.fall_feasible = refine(condition_of(op), false, b.fall_dst, b.fall_src);
    return b;
}

Scalar unsigned_range(uint64_t lo, uint64_t hi) {
    Scalar s;
    s.umin = lo, s.umax = hi;
    sync_bounds(s);
    return s;
}

TEST(ScalarBranch, UnsignedCompareWithAConstantSplitsTheRange) {
    // if r1 > 10 goto: taken r1 ≥ 11, fall-through r1 ≤ 10.
    auto b = both_branches(Op::JGT64_K, Scalar::unknown(), Scalar::constant(10));
    EXPECT_EQ(to_string(b.taken_dst), "scalar(umin=11)");
    EXPECT_EQ(to_string(b.fall_dst), "scalar(smin=smin32=0,smax=umax=smax32=umax32=10,var_off=(0x0; 0xf))");
    EXPECT_TRUE(b.taken_feasible && b.fall_feasible);
}

TEST(ScalarBranch, SignedCompareBoundsTheSignedRange) {
    auto b = both_branches(Op::JSLT64_K, Scalar::unknown(), Scalar::constant(0));
    EXPECT_EQ(b.taken_dst.smax, -1);
    EXPECT_EQ(b.taken_dst.umin, uint64_t{1} << 63);
    EXPECT_EQ(b.fall_dst.smin, 0);
    EXPECT_EQ(b.fall_dst.umax, uint64_t{INT64_MAX});
}

TEST(ScalarBranch, EqualityMakesAConstantAndInequalityTrimsAnEnd) {
    auto eq = both_branches(Op::JEQ64_K, unsigned_range(0, 20), Scalar::constant(7));
    EXPECT_EQ(to_string(eq.taken_dst), "7");
    auto ne = both_branches(Op::JNE64_K, unsigned_range(0, 20), Scalar::constant(0));
    EXPECT_EQ(ne.taken_dst.umin, 1u);
    EXPECT_EQ(ne.fall_dst, Scalar::constant(0));
}

TEST(ScalarBranch, RegisterComparisonsNarrowBothSides) {
    // if r1 < r2 goto, with r1 in [5, 100] and r2 in [0, 50]: taken r1 ≤ 49 and r2 ≥ 6.
    auto b = both_branches(Op::JLT64_X, unsigned_range(5, 100), unsigned_range(0, 50));
    EXPECT_EQ(b.taken_dst.umax, 49u);
    EXPECT_EQ(b.taken_src.umin, 6u);
    EXPECT_EQ(b.fall_dst.umin, 5u);
}

TEST(ScalarBranch, JsetSetsAndClearsTestedBits) {
    auto b = both_branches(Op::JSET64_K, Scalar::unknown(), Scalar::constant(4));
    EXPECT_EQ(b.taken_dst.var_off, (Tnum{4, ~uint64_t{4}}));
    EXPECT_EQ(b.fall_dst.var_off, (Tnum{0, ~uint64_t{4}}));
    // Several tested bits: only the not-taken branch learns (they are all clear).
    auto several = both_branches(Op::JSET64_K, Scalar::unknown(), Scalar::constant(6));
    EXPECT_TRUE(several.taken_dst.is_unknown());
    EXPECT_EQ(several.fall_dst.var_off, (Tnum{0, ~uint64_t{6}}));
}

TEST(ScalarBranch, Jmp32ComparesLearnTheLowHalf) {
    auto b = both_branches(Op::JLE32_K, Scalar::unknown(), Scalar::constant(255));
    EXPECT_EQ(b.taken_dst.u32_max, 255u);
    EXPECT_EQ(b.taken_dst.var_off, (Tnum{0, 0xffffffff000000ff}));
    // The high half is still unknown, but no value can exceed ...ff_000000ff.
    EXPECT_EQ(b.taken_dst.umax, 0xffffffff000000ffu);
    // With the high half known zero, the 64-bit range follows.
    auto z = both_branches(Op::JLE32_K, zero_extend_32(Scalar::unknown()), Scalar::constant(255));
    EXPECT_EQ(z.taken_dst.umax, 255u);
}

TEST(ScalarBranch, DecidedBranches) {
    EXPECT_EQ(branch_outcome(condition_of(Op::JGT64_K), unsigned_range(11, 20), Scalar::constant(10)), true);
    EXPECT_EQ(branch_outcome(condition_of(Op::JGT64_K), unsigned_range(0, 10), Scalar::constant(10)), false);
    EXPECT_EQ(branch_outcome(condition_of(Op::JGT64_K), unsigned_range(0, 11), Scalar::constant(10)), std::nullopt);
    EXPECT_EQ(branch_outcome(condition_of(Op::JEQ64_K), Scalar::constant(3), Scalar::constant(3)), true);
    EXPECT_EQ(branch_outcome(condition_of(Op::JNE64_K), Scalar::constant(3), Scalar::constant(3)), false);
    EXPECT_EQ(branch_outcome(condition_of(Op::JSET64_K), Scalar::from_tnum(Tnum{1, 6}), Scalar::constant(1)), true);
    EXPECT_EQ(branch_outcome(condition_of(Op::JSET64_K), Scalar::from_tnum(Tnum{0, 6}), Scalar::constant(1)), false);
    EXPECT_EQ(branch_outcome(condition_of(Op::JSLT64_K), Scalar::constant(~uint64_t{0}), Scalar::constant(0)), true);
    // JMP32 looks only at the low half: 0x1_0000_0000 == 0 in 32 bits.
    EXPECT_EQ(branch_outcome(condition_of(Op::JEQ32_K), Scalar::constant(0x100000000), Scalar::constant(0)), true);
    // The dead branch of a decided compare is reported infeasible by refine.
    Scalar a = unsigned_range(11, 20), k = Scalar::constant(10);
    EXPECT_FALSE(refine(condition_of(Op::JGT64_K), false, a, k));
}

bool is_conditional(const isa::OpInfo& row) {
    return row.shape == isa::Shape::JccK || row.shape == isa::Shape::JccX;
}

TEST(ScalarBranch, EveryJumpRowIsSoundAgainstConcreteComparison) {
    for (const isa::OpInfo& row : isa::all_ops()) {
        if (!is_conditional(row)) continue;
        std::mt19937_64 rng(row.opcode * 7919);
        Condition c = condition_of(row.op);
        for (int round = 0; round < 4000; ++round) {
            auto xs = test::sample_set(rng);
            std::vector<uint64_t> ys;
            if (row.shape == isa::Shape::JccK)
                ys.push_back(static_cast<uint64_t>(int64_t{static_cast<int32_t>(test::interesting_value(rng))}));
            else if (rng() % 4 == 0)
                ys = xs;  // comparisons of overlapping sets exercise == and the ends of ranges
            else
                ys = test::sample_set(rng);
            Scalar a = hull(xs, rng);
            Scalar b = row.shape == isa::Shape::JccK ? Scalar::constant(ys.front()) : hull(ys, rng);
            std::optional<bool> decided = branch_outcome(c, a, b);
            Branches br = both_branches(row.op, a, b);
            for (uint64_t x : xs)
                for (uint64_t y : ys) {
                    bool outcome = evaluate(c, x, y);
                    auto where = [&] {
                        return std::string(row.id) + " a=" + to_string(a) + " b=" + to_string(b) +
                               " x=" + std::to_string(x) + " y=" + std::to_string(y) +
                               " outcome=" + std::to_string(outcome);
                    };
                    if (decided) {
                        ASSERT_EQ(*decided, outcome) << where();
                    }
                    if (outcome) {
                        ASSERT_TRUE(br.taken_feasible) << where();
                        ASSERT_TRUE(br.taken_dst.contains(x)) << where() << " got " << to_string(br.taken_dst);
                        ASSERT_TRUE(br.taken_src.contains(y)) << where() << " got " << to_string(br.taken_src);
                    } else {
                        ASSERT_TRUE(br.fall_feasible) << where();
                        ASSERT_TRUE(br.fall_dst.contains(x)) << where() << " got " << to_string(br.fall_dst);
                        ASSERT_TRUE(br.fall_src.contains(y)) << where() << " got " << to_string(br.fall_src);
                    }
                }
        }
    }
}

}  // namespace
}  // namespace tcbpf::verifier
