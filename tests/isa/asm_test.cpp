// The llvm-objdump / verifier-log assembler: each accepted spelling and the exact encoding it means
// (isa.md §1-§5, §7), labels, tool prefixes, and the exact error for bad input.
#include <gtest/gtest.h>

#include "tcbpf/asm.h"

using namespace tcbpf::isa;

namespace {

constexpr int kPad = 8;

struct Slot {
    uint8_t opcode, dst, src;
    int16_t off;
    int32_t imm;
    bool operator==(const Slot&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Slot& s) {
    return os << "{op 0x" << std::hex << int(s.opcode) << std::dec << " dst " << int(s.dst) << " src " << int(s.src) << " off " << s.off
              << " imm " << s.imm << "}";
}

// Assembles `line` between runs of exits (so jumps of a few slots land) and returns its slots.
std::vector<Slot> slots_of(const std::string& line) {
    std::string text;
    for (int i = 0; i < kPad; ++i) text += "exit\n";
    text += line + "\n";
    for (int i = 0; i < kPad; ++i) text += "exit\n";
    const std::vector<RawInsn> raw = encode(assemble(text));
    std::vector<Slot> out;
    for (size_t i = kPad; i + kPad < raw.size(); ++i)
        out.push_back({raw[i].opcode, static_cast<uint8_t>(raw[i].regs & 0xf), static_cast<uint8_t>(raw[i].regs >> 4), raw[i].off, raw[i].imm});
    return out;
}

Slot slot_of(const std::string& line) {
    const auto s = slots_of(line);
    EXPECT_EQ(s.size(), 1u) << line;
    return s.empty() ? Slot{} : s[0];
}

std::string error_of(std::string_view text, std::string_view file = "<input>") {
    try {
        assemble(text, file);
    } catch (const tcbpf::Error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST(Assemble, AluForms) {
    EXPECT_EQ(slot_of("r1 += r2"), (Slot{0x0f, 1, 2, 0, 0}));
    EXPECT_EQ(slot_of("r1 += 5"), (Slot{0x07, 1, 0, 0, 5}));
    EXPECT_EQ(slot_of("w1 += w2"), (Slot{0x0c, 1, 2, 0, 0}));
    EXPECT_EQ(slot_of("w1 -= 5"), (Slot{0x14, 1, 0, 0, 5}));
    EXPECT_EQ(slot_of("r1 s/= r2"), (Slot{0x3f, 1, 2, 1, 0}));
    EXPECT_EQ(slot_of("w1 s%= 3"), (Slot{0x94, 1, 0, 1, 3}));
    EXPECT_EQ(slot_of("r3 s>>= 7"), (Slot{0xc7, 3, 0, 0, 7}));
    EXPECT_EQ(slot_of("r1 = -r1"), (Slot{0x87, 1, 0, 0, 0}));
    EXPECT_EQ(slot_of("w1 = -w1"), (Slot{0x84, 1, 0, 0, 0}));
    EXPECT_EQ(slot_of("r1 = -1"), (Slot{0xb7, 1, 0, 0, -1}));
    EXPECT_EQ(slot_of("w1 = w2"), (Slot{0xbc, 1, 2, 0, 0}));
    EXPECT_EQ(slot_of("r1 = (s8)r2"), (Slot{0xbf, 1, 2, 8, 0}));
    EXPECT_EQ(slot_of("r1 = (s32)r2"), (Slot{0xbf, 1, 2, 32, 0}));
    EXPECT_EQ(slot_of("w1 = (s16)w2"), (Slot{0xbc, 1, 2, 16, 0}));
    EXPECT_EQ(slot_of("r1 = le16 r1"), (Slot{0xd4, 1, 0, 0, 16}));
    EXPECT_EQ(slot_of("r1 = be32 r1"), (Slot{0xdc, 1, 0, 0, 32}));
    EXPECT_EQ(slot_of("r1 = bswap64 r1"), (Slot{0xd7, 1, 0, 0, 64}));
}

TEST(Assemble, ImmediatesDecimalOrHexBitForBit) {
    EXPECT_EQ(slot_of("w1 = 0xffffffff"), (Slot{0xb4, 1, 0, 0, -1}));
    EXPECT_EQ(slot_of("r1 = 0x80000000"), (Slot{0xb7, 1, 0, 0, INT32_MIN}));
    EXPECT_EQ(slot_of("r1 = -2147483648"), (Slot{0xb7, 1, 0, 0, INT32_MIN}));
    EXPECT_EQ(slot_of("if w1 != 0xffffffff goto +2"), (Slot{0x56, 1, 0, 2, -1}));
    EXPECT_EQ(slot_of("r0 = *(u32 *)(r1 + 0x10)"), (Slot{0x61, 0, 1, 16, 0}));
}

TEST(Assemble, SixtyFourBitImmediateAndPseudoSources) {
    EXPECT_EQ(slots_of("r1 = 0x1234 ll"), (std::vector<Slot>{{0x18, 1, 0, 0, 0x1234}, {0, 0, 0, 0, 0}}));
    EXPECT_EQ(slots_of("r1 = -1 ll"), (std::vector<Slot>{{0x18, 1, 0, 0, -1}, {0, 0, 0, 0, -1}}));
    EXPECT_EQ(slots_of("r2 = 0x1122334455667788 ll"), (std::vector<Slot>{{0x18, 2, 0, 0, 0x55667788}, {0, 0, 0, 0, 0x11223344}}));
    EXPECT_EQ(slots_of("r1 = map[fd:5] ll"), (std::vector<Slot>{{0x18, 1, 1, 0, 5}, {0, 0, 0, 0, 0}}));
    EXPECT_EQ(slots_of("r1 = map[fd:5][0]+8 ll"), (std::vector<Slot>{{0x18, 1, 2, 0, 5}, {0, 0, 0, 0, 8}}));
    EXPECT_EQ(slots_of("r1 = btf_id[7] ll"), (std::vector<Slot>{{0x18, 1, 3, 0, 7}, {0, 0, 0, 0, 0}}));
    EXPECT_EQ(slots_of("r1 = func[pc+3] ll"), (std::vector<Slot>{{0x18, 1, 4, 0, 3}, {0, 0, 0, 0, 0}}));
    EXPECT_EQ(slots_of("r1 = map[idx:0] ll"), (std::vector<Slot>{{0x18, 1, 5, 0, 0}, {0, 0, 0, 0, 0}}));
    EXPECT_EQ(slots_of("r1 = map[idx:0][0]+8 ll"), (std::vector<Slot>{{0x18, 1, 6, 0, 0}, {0, 0, 0, 0, 8}}));
    EXPECT_EQ(slots_of("r1 = map[fd:5] ll next_imm 9"), (std::vector<Slot>{{0x18, 1, 1, 0, 5}, {0, 0, 0, 0, 9}}));
    // The verifier log prints LDDW without `ll`; its opcode prefix says which instruction it is.
    EXPECT_EQ(slots_of("0: (18) r1 = 0xffff888100000000"),
              (std::vector<Slot>{{0x18, 1, 0, 0, 0}, {0, 0, 0, 0, static_cast<int32_t>(0xffff8881)}}));
}

TEST(Assemble, LoadsAndStoresAcceptRAndWRegisters) {
    EXPECT_EQ(slot_of("r0 = *(u32 *)(r1 + 4)"), (Slot{0x61, 0, 1, 4, 0}));
    EXPECT_EQ(slot_of("w0 = *(u32 *)(r1 + 4)"), (Slot{0x61, 0, 1, 4, 0}));
    EXPECT_EQ(slot_of("w0 = *(u8 *)(r10 - 1)"), (Slot{0x71, 0, 10, -1, 0}));
    EXPECT_EQ(slot_of("r0 = *(u64 *)(r1 + 0)"), (Slot{0x79, 0, 1, 0, 0}));
    EXPECT_EQ(slot_of("r0 = *(s16 *)(r1 + 2)"), (Slot{0x89, 0, 1, 2, 0}));
    EXPECT_EQ(slot_of("r0 = *(s8 *)(r1 +2)"), (Slot{0x91, 0, 1, 2, 0}));
    EXPECT_EQ(slot_of("r0 = *(s32 *)(r1 -2)"), (Slot{0x81, 0, 1, -2, 0}));
    EXPECT_EQ(slot_of("*(u32 *)(r10 - 8) = 5"), (Slot{0x62, 10, 0, -8, 5}));
    EXPECT_EQ(slot_of("*(u32 *)(r10 -8) = 5"), (Slot{0x62, 10, 0, -8, 5}));
    EXPECT_EQ(slot_of("*(u64 *)(r10 - 8) = -1"), (Slot{0x7a, 10, 0, -8, -1}));
    EXPECT_EQ(slot_of("*(u64 *)(r10 - 8) = r1"), (Slot{0x7b, 10, 1, -8, 0}));
    EXPECT_EQ(slot_of("*(u16 *)(r1 + 2) = w2"), (Slot{0x6b, 1, 2, 2, 0}));
    EXPECT_EQ(slot_of("*(u16 *)(r1 +2) = r2"), (Slot{0x6b, 1, 2, 2, 0}));
    EXPECT_EQ(slot_of("*(u8 *)(r1 + 0) = w3"), (Slot{0x73, 1, 3, 0, 0}));
}

TEST(Assemble, AtomicsInLlvmAndKernelSpelling) {
    EXPECT_EQ(slot_of("lock *(u64 *)(r1 + 0) += r2"), (Slot{0xdb, 1, 2, 0, 0x00}));
    EXPECT_EQ(slot_of("lock *(u32 *)(r1 + 0) += w2"), (Slot{0xc3, 1, 2, 0, 0x00}));
    EXPECT_EQ(slot_of("lock *(u32 *)(r1 +0) |= r2"), (Slot{0xc3, 1, 2, 0, 0x40}));
    EXPECT_EQ(slot_of("lock *(u64 *)(r1 - 8) &= r2"), (Slot{0xdb, 1, 2, -8, 0x50}));
    EXPECT_EQ(slot_of("lock *(u64 *)(r1 + 0) ^= r2"), (Slot{0xdb, 1, 2, 0, 0xa0}));
    EXPECT_EQ(slot_of("r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)"), (Slot{0xdb, 1, 0, 0, 0x01}));
    EXPECT_EQ(slot_of("r0 = atomic64_fetch_add((u64 *)(r1 +0), r0)"), (Slot{0xdb, 1, 0, 0, 0x01}));
    EXPECT_EQ(slot_of("w0 = atomic_fetch_xor((u32 *)(r1 + 0), w0)"), (Slot{0xc3, 1, 0, 0, 0xa1}));
    EXPECT_EQ(slot_of("r3 = atomic_fetch_xor((u32 *)(r1 +0), r3)"), (Slot{0xc3, 1, 3, 0, 0xa1}));
    EXPECT_EQ(slot_of("r0 = atomic64_fetch_or((u64 *)(r1 +4), r0)"), (Slot{0xdb, 1, 0, 4, 0x41}));
    EXPECT_EQ(slot_of("r0 = atomic_fetch_and((u64 *)(r1 + 0), r0)"), (Slot{0xdb, 1, 0, 0, 0x51}));
    EXPECT_EQ(slot_of("r0 = xchg_64(r1 + 0, r0)"), (Slot{0xdb, 1, 0, 0, 0xe1}));
    EXPECT_EQ(slot_of("w0 = xchg32_32(r1 + 0, w0)"), (Slot{0xc3, 1, 0, 0, 0xe1}));
    EXPECT_EQ(slot_of("r5 = atomic64_xchg((u64 *)(r1 +0), r5)"), (Slot{0xdb, 1, 5, 0, 0xe1}));
    EXPECT_EQ(slot_of("r5 = atomic_xchg((u32 *)(r1 +0), r5)"), (Slot{0xc3, 1, 5, 0, 0xe1}));
    EXPECT_EQ(slot_of("r0 = cmpxchg_64(r1 + 0, r0, r2)"), (Slot{0xdb, 1, 2, 0, 0xf1}));
    EXPECT_EQ(slot_of("w0 = cmpxchg32_32(r1 + 0, w0, w2)"), (Slot{0xc3, 1, 2, 0, 0xf1}));
    EXPECT_EQ(slot_of("r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)"), (Slot{0xdb, 1, 2, 0, 0xf1}));
    EXPECT_EQ(slot_of("r0 = atomic_cmpxchg((u32 *)(r1 -4), r0, r2)"), (Slot{0xc3, 1, 2, -4, 0xf1}));
}

TEST(Assemble, PacketJumpCallAndExitForms) {
    EXPECT_EQ(slot_of("r0 = *(u16 *)skb[12]"), (Slot{0x28, 0, 0, 0, 12}));
    EXPECT_EQ(slot_of("r0 = *(u8 *)skb[r1]"), (Slot{0x50, 0, 1, 0, 0}));
    EXPECT_EQ(slot_of("r0 = *(u8 *)skb[r1 + 4]"), (Slot{0x50, 0, 1, 0, 4}));
    EXPECT_EQ(slot_of("r0 = *(u32 *)skb[r2 + -4]"), (Slot{0x40, 0, 2, 0, -4}));
    EXPECT_EQ(slot_of("goto +3"), (Slot{0x05, 0, 0, 3, 0}));
    EXPECT_EQ(slot_of("goto pc+3"), (Slot{0x05, 0, 0, 3, 0}));
    EXPECT_EQ(slot_of("goto -1"), (Slot{0x05, 0, 0, -1, 0}));
    EXPECT_EQ(slot_of("goto +0x3 <LBB0_2>"), (Slot{0x05, 0, 0, 3, 0}));
    EXPECT_EQ(slot_of("gotol pc+4"), (Slot{0x06, 0, 0, 0, 4}));
    EXPECT_EQ(slot_of("if r1 s> r2 goto -2"), (Slot{0x6d, 1, 2, -2, 0}));
    EXPECT_EQ(slot_of("if r1 s> 0x5 goto pc+3"), (Slot{0x65, 1, 0, 3, 5}));
    EXPECT_EQ(slot_of("if w1 & 4 goto +1"), (Slot{0x46, 1, 0, 1, 4}));
    EXPECT_EQ(slot_of("if w1 s<= w9 goto +1"), (Slot{0xde, 1, 9, 1, 0}));
    EXPECT_EQ(slot_of("if r1 == r2 goto +1"), (Slot{0x1d, 1, 2, 1, 0}));
    EXPECT_EQ(slot_of("call 1"), (Slot{0x85, 0, 0, 0, 1}));
    EXPECT_EQ(slot_of("call bpf_map_lookup_elem#1"), (Slot{0x85, 0, 0, 0, 1}));
    EXPECT_EQ(slot_of("call unknown#212"), (Slot{0x85, 0, 0, 0, 212}));
    EXPECT_EQ(slot_of("call pc+5"), (Slot{0x85, 0, 1, 0, 5}));
    EXPECT_EQ(slot_of("call pc-3"), (Slot{0x85, 0, 1, 0, -3}));
    EXPECT_EQ(slot_of("callx r1"), (Slot{0x8d, 1, 0, 0, 0}));
    EXPECT_EQ(slot_of("exit"), (Slot{0x95, 0, 0, 0, 0}));
}

TEST(Assemble, LongJumps) {
    std::string text = "gotol +70000\n";
    for (int i = 0; i < 70001; ++i) text += "exit\n";
    EXPECT_EQ(encode(assemble(text))[0].imm, 70000);
}

TEST(Assemble, ToolPrefixesAndComments) {
    EXPECT_EQ(slot_of("   3:\t85 00 00 00 01 00 00 00\tcall 1"), (Slot{0x85, 0, 0, 0, 1}));
    EXPECT_EQ(slots_of("   0:\t18 01 00 00 34 12 00 00 00 00 00 00 00 00 00 00\tr1 = 0x1234 ll"),
              (std::vector<Slot>{{0x18, 1, 0, 0, 0x1234}, {0, 0, 0, 0, 0}}));
    // In a .o, llvm-objdump prints an unrelocated local call as `call -1`; its bytes carry src 1.
    EXPECT_EQ(slot_of("  12:\t85 10 00 00 ff ff ff ff\tcall -1"), (Slot{0x85, 0, 1, 0, -1}));
    EXPECT_EQ(slot_of("3: (85) call bpf_map_lookup_elem#1"), (Slot{0x85, 0, 0, 0, 1}));
    EXPECT_EQ(slot_of("12: r0 = 1"), (Slot{0xb7, 0, 0, 0, 1}));
    EXPECT_EQ(slot_of("r0 = 1 ; comment"), (Slot{0xb7, 0, 0, 0, 1}));
    EXPECT_EQ(slot_of("r0 = 1 // comment"), (Slot{0xb7, 0, 0, 0, 1}));
    EXPECT_EQ(slot_of("r0 = 1 # comment"), (Slot{0xb7, 0, 0, 0, 1}));
    EXPECT_EQ(slot_of("# only a comment\nr0 = 1"), (Slot{0xb7, 0, 0, 0, 1}));
}

TEST(Assemble, LabelsResolveForwardAndBackward) {
    const Program p = assemble(
        "start:\n"
        "  r0 = 0\n"
        "loop: r0 += 1\n"
        "  if r0 < 10 goto loop\n"
        "  if r0 == 10 goto out\n"
        "  goto start\n"
        "out:\n"
        "  call helper_like_func\n"
        "  r1 = func[helper_like_func] ll\n"
        "  exit\n"
        "helper_like_func:\n"
        "  exit\n");
    const auto raw = encode(p);
    EXPECT_EQ(raw[2].off, -2);  // pc 2 -> loop (1)
    EXPECT_EQ(raw[3].off, 1);   // pc 3 -> out (5)
    EXPECT_EQ(raw[4].off, -5);  // pc 4 -> start (0)
    EXPECT_EQ(p.insns[5].op, Op::CALL_LOCAL);
    EXPECT_EQ(raw[5].imm, 3);   // pc 5 -> helper_like_func (9)
    EXPECT_EQ(raw[6].imm, 2);   // pc 6 (ll) -> 9
    EXPECT_EQ(raw[6].regs >> 4, 4);
}

TEST(Assemble, ObjdumpSymbolLinesDefineLabels) {
    const Program p = assemble(
        "0000000000000000 <prog>:\n"
        "       0:\t05 00 01 00 00 00 00 00\tgoto +1 <done>\n"
        "       1:\tb7 00 00 00 01 00 00 00\tr0 = 1\n"
        "0000000000000010 <done>:\n"
        "       2:\t95 00 00 00 00 00 00 00\texit\n"
        "       3:\t85 10 00 00 fc ff ff ff\tcall prog\n"
        "       4:\t95 00 00 00 00 00 00 00\texit\n");
    EXPECT_EQ(encode(p)[3].imm, -4);
}

TEST(Assemble, ErrorsNameFileLineColumnAndWhatWasExpected) {
    EXPECT_EQ(error_of("r1 += r11"), "<input>:1:7: invalid register 'r11' (registers are r0..r10, w0..w10)");
    EXPECT_EQ(error_of("exit\nfrobnicate r1", "prog.s"), "prog.s:2:1: unknown instruction 'frobnicate'");
    EXPECT_EQ(error_of("r1 = 0x100000000"), "<input>:1:6: immediate 0x100000000 does not fit in 32 bits");
    EXPECT_EQ(error_of("r1 = 2147483648"),
              "<input>:1:6: immediate 2147483648 out of range (-2147483648..2147483647, or hex up to 0xffffffff)");
    EXPECT_EQ(error_of("goto nowhere\nexit"), "<input>:1:6: undefined label 'nowhere'");
    EXPECT_EQ(error_of("a:\nexit\n a:\nexit"), "<input>:3:2: duplicate label 'a' (first defined at line 1)");
    EXPECT_EQ(error_of("goto +5\nexit"), "<input>:1:6: jump target out of range: pc 6 is outside the program (0..1)");
    EXPECT_EQ(error_of("exit\nif r1 > 0 goto -3"), "<input>:2:16: jump target out of range: pc -1 is outside the program (0..1)");
    EXPECT_EQ(error_of("goto +1\nr1 = 1 ll\nexit"), "<input>:1:6: jump target pc 2 is the second slot of a 64-bit immediate load");
    EXPECT_EQ(error_of("goto +32768\nexit"), "<input>:1:6: jump distance 32768 out of range (-32768..32767)");
    EXPECT_EQ(error_of("w1 += r2"), "<input>:1:7: expected a w register to match 'w1', found 'r2'");
    EXPECT_EQ(error_of("r0 = *(u64 *)(r1 + 40000)"), "<input>:1:20: offset 40000 out of range (-32768..32767)");
    EXPECT_EQ(error_of(""), "<input>:1:1: empty program: expected at least one instruction");
    EXPECT_EQ(error_of("; nothing\n"), "<input>:1:1: empty program: expected at least one instruction");
    EXPECT_EQ(error_of("3: (bf) r1 = 5"), "<input>:1:9: the line says opcode (bf) but the instruction is opcode (b7)");
    EXPECT_EQ(error_of("r1 = -r2"), "<input>:1:7: negation works in place: expected '-r1', found '-r2'");
    EXPECT_EQ(error_of("r0 = xchg_64(r1 + 0, r2)"),
              "<input>:1:22: 'xchg_64' writes the old value back to its operand: expected 'r0', found 'r2'");
    EXPECT_EQ(error_of("r1 = cmpxchg_64(r1 + 0, r0, r2)"), "<input>:1:1: cmpxchg always writes r0, found 'r1'");
    EXPECT_EQ(error_of("if r1 ~ 3 goto +0"),
              "<input>:1:7: expected a comparison (== != > >= < <= s> s>= s< s<= &), found '~'");
    EXPECT_EQ(error_of("if r1 > 3 +0"), "<input>:1:11: expected 'goto', found '+0'");
    EXPECT_EQ(error_of("r1 = 12abc"), "<input>:1:6: invalid number '12abc'");
    EXPECT_EQ(error_of("r0 = *(u128 *)(r1 + 0)"), "<input>:1:8: unknown size 'u128' (expected u8, u16, u32, u64, s8, s16 or s32)");
    EXPECT_EQ(error_of("r1 = 5 5"), "<input>:1:8: unexpected '5' after the instruction");
    EXPECT_EQ(error_of("call"), "<input>:1:5: expected a helper number, pc+N or a label after 'call', found end of line");
    EXPECT_EQ(error_of("w1 = *(s8 *)(r1 + 0)"), "<input>:1:1: s8 loads write a 64-bit register (rN), found 'w1'");
    EXPECT_EQ(error_of("w1 = *(u64 *)(r1 + 0)"), "<input>:1:1: u64 loads write a 64-bit register (rN), found 'w1'");
    EXPECT_EQ(error_of("*(u64 *)(r1 + 0) = w1"), "<input>:1:20: a u64 store needs an r register, found 'w1'");
    EXPECT_EQ(error_of("lock *(u8 *)(r1 + 0) += r2"), "<input>:1:1: no atomic operation on u8 (atomics are u32 or u64)");
    EXPECT_EQ(error_of("lock *(u64 *)(r1 + 0) -= r2"), "<input>:1:23: expected an atomic operator (+= |= &= ^=), found '-='");
    EXPECT_EQ(error_of("r0 = atomic_fetch_sub((u64 *)(r1 + 0), r0)"), "<input>:1:6: unknown atomic operation 'atomic_fetch_sub'");
    EXPECT_EQ(error_of("r3 = *(u8 *)skb[1]"), "<input>:1:1: legacy packet loads write r0, found 'r3'");
    EXPECT_EQ(error_of("r1 = (s64)r2"), "<input>:1:7: expected a sign-extending cast like (s8), found 's64'");
    EXPECT_EQ(error_of("w1 = (s32)w2"), "<input>:1:7: no sign-extending move from 's32' to a 32-bit register");
    EXPECT_EQ(error_of("w1 = 1 ll"), "<input>:1:1: a 64-bit immediate load needs an r register, found 'w1'");
    EXPECT_EQ(error_of("r1 = map[id:3] ll"), "<input>:1:10: expected 'fd:' or 'idx:' in map[...], found 'id'");
    EXPECT_EQ(error_of("r1 = (r2 + 0)"), "<input>:1:7: expected a sign-extending cast like (s8), found 'r2'");
}

TEST(Assemble, LabelTooFarForSixteenBitOffset) {
    std::string text = "goto far\n";
    for (int i = 0; i < 40000; ++i) text += "exit\n";
    text += "far: exit\n";
    EXPECT_EQ(error_of(text),
              "<input>:1:6: jump target out of range: label 'far' is 40000 instructions away, beyond a 16-bit offset "
              "(-32768..32767; use gotol for long unconditional jumps)");
}

// Whatever the input, the assembler returns a program or throws tcbpf::Error: never crashes or hangs.
TEST(Assemble, GarbageNeverCrashes) {
    const char* inputs[] = {"(", ")", "*", "*(", "*(u32", "*(u32 *)", "*(u32 *)(", "*(u32 *)(r1", "r1 =", "r1 = *(u8 *)skb[",
                            "r1 = map[", "r1 = map[fd:", "r1 = func[", "if", "if r1", "if r1 >", "if r1 > 1 goto", "lock", "lock *(u32 *)(r1)",
                            "r0 = atomic_fetch_add(", "r0 = xchg_64(", "call #", "call x#", "0:", "0: (", "0: (zz) exit", "<a>:", "r1 = -",
                            "r1 = 0x", "r1 = 0xg", "r1 = --1", "goto pc", "goto <", "goto +1 <x", "\x01\x02\xff", "r1 s",
                            "r1 = (s8", "r1 = le16", "0000 <>:", "r99999999999999999999 = 1"};
    for (const char* text : inputs) EXPECT_NE(error_of(text), "(no error)") << text;
}
