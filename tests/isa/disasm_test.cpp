// Exact disassembly text, written from isa.md §7 (llvm-objdump --no-print-imm-hex with alu32 decoding)
// and the pseudo-load forms documented in tcbpf/asm.h.
#include <gtest/gtest.h>

#include "tcbpf/asm.h"

using namespace tcbpf::isa;

namespace {

Insn insn(uint8_t opcode, uint8_t dst, uint8_t src, int16_t off, int32_t imm, int32_t next_imm = 0) {
    const RawInsn slot{opcode, static_cast<uint8_t>(dst | (src << 4)), off, imm};
    const RawInsn tail{0, 0, 0, next_imm};
    return decode_insn(slot, &tail, 0);
}

struct Case {
    Insn insn;
    const char* text;
};

}  // namespace

TEST(Disassemble, LlvmObjdumpSyntax) {
    const Case cases[] = {
        {insn(0x0f, 1, 2, 0, 0), "r1 += r2"},
        {insn(0x07, 1, 0, 0, 5), "r1 += 5"},
        {insn(0x0c, 1, 2, 0, 0), "w1 += w2"},
        {insn(0x04, 1, 0, 0, 5), "w1 += 5"},
        {insn(0x1f, 1, 2, 0, 0), "r1 -= r2"},
        {insn(0x2f, 1, 2, 0, 0), "r1 *= r2"},
        {insn(0x3f, 1, 2, 0, 0), "r1 /= r2"},
        {insn(0x4f, 1, 2, 0, 0), "r1 |= r2"},
        {insn(0x5f, 1, 2, 0, 0), "r1 &= r2"},
        {insn(0x6f, 1, 2, 0, 0), "r1 <<= r2"},
        {insn(0x7f, 1, 2, 0, 0), "r1 >>= r2"},
        {insn(0x9f, 1, 2, 0, 0), "r1 %= r2"},
        {insn(0xaf, 1, 2, 0, 0), "r1 ^= r2"},
        {insn(0xcf, 1, 2, 0, 0), "r1 s>>= r2"},
        {insn(0x3f, 1, 2, 1, 0), "r1 s/= r2"},
        {insn(0x94, 1, 0, 1, 3), "w1 s%= 3"},
        {insn(0x87, 1, 0, 0, 0), "r1 = -r1"},
        {insn(0x84, 1, 0, 0, 0), "w1 = -w1"},
        {insn(0xbf, 1, 2, 0, 0), "r1 = r2"},
        {insn(0xb7, 1, 0, 0, -1), "r1 = -1"},
        {insn(0xbc, 1, 2, 0, 0), "w1 = w2"},
        {insn(0xb4, 1, 0, 0, 7), "w1 = 7"},
        {insn(0xbf, 1, 2, 8, 0), "r1 = (s8)r2"},
        {insn(0xbf, 1, 2, 32, 0), "r1 = (s32)r2"},
        {insn(0xbc, 1, 2, 16, 0), "w1 = (s16)w2"},
        {insn(0xd4, 1, 0, 0, 16), "r1 = le16 r1"},
        {insn(0xdc, 1, 0, 0, 32), "r1 = be32 r1"},
        {insn(0xd7, 1, 0, 0, 64), "r1 = bswap64 r1"},
        {insn(0x18, 1, 0, 0, 0x1234), "r1 = 0x1234 ll"},
        {insn(0x18, 1, 0, 0, -1, -1), "r1 = 0xffffffffffffffff ll"},
        {insn(0x61, 0, 1, 4, 0), "w0 = *(u32 *)(r1 + 4)"},
        {insn(0x71, 0, 10, -1, 0), "w0 = *(u8 *)(r10 - 1)"},
        {insn(0x79, 0, 1, 0, 0), "r0 = *(u64 *)(r1 + 0)"},
        {insn(0x89, 0, 1, 2, 0), "r0 = *(s16 *)(r1 + 2)"},
        {insn(0x62, 10, 0, -8, 5), "*(u32 *)(r10 - 8) = 5"},
        {insn(0x7b, 10, 1, -8, 0), "*(u64 *)(r10 - 8) = r1"},
        {insn(0x6b, 1, 2, 2, 0), "*(u16 *)(r1 + 2) = w2"},
        {insn(0xdb, 1, 2, 0, 0x00), "lock *(u64 *)(r1 + 0) += r2"},
        {insn(0xc3, 1, 2, 0, 0x40), "lock *(u32 *)(r1 + 0) |= w2"},
        {insn(0xdb, 1, 0, 0, 0x01), "r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)"},
        {insn(0xc3, 1, 0, 0, 0xa1), "w0 = atomic_fetch_xor((u32 *)(r1 + 0), w0)"},
        {insn(0xdb, 1, 0, 0, 0xe1), "r0 = xchg_64(r1 + 0, r0)"},
        {insn(0xc3, 1, 0, 0, 0xe1), "w0 = xchg32_32(r1 + 0, w0)"},
        {insn(0xdb, 1, 2, 0, 0xf1), "r0 = cmpxchg_64(r1 + 0, r0, r2)"},
        {insn(0xc3, 1, 2, 0, 0xf1), "w0 = cmpxchg32_32(r1 + 0, w0, w2)"},
        {insn(0x28, 0, 0, 0, 12), "r0 = *(u16 *)skb[12]"},
        {insn(0x50, 0, 1, 0, 0), "r0 = *(u8 *)skb[r1]"},
        {insn(0x05, 0, 0, 3, 0), "goto +3"},
        {insn(0x05, 0, 0, -1, 0), "goto -1"},
        {insn(0x06, 0, 0, 0, 70000), "gotol +70000"},
        {insn(0x6d, 1, 2, 3, 0), "if r1 s> r2 goto +3"},
        {insn(0xae, 1, 2, -2, 0), "if w1 < w2 goto -2"},
        {insn(0x65, 1, 0, 3, 5), "if r1 s> 5 goto +3"},
        {insn(0x45, 1, 0, 1, 4), "if r1 & 4 goto +1"},
        {insn(0x56, 1, 0, 2, -1), "if w1 != -1 goto +2"},
        {insn(0x85, 0, 0, 0, 1), "call 1"},
        {insn(0x8d, 1, 0, 0, 0), "callx r1"},
        {insn(0x95, 0, 0, 0, 0), "exit"},
    };
    for (const Case& c : cases) EXPECT_EQ(disassemble(c.insn, 0), c.text);
}

