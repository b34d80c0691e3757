// The conformance-suite assembler: encodings of representative lines taken from the suite's .data files
// (../shared/conformance/README.md, "Assembly language"), its labels and errors, and every file of the
// suite assembling cleanly.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "tcbpf/asm.h"

using namespace tcbpf::isa;
namespace fs = std::filesystem;

namespace {

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

std::vector<Slot> slots_of(std::string_view text) {
    std::vector<Slot> out;
    for (const RawInsn& r : encode(assemble_conformance(text)))
        out.push_back({r.opcode, static_cast<uint8_t>(r.regs & 0xf), static_cast<uint8_t>(r.regs >> 4), r.off, r.imm});
    return out;
}

// The first slot of `line` followed by a few exits (room for short forward jumps).
Slot slot_of(const std::string& line) { return slots_of(line + "\nexit\nexit\nexit\n").at(0); }

std::string error_of(std::string_view text) {
    try {
        assemble_conformance(text);
    } catch (const tcbpf::Error& e) {
        return e.what();
    }
    return "(no error)";
}

const fs::path kTests = fs::path(TCBPF_SHARED_DIR) / "conformance" / "tests";

// The sections of a .data file as the README describes them: `#` comments removed first, a line with
// `--` starts a section named by the first keyword it contains.
std::map<std::string, std::string> sections(const fs::path& file) {
    std::ifstream in(file);
    std::map<std::string, std::string> out;
    std::string line, current;
    while (std::getline(in, line)) {
        line = line.substr(0, line.find('#'));
        if (line.find("--") != std::string::npos) {
            out["asm"] += "\n";
            current.clear();
            for (const char* key : {"asm", "result", "mem", "raw", "no register offset", " c", "error"})
                if (line.find(key) != std::string::npos) {
                    current = key;
                    break;
                }
            continue;
        }
        if (!current.empty() && current != "asm") out[current] += line + "\n";
        // Blank lines outside the asm section keep assembler line numbers equal to file line numbers.
        out["asm"] += (current == "asm" ? line : std::string()) + "\n";
    }
    return out;
}

std::vector<RawInsn> parse_raw(const std::string& text) {
    std::istringstream in(text);
    std::vector<RawInsn> out;
    std::string word;
    while (in >> word) {
        const uint64_t v = std::stoull(word, nullptr, 0);
        RawInsn r;
        std::memcpy(&r, &v, sizeof r);
        out.push_back(r);
    }
    return out;
}

std::vector<uint8_t> bytes_of(const std::vector<RawInsn>& slots) {
    std::vector<uint8_t> out(slots.size() * sizeof(RawInsn));
    std::memcpy(out.data(), slots.data(), out.size());
    return out;
}

}  // namespace

TEST(ConformanceAsm, RepresentativeLinesFromTheSuite) {
    EXPECT_EQ(slot_of("mov %r1, -1"), (Slot{0xb7, 1, 0, 0, -1}));                     // callx.data
    EXPECT_EQ(slot_of("mov32 %r1, 0x87654321"), (Slot{0xb4, 1, 0, 0, static_cast<int32_t>(0x87654321)}));  // lock_cmpxchg32
    EXPECT_EQ(slot_of("add %r0, %r1"), (Slot{0x0f, 0, 1, 0, 0}));                    // call_local.data
    EXPECT_EQ(slot_of("add32 %r0, -3"), (Slot{0x04, 0, 0, 0, -3}));
    EXPECT_EQ(slot_of("call %r2"), (Slot{0x8d, 2, 0, 0, 0}));                         // callx.data
    EXPECT_EQ(slot_of("call 5"), (Slot{0x85, 0, 0, 0, 5}));
    EXPECT_EQ(slot_of("call helper 5"), (Slot{0x85, 0, 0, 0, 5}));
    EXPECT_EQ(slot_of("stxdw [%r10-8], %r0"), (Slot{0x7b, 10, 0, -8, 0}));
    EXPECT_EQ(slot_of("ldxdw %r0, [%r10-8]"), (Slot{0x79, 0, 10, -8, 0}));
    EXPECT_EQ(slot_of("ldxb %r0, [%r1+0x2]"), (Slot{0x71, 0, 1, 2, 0}));
    EXPECT_EQ(slot_of("ldxh %r0, [%r1]"), (Slot{0x69, 0, 1, 0, 0}));
    EXPECT_EQ(slot_of("ldxsh %r0, [%r1+2]"), (Slot{0x89, 0, 1, 2, 0}));
    EXPECT_EQ(slot_of("stw [%r1+2], 0x11223344"), (Slot{0x62, 1, 0, 2, 0x11223344}));
    EXPECT_EQ(slot_of("lock cmpxchg32 [%r10-8], %r1"), (Slot{0xc3, 10, 1, -8, 0xf1}));
    EXPECT_EQ(slot_of("lock fetch add [%r10-8], %r1"), (Slot{0xdb, 10, 1, -8, 0x01}));
    EXPECT_EQ(slot_of("lock fetch xor32 [%r10-4], %r3"), (Slot{0xc3, 10, 3, -4, 0xa1}));
    EXPECT_EQ(slot_of("lock xchg [%r10-8], %r1"), (Slot{0xdb, 10, 1, -8, 0xe1}));
    EXPECT_EQ(slot_of("lock and32 [%r10-4], %r1"), (Slot{0xc3, 10, 1, -4, 0x50}));
    EXPECT_EQ(slot_of("jeq %r1, 0x80000000, +1"), (Slot{0x15, 1, 0, 1, INT32_MIN}));
    EXPECT_EQ(slot_of("jge32 %r1, %r1, +1"), (Slot{0x3e, 1, 1, 1, 0}));
    EXPECT_EQ(slot_of("neg32 %r0"), (Slot{0x84, 0, 0, 0, 0}));
    EXPECT_EQ(slot_of("sdiv %r0, %r1"), (Slot{0x3f, 0, 1, 1, 0}));
    EXPECT_EQ(slot_of("smod32 %r0, 3"), (Slot{0x94, 0, 0, 1, 3}));
    EXPECT_EQ(slot_of("movsx1632 %r1, %r2"), (Slot{0xbc, 1, 2, 16, 0}));
    EXPECT_EQ(slot_of("movsx3264 %r1, %r2"), (Slot{0xbf, 1, 2, 32, 0}));
    EXPECT_EQ(slot_of("be16 %r0"), (Slot{0xdc, 0, 0, 0, 16}));
    EXPECT_EQ(slot_of("le64 %r0"), (Slot{0xd4, 0, 0, 0, 64}));
    EXPECT_EQ(slot_of("swap32 %r0"), (Slot{0xd7, 0, 0, 0, 32}));
    EXPECT_EQ(slot_of("bswap16 %r0"), (Slot{0xd7, 0, 0, 0, 16}));
    EXPECT_EQ(slot_of("ldxb %r0, [%r1-0x1]"), (Slot{0x71, 0, 1, -1, 0}));
    EXPECT_EQ(slots_of("lddw %r0, 0x1122334455667788\nexit").at(1), (Slot{0x00, 0, 0, 0, 0x11223344}));
    EXPECT_EQ(slots_of("lddw %r0, 2147483648\nexit").at(0), (Slot{0x18, 0, 0, 0, INT32_MIN}));
}

