// cBPF as users write it: tc bytecode strings, tcpdump -ddd files, libpcap expressions, and the
// kernel's checker rules, each with the exact message a user sees.
#include <gtest/gtest.h>

#include "tcbpf/cbpf.h"

using namespace tcbpf::cbpf;

namespace {

std::string parse_error(std::string_view text) {
    try {
        parse_bytecode(text);
    } catch (const tcbpf::Error& e) {
        return e.what();
    }
    return "";
}

std::string check_error(const Program& prog) {
    try {
        check(prog);
    } catch (const tcbpf::Error& e) {
        return e.what();
    }
    return "";
}

const Insn kRetAll{0x06, 0, 0, 0xffffffff};

}  // namespace

TEST(Bytecode, ParsesTcsExample) {
    EXPECT_EQ(parse_bytecode("1,6 0 0 4294967295,"), (Program{kRetAll}));
    EXPECT_EQ(parse_bytecode("1,6 0 0 4294967295"), (Program{kRetAll}));  // trailing comma optional
    EXPECT_EQ(parse_bytecode("1,6 0 0 -1"), (Program{kRetAll}));          // tc's %u reads -1 so
}

TEST(Bytecode, FormatsBackToTheSameString) {
    const Program p = parse_bytecode("4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0,");
    EXPECT_EQ(format_bytecode(p), "4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0,");
}

TEST(Bytecode, NamesWhatIsWrong) {
    EXPECT_EQ(parse_error("6 0 0 0"), "bytecode: expected 'N,code jt jf k,...' (instruction count, then a comma)");
    EXPECT_EQ(parse_error("0,"), "bytecode: instruction count 0 is outside 1..4096");
    EXPECT_EQ(parse_error("5000,6 0 0 0"), "bytecode: instruction count 5000 is outside 1..4096");
    EXPECT_EQ(parse_error("2,6 0 0 0,"), "bytecode: the count says 2 instructions but 1 follow");
    EXPECT_EQ(parse_error("1,6 0 0 0,6 0 0 0"), "bytecode: more instructions than the count 1 says");
    EXPECT_EQ(parse_error("1,6 0 0"), "bytecode: instruction 0: '6 0 0' needs 4 fields (code jt jf k)");
    EXPECT_EQ(parse_error("1,6 0 0 0 0"), "bytecode: instruction 0: '6 0 0 0 0' has more than 4 fields (code jt jf k)");
    EXPECT_EQ(parse_error("1,6 0 256 0"), "bytecode: instruction 0 jf: 256 is larger than 255");
    EXPECT_EQ(parse_error("1,6 x 0 0"), "bytecode: instruction 0 jt: 'x' is not a number");
    EXPECT_EQ(parse_error("1,70000 0 0 0"), "bytecode: instruction 0 code: 70000 is larger than 65535");
    EXPECT_EQ(parse_error("1,6 0 0 4294967296"), "bytecode: instruction 0 k: 4294967296 is larger than 4294967295");
    EXPECT_EQ(parse_error("2,6 0 0 0,,6 0 0 0"), "bytecode: instruction 1 is empty");
}

TEST(Bytecode, ReadsTcpdumpDddOutput) {
    const Program p = parse_bytecode_file("4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n", "ip.bpf");
    EXPECT_EQ(p, (Program{{0x28, 0, 0, 12}, {0x15, 0, 1, 0x800}, {0x06, 0, 0, 262144}, {0x06, 0, 0, 0}}));
    try {
        parse_bytecode_file("2\n6 0 0 0\n", "short.bpf");
        FAIL();
    } catch (const tcbpf::Error& e) {
        EXPECT_STREQ(e.what(), "short.bpf: bytecode: the count says 2 instructions but 1 follow");
    }
}

TEST(Filter, CompilesAsTcpdumpDoes) {
    // `tcpdump -ddd ip` on Ethernet.
    EXPECT_EQ(compile_filter("ip"),
              (Program{{0x28, 0, 0, 12}, {0x15, 0, 1, 0x800}, {0x06, 0, 0, 262144}, {0x06, 0, 0, 0}}));
    const Program p = compile_filter("tcp port 80 and not src net 10.0.0.0/8");
    EXPECT_NO_THROW(check(p));
    EXPECT_GT(p.size(), 10u);
}

