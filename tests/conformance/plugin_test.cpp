// Drives build/tcbpf-conformance exactly as the suite's runner does (shared/conformance/README.md,
// "Plugin protocol"): one process per test, MEM as the first argument in the "aa  bb  " encoding,
// options after it, the program in the same encoding plus a newline on stdin, and r0 read back from
// stdout as base 16 after dropping one trailing newline. Every suite file must PASS that way, under
// --interpret and under --jit; the edge cases pin the protocol details a runner relies on.
#include <gtest/gtest.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "tcbpf/asm.h"
#include "tcbpf/isa.h"
#include "tests/conformance/data_file.h"
#include "tests/conformance/subprocess.h"

namespace tcbpf::conformance {
namespace {

const std::string kSuiteDir = TCBPF_CONFORMANCE_DIR;
const std::string kPlugin = TCBPF_CONFORMANCE_PLUGIN;

// The runner's encoding for both MEM and the program: two lowercase hex digits and two spaces per byte.
std::string runner_hex(const std::vector<uint8_t>& bytes) {
    std::string out;
    for (uint8_t b : bytes) out += fmt::format("{:02x}  ", b);
    return out;
}

std::string program_stdin(const std::vector<uint8_t>& code) { return runner_hex(code) + "\n"; }

std::vector<uint8_t> assemble_bytes(std::string_view text) {
    return isa::encode_bytes(isa::assemble_conformance(text, "plugin_test"));
}

// The runner's verdict for a test with a `result`: PASS, or the runner's ERROR/FAIL message.
std::string runner_verdict(const ProcessResult& run, uint64_t expected) {
    if (run.exit_status != 0)
        return fmt::format("ERROR: plugin exited with status {} (signal {}): {}", run.exit_status, run.signal, run.err);
    std::string out = run.out;
    if (!out.empty() && out.back() == '\n') out.pop_back();
    char* end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(out.c_str(), &end, 16);
    if (end == out.c_str() || errno != 0) return fmt::format("ERROR: return value could not be parsed: '{}'", out);
    if (value != expected) return fmt::format("FAIL: Plugin returned incorrect return value {} expected {}", value, expected);
    return "PASS";
}

std::vector<std::string> suite_files() {
    std::vector<std::string> files = list_data_files(kSuiteDir);
    if (files.empty()) files.push_back("");
    return files;
}

class PluginFile : public ::testing::TestWithParam<std::string> {};

TEST_P(PluginFile, PassesUnderTheRunnersProtocol) {
    if (GetParam().empty())
        GTEST_SKIP() << fmt::format("conformance data not found in {} (configure with -DTCBPF_SHARED_DIR=...)", kSuiteDir);
    const DataFile file = read_data_file(GetParam());
    ASSERT_EQ(file.skip_reason, "") << GetParam();
    const std::vector<uint8_t> code = file.raw ? raw_bytes(*file.raw) : assemble_bytes(file.asm_text);
    for (const char* engine : {"--interpret", "--jit"}) {
        SCOPED_TRACE(engine);
        std::vector<std::string> args;
        if (file.has_mem) args.push_back(runner_hex(file.mem));
        args.push_back(engine);
        const ProcessResult run = run_process(kPlugin, args, program_stdin(code));
        if (file.error) {
            // The runner compares stdout (or stderr when stdout is empty) with the expected text.
            std::string text = run.out.empty() ? run.err : run.out;
            if (!text.empty() && text.back() == '\n') text.pop_back();
            text = text.substr(0, text.find('\r'));
            while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
            EXPECT_NE(run.exit_status, 0);
            EXPECT_EQ(text, *file.error);
            continue;
        }
        EXPECT_EQ(runner_verdict(run, *file.result), "PASS") << GetParam();
        EXPECT_EQ(run.err, "");
    }
}

INSTANTIATE_TEST_SUITE_P(Suite, PluginFile, ::testing::ValuesIn(suite_files()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             return info.param.empty() ? std::string("suite_missing") : test_name_for(info.param);
                         });

// r0 = r2 (the memory length) + 0x100 * first memory byte, so one run shows both registers were set.
const char* const kLengthAndFirstByte =
    "mov %r0, %r2\n"
    "ldxb %r3, [%r1]\n"
    "lsh %r3, 8\n"
    "add %r0, %r3\n"
    "exit\n";

TEST(PluginProtocol, MemIsTheFirstArgumentAndR2ItsLength) {
    const ProcessResult run = run_process(kPlugin, {"7f  00  01  "}, program_stdin(assemble_bytes(kLengthAndFirstByte)));
    EXPECT_EQ(run.exit_status, 0) << run.err;
    EXPECT_EQ(run.out, "7f03\n");
}

TEST(PluginProtocol, EmptyOptionArgumentsAreIgnored) {
    // --plugin_options "--interpret  " splits into "--interpret", "" and "".
    const ProcessResult run =
        run_process(kPlugin, {"7f  00  01  ", "", "--interpret", "", ""}, program_stdin(assemble_bytes(kLengthAndFirstByte)));
    EXPECT_EQ(run.exit_status, 0) << run.err;
    EXPECT_EQ(run.out, "7f03\n");
}

TEST(PluginProtocol, WithoutMemR1AndR2AreZero) {
    const ProcessResult run =
        run_process(kPlugin, {"--interpret"}, program_stdin(assemble_bytes("mov %r0, %r1\nor %r0, %r2\nadd %r0, 7\nexit\n")));
    EXPECT_EQ(run.exit_status, 0) << run.err;
    EXPECT_EQ(run.out, "7\n");
}

TEST(PluginProtocol, PrintsTheFull64BitR0) {
    const ProcessResult run = run_process(kPlugin, {}, program_stdin(assemble_bytes("lddw %r0, 0xfedcba9876543210\nexit\n")));
    EXPECT_EQ(run.exit_status, 0) << run.err;
    EXPECT_EQ(run.out, "fedcba9876543210\n");
}

TEST(PluginProtocol, MemoryIsAWritableCopy) {
    const ProcessResult run =
        run_process(kPlugin, {"00  00  "}, program_stdin(assemble_bytes("sth [%r1], 0x5a5a\nldxh %r0, [%r1]\nexit\n")));
    EXPECT_EQ(run.exit_status, 0) << run.err;
    EXPECT_EQ(run.out, "5a5a\n");
}

TEST(PluginProtocol, JitRunsTheCompiledProgramOnAFreshCopyOfMem) {
    // The checked run before it writes the memory too; the JIT must start from the original bytes.
    const ProcessResult run = run_process(kPlugin, {"01  00  ", "--jit"},
                                          program_stdin(assemble_bytes("ldxh %r0, [%r1]\nadd %r0, 1\nstxh [%r1], %r0\nexit\n")));
    EXPECT_EQ(run.exit_status, 0) << run.err;
    EXPECT_EQ(run.out, "2\n");
}

// Without memory r1 is the number 0: the verifier refuses the load before anything runs.
TEST(PluginProtocol, JitNeverRunsWhatTheVerifierRejects) {
    const ProcessResult run = run_process(kPlugin, {"--jit"}, program_stdin(assemble_bytes("ldxb %r0, [%r1]\nexit\n")));
    EXPECT_NE(run.exit_status, 0);
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err, "tcbpf-conformance: verifier: insn 0: R1 invalid mem access 'scalar'\n");
}

TEST(PluginProtocol, ElfIsRefusedWithAReason) {
    const ProcessResult run = run_process(kPlugin, {"--elf"}, program_stdin(assemble_bytes("mov %r0, 1\nexit\n")));
    EXPECT_NE(run.exit_status, 0);
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err, "tcbpf-conformance: --elf: ELF programs are not supported yet; run the runner without --elf true\n");
}

