// Real tool output pasted into the assembler. Both samples come from one small tc program of ours
// (a map lookup, atomic add / cmpxchg / fetch_xor, a byte swap, a sign extension, a bpf-to-bpf call):
//   clang-14 -O2 -target bpf -mcpu=v3 -g -c prog.c; llvm-objdump-14 -d --mattr=+alu32 prog.o
//   bpftool prog load prog.o ...; bpftool prog dump xlated (the kernel's disasm.c text, as in the verifier log;
//   its `map[id:N]` line replaced by the raw pointer the verifier log shows, since a map id is not an fd)
//   the kernel 6.18 verifier log (log_level 2) "Live regs before insn:" listing of the same load
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "tcbpf/asm.h"

using namespace tcbpf::isa;

namespace {

constexpr const char* kObjdump =
        "0000000000000000 <prog>:\n"
        "       0:\tbf 17 00 00 00 00 00 00\tr7 = r1\n"
        "       1:\tb4 08 00 00 00 00 00 00\tw8 = 0\n"
        "       2:\t63 8a fc ff 00 00 00 00\t*(u32 *)(r10 - 4) = w8\n"
        "       3:\tbf a2 00 00 00 00 00 00\tr2 = r10\n"
        "       4:\t07 02 00 00 fc ff ff ff\tr2 += -4\n"
        "       5:\t18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00\tr1 = 0 ll\n"
        "       7:\t85 00 00 00 01 00 00 00\tcall 1\n"
        "       8:\tbf 06 00 00 00 00 00 00\tr6 = r0\n"
        "       9:\t15 06 14 00 00 00 00 00\tif r6 == 0 goto +20 <LBB0_4>\n"
        "      10:\tb7 01 00 00 01 00 00 00\tr1 = 1\n"
        "      11:\tdb 16 00 00 00 00 00 00\tlock *(u64 *)(r6 + 0) += r1\n"
        "      12:\t61 62 00 00 00 00 00 00\tw2 = *(u32 *)(r6 + 0)\n"
        "      13:\t61 71 00 00 00 00 00 00\tw1 = *(u32 *)(r7 + 0)\n"
        "      14:\tb7 03 00 00 07 00 00 00\tr3 = 7\n"
        "      15:\tb7 00 00 00 05 00 00 00\tr0 = 5\n"
        "      16:\tdb 36 00 00 f1 00 00 00\tr0 = cmpxchg_64(r6 + 0, r0, r3)\n"
        "      17:\tbf 23 00 00 00 00 00 00\tr3 = r2\n"
        "      18:\tdc 03 00 00 20 00 00 00\tr3 = be32 r3\n"
        "      19:\t66 02 01 00 fb ff ff ff\tif w2 s> -5 goto +1 <LBB0_3>\n"
        "      20:\tbc 23 00 00 00 00 00 00\tw3 = w2\n"
        "\n"
        "00000000000000a8 <LBB0_3>:\n"
        "      21:\t0c 30 00 00 00 00 00 00\tw0 += w3\n"
        "      22:\t67 01 00 00 38 00 00 00\tr1 <<= 56\n"
        "      23:\tc7 01 00 00 38 00 00 00\tr1 s>>= 56\n"
        "      24:\t0c 10 00 00 00 00 00 00\tw0 += w1\n"
        "      25:\tbc 01 00 00 00 00 00 00\tw1 = w0\n"
        "      26:\t85 10 00 00 ff ff ff ff\tcall -1\n"
        "      27:\tb4 08 00 00 03 00 00 00\tw8 = 3\n"
        "      28:\tc3 86 00 00 a1 00 00 00\tw8 = atomic_fetch_xor((u32 *)(r6 + 0), w8)\n"
        "      29:\t0c 08 00 00 00 00 00 00\tw8 += w0\n"
        "\n"
        "00000000000000f0 <LBB0_4>:\n"
        "      30:\tbc 80 00 00 00 00 00 00\tw0 = w8\n"
        "      31:\t95 00 00 00 00 00 00 00\texit\n";

constexpr const char* kXlated =
        "   0: (bf) r7 = r1\n"
        "   1: (b4) w8 = 0\n"
        "   2: (63) *(u32 *)(r10 -4) = r8\n"
        "   3: (bf) r2 = r10\n"
        "   4: (07) r2 += -4\n"
        "   5: (18) r1 = 0xffff888103c4a000\n"
        "   7: (07) r1 += 312\n"
        "   8: (61) r0 = *(u32 *)(r2 +0)\n"
        "   9: (35) if r0 >= 0x1 goto pc+3\n"
        "  10: (67) r0 <<= 3\n"
        "  11: (0f) r0 += r1\n"
        "  12: (05) goto pc+1\n"
        "  13: (b7) r0 = 0\n"
        "  14: (bf) r6 = r0\n"
        "  15: (15) if r6 == 0x0 goto pc+20\n"
        "  16: (b7) r1 = 1\n"
        "  17: (db) lock *(u64 *)(r6 +0) += r1\n"
        "  18: (61) r2 = *(u32 *)(r6 +0)\n"
        "  19: (61) r1 = *(u32 *)(r7 +112)\n"
        "  20: (b7) r3 = 7\n"
        "  21: (b7) r0 = 5\n"
        "  22: (db) r0 = atomic64_cmpxchg((u64 *)(r6 +0), r0, r3)\n"
        "  23: (bf) r3 = r2\n"
        "  24: (dc) r3 = be32 r3\n"
        "  25: (66) if w2 s> 0xfffffffb goto pc+1\n"
        "  26: (bc) w3 = w2\n"
        "  27: (0c) w0 += w3\n"
        "  28: (67) r1 <<= 56\n"
        "  29: (c7) r1 s>>= 56\n"
        "  30: (0c) w0 += w1\n"
        "  31: (bc) w1 = w0\n"
        "  32: (85) call pc+5#bpf_prog_e0952f3ef8ab7df9_sub\n"
        "  33: (b4) w8 = 3\n"
        "  34: (c3) r8 = atomic_fetch_xor((u32 *)(r6 +0), r8)\n"
        "  35: (0c) w8 += w0\n"
        "  36: (bc) w0 = w8\n"
        "  37: (95) exit\n"
        "  38: (bc) w0 = w1\n"
        "  39: (24) w0 *= 3\n"
        "  40: (04) w0 += 1\n"
        "  41: (95) exit\n";

constexpr const char* kVerifierLiveRegs =
        "      0: .1........ (bf) r7 = r1\n"
        "      1: .......7.. (b4) w8 = 0\n"
        "      2: .......78. (63) *(u32 *)(r10 -4) = r8\n"
        "      3: .......78. (bf) r2 = r10\n"
        "      4: ..2....78. (07) r2 += -4\n"
        "      5: ..2....78. (18) r1 = 0xffff8881200f8200\n"
        "      7: .12....78. (85) call bpf_map_lookup_elem#1\n"
        "      8: 0...45.78. (bf) r6 = r0\n"
        "      9: ....45678. (15) if r6 == 0x0 goto pc+20\n"
        "     10: ....4567.. (b7) r1 = 1\n"
        "     11: .1..4567.. (db) lock *(u64 *)(r6 +0) += r1\n"
        "     12: ....4567.. (61) r2 = *(u32 *)(r6 +0)\n"
        "     13: ..2.4567.. (61) r1 = *(u32 *)(r7 +0)\n"
        "     14: .12.456... (b7) r3 = 7\n"
        "     15: .123456... (b7) r0 = 5\n"
        "     16: 0123456... (db) r0 = atomic64_cmpxchg((u64 *)(r6 +0), r0, r3)\n"
        "     17: 012.456... (bf) r3 = r2\n"
        "     18: 0123456... (dc) r3 = be32 r3\n"
        "     19: 0123456... (66) if w2 s> 0xfffffffb goto pc+1\n"
        "     20: 012.456... (bc) w3 = w2\n"
        "     21: 0123456... (0c) w0 += w3\n"
        "     22: 0123456... (67) r1 <<= 56\n"
        "     23: 0123456... (c7) r1 s>>= 56\n"
        "     24: 0123456... (0c) w0 += w1\n"
        "     25: 0.23456... (bc) w1 = w0\n"
        "     26: .123456... (85) call pc+5\n"
        "     27: 0.....6... (b4) w8 = 3\n"
        "     28: 0.....6.8. (c3) r8 = atomic_fetch_xor((u32 *)(r6 +0), r8)\n"
        "     29: 0.......8. (0c) w8 += w0\n"
        "     30: ........8. (bc) w0 = w8\n"
        "     31: 0......... (95) exit\n"
        "     32: .1........ (bc) w0 = w1\n"
        "     33: 0......... (24) w0 *= 3\n"
        "     34: 0......... (04) w0 += 1\n"
        "     35: 0......... (95) exit\n";

// The bytes llvm-objdump printed between the pc and the instruction text.
std::vector<uint8_t> objdump_bytes(const std::string& text) {
    std::vector<uint8_t> out;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        const size_t first_tab = line.find('\t');
        if (first_tab == std::string::npos) continue;
        std::istringstream hex(line.substr(first_tab + 1, line.find('\t', first_tab + 1) - first_tab - 1));
        std::string byte;
        while (hex >> byte) out.push_back(static_cast<uint8_t>(std::stoul(byte, nullptr, 16)));
    }
    return out;
}

}  // namespace

