// Scalar bounds: the sync, every ALU row and every conditional jump row checked against concrete
// execution (soundness), plus the precision the kernel's rules give on the patterns programs rely on.
#include "verifier/scalar.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "tests/verifier/concrete.h"
#include "tests/verifier/samples.h"

namespace tcbpf::verifier {
namespace {

using isa::Op;

// The tightest facts about a set of values, each fact randomly forgotten so the rules also meet states
// where the tnum knows more than the intervals and the other way round.
Scalar abstract(const std::vector<uint64_t>& xs, std::mt19937_64& rng) {
    Scalar s;
    Tnum t = Tnum::constant(xs.front());
    for (uint64_t x : xs) t = tnum_union(t, Tnum::constant(x));
    auto keep = [&rng] { return rng() % 4 != 0; };
    if (keep()) s.var_off = t;
    if (keep()) {
        s.umin = *std::min_element(xs.begin(), xs.end());
        s.umax = *std::max_element(xs.begin(), xs.end());
    }
    if (keep()) {
        auto [lo, hi] = std::minmax_element(xs.begin(), xs.end(), [](uint64_t a, uint64_t b) {
            return static_cast<int64_t>(a) < static_cast<int64_t>(b);
        });
        s.smin = static_cast<int64_t>(*lo), s.smax = static_cast<int64_t>(*hi);
    }
    if (keep()) {
        auto [lo, hi] = std::minmax_element(xs.begin(), xs.end(), [](uint64_t a, uint64_t b) {
            return static_cast<uint32_t>(a) < static_cast<uint32_t>(b);
        });
        s.u32_min = static_cast<uint32_t>(*lo), s.u32_max = static_cast<uint32_t>(*hi);
    }
    if (keep()) {
        auto [lo, hi] = std::minmax_element(xs.begin(), xs.end(), [](uint64_t a, uint64_t b) {
            return static_cast<int32_t>(a) < static_cast<int32_t>(b);
        });
        s.s32_min = static_cast<int32_t>(*lo), s.s32_max = static_cast<int32_t>(*hi);
    }
    sync_bounds(s);
    return s;
}

Scalar masked_unknown(uint64_t mask) { return alu(Op::AND64_K, Scalar::unknown(), Scalar::constant(mask)); }

TEST(Scalar, ConstantsAndUnknownPrintAsTheKernelLogDoes) {
    EXPECT_EQ(to_string(Scalar::constant(5)), "5");
    EXPECT_EQ(to_string(Scalar::constant(~uint64_t{0})), "-1");
    EXPECT_EQ(to_string(Scalar::unknown()), "scalar()");
    EXPECT_EQ(to_string(masked_unknown(0xff)),
              "scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))");
}

TEST(Scalar, SyncDerivesEveryFactFromTheOthers) {
    Scalar s;
    s.umin = 10, s.umax = 20;
    sync_bounds(s);
    EXPECT_EQ(to_string(s), "scalar(smin=umin=smin32=umin32=10,smax=umax=smax32=umax32=20,var_off=(0x0; 0x1f))");
    Scalar low;
    low.var_off = Tnum{0x100000000, 0xff};  // high half known, low byte unknown
    sync_bounds(low);
    EXPECT_EQ(low.umin, 0x100000000u);
    EXPECT_EQ(low.umax, 0x1000000ffu);
    EXPECT_EQ(low.u32_max, 0xffu);
    Scalar negative;
    negative.smin = -8, negative.smax = -1;
    sync_bounds(negative);
    EXPECT_EQ(negative.umin, static_cast<uint64_t>(-8));
    EXPECT_EQ(negative.umax, static_cast<uint64_t>(-1));
    EXPECT_EQ(negative.s32_min, -8);
    EXPECT_EQ(negative.var_off, (Tnum{~uint64_t{7}, 7}));
}

TEST(Scalar, SyncIsSoundAndIdempotent) {
    std::mt19937_64 rng(1);
    for (int round = 0; round < 20000; ++round) {
        auto xs = test::sample_set(rng);
        Scalar s = abstract(xs, rng);
        for (uint64_t x : xs) ASSERT_TRUE(s.contains(x)) << to_string(s) << " x=" << x;
        Scalar again = s;
        sync_bounds(again);
        ASSERT_EQ(again, s) << to_string(s);
        ASSERT_TRUE(s.is_consistent());
    }
}

TEST(Scalar, MaskingShiftingAndAddingKeepTightBounds) {
    // r1 &= 0xff; r1 <<= 2; r1 += 14: an index scaled into a header offset.
    Scalar r = masked_unknown(0xff);
    r = alu(Op::LSH64_K, r, Scalar::constant(2));
    EXPECT_EQ(r.umax, 1020u);
    r = alu(Op::ADD64_K, r, Scalar::constant(14));
    EXPECT_EQ(r.umin, 14u);
    EXPECT_EQ(r.umax, 1034u);
    EXPECT_EQ(r.smin, 14);
    // Adding two bounded unknowns adds the bounds.
    Scalar sum = alu(Op::ADD64_X, masked_unknown(0xf), masked_unknown(0xff));
    EXPECT_EQ(sum.umax, 0xffu + 0xf);
    // An unsigned wrap of one side only loses the unsigned bounds, not the signed ones.
    Scalar minus = alu(Op::SUB64_K, masked_unknown(0xff), Scalar::constant(1));
    EXPECT_EQ(minus.smin, -1);
    EXPECT_EQ(minus.smax, 254);
    EXPECT_EQ(minus.umax, ~uint64_t{0});
}

TEST(Scalar, ThirtyTwoBitResultsAreZeroExtended) {
    Scalar w = alu(Op::ADD32_K, Scalar::unknown(), Scalar::constant(1));
    EXPECT_EQ(w.umax, 0xffffffffu);
    EXPECT_EQ(w.smin, 0);
    Scalar minus_one = alu(Op::MOV32_K, Scalar::unknown(), Scalar::constant(~uint64_t{0}));
    EXPECT_TRUE(minus_one.is_const());
    EXPECT_EQ(minus_one.const_value(), 0xffffffffu);
    Scalar from_64 = alu(Op::MOV32_X, Scalar::unknown(), Scalar::constant(0x1'0000'0005));
    EXPECT_EQ(to_string(from_64), "5");
}

TEST(Scalar, UntrackedOperationsGiveUnknown) {
    Scalar byte = masked_unknown(0xff);
    EXPECT_TRUE(alu(Op::SDIV64_X, byte, byte).is_unknown());
    EXPECT_TRUE(alu(Op::LSH64_X, byte, byte).is_unknown());  // shift amount not a constant
    Scalar w = alu(Op::RSH32_X, byte, byte);
    EXPECT_EQ(w.umax, 0xffffffffu);  // still zero-extended
    // Division by a possibly-zero register can give zero but never more than the dividend.
    Scalar quotient = alu(Op::DIV64_X, byte, Scalar::unknown());
    EXPECT_EQ(quotient.umax, 0xffu);
    EXPECT_EQ(alu(Op::MOD64_K, Scalar::unknown(), Scalar::constant(10)).umax, 9u);
}

TEST(Scalar, ByteSwapsAndSignExtensionsAreExactOnBits) {
    Scalar be = alu(Op::BE16, masked_unknown(0xff), Scalar{});
    EXPECT_EQ(be.var_off, (Tnum{0, 0xff00}));
    EXPECT_EQ(alu(Op::LE16, Scalar::constant(0x12345), Scalar{}).const_value(), 0x2345u);
    Scalar byte = alu(Op::MOVSX64_S8, Scalar::unknown(), masked_unknown(0xff));
    EXPECT_EQ(byte.smin, -128);
    EXPECT_EQ(byte.smax, 127);
    Scalar word = alu(Op::MOVSX64_S32, Scalar::unknown(), Scalar::unknown());
    EXPECT_EQ(word.smin, INT32_MIN);
    EXPECT_EQ(word.smax, INT32_MAX);
}

bool is_alu(Op op) {
    switch (isa::info(op).shape) {
        case isa::Shape::AluK:
        case isa::Shape::AluX:
        case isa::Shape::Neg:
        case isa::Shape::MovSx:
        case isa::Shape::End: return true;
        default: return false;
    }
}

bool is_shift(Op op) {
    std::string_view t = isa::info(op).text;
    return t == "<<=" || t == ">>=" || t == "s>>=";
}

bool is_division(Op op) {
    std::string_view t = isa::info(op).text;
    return t == "/=" || t == "%=" || t == "s/=" || t == "s%=";
}

TEST(Scalar, EveryAluRowIsSoundAgainstConcreteExecution) {
    for (const isa::OpInfo& row : isa::all_ops()) {
        if (!is_alu(row.op)) continue;
        std::mt19937_64 rng(row.opcode * 131 + static_cast<uint64_t>(row.op));
        bool immediate = row.shape == isa::Shape::AluK;
        unsigned width = isa::is_32bit(row.op) ? 32 : 64;
        for (int round = 0; round < 3000; ++round) {
            auto xs = test::sample_set(rng);
            std::vector<uint64_t> ys;
            if (immediate) {
                // What the checker lets through: shifts within the width, no division by zero.
                int32_t imm = static_cast<int32_t>(test::interesting_value(rng));
                if (is_shift(row.op)) imm = static_cast<int32_t>(rng() % width);
                if (is_division(row.op) && imm == 0) imm = 1;
                ys.push_back(static_cast<uint64_t>(int64_t{imm}));
            } else {
                ys = test::sample_set(rng);
            }
            Scalar dst = abstract(xs, rng);
            Scalar src = immediate ? Scalar::constant(ys.front()) : abstract(ys, rng);
            Scalar result = alu(row.op, dst, src);
            for (uint64_t x : xs)
                for (uint64_t y : ys) {
                    uint64_t concrete = test::execute_alu(row.op, x, y);
                    ASSERT_TRUE(result.contains(concrete))
                        << row.id << " dst=" << to_string(dst) << " src=" << to_string(src) << " x=" << x
                        << " y=" << y << " concrete=" << concrete << " result=" << to_string(result);
                }
        }
    }
}

TEST(Scalar, LoadTruncationsAndExtensionsAreSound) {
    std::mt19937_64 rng(3);
    for (int round = 0; round < 20000; ++round) {
        auto xs = test::sample_set(rng);
        Scalar s = abstract(xs, rng);
        unsigned bytes = 1u << (rng() % 4);
        for (uint64_t x : xs) {
            uint64_t low = bytes == 8 ? x : x & ((uint64_t{1} << (8 * bytes)) - 1);
            ASSERT_TRUE(truncate(s, bytes).contains(low)) << to_string(s) << " bytes=" << bytes;
            uint64_t extended = bytes == 8 ? x : static_cast<uint64_t>(static_cast<int64_t>(low << (64 - 8 * bytes)) >> (64 - 8 * bytes));
            ASSERT_TRUE(sign_extend(s, bytes).contains(extended)) << to_string(s) << " bytes=" << bytes;
        }
    }
}

}  // namespace
}  // namespace tcbpf::verifier
