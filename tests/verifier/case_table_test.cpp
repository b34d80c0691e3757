// One GoogleTest per case of tests/verifier/cases/*.cases: our verifier gives the stated verdict, and a
// rejection names the stated instruction and contains the stated message fragment. Cases listed in
// cases/known_gaps.txt are skipped with their reason while tcbpf still disagrees.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "tcbpf/error.h"
#include "tcbpf/verifier.h"
#include "tests/verifier/case_table.h"

#if defined(__SANITIZE_ADDRESS__)
#define TCBPF_CASES_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TCBPF_CASES_SANITIZED 1
#endif
#endif

namespace tcbpf::verifier::test {
namespace {

#ifdef TCBPF_CASES_SANITIZED
// A case that runs the verifier to its million-instruction budget takes about a second optimised but
// ~15 s in the sanitizer build: that build (unit tests under ASan) leaves it to the Release suite.
bool runs_to_the_budget(const Case& c) { return c.message.find("BPF program is too large") != std::string::npos; }
#endif

// Whether our verifier's result is what the case states; `why` says how it differs.
bool verdict_matches(const Case& c, const Result& r, std::string& why) {
    if (c.accept) {
        if (r.ok) return true;
        why = fmt::format("expected accept, got reject at insn {}: {}", r.insn_idx, r.message);
        return false;
    }
    if (r.ok) {
        why = fmt::format("expected reject at insn {} ({}), got accept", c.insn_idx, c.message);
        return false;
    }
    if (r.message.find(c.message) == std::string::npos || (!c.any_insn && r.insn_idx != c.insn_idx)) {
        why = fmt::format("expected reject at insn {} containing \"{}\", got insn {}: \"{}\"", c.insn_idx,
                          c.message, r.insn_idx, r.message);
        return false;
    }
    return true;
}

class CaseTest : public testing::Test {
   public:
    CaseTest(Case c, std::string gap) : case_(std::move(c)), gap_(std::move(gap)) {}
    void TestBody() override {
        std::string options_missing = options_gap(case_);
        if (!options_missing.empty()) GTEST_SKIP() << options_missing;
        // A gap whose reason starts "slow:" is not even run: tcbpf takes minutes where the kernel takes
        // a second, which would stall the unit suite (the kernel runner still checks the case).
        if (gap_.rfind("slow:", 0) == 0) GTEST_SKIP() << "known gap: " << gap_;
#ifdef TCBPF_CASES_SANITIZED
        if (runs_to_the_budget(case_)) GTEST_SKIP() << "runs to the 1M-instruction budget: Release suite only";
#endif
        Result r = verify(assemble_case(case_), case_options(case_));
        std::string why;
        bool matches = verdict_matches(case_, r, why);
        if (!gap_.empty()) {
            if (!matches) GTEST_SKIP() << "known gap: " << gap_ << " (" << why << ")";
            std::cout << "known gap closed, remove it from known_gaps.txt: " << case_.name << "\n";
            return;
        }
        EXPECT_TRUE(matches) << case_.file << ":" << case_.line << " " << case_.name << ": " << why;
    }

   private:
    Case case_;
    std::string gap_;
};

}  // namespace
}  // namespace tcbpf::verifier::test

int main(int argc, char** argv) {
    using namespace tcbpf::verifier::test;
    testing::InitGoogleTest(&argc, argv);
    std::vector<Case> cases;
    std::map<std::string, std::string> gaps;
    try {
        cases = load_cases(TCBPF_CASES_DIR);
        gaps = load_known_gaps(std::string(TCBPF_CASES_DIR) + "/known_gaps.txt");
    } catch (const tcbpf::Error& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
    for (const auto& gap : gaps) {
        const std::string& name = gap.first;
        bool found = std::any_of(cases.begin(), cases.end(), [&](const Case& c) { return c.name == name; });
        if (!found) {
            std::cerr << "known_gaps.txt names a case that does not exist: " << name << "\n";
            return 1;
        }
    }
    for (const Case& c : cases) {
        std::string suite = "Cases_" + test_name(c.file.substr(0, c.file.find('.')));
        auto gap = gaps.find(c.name);
        std::string reason = gap == gaps.end() ? "" : gap->second;
        testing::RegisterTest(suite.c_str(), test_name(c.name).c_str(), nullptr, nullptr, c.file.c_str(),
                              static_cast<int>(c.line),
                              [c, reason]() -> testing::Test* { return new CaseTest(c, reason); });
    }
    return RUN_ALL_TESTS();
}
