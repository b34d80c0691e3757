// ALU and ALU64 rows, MOVSX and byte-order rows: expected values come from isa.md §2, not from runs.
// Destination registers start with junk in their upper half where that proves 32-bit results are
// zero-extended and 32-bit operands ignore the upper half.
#include <gtest/gtest.h>

#include "tests/vm/vm_test_util.h"

namespace tcbpf::testing {
namespace {

constexpr uint64_t kMin64 = 0x8000000000000000;
constexpr uint64_t kAll = ~uint64_t{0};
uint64_t neg(int64_t v) { return static_cast<uint64_t>(v); }

struct AluCase {
    Op op;
    uint64_t dst;
    uint64_t operand;  // K forms: the imm (low 32 bits of this value); X forms: the src register
    uint64_t expected;
};

// clang-format off
const AluCase kAluCases[] = {
    // ---- ALU64: K operands are imm sign-extended to 64 bits ----
    {Op::ADD64_K, 1, neg(-1), 0},
    {Op::ADD64_K, 0xffffffff, 1, 0x100000000},
    {Op::ADD64_X, kAll, 2, 1},
    {Op::SUB64_K, 0, 1, kAll},
    {Op::SUB64_X, 5, 7, neg(-2)},
    {Op::MUL64_K, 0x100000000, 2, 0x200000000},
    {Op::MUL64_K, 3, neg(-1), neg(-3)},
    {Op::MUL64_X, kMin64, 2, 0},
    {Op::DIV64_K, 10, 3, 3},
    {Op::DIV64_K, 10, neg(-1), 0},             // divisor is 2^64-1 unsigned
    {Op::DIV64_K, kAll, neg(-1), 1},
    {Op::DIV64_K, 10, 0, 0},                   // division by zero gives 0
    {Op::DIV64_X, 100, 7, 14},
    {Op::DIV64_X, 100, 0, 0},
    {Op::SDIV64_K, neg(-7), 2, neg(-3)},       // truncates toward zero
    {Op::SDIV64_K, kMin64, neg(-1), kMin64},   // INT64_MIN / -1 = INT64_MIN
    {Op::SDIV64_K, neg(-7), 0, 0},
    {Op::SDIV64_K, 5, neg(-1), neg(-5)},
    {Op::SDIV64_X, 7, neg(-2), neg(-3)},
    {Op::SDIV64_X, kMin64, neg(-1), kMin64},
    {Op::SDIV64_X, 7, 0, 0},
    {Op::MOD64_K, 10, 3, 1},
    {Op::MOD64_K, 0x100000005, 0, 0x100000005},  // modulo by zero keeps the dividend
    {Op::MOD64_X, 10, 4, 2},
    {Op::MOD64_X, 0x100000005, 0, 0x100000005},
    {Op::SMOD64_K, neg(-13), 3, neg(-1)},      // sign of the dividend
    {Op::SMOD64_K, 13, neg(-3), 1},
    {Op::SMOD64_K, kMin64, neg(-1), 0},
    {Op::SMOD64_K, neg(-13), 0, neg(-13)},
    {Op::SMOD64_K, 5, neg(-1), 0},
    {Op::SMOD64_X, neg(-13), 3, neg(-1)},
    {Op::SMOD64_X, kMin64, neg(-1), 0},
    {Op::SMOD64_X, 13, 0, 13},
    {Op::OR64_K, 0, neg(-2), neg(-2)},
    {Op::OR64_X, 0xf0, 0x0f00000000000000, 0x0f000000000000f0},
    {Op::AND64_K, 0xffffffff0000ffff, neg(-1), 0xffffffff0000ffff},
    {Op::AND64_K, 0xffffffff0000ffff, 0x0f, 0x0f},
    {Op::AND64_X, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0x0f000f000f000f00},
    {Op::XOR64_K, 0, neg(-1), kAll},
    {Op::XOR64_X, 0xff00, 0x0ff0, 0xf0f0},
    {Op::LSH64_K, 1, 63, kMin64},
    {Op::LSH64_K, 1, 65, 2},                   // amount masked with 0x3f
    {Op::LSH64_X, 3, 64, 3},
    {Op::LSH64_X, 1, 33, 0x200000000},
    {Op::RSH64_K, kMin64, 63, 1},              // logical: no sign fill
    {Op::RSH64_X, kMin64, 64 + 4, 0x0800000000000000},
    {Op::ARSH64_K, kMin64, 63, kAll},          // arithmetic: sign fill
    {Op::ARSH64_X, neg(-256), 0x44, neg(-16)},
    {Op::ARSH64_X, 0x7000000000000000, 60, 7},
    {Op::MOV64_K, 0x1234, neg(-1), kAll},
    {Op::MOV64_K, kAll, 0x7fffffff, 0x7fffffff},
    {Op::MOV64_X, 0, 0xdeadbeefcafef00d, 0xdeadbeefcafef00d},
    // ---- ALU: 32-bit operation, result zero-extended ----
    {Op::ADD32_K, 0xffffffff, 1, 0},
    {Op::ADD32_K, 0xdeadbeef00000001, 2, 3},
    {Op::ADD32_X, 1, 0xffffffff00000001, 2},   // upper half of src ignored
    {Op::SUB32_K, 0, 1, 0xffffffff},
    {Op::SUB32_X, 0xdeadbeef00000005, 7, 0xfffffffe},
    {Op::MUL32_K, 3, neg(-1), 0xfffffffd},
    {Op::MUL32_X, 0x10000, 0x10000, 0},
    {Op::DIV32_K, 0xffffffff, neg(-1), 1},     // imm read as u32 0xffffffff
    {Op::DIV32_K, 0x100000006, 3, 2},          // upper half of dst ignored
    {Op::DIV32_K, 10, 0, 0},
    {Op::DIV32_X, 10, 0x100000000, 0},         // low 32 bits of src are 0: divide by zero
    {Op::DIV32_X, 0xdeadbeef00000064, 7, 14},
    {Op::SDIV32_K, 0xfffffff9, 2, 0xfffffffd}, // -7 / 2 = -3
    {Op::SDIV32_K, 0x80000000, neg(-1), 0x80000000},
    {Op::SDIV32_K, 0xdeadbeef00000007, 0, 0},
    {Op::SDIV32_K, 5, neg(-1), 0xfffffffb},
    {Op::SDIV32_X, 7, 0xfffffffe, 0xfffffffd},
    {Op::SDIV32_X, 0x80000000, 0xffffffff, 0x80000000},
    {Op::SDIV32_X, 7, 0, 0},
    {Op::MOD32_K, 7, 3, 1},
    {Op::MOD32_K, 0xdeadbeef00000007, 0, 7},   // dividend kept, upper half cleared
    {Op::MOD32_X, 0xdeadbeef00000007, 0, 7},
    {Op::MOD32_X, 100, 0xffffffff00000007, 2},
    {Op::SMOD32_K, 0xfffffff3, 3, 0xffffffff}, // -13 % 3 = -1
    {Op::SMOD32_K, 13, neg(-3), 1},
    {Op::SMOD32_K, 0x80000000, neg(-1), 0},
    {Op::SMOD32_K, 0xdeadbeeffffffff3, 0, 0xfffffff3},
    {Op::SMOD32_X, 0xfffffff3, 3, 0xffffffff},
    {Op::SMOD32_X, 0x80000000, 0xffffffff, 0},
    {Op::SMOD32_X, 0xdeadbeef00000005, 0, 5},
    {Op::OR32_K, 0xffffffff00000000, 1, 1},
    {Op::OR32_X, 0xff00000000, 0x100000002, 2},
    {Op::AND32_K, 0xffffffffffffffff, 0xff, 0xff},
    {Op::AND32_X, 0xffffffffffffffff, 0xffffffff0000ffff, 0xffff},
    {Op::XOR32_K, 0xffffffff00000000, neg(-1), 0xffffffff},
    {Op::XOR32_X, 0x1000000ff, 0x0f, 0xf0},
    {Op::LSH32_K, 1, 31, 0x80000000},
    {Op::LSH32_K, 0x80000000, 1, 0},           // bits shifted out of 32 are lost
    {Op::LSH32_X, 1, 33, 2},                   // amount masked with 0x1f
    {Op::RSH32_K, 0xffffffff80000000, 31, 1},
    {Op::RSH32_X, 0x80000000, 32 + 4, 0x08000000},
    {Op::ARSH32_K, 0x80000000, 31, 0xffffffff},  // sign of bit 31, then zero-extended
    {Op::ARSH32_X, 0xffffff00, 36, 0xfffffff0},
    {Op::ARSH32_X, 0xffffffff70000000, 28, 7},
    {Op::MOV32_K, kAll, neg(-1), 0xffffffff},
    {Op::MOV32_X, 0, 0xffffffff12345678, 0x12345678},
};

struct UnaryCase {
    Op op;
    uint64_t in;  // dst for NEG and END, src for MOVSX
    uint64_t expected;
};
const UnaryCase kUnaryCases[] = {
    {Op::NEG64, 5, neg(-5)},
    {Op::NEG64, 0, 0},
    {Op::NEG64, kMin64, kMin64},
    {Op::NEG32, 5, 0xfffffffb},
    {Op::NEG32, 0x100000000, 0},
    {Op::MOVSX64_S8, 0x80, 0xffffffffffffff80},
    {Op::MOVSX64_S8, 0x17f, 0x7f},
    {Op::MOVSX64_S16, 0x8000, 0xffffffffffff8000},
    {Op::MOVSX64_S16, 0xffff7fff, 0x7fff},
    {Op::MOVSX64_S32, 0x80000000, 0xffffffff80000000},
    {Op::MOVSX64_S32, 0x17fffffff, 0x7fffffff},
    {Op::MOVSX32_S8, 0x80, 0xffffff80},
    {Op::MOVSX32_S8, 0xffffffffffffff7f, 0x7f},
    {Op::MOVSX32_S16, 0x8000, 0xffff8000},
    {Op::MOVSX32_S16, 0x7fff, 0x7fff},
    {Op::LE16, 0x1122334455667788, 0x7788},
    {Op::LE32, 0x1122334455667788, 0x55667788},
    {Op::LE64, 0x1122334455667788, 0x1122334455667788},
    {Op::BE16, 0x1122334455667788, 0x8877},
    {Op::BE32, 0x1122334455667788, 0x88776655},
    {Op::BE64, 0x1122334455667788, 0x8877665544332211},
    {Op::BSWAP16, 0x1122334455667788, 0x8877},
    {Op::BSWAP32, 0x1122334455667788, 0x88776655},
    {Op::BSWAP64, 0x1122334455667788, 0x8877665544332211},
};
// clang-format on

// Names a failing case in test output instead of dumping its bytes.
void PrintTo(const AluCase& c, std::ostream* os) { *os << "{" << isa::info(c.op).id << ", dst 0x" << std::hex << c.dst << ", operand 0x" << c.operand << " → 0x" << c.expected << "}"; }

class Alu : public ::testing::TestWithParam<AluCase> {};

TEST_P(Alu, ComputesTheSpecifiedResult) {
    const AluCase& c = GetParam();
    const bool k_form = isa::info(c.op).shape == isa::Shape::AluK;
    std::vector<Insn> insns{lddw(0, c.dst)};
    if (k_form) {
        insns.push_back(alu(c.op, 0, static_cast<int32_t>(static_cast<uint32_t>(c.operand))));
    } else {
        insns.push_back(lddw(1, c.operand));
        insns.push_back(alux(c.op, 0, 1));
    }
    insns.push_back(exit_insn());
    EXPECT_EQ(eval(insns), c.expected) << std::hex << "dst 0x" << c.dst << " operand 0x" << c.operand;
}

std::string case_name(const ::testing::TestParamInfo<AluCase>& info) {
    return std::string(isa::info(info.param.op).id) + "_" + std::to_string(info.index);
}
INSTANTIATE_TEST_SUITE_P(Rows, Alu, ::testing::ValuesIn(kAluCases), case_name);

void PrintTo(const UnaryCase& c, std::ostream* os) {
    *os << "{" << isa::info(c.op).id << ", in 0x" << std::hex << c.in << " → 0x" << c.expected << "}";
}

class Unary : public ::testing::TestWithParam<UnaryCase> {};

TEST_P(Unary, ComputesTheSpecifiedResult) {
    const UnaryCase& c = GetParam();
    std::vector<Insn> insns;
    if (isa::info(c.op).shape == isa::Shape::MovSx) {
        // dst starts as junk: MOVSX overwrites all 64 bits.
        insns = {lddw(1, c.in), lddw(0, 0xdeadbeefdeadbeef), insn(c.op, 0, 1), exit_insn()};
    } else {
        insns = {lddw(0, c.in), insn(c.op, 0), exit_insn()};
    }
    EXPECT_EQ(eval(insns), c.expected) << std::hex << "in 0x" << c.in;
}

std::string unary_name(const ::testing::TestParamInfo<UnaryCase>& info) {
    return std::string(isa::info(info.param.op).id) + "_" + std::to_string(info.index);
}
INSTANTIATE_TEST_SUITE_P(Rows, Unary, ::testing::ValuesIn(kUnaryCases), unary_name);

TEST(AluTable, EveryAluRowHasACase) {
    std::vector<bool> covered(isa::kOpCount, false);
    for (const AluCase& c : kAluCases) covered[static_cast<size_t>(c.op)] = true;
    for (const UnaryCase& c : kUnaryCases) covered[static_cast<size_t>(c.op)] = true;
    for (const isa::OpInfo& row : isa::all_ops()) {
        const isa::Shape s = row.shape;
        if (s == isa::Shape::AluK || s == isa::Shape::AluX || s == isa::Shape::Neg || s == isa::Shape::MovSx ||
            s == isa::Shape::End) {
            EXPECT_TRUE(covered[static_cast<size_t>(row.op)]) << row.id << " has no test case";
        }
    }
}

TEST(AluTable, LddwLoadsAllSixtyFourBits) {
    EXPECT_EQ(eval({lddw(0, 0x80000000ffffffff), exit_insn()}), 0x80000000ffffffff);
    // The first half is zero-extended, not sign-extended, into the value.
    EXPECT_EQ(eval({lddw(0, 0x00000000ffffffff), exit_insn()}), 0xffffffff);
}

TEST(AluTable, RunReceivesR1AndR2AndZeroesTheRest) {
    EXPECT_EQ(eval({movx(0, 1), alux(Op::SUB64_X, 0, 2), exit_insn()}, 50, 8), 42u);
    for (int r = 3; r <= 9; ++r) {
        EXPECT_EQ(eval({mov(0, 1), movx(0, r), exit_insn()}, 7, 7), 0u) << "r" << r;
    }
}

}  // namespace
}  // namespace tcbpf::testing
