#include <gtest/gtest.h>

#include "tcbpf/isa.h"

using namespace tcbpf::isa;

namespace {
RawInsn raw(uint8_t opcode, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    return RawInsn{opcode, static_cast<uint8_t>(dst | (src << 4)), off, imm};
}
std::string decode_error(std::vector<RawInsn> prog) {
    try {
        decode(prog);
    } catch (const tcbpf::Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST(Decode, EveryTableRowRoundTrips) {
    for (const OpInfo& row : all_ops()) {
        Insn insn;
        insn.op = row.op;
        const bool uses_regs = row.shape != Shape::Ja && row.shape != Shape::Ja32 && row.shape != Shape::Exit &&
                               row.shape != Shape::Call && row.shape != Shape::LdAbs && row.shape != Shape::LdInd;
        if (uses_regs) insn.dst = 3;
        if (row.shape == Shape::AluX || row.shape == Shape::JccX || row.shape == Shape::Ldx ||
            row.shape == Shape::Stx || row.shape == Shape::Atomic || row.shape == Shape::MovSx || row.shape == Shape::LdInd)
            insn.src = 4;
        std::vector<RawInsn> out;
        encode_insn(insn, out);
        if (row.shape == Shape::Lddw) {
            ASSERT_EQ(out.size(), 2u);
        } else {
            ASSERT_EQ(out.size(), 1u) << row.id;
        }
        out.push_back(raw(0x95, 0, 0, 0, 0));
        Program p = decode(out);
        EXPECT_EQ(p.insns[0].op, row.op) << row.id;
        EXPECT_EQ(encode(p).size(), out.size());
    }
}

TEST(Decode, RejectsUnknownOpcode) {
    EXPECT_EQ(decode_error({raw(0xff, 0, 0, 0, 0)}), "pc 0: unknown opcode 0xff");
}

TEST(Decode, RejectsReservedFields) {
    EXPECT_EQ(decode_error({raw(0x07, 1, 2, 0, 5)}), "pc 0: ADD64_K uses reserved field src=r2");
    EXPECT_EQ(decode_error({raw(0x95, 0, 0, 0, 1)}), "pc 0: EXIT uses reserved field imm=1");
}

TEST(Decode, RejectsBadRegister) {
    EXPECT_EQ(decode_error({raw(0xb7, 11, 0, 0, 0)}), "pc 0: invalid dst register r11");
}

TEST(Decode, DistinguishesRowsSharingAnOpcode) {
    EXPECT_EQ(decode(std::vector<RawInsn>{raw(0x3f, 1, 2, 1, 0)}).insns[0].op, Op::SDIV64_X);
    EXPECT_EQ(decode(std::vector<RawInsn>{raw(0x3f, 1, 2, 0, 0)}).insns[0].op, Op::DIV64_X);
    EXPECT_EQ(decode(std::vector<RawInsn>{raw(0xdb, 1, 2, 0, 0xf1)}).insns[0].op, Op::ATOMIC64_CMPXCHG);
    EXPECT_EQ(decode_error({raw(0xdb, 1, 2, 0, 0x02)}), "pc 0: invalid imm 2 for opcode 0xdb");
    EXPECT_EQ(decode_error({raw(0x3f, 1, 2, 2, 0)}), "pc 0: DIV64_X uses reserved field off=2");
}

TEST(Decode, LddwNeedsSecondSlot) {
    EXPECT_EQ(decode_error({raw(0x18, 1, 0, 0, 1)}), "pc 0: 64-bit immediate load is missing its second slot");
    Program p = decode(std::vector<RawInsn>{raw(0x18, 1, 0, 0, 0x11223344), raw(0, 0, 0, 0, 0x55667788), raw(0x95, 0, 0, 0, 0)});
    EXPECT_EQ(p.insns[0].imm64, 0x5566778811223344ull);
    EXPECT_EQ(p.insns[1].op, Op::LDDW_TAIL);
}

TEST(Decode, RejectsJumpsOutOfRangeOrIntoLddw) {
    EXPECT_EQ(decode_error({raw(0x05, 0, 0, 5, 0), raw(0x95, 0, 0, 0, 0)}),
              "pc 0: jump out of range: target 6 outside 0..1");
    EXPECT_EQ(decode_error({raw(0x05, 0, 0, 1, 0), raw(0x18, 1, 0, 0, 1), raw(0, 0, 0, 0, 0), raw(0x95, 0, 0, 0, 0)}),
              "pc 0: jump into the middle of a 64-bit immediate load at 2");
}