TEST(AssembleToolOutput, LlvmObjdumpListingGivesItsOwnBytes) {
    const std::vector<uint8_t> expected = objdump_bytes(kObjdump);
    ASSERT_EQ(expected.size(), 32u * 8);
    EXPECT_EQ(encode_bytes(assemble(kObjdump, "prog.objdump")), expected);
    const std::string with_headers = std::string("\nprog.o:\tfile format elf64-bpf\n\nDisassembly of section tc:\n\n") + kObjdump;
    EXPECT_EQ(encode_bytes(assemble(with_headers, "prog.objdump")), expected);
}

// Every line carries its opcode `(xx)`, which the assembler checks against what it built.
TEST(AssembleToolOutput, KernelDisasmListingAssembles) {
    const Program p = assemble(kXlated, "prog.xlated");
    ASSERT_EQ(p.size(), 42u);
    const auto raw = encode(p);
    EXPECT_EQ(p.insns[5].imm64, 0xffff888103c4a000ull);
    EXPECT_EQ(raw[2].off, -4);                   // *(u32 *)(r10 -4) = r8
    EXPECT_EQ(raw[15].off, 20);                  // if r6 == 0x0 goto pc+20
    EXPECT_EQ(raw[25].imm, -5);                  // if w2 s> 0xfffffffb goto pc+1
    EXPECT_EQ(p.insns[22].op, Op::ATOMIC64_CMPXCHG);
    EXPECT_EQ(p.insns[32].op, Op::CALL_LOCAL);  // call pc+5#bpf_prog_..._sub
    EXPECT_EQ(raw[32].imm, 5);
    EXPECT_EQ(p.insns[34].op, Op::ATOMIC32_FETCH_XOR);
}

// The verifier's listing is the object's program before the kernel rewrote it: the same bytes except the
// map pointer the loader put into the `ll` and the resolved local call, then the subprogram appended.
TEST(AssembleToolOutput, VerifierLiveRegsListingMatchesTheObject) {
    const Program p = assemble(kVerifierLiveRegs, "verifier.log");
    ASSERT_EQ(p.size(), 36u);
    std::vector<uint8_t> expected = objdump_bytes(kObjdump);
    std::vector<uint8_t> got = encode_bytes(p);
    got.resize(expected.size());
    const uint64_t map_pointer = 0xffff8881200f8200ull;
    std::memcpy(&expected[5 * 8 + 4], &map_pointer, 4);
    std::memcpy(&expected[6 * 8 + 4], reinterpret_cast<const char*>(&map_pointer) + 4, 4);
    const int32_t callee_distance = 5;  // `call -1` + relocation in the .o; pc 26 + 1 + 5 = subprogram at 32
    std::memcpy(&expected[26 * 8 + 4], &callee_distance, 4);
    EXPECT_EQ(got, expected);
}
