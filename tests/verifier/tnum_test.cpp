// Tnum: every operation is sound (concrete results of members are members of the abstract result), and
// exact where the kernel's is.
#include "verifier/tnum.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "tests/verifier/samples.h"

namespace tcbpf::verifier {
namespace {

Tnum abstract(const std::vector<uint64_t>& values) {
    Tnum t = Tnum::constant(values.front());
    for (uint64_t v : values) t = tnum_union(t, Tnum::constant(v));
    return t;
}

TEST(Tnum, ConstantsAndUnknown) {
    EXPECT_TRUE(Tnum::constant(5).is_const());
    EXPECT_TRUE(Tnum::constant(5).equals_const(5));
    EXPECT_TRUE(Tnum::unknown().is_unknown());
    EXPECT_TRUE(Tnum::unknown().contains(0x1234));
    EXPECT_FALSE(Tnum::constant(5).contains(4));
    EXPECT_EQ(to_string(Tnum{0, 0xff}), "(0x0; 0xff)");
}

TEST(Tnum, RangeKeepsTheCommonHighBits) {
    EXPECT_EQ(Tnum::range(0, 0xff), (Tnum{0, 0xff}));
    EXPECT_EQ(Tnum::range(16, 31), (Tnum{16, 15}));
    EXPECT_EQ(Tnum::range(16, 32), (Tnum{0, 63}));
    EXPECT_EQ(Tnum::range(9, 9), Tnum::constant(9));
    EXPECT_TRUE(Tnum::range(0, ~uint64_t{0}).is_unknown());
    EXPECT_TRUE(Tnum::range(1, uint64_t{1} << 63).is_unknown());
}

TEST(Tnum, ExactResultsOnKnownInputs) {
    EXPECT_EQ(tnum_add(Tnum::constant(3), Tnum::constant(4)), Tnum::constant(7));
    EXPECT_EQ(tnum_sub(Tnum::constant(3), Tnum::constant(4)), Tnum::constant(~uint64_t{0}));
    EXPECT_EQ(tnum_mul(Tnum::constant(3), Tnum::constant(5)), Tnum::constant(15));
    EXPECT_EQ(tnum_neg(Tnum::constant(1)), Tnum::constant(~uint64_t{0}));
    EXPECT_EQ(tnum_bswap(Tnum::constant(0x1122), 2), Tnum::constant(0x2211));
    EXPECT_EQ(tnum_sign_extend(Tnum::constant(0x80), 8), Tnum::constant(0xffffffffffffff80));
}

TEST(Tnum, PrecisionCases) {
    // Two one-bit unknowns add to two unknown bits, not to a fully unknown value.
    EXPECT_EQ(tnum_add(Tnum{0, 1}, Tnum{0, 1}), (Tnum{0, 3}));
    // Masking with a constant forgets everything above it; or-ing sets known ones.
    EXPECT_EQ(tnum_and(Tnum::unknown(), Tnum::constant(0xff)), (Tnum{0, 0xff}));
    EXPECT_EQ(tnum_or(Tnum{0, 0xff}, Tnum::constant(0x0f)), (Tnum{0x0f, 0xf0}));
    EXPECT_EQ(tnum_xor(Tnum{0x10, 0x0f}, Tnum::constant(0x11)), (Tnum{0x00, 0x0f}));
    EXPECT_EQ(tnum_lshift(Tnum{1, 2}, 4), (Tnum{0x10, 0x20}));
    EXPECT_EQ(tnum_rshift(Tnum{0x10, 0x20}, 4), (Tnum{1, 2}));
    // A known sign bit replicates; an unknown one spreads as unknown.
    EXPECT_EQ(tnum_arshift(Tnum::constant(0x80000000), 4, 32), Tnum::constant(0xf8000000));
    EXPECT_EQ(tnum_arshift(Tnum{0, 0x80000000}, 4, 32), (Tnum{0, 0xf8000000}));
    EXPECT_EQ(tnum_arshift(Tnum{0, uint64_t{1} << 63}, 60, 64), (Tnum{0, ~uint64_t{0} << 3}));
    // x * {0, 1}: either 0 or x.
    EXPECT_EQ(tnum_mul(Tnum{0, 1}, Tnum::constant(6)), (Tnum{0, 6}));
    EXPECT_EQ(tnum_cast(Tnum::unknown(), 2), (Tnum{0, 0xffff}));
    EXPECT_EQ(tnum_bswap(Tnum{0, 0xff}, 4), (Tnum{0, 0xff000000}));
}

TEST(Tnum, IntersectUnionAndInclusion) {
    EXPECT_EQ(tnum_intersect(Tnum{0, 0xff}, Tnum{0x100, 0x0f}), (Tnum{0x100, 0x0f}));
    EXPECT_EQ(tnum_intersect(Tnum{0x1, 0xf0}, Tnum{0x20, 0x0f}), Tnum::constant(0x21));
    EXPECT_FALSE(tnum_conflict(Tnum{0x1, 0xf0}, Tnum{0x20, 0x0f}));
    EXPECT_TRUE(tnum_conflict(Tnum::constant(1), Tnum::constant(2)));
    EXPECT_EQ(tnum_union(Tnum::constant(4), Tnum::constant(6)), (Tnum{4, 2}));
    EXPECT_TRUE((Tnum{0, 0xff}).includes(Tnum{0x10, 0x0f}));
    EXPECT_FALSE((Tnum{0x10, 0x0f}).includes(Tnum{0, 0xff}));
    EXPECT_FALSE((Tnum{0x10, 0x0f}).includes(Tnum::constant(0x20)));
    EXPECT_TRUE((Tnum{0, 0xff}).is_aligned(1));
    EXPECT_TRUE((Tnum{0, 0xf0}).is_aligned(16));
    EXPECT_FALSE((Tnum{0, 0xf8}).is_aligned(16));
}

TEST(Tnum, SubregisterHalves) {
    Tnum t{0x1200'0000'0000'5608, 0x00ff'0000'0000'00f0};
    EXPECT_EQ(tnum_subreg(t), (Tnum{0x5608, 0xf0}));
    EXPECT_EQ(tnum_clear_subreg(t), (Tnum{0x1200'0000'0000'0000, 0x00ff'0000'0000'0000}));
    EXPECT_EQ(tnum_const_subreg(t, 7).value & 0xffffffff, 7u);
    EXPECT_EQ(tnum_const_subreg(t, 7).mask & 0xffffffff, 0u);
    EXPECT_EQ(tnum_with_subreg(Tnum::unknown(), Tnum::constant(1)), (Tnum{1, 0xffffffff00000000}));
}

using Binary = std::function<Tnum(Tnum, Tnum)>;
using Concrete = std::function<uint64_t(uint64_t, uint64_t)>;

void check_binary_soundness(const char* name, const Binary& abstract_op, const Concrete& concrete_op) {
    std::mt19937_64 rng(0x7e57 + std::hash<std::string>{}(name));
    for (int round = 0; round < 20000; ++round) {
        auto xs = test::sample_set(rng);
        auto ys = test::sample_set(rng);
        Tnum a = abstract(xs), b = abstract(ys);
        Tnum r = abstract_op(a, b);
        ASSERT_EQ(r.value & r.mask, 0u) << name;
        for (uint64_t x : xs)
            for (uint64_t y : ys)
                ASSERT_TRUE(r.contains(concrete_op(x, y)))
                    << name << " a=" << to_string(a) << " b=" << to_string(b) << " x=" << x << " y=" << y
                    << " result=" << to_string(r);
    }
}

TEST(Tnum, BinaryOperationsAreSound) {
    check_binary_soundness("add", tnum_add, [](uint64_t x, uint64_t y) { return x + y; });
    check_binary_soundness("sub", tnum_sub, [](uint64_t x, uint64_t y) { return x - y; });
    check_binary_soundness("mul", tnum_mul, [](uint64_t x, uint64_t y) { return x * y; });
    check_binary_soundness("and", tnum_and, [](uint64_t x, uint64_t y) { return x & y; });
    check_binary_soundness("or", tnum_or, [](uint64_t x, uint64_t y) { return x | y; });
    check_binary_soundness("xor", tnum_xor, [](uint64_t x, uint64_t y) { return x ^ y; });
    check_binary_soundness("union-left", tnum_union, [](uint64_t x, uint64_t) { return x; });
    check_binary_soundness("union-right", tnum_union, [](uint64_t, uint64_t y) { return y; });
}

TEST(Tnum, UnaryOperationsAreSound) {
    std::mt19937_64 rng(99);
    for (int round = 0; round < 20000; ++round) {
        auto xs = test::sample_set(rng);
        Tnum a = abstract(xs);
        unsigned k = static_cast<unsigned>(rng() % 64), k32 = k % 32;
        unsigned bytes = 1u << (rng() % 4);
        unsigned swap_bytes = 2u << (rng() % 3);
        unsigned ext_bits = 8u << (rng() % 3);
        for (uint64_t x : xs) {
            ASSERT_TRUE(tnum_lshift(a, k).contains(x << k));
            ASSERT_TRUE(tnum_rshift(a, k).contains(x >> k));
            ASSERT_TRUE(tnum_arshift(a, k, 64).contains(static_cast<uint64_t>(static_cast<int64_t>(x) >> k)));
            ASSERT_TRUE(tnum_arshift(a, k32, 32).contains(
                static_cast<uint32_t>(static_cast<int32_t>(static_cast<uint32_t>(x)) >> k32)));
            ASSERT_TRUE(tnum_neg(a).contains(0 - x));
            ASSERT_TRUE(tnum_cast(a, bytes).contains(bytes == 8 ? x : x & ((uint64_t{1} << (8 * bytes)) - 1)));
            uint64_t swapped = swap_bytes == 2   ? __builtin_bswap16(static_cast<uint16_t>(x))
                               : swap_bytes == 4 ? __builtin_bswap32(static_cast<uint32_t>(x))
                                                 : __builtin_bswap64(x);
            ASSERT_TRUE(tnum_bswap(a, swap_bytes).contains(swapped));
            uint64_t extended = ext_bits == 8    ? static_cast<uint64_t>(static_cast<int8_t>(x))
                                : ext_bits == 16 ? static_cast<uint64_t>(static_cast<int16_t>(x))
                                                 : static_cast<uint64_t>(static_cast<int32_t>(x));
            ASSERT_TRUE(tnum_sign_extend(a, ext_bits).contains(extended));
            ASSERT_TRUE(tnum_subreg(a).contains(x & 0xffffffff));
            ASSERT_TRUE(tnum_clear_subreg(a).contains(x & ~uint64_t{0xffffffff}));
            ASSERT_TRUE(a.includes(Tnum::constant(x)));
        }
    }
}

TEST(Tnum, RangeContainsItsInterval) {
    std::mt19937_64 rng(5);
    for (int round = 0; round < 20000; ++round) {
        uint64_t a = test::interesting_value(rng), b = test::interesting_value(rng);
        if (a > b) std::swap(a, b);
        Tnum t = Tnum::range(a, b);
        ASSERT_TRUE(t.contains(a));
        ASSERT_TRUE(t.contains(b));
        if (b - a > 2) {
            ASSERT_TRUE(t.contains(a + (rng() % (b - a))));
        }
    }
}

TEST(Tnum, IntersectOfTwoFactsKeepsTheValue) {
    std::mt19937_64 rng(17);
    for (int round = 0; round < 20000; ++round) {
        uint64_t x = test::interesting_value(rng);
        Tnum a{x & ~rng(), 0}, b{0, 0};
        a.mask = rng() & rng();
        a.value = x & ~a.mask;
        b.mask = rng() & rng();
        b.value = x & ~b.mask;
        ASSERT_FALSE(tnum_conflict(a, b));
        Tnum both = tnum_intersect(a, b);
        ASSERT_TRUE(both.contains(x));
        ASSERT_EQ(both.mask, a.mask & b.mask);
    }
}

}  // namespace
}  // namespace tcbpf::verifier
