// JMP and JMP32 rows (isa.md §3): each compare taken and not taken, with operands chosen so that
// signed vs unsigned and 64- vs 32-bit compares give different answers.
#include <gtest/gtest.h>

#include "tests/vm/vm_test_util.h"

namespace tcbpf::testing {
namespace {

constexpr uint64_t kAll = ~uint64_t{0};
uint64_t neg(int64_t v) { return static_cast<uint64_t>(v); }

struct JumpCase {
    Op op;
    uint64_t dst;
    uint64_t operand;  // K forms: imm (low 32 bits); X forms: src register
    bool taken;
};

// clang-format off
const JumpCase kJumpCases[] = {
    {Op::JEQ64_K, 5, 5, true},
    {Op::JEQ64_K, kAll, neg(-1), true},          // imm sign-extended to 64 bits
    {Op::JEQ64_K, 0xffffffff, neg(-1), false},
    {Op::JEQ64_X, 0x100000005, 5, false},
    {Op::JEQ64_X, 7, 7, true},
    {Op::JGT64_K, kAll, 1, true},                // unsigned
    {Op::JGT64_K, 1, 2, false},
    {Op::JGT64_X, 3, 3, false},
    {Op::JGT64_X, 0x8000000000000000, 1, true},
    {Op::JGE64_K, 2, 2, true},
    {Op::JGE64_K, 1, 2, false},
    {Op::JGE64_X, kAll, kAll, true},
    {Op::JGE64_X, 0, 1, false},
    {Op::JSET64_K, 6, 2, true},
    {Op::JSET64_K, 4, 2, false},
    {Op::JSET64_X, 0x100000000, 0x100000000, true},
    {Op::JSET64_X, 0x100000000, 0xffffffff, false},
    {Op::JNE64_K, 5, 6, true},
    {Op::JNE64_K, kAll, neg(-1), false},
    {Op::JNE64_X, 0x100000005, 5, true},
    {Op::JNE64_X, 9, 9, false},
    {Op::JSGT64_K, neg(-1), 1, false},           // signed: -1 < 1
    {Op::JSGT64_K, 2, neg(-5), true},
    {Op::JSGT64_X, 0xffffffff, 1, true},         // positive as a 64-bit value
    {Op::JSGT64_X, 0x8000000000000000, 0, false},
    {Op::JSGE64_K, neg(-1), neg(-1), true},
    {Op::JSGE64_K, neg(-2), neg(-1), false},
    {Op::JSGE64_X, 0, neg(-1), true},
    {Op::JSGE64_X, 0x8000000000000000, 0x7fffffffffffffff, false},
    {Op::JLT64_K, 1, neg(-1), true},             // 1 < 2^64-1 unsigned
    {Op::JLT64_K, 2, 2, false},
    {Op::JLT64_X, 0x7fffffffffffffff, 0x8000000000000000, true},
    {Op::JLT64_X, kAll, 0, false},
    {Op::JLE64_K, 2, 2, true},
    {Op::JLE64_K, 3, 2, false},
    {Op::JLE64_X, 0, kAll, true},
    {Op::JLE64_X, kAll, 0, false},
    {Op::JSLT64_K, neg(-1), 0, true},
    {Op::JSLT64_K, 0, neg(-1), false},
    {Op::JSLT64_X, 0x8000000000000000, 0x7fffffffffffffff, true},
    {Op::JSLT64_X, 5, 5, false},
    {Op::JSLE64_K, neg(-3), neg(-3), true},
    {Op::JSLE64_K, 1, neg(-3), false},
    {Op::JSLE64_X, kAll, 0, true},
    {Op::JSLE64_X, 0, kAll, false},
    // ---- JMP32: low 32 bits only; signed compares as s32 ----
    {Op::JEQ32_K, 0x100000005, 5, true},         // upper half ignored
    {Op::JEQ32_K, 0xffffffff, neg(-1), true},
    {Op::JEQ32_K, 4, 5, false},
    {Op::JEQ32_X, 0xdead000000000007, 0xbeef000000000007, true},
    {Op::JEQ32_X, 7, 0x100000008, false},
    {Op::JGT32_K, 0xffffffff, 1, true},
    {Op::JGT32_K, 0x100000000, 1, false},        // low half 0
    {Op::JGT32_X, 0x80000000, 0x7fffffff, true},
    {Op::JGT32_X, 1, 0xffffffff, false},
    {Op::JGE32_K, 0x200000002, 2, true},
    {Op::JGE32_K, 1, 2, false},
    {Op::JGE32_X, 0xffffffff, 0xffffffff, true},
    {Op::JGE32_X, 0x1000000000, 1, false},
    {Op::JSET32_K, 0x100000000, neg(-1), false}, // the set bit is above bit 31
    {Op::JSET32_K, 3, 1, true},
    {Op::JSET32_X, 0x80000000, 0x80000000, true},
    {Op::JSET32_X, 0x100000000, 0x100000000, false},
    {Op::JNE32_K, 0x100000005, 5, false},
    {Op::JNE32_K, 4, 5, true},
    {Op::JNE32_X, 1, 2, true},
    {Op::JNE32_X, 0x100000001, 1, false},
    {Op::JSGT32_K, 0xffffffff, 1, false},        // s32 -1 < 1 (the 64-bit JSGT says taken)
    {Op::JSGT32_K, 1, neg(-1), true},
    {Op::JSGT32_X, 0x7fffffff, 0x80000000, true},
    {Op::JSGT32_X, 0x80000000, 0, false},
    {Op::JSGE32_K, 0xfffffffe, neg(-2), true},
    {Op::JSGE32_K, 0x80000000, 0, false},
    {Op::JSGE32_X, 0, 0xffffffff, true},
    {Op::JSGE32_X, 0xffffffff, 0, false},
    {Op::JLT32_K, 0x500000001, 2, true},         // (u32)dst = 1
    {Op::JLT32_K, 0xffffffff, 2, false},
    {Op::JLT32_X, 1, 0xffffffff, true},
    {Op::JLT32_X, 0x80000000, 1, false},
    {Op::JLE32_K, 0xffffffff, neg(-1), true},
    {Op::JLE32_K, 3, 2, false},
    {Op::JLE32_X, 0x100000000, 0, true},
    {Op::JLE32_X, 2, 1, false},
    {Op::JSLT32_K, 0x80000000, 0, true},
    {Op::JSLT32_K, 0x7fffffff, 0, false},
    {Op::JSLT32_X, 0xffffffff, 0, true},
    {Op::JSLT32_X, 0, 0xffffffff, false},
    {Op::JSLE32_K, 0xfffffffd, neg(-3), true},
    {Op::JSLE32_K, 1, neg(-3), false},
    {Op::JSLE32_X, 0x80000000, 0x80000000, true},
    {Op::JSLE32_X, 0x7fffffff, 0x80000000, false},
};
// clang-format on

// Names a failing case in test output instead of dumping its bytes.
void PrintTo(const JumpCase& c, std::ostream* os) { *os << "{" << isa::info(c.op).id << ", dst 0x" << std::hex << c.dst << ", operand 0x" << c.operand << (c.taken ? ", taken}" : ", not taken}"); }

class Jump : public ::testing::TestWithParam<JumpCase> {};

// r0 = 0; if dst op operand goto +1; exit; r0 = 1; exit — returns whether the jump was taken.
TEST_P(Jump, TakenExactlyWhenTheCompareHolds) {
    const JumpCase& c = GetParam();
    std::vector<Insn> insns{lddw(1, c.dst)};
    if (isa::info(c.op).shape == isa::Shape::JccK) {
        insns.push_back(mov(0, 0));
        insns.push_back(jmp(c.op, 1, static_cast<int32_t>(static_cast<uint32_t>(c.operand)), 1));
    } else {
        insns.push_back(lddw(2, c.operand));
        insns.push_back(mov(0, 0));
        insns.push_back(jmpx(c.op, 1, 2, 1));
    }
    insns.insert(insns.end(), {exit_insn(), mov(0, 1), exit_insn()});
    EXPECT_EQ(eval(insns), c.taken ? 1u : 0u) << std::hex << "dst 0x" << c.dst << " operand 0x" << c.operand;
}

std::string case_name(const ::testing::TestParamInfo<JumpCase>& info) {
    return std::string(isa::info(info.param.op).id) + "_" + std::to_string(info.index);
}
INSTANTIATE_TEST_SUITE_P(Rows, Jump, ::testing::ValuesIn(kJumpCases), case_name);

TEST(JumpTable, EveryConditionalRowIsTakenAndNotTaken) {
    std::vector<int> taken(isa::kOpCount, 0), not_taken(isa::kOpCount, 0);
    for (const JumpCase& c : kJumpCases) ++(c.taken ? taken : not_taken)[static_cast<size_t>(c.op)];
    for (const isa::OpInfo& row : isa::all_ops()) {
        if (!isa::is_conditional_jump(row.op)) continue;
        EXPECT_GT(taken[static_cast<size_t>(row.op)], 0) << row.id;
        EXPECT_GT(not_taken[static_cast<size_t>(row.op)], 0) << row.id;
    }
}

TEST(Goto, JaSkipsForwardByOff) {
    EXPECT_EQ(eval({mov(0, 1), ja(1), mov(0, 2), exit_insn()}), 1u);
}

TEST(Goto, JaBackwardsRunsALoop) {
    // r0 = 0; r1 = 5; loop: r0 += r1; r1 -= 1; if r1 != 0 goto loop (JNE back); exit — then JA back.
    EXPECT_EQ(eval({mov(0, 0), mov(1, 5), alux(Op::ADD64_X, 0, 1), alu(Op::SUB64_K, 1, 1),
                    jmp(Op::JNE64_K, 1, 0, -3), exit_insn()}),
              15u);
    // A JA with a negative offset: counts r0 up to 3 through an unconditional back edge.
    EXPECT_EQ(eval({mov(0, 0), jmp(Op::JEQ64_K, 0, 3, 2), alu(Op::ADD64_K, 0, 1), ja(-3), exit_insn()}), 3u);
}

TEST(Goto, Ja32UsesImmNotOff) {
    EXPECT_EQ(eval({mov(0, 1), ja32(2), mov(0, 2), mov(0, 3), exit_insn()}), 1u);
    EXPECT_EQ(eval({mov(0, 0), ja32(1), exit_insn(), alu(Op::ADD64_K, 0, 7), ja32(-3)}), 7u);
}

TEST(Goto, JumpTargetsCountLddwAsTwoSlots) {
    // goto +2 skips the whole LDDW (slots 2 and 3).
    EXPECT_EQ(eval({mov(0, 1), ja(2), lddw(0, 99), exit_insn()}), 1u);
}

}  // namespace
}  // namespace tcbpf::testing
