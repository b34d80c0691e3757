// The tcbpf command as a user runs it: exit codes, output and the exact error lines.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/cli/cli_fixture.h"

using CliTest = tcbpf::test::CliFixture;

TEST_F(CliTest, AssembleDisassembleAndRun) {
    const std::string src = write("p.s", "r0 = *(u32 *)(r1 + 0)\nr0 += r2\nexit\n");
    const std::string bin = (dir / "p.bin").string();
    auto r = tcbpf("asm " + src + " -o " + bin);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(std::filesystem::file_size(bin), 24u);

    r = tcbpf("disasm " + bin);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "0: w0 = *(u32 *)(r1 + 0)\n1: r0 += r2\n2: exit\n");

    r = tcbpf("exec " + bin + " --mem '01 02 00 00'");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "0x205\n");  // 0x201 + length 4
}

TEST_F(CliTest, ConformanceSyntax) {
    const std::string src = write("c.s", "mov %r0, 7\nadd32 %r0, -1\nexit\n");
    auto r = tcbpf("exec " + src + " --syntax conformance");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "0x6\n");
}

TEST_F(CliTest, AssemblyErrorNamesFileLineAndColumn) {
    const std::string src = write("bad.s", "r0 = 1\nr0 += r11\nexit\n");
    auto r = tcbpf("asm " + src + " -o " + (dir / "x.bin").string());
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err.rfind("tcbpf: " + src + ":2:", 0), 0u) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "x.bin"));
}

TEST_F(CliTest, InvalidBinaryNamesThePc) {
    const std::string bin = write("bad.bin", std::string("\xb7\x00\x00\x00\x01\x00\x00\x00\xff\x00\x00\x00\x00\x00\x00\x00", 16));
    auto r = tcbpf("disasm " + bin);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "tcbpf: " + bin + ": pc 1: unknown opcode 0xff\n");
}

TEST_F(CliTest, TruncatedBinaryIsRefused) {
    const std::string bin = write("short.bin", std::string("\x95\x00\x00", 3));
    auto r = tcbpf("disasm " + bin);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "tcbpf: " + bin + ": program size 3 is not a multiple of 8 bytes\n");
}

TEST_F(CliTest, OutOfBoundsAccessStopsWithThePc) {
    const std::string src = write("oob.s", "r0 = *(u64 *)(r1 + 8)\nexit\n");
    auto r = tcbpf("exec " + src + " --mem '00 11 22 33'");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err.rfind("tcbpf: " + src + ": fault at pc 0: ", 0), 0u) << r.err;
    EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, BadHexMemory) {
    const std::string src = write("p.s", "exit\n");
    auto r = tcbpf("exec " + src + " --mem 'zz'");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "tcbpf: --mem: 'zz' is not a hex byte\n");
}

TEST_F(CliTest, MissingFileAndUsageErrors) {
    auto r = tcbpf("disasm " + (dir / "missing.bin").string());
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("missing.bin: cannot open: No such file or directory"), std::string::npos) << r.err;

    r = tcbpf("frobnicate");
    EXPECT_EQ(r.status, 2);
    r = tcbpf("asm");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("IN is required"), std::string::npos) << r.err;
}
