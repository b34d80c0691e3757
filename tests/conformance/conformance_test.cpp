// The eBPF conformance suite (shared/conformance/tests, 313 files) run in-process through tcbpf's
// assembler and interpreter, one test per file so a failure names its file. Execution model as the
// suite assumes: r1 = a private copy of `mem` (0 without one), r2 = its length, helper 5 returns its
// first argument, callx allowed. The interpreter runs in checked mode with the memory as its only
// region, so a wrong access is a named fault, never a crash of the test binary.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tcbpf/asm.h"
#include "tcbpf/error.h"
#include "tcbpf/isa.h"
#include "tcbpf/vm.h"
#include "tests/conformance/data_file.h"

namespace tcbpf::conformance {
namespace {

const std::string kSuiteDir = TCBPF_CONFORMANCE_DIR;
constexpr size_t kSuiteFileCount = 313;  // shared/conformance/README.md

uint64_t return_first_argument(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*) { return r1; }

struct Outcome {
    bool ok = false;
    uint64_t r0 = 0;
    std::string error;  // load error or fault, when !ok
};

isa::Program program_of(const DataFile& file) {
    if (file.raw) return isa::decode_bytes(raw_bytes(*file.raw));
    return isa::assemble_conformance(file.asm_text, file.path);
}

Outcome run_file(const DataFile& file) {
    Outcome outcome;
    try {
        vm::HelperRegistry helpers;
        helpers.add(5, "return_first_argument", return_first_argument);
        const auto prepared = vm::Program::prepare(program_of(file), helpers, {.checked = true});
        std::vector<uint8_t> mem = file.mem;
        vm::Context cx;
        cx.insn_budget = 100'000'000;  // a runaway loop fails the test instead of hanging it
        uint64_t r1 = 0;
        if (!mem.empty()) {
            r1 = reinterpret_cast<uintptr_t>(mem.data());
            cx.regions.push_back({.begin = r1, .size = mem.size(), .writable = true, .name = "memory"});
        }
        outcome.r0 = prepared->run(cx, r1, mem.size());
        if (cx.fault != vm::Fault::None) {
            outcome.error = !cx.fault_detail.empty() ? cx.fault_detail
                                                     : fmt::format("pc {}: {}", cx.fault_pc, vm::fault_name(cx.fault));
            return outcome;
        }
        outcome.ok = true;
    } catch (const Error& e) {
        outcome.error = e.what();
    }
    return outcome;
}

// One parameter per file; a single empty parameter stands for "suite folder missing" so that case is
// reported as a skip with its reason rather than as an uninstantiated test suite.
std::vector<std::string> suite_files() {
    std::vector<std::string> files = list_data_files(kSuiteDir);
    if (files.empty()) files.push_back("");
    return files;
}

std::string missing_suite_reason() {
    return fmt::format("conformance data not found in {} (configure with -DTCBPF_SHARED_DIR=...)", kSuiteDir);
}

class ConformanceFile : public ::testing::TestWithParam<std::string> {};

TEST_P(ConformanceFile, InterpreterGivesTheExpectedResult) {
    if (GetParam().empty()) GTEST_SKIP() << missing_suite_reason();
    const DataFile file = read_data_file(GetParam());
    // The suite as shipped has no file the runner would skip; if one appears it must be looked at.
    ASSERT_EQ(file.skip_reason, "") << GetParam();
    const Outcome outcome = run_file(file);
    if (file.error) {
        EXPECT_FALSE(outcome.ok) << "expected the error \"" << *file.error << "\", got r0 = 0x" << std::hex << outcome.r0;
        EXPECT_EQ(outcome.error, *file.error);
        return;
    }
    ASSERT_TRUE(outcome.ok) << GetParam() << ": " << outcome.error;
    EXPECT_EQ(outcome.r0, *file.result) << fmt::format("{}: r0 = {:#x}, expected {:#x}", GetParam(), outcome.r0, *file.result);
}

INSTANTIATE_TEST_SUITE_P(Suite, ConformanceFile, ::testing::ValuesIn(suite_files()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             return info.param.empty() ? std::string("suite_missing") : test_name_for(info.param);
                         });

TEST(ConformanceSuite, HasEveryFileOfTheImportedSuite) {
    const std::vector<std::string> files = list_data_files(kSuiteDir);
    if (files.empty()) GTEST_SKIP() << missing_suite_reason();
    EXPECT_EQ(files.size(), kSuiteFileCount) << "in " << kSuiteDir;
}

TEST(ConformanceDriver, ReportsLoadErrorsAndFaultsAsErrorText) {
    // A file with an `error` section passes only on that exact text; these are tcbpf's own texts.
    DataFile bad_opcode = parse_data_file("-- raw\n0xff\n-- error\npc 0: unknown opcode 0xff\n", "t.data");
    EXPECT_EQ(run_file(bad_opcode).error, "pc 0: unknown opcode 0xff");
    DataFile no_memory = parse_data_file("-- asm\nldxb %r0, [%r1]\nexit\n-- result\n0x0\n", "t.data");
    const Outcome fault = run_file(no_memory);
    EXPECT_FALSE(fault.ok);
    EXPECT_TRUE(fault.error.starts_with("pc 0: ")) << fault.error;
}

}  // namespace
}  // namespace tcbpf::conformance
