// The whole eBPF conformance suite (shared/conformance/tests) under the JIT, one test per file, with no
// fallback: a program the JIT refuses fails its test with the reason. Same execution model as the
// interpreter's conformance test: r1 = a private copy of `mem` (0 without one), r2 = its length,
// helper 5 returns its first argument. Each file's expected r0 is the suite's, not the interpreter's.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tcbpf/asm.h"
#include "tcbpf/error.h"
#include "tcbpf/jit.h"
#include "tests/conformance/data_file.h"

namespace tcbpf::conformance {
namespace {

const std::string kSuiteDir = TCBPF_CONFORMANCE_DIR;
constexpr size_t kSuiteFileCount = 313;

uint64_t return_first_argument(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*) { return r1; }

struct Outcome {
    bool ok = false;
    uint64_t r0 = 0;
    std::string error;
};

Outcome run_file_jit(const DataFile& file, bool blind) {
    Outcome outcome;
    try {
        const isa::Program prog = file.raw ? isa::decode_bytes(raw_bytes(*file.raw))
                                           : isa::assemble_conformance(file.asm_text, file.path);
        vm::HelperRegistry helpers;
        helpers.add(5, "return_first_argument", return_first_argument);
        const auto compiled = jit::Program::compile(prog, helpers, {.blind_constants = blind});
        std::vector<uint8_t> mem = file.mem;
        vm::Context cx;
        const uint64_t r1 = mem.empty() ? 0 : reinterpret_cast<uintptr_t>(mem.data());
        outcome.r0 = compiled->run(cx, r1, mem.size());
        if (cx.fault != vm::Fault::None) {
            outcome.error = cx.fault_detail;
            return outcome;
        }
        outcome.ok = true;
    } catch (const Error& e) {
        outcome.error = e.what();
    }
    return outcome;
}

std::vector<std::string> suite_files() {
    std::vector<std::string> files = list_data_files(kSuiteDir);
    if (files.empty()) files.push_back("");
    return files;
}

class JitConformanceFile : public ::testing::TestWithParam<std::string> {};

TEST_P(JitConformanceFile, JitGivesTheExpectedResult) {
    if (GetParam().empty()) GTEST_SKIP() << "conformance data not found in " << kSuiteDir;
    const DataFile file = read_data_file(GetParam());
    ASSERT_EQ(file.skip_reason, "") << GetParam();
    for (const bool blind : {false, true}) {
        SCOPED_TRACE(blind ? "constants blinded" : "plain");
        const Outcome outcome = run_file_jit(file, blind);
        if (file.error) {
            EXPECT_FALSE(outcome.ok);
            EXPECT_EQ(outcome.error, *file.error);
            continue;
        }
        ASSERT_TRUE(outcome.ok) << GetParam() << ": " << outcome.error;
        EXPECT_EQ(outcome.r0, *file.result)
            << fmt::format("{}: r0 = {:#x}, expected {:#x}", GetParam(), outcome.r0, *file.result);
    }
}

INSTANTIATE_TEST_SUITE_P(Suite, JitConformanceFile, ::testing::ValuesIn(suite_files()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             return info.param.empty() ? std::string("suite_missing") : test_name_for(info.param);
                         });

TEST(JitConformanceSuite, HasEveryFileOfTheImportedSuite) {
    const std::vector<std::string> files = list_data_files(kSuiteDir);
    if (files.empty()) GTEST_SKIP() << "conformance data not found in " << kSuiteDir;
    EXPECT_EQ(files.size(), kSuiteFileCount);
}

}  // namespace
}  // namespace tcbpf::conformance