TEST(ConformanceAsm, LabelsImplicitExitAndLocalCalls) {
    const auto s = slots_of(
        "ja32 L1\n"           // 0
        "jne %r0, 1, exit\n"  // 1: `exit` names the first exit instruction (4)
        "L1:\n"
        "call local func1\n"  // 2
        "ja +0\n"             // 3
        "exit\n"              // 4
        "func1:\n"
        "mov %r0, 1\n"        // 5
        "exit\n");            // 6
    EXPECT_EQ(s[0], (Slot{0x06, 0, 0, 0, 1}));
    EXPECT_EQ(s[1], (Slot{0x55, 0, 0, 2, 1}));
    EXPECT_EQ(s[2], (Slot{0x85, 0, 1, 0, 2}));
    EXPECT_EQ(s[3], (Slot{0x05, 0, 0, 0, 0}));
}

TEST(ConformanceAsm, ErrorsNameLineAndColumn) {
    EXPECT_EQ(error_of("mov %r11, 1\nexit"), "<input>:1:5: invalid register '%r11' (registers are %r0..%r10)");
    EXPECT_EQ(error_of("frob %r1\nexit"), "<input>:1:1: unknown mnemonic 'frob'");
    EXPECT_EQ(error_of("ja nowhere\nexit"), "<input>:1:4: undefined label 'nowhere'");
    EXPECT_EQ(error_of("mov %r1, 0x100000000\nexit"), "<input>:1:10: immediate 0x100000000 does not fit in 32 bits");
    EXPECT_EQ(error_of("mov r1, 1\nexit"), "<input>:1:5: expected register %rN, found 'r1'");
    EXPECT_EQ(error_of("exit\nldxw %r0, [%r1+0x10000]"), "<input>:2:16: offset 0x10000 does not fit in 16 bits");
    EXPECT_EQ(error_of("call runtime 5\nexit"), "<input>:1:6: 'call runtime' (kfunc, src_reg 2) is not an instruction tcbpf decodes");
    EXPECT_EQ(error_of("ja +5\nexit"), "<input>:1:4: jump target out of range: pc 6 is outside the program (0..1)");
    EXPECT_EQ(error_of("L: exit"), "<input>:1:4: a label stands alone on its line; found 'exit' after it");
    EXPECT_EQ(error_of("neg %r1, %r2\nexit"), "<input>:1:10: unexpected '%r2' after the instruction");
    EXPECT_EQ(error_of("exit\nL:\nL:\nexit"), "<input>:3:1: duplicate label 'L' (first defined at line 2)");
}

TEST(ConformanceAsm, LddwFileAsmMatchesItsRawSection) {
    if (!fs::exists(kTests)) GTEST_SKIP() << "conformance data not found at " << kTests;
    const auto sec = sections(kTests / "lddw.data");
    ASSERT_TRUE(sec.count("asm") && sec.count("raw"));
    EXPECT_EQ(bytes_of(encode(assemble_conformance(sec.at("asm"), "lddw.data"))), bytes_of(parse_raw(sec.at("raw"))));
}

// All files of the suite: the asm section assembles (or the raw section decodes, where present), and the
// result survives disassemble -> assemble bit for bit.
TEST(ConformanceAsm, EverySuiteFileAssembles) {
    if (!fs::exists(kTests)) GTEST_SKIP() << "conformance data not found at " << kTests;
    int files = 0;
    for (const auto& entry : fs::directory_iterator(kTests)) {
        if (entry.path().extension() != ".data") continue;
        ++files;
        const auto sec = sections(entry.path());
        const std::string name = entry.path().filename().string();
        try {
            const Program prog = sec.count("raw") ? decode(parse_raw(sec.at("raw"))) : assemble_conformance(sec.at("asm"), name);
            const Program again = assemble(disassemble(prog), name);
            EXPECT_EQ(bytes_of(encode(again)), bytes_of(encode(prog))) << name;
        } catch (const tcbpf::Error& e) {
            ADD_FAILURE() << name << ": " << e.what();
        }
    }
    EXPECT_EQ(files, 313);
}
