// The random program generator's promises, checked without a kernel: repeatable from a seed, the same
// body in both variants, every body instruction form of the ISA table reachable, and the kernel
// verifier's rules for scalar programs respected by construction (the kernel differential test then
// confirms the kernel accepts them).
#include "tests/support/random_program.h"

#include <gtest/gtest.h>

#include <set>

namespace tcbpf::test {
namespace {

using isa::Op;
using isa::Shape;

constexpr uint64_t kSeeds = 400;

TEST(RandomProgram, SameSeedSameProgram) {
    const RandomProgram a = generate_random_program(42), b = generate_random_program(42);
    EXPECT_EQ(isa::encode_bytes(a.kernel), isa::encode_bytes(b.kernel));
    EXPECT_EQ(isa::encode_bytes(a.memory), isa::encode_bytes(b.memory));
    EXPECT_NE(isa::encode_bytes(a.kernel), isa::encode_bytes(generate_random_program(43).kernel));
}

TEST(RandomProgram, BothVariantsShareThePrologueAndBody) {
    for (uint64_t seed = 0; seed < 50; ++seed) {
        const RandomProgram p = generate_random_program(seed);
        ASSERT_LT(p.body_begin, p.body_end);
        for (size_t pc = 0; pc < p.body_end; ++pc) ASSERT_EQ(p.kernel.insns[pc], p.memory.insns[pc]) << "seed " << seed << " pc " << pc;
    }
}

TEST(RandomProgram, EveryBodyInstructionFormAppears) {
    std::set<Op> seen;
    for (uint64_t seed = 0; seed < kSeeds; ++seed) {
        const RandomProgram p = generate_random_program(seed);
        for (size_t pc = p.body_begin; pc < p.body_end; ++pc) seen.insert(p.memory.insns[pc].op);
    }
    for (const isa::OpInfo& row : isa::all_ops()) {
        switch (row.shape) {
            case Shape::AluK: case Shape::AluX: case Shape::Neg: case Shape::MovSx: case Shape::End:
            case Shape::Lddw: case Shape::Ldx: case Shape::St: case Shape::Stx: case Shape::Atomic:
            case Shape::JccK: case Shape::JccX:
                EXPECT_TRUE(seen.count(row.op)) << row.id << " never generated in " << kSeeds << " programs";
                break;
            default:
                EXPECT_FALSE(seen.count(row.op)) << row.id << " must not appear in a body";
        }
    }
}

int width(Op op) { return isa::is_32bit(op) ? 32 : 64; }

TEST(RandomProgram, BodiesFollowTheVerifiersScalarRules) {
    for (uint64_t seed = 0; seed < kSeeds; ++seed) {
        const RandomProgram p = generate_random_program(seed);
        for (size_t pc = p.body_begin; pc < p.body_end; ++pc) {
            const isa::Insn& insn = p.memory.insns[pc];
            if (insn.op == Op::LDDW_TAIL) continue;
            const isa::OpInfo& row = isa::info(insn.op);
            const uint8_t code = row.opcode & 0xf0;
            const std::string where = "seed " + std::to_string(seed) + " pc " + std::to_string(pc) + " " + std::string(row.id);
            switch (row.shape) {
                case Shape::AluK:
                    if (code == 0x30 || code == 0x90) {
                        EXPECT_NE(insn.imm, 0) << where << ": constant divisor 0";
                    }
                    if (code == 0x60 || code == 0x70 || code == 0xc0) {
                        EXPECT_GE(insn.imm, 0) << where;
                        EXPECT_LT(insn.imm, width(insn.op)) << where << ": constant shift out of range";
                    }
                    [[fallthrough]];
                case Shape::AluX: case Shape::Neg: case Shape::MovSx: case Shape::End: case Shape::Lddw:
                case Shape::Ldx:
                    EXPECT_LT(insn.dst, isa::kFrameReg) << where << ": writes r10";
                    break;
                case Shape::St: case Shape::Stx: case Shape::Atomic: {
                    EXPECT_EQ(insn.dst, isa::kFrameReg) << where << ": memory is the stack only";
                    const int size = isa::mem_size(insn.op);
                    EXPECT_EQ(insn.off % size, 0) << where << ": unaligned";
                    EXPECT_GE(insn.off, kScratchOffset) << where;
                    EXPECT_LE(insn.off + size, kRegisterSpillOffset) << where << ": outside scratch and trace";
                    break;
                }
                case Shape::JccK: case Shape::JccX: {
                    const int64_t target = isa::branch_target(insn, pc);
                    EXPECT_GT(target, static_cast<int64_t>(pc)) << where << ": backward jump";
                    EXPECT_LE(target, static_cast<int64_t>(p.body_end)) << where << ": jumps out of the body";
                    break;
                }
                default: ADD_FAILURE() << where << ": unexpected form";
            }
            if (row.shape == Shape::Ldx) {
                EXPECT_EQ(insn.src, isa::kFrameReg) << where;
                EXPECT_GE(insn.off, kScratchOffset) << where;
                EXPECT_LE(insn.off + isa::mem_size(insn.op), kTraceOffset) << where << ": reads outside scratch";
            }
        }
    }
}

}  // namespace
}  // namespace tcbpf::test