TEST(PluginProtocol, UnknownOptionIsAnError) {
    const ProcessResult run = run_process(kPlugin, {"--fast"}, program_stdin(assemble_bytes("mov %r0, 1\nexit\n")));
    EXPECT_NE(run.exit_status, 0);
    EXPECT_EQ(run.err,
              "tcbpf-conformance: unexpected argument '--fast' (usage: tcbpf-conformance [MEM] [--engine jit|interp] "
              "[--jit] [--interpret] [--elf] < PROGRAM)\n");
}

// Every spelling of the engine — the default (jit), --engine jit|interp, --engine=..., the runner's --jit
// and --interpret, the last one winning — is accepted and prints the program's r0 for the original MEM.
TEST(PluginProtocol, EngineSpellings) {
    const std::string program = program_stdin(assemble_bytes("ldxh %r0, [%r1]\nadd %r0, 1\nstxh [%r1], %r0\nexit\n"));
    for (const std::vector<std::string>& options :
         {std::vector<std::string>{}, {"--engine", "jit"}, {"--engine=interp"}, {"--engine", "interp"}, {"--jit"},
          {"--interpret"}, {"--jit", "--engine", "interp"}}) {
        std::vector<std::string> args{"01  00  "};
        args.insert(args.end(), options.begin(), options.end());
        const ProcessResult run = run_process(kPlugin, args, program);
        EXPECT_EQ(run.exit_status, 0) << run.err;
        EXPECT_EQ(run.out, "2\n");
    }
}