// Forms llvm-objdump cannot tell apart get the kernel log / bpftool spelling documented in asm.h.
TEST(Disassemble, LocalCallsAndPseudoLoads) {
    EXPECT_EQ(disassemble(insn(0x85, 0, 1, 0, 5), 0), "call pc+5");
    EXPECT_EQ(disassemble(insn(0x85, 0, 1, 0, -3), 9), "call pc-3");
    EXPECT_EQ(disassemble(insn(0x18, 1, 1, 0, 5), 0), "r1 = map[fd:5] ll");
    EXPECT_EQ(disassemble(insn(0x18, 1, 2, 0, 5, 8), 0), "r1 = map[fd:5][0]+8 ll");
    EXPECT_EQ(disassemble(insn(0x18, 1, 3, 0, 7), 0), "r1 = btf_id[7] ll");
    EXPECT_EQ(disassemble(insn(0x18, 1, 4, 0, 3), 0), "r1 = func[pc+3] ll");
    EXPECT_EQ(disassemble(insn(0x18, 1, 5, 0, 0), 0), "r1 = map[idx:0] ll");
    EXPECT_EQ(disassemble(insn(0x18, 1, 6, 0, 0, 8), 0), "r1 = map[idx:0][0]+8 ll");
    EXPECT_EQ(disassemble(insn(0x18, 1, 1, 0, 5, 9), 0), "r1 = map[fd:5] ll next_imm 9");
}

TEST(Disassemble, EdgeValuesPrintInDecimal) {
    EXPECT_EQ(disassemble(insn(0xb7, 1, 0, 0, INT32_MIN), 0), "r1 = -2147483648");
    EXPECT_EQ(disassemble(insn(0xb4, 1, 0, 0, 0x7fffffff), 0), "w1 = 2147483647");
    EXPECT_EQ(disassemble(insn(0x79, 1, 2, -32768, 0), 0), "r1 = *(u64 *)(r2 - 32768)");
    EXPECT_EQ(disassemble(insn(0x40, 0, 3, 0, -4), 0), "r0 = *(u32 *)skb[r3 - 4]");
    EXPECT_EQ(disassemble(insn(0x48, 0, 3, 0, 14), 0), "r0 = *(u16 *)skb[r3 + 14]");
    EXPECT_EQ(disassemble(insn(0x05, 0, 0, 0, 0), 0), "goto +0");
}

TEST(Disassemble, ProgramOneLinePerInstructionSkippingLddwTails) {
    std::vector<RawInsn> slots(10, RawInsn{0xb7, 0, 0, 0});
    slots[1] = RawInsn{0x18, 2, 0, 0x1234};
    slots[2] = RawInsn{0x00, 0, 0, 0};
    slots[9] = RawInsn{0x95, 0, 0, 0};
    slots.push_back(RawInsn{0x95, 0, 0, 0});
    EXPECT_EQ(disassemble(decode(slots)),
              " 0: r0 = 0\n"
              " 1: r2 = 0x1234 ll\n"
              " 3: r0 = 0\n"
              " 4: r0 = 0\n"
              " 5: r0 = 0\n"
              " 6: r0 = 0\n"
              " 7: r0 = 0\n"
              " 8: r0 = 0\n"
              " 9: exit\n"
              "10: exit\n");
}