TEST(Filter, PassesLibpcapsMessageThrough) {
    try {
        compile_filter("tcp port");
        FAIL();
    } catch (const tcbpf::Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("filter 'tcp port': can't parse filter expression: syntax error", 0), 0u) << e.what();
    }
}

TEST(Check, AcceptsWellFormedPrograms) {
    EXPECT_EQ(check_error({kRetAll}), "");
    EXPECT_EQ(check_error({{0x00, 0, 0, 5}, {0x02, 0, 0, 3}, {0x60, 0, 0, 3}, {0x16, 0, 0, 0}}), "");
}

TEST(Check, KernelRulesWithTheirReasons) {
    EXPECT_EQ(check_error({}), "cBPF program length 0 is outside 1..4096");
    EXPECT_EQ(check_error(Program(4097, kRetAll)), "cBPF program length 4097 is outside 1..4096");
    EXPECT_EQ(check_error({{0x21, 0, 0, 0}, kRetAll}), "cBPF insn 0: opcode 0x21 is not allowed");  // seccomp-only
    EXPECT_EQ(check_error({{0x0e, 0, 0, 0}}), "cBPF insn 0: opcode 0x0e is not allowed");          // ret x
    EXPECT_EQ(check_error({{0x34, 0, 0, 0}, kRetAll}), "cBPF insn 0: division by constant zero");
    EXPECT_EQ(check_error({{0x94, 0, 0, 0}, kRetAll}), "cBPF insn 0: division by constant zero");
    EXPECT_EQ(check_error({{0x3c, 0, 0, 0}, kRetAll}), "");  // by X: decided at run time
    EXPECT_EQ(check_error({{0x64, 0, 0, 32}, kRetAll}), "cBPF insn 0: shift by constant 32 (must be below 32)");
    EXPECT_EQ(check_error({{0x64, 0, 0, 31}, kRetAll}), "");
    EXPECT_EQ(check_error({{0x02, 0, 0, 16}, kRetAll}), "cBPF insn 0: scratch index 16 is outside M[0..15]");
    EXPECT_EQ(check_error({{0x05, 0, 0, 1}, kRetAll}), "cBPF insn 0: jump by 1 leaves the program of 2 instructions");
    EXPECT_EQ(check_error({{0x15, 1, 0, 0}, kRetAll}),
              "cBPF insn 0: jump (jt 1, jf 0) leaves the program of 2 instructions");
    EXPECT_EQ(check_error({{0x00, 0, 0, 0}}), "cBPF insn 0: the program does not end with a return");
    EXPECT_EQ(check_error({{0x20, 0, 0, 0xfffff000u + 64}, kRetAll}), "cBPF insn 0: unknown ancillary load SKF_AD_OFF+64");
    EXPECT_EQ(check_error({{0x20, 0, 0, 0xfffff000u + 2}, kRetAll}), "cBPF insn 0: unknown ancillary load SKF_AD_OFF+2");
    EXPECT_EQ(check_error({{0x20, 0, 0, 0xfffff000u + 60}, kRetAll}), "");
    EXPECT_EQ(check_error({{0x20, 0, 0, static_cast<uint32_t>(kNetOff)}, kRetAll}), "");  // not ancillary
}

TEST(Check, ScratchMemoryMustBeWrittenOnEveryPath) {
    EXPECT_EQ(check_error({{0x60, 0, 0, 2}, kRetAll}), "cBPF insn 0: scratch word M[2] may be read before it is written");
    // Written only when the jump is not taken: the join at insn 3 does not know M[0].
    EXPECT_EQ(check_error({{0x15, 1, 0, 0}, {0x02, 0, 0, 0}, {0x00, 0, 0, 1}, {0x61, 0, 0, 0}, kRetAll}),
              "cBPF insn 3: scratch word M[0] may be read before it is written");
    // Written before the branch: both paths know it.
    EXPECT_EQ(check_error({{0x02, 0, 0, 0}, {0x15, 1, 0, 0}, {0x00, 0, 0, 1}, {0x61, 0, 0, 0}, kRetAll}), "");
}