TEST(PluginProtocol, UnknownEngineIsAnError) {
    for (const std::vector<std::string>& args : {std::vector<std::string>{"--engine", "native"}, {"--engine"}}) {
        const ProcessResult run = run_process(kPlugin, args, program_stdin(assemble_bytes("mov %r0, 1\nexit\n")));
        EXPECT_NE(run.exit_status, 0);
        EXPECT_EQ(run.err, "tcbpf-conformance: --engine: '" + (args.size() > 1 ? args[1] : std::string()) +
                               "' is not jit or interp\n");
    }
}

TEST(PluginProtocol, GarbageOnStdinIsAnErrorNamingIt) {
    const ProcessResult run = run_process(kPlugin, {}, "b7  00  hello world\n");
    EXPECT_NE(run.exit_status, 0);
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err, "tcbpf-conformance: program on standard input: 'hello' at byte 2 is not a hex byte\n");
}

TEST(PluginProtocol, BadMemArgumentIsAnErrorNamingIt) {
    const ProcessResult run = run_process(kPlugin, {"00  1g  "}, program_stdin(assemble_bytes("mov %r0, 1\nexit\n")));
    EXPECT_NE(run.exit_status, 0);
    EXPECT_EQ(run.err, "tcbpf-conformance: memory argument: '1g' at byte 1 is not a hex byte\n");
}

TEST(PluginProtocol, EmptyProgramIsAnError) {
    const ProcessResult run = run_process(kPlugin, {}, "\n");
    EXPECT_NE(run.exit_status, 0);
    EXPECT_EQ(run.err, "tcbpf-conformance: empty program\n");
}

TEST(PluginProtocol, TruncatedProgramIsAnError) {
    const ProcessResult run = run_process(kPlugin, {}, "b7  00  00  \n");
    EXPECT_NE(run.exit_status, 0);
    EXPECT_EQ(run.err, "tcbpf-conformance: program size 3 is not a multiple of 8 bytes\n");
}

TEST(PluginProtocol, InvalidInstructionIsAnErrorNamingThePc) {
    const ProcessResult run = run_process(kPlugin, {}, "b7  00  00  00  00  00  00  00  ff  00  00  00  00  00  00  00  \n");
    EXPECT_NE(run.exit_status, 0);
    EXPECT_EQ(run.err, "tcbpf-conformance: pc 1: unknown opcode 0xff\n");
}

TEST(PluginProtocol, OutOfBoundsAccessIsAVerifierErrorNotACrash) {
    const ProcessResult run = run_process(kPlugin, {"01  02  "}, program_stdin(assemble_bytes("ldxdw %r0, [%r1]\nexit\n")));
    EXPECT_EQ(run.exit_status, 1);
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err, "tcbpf-conformance: verifier: insn 0: invalid access to memory, mem_size=2 off=0 size=8; "
                       "R1 min value is outside of the allowed memory range\n");
}

}  // namespace
}  // namespace tcbpf::conformance
