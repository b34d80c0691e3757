// tests/verifier/feature_cases.h against the running kernel: for the cases marked `kernel` (privileged
// classifiers without maps), the kernel gives the same verdict and its log contains our message.
#include <gtest/gtest.h>

#include "tcbpf/asm.h"
#include "tests/support/kernel_bpf.h"
#include "tests/verifier/expect_verdict.h"
#include "tests/verifier/feature_cases.h"

namespace tcbpf::verifier {
namespace {

TEST(FeaturesKernel, CasesMatchTheKernel) {
    const kernel::Availability& availability = kernel::probe();
    if (!availability.available) GTEST_SKIP() << availability.reason;
    int checked = 0;
    for (const test::FeatureCase& c : test::kFeatureCases) {
        if (!c.kernel) continue;
        SCOPED_TRACE(c.name);
        kernel::LoadResult theirs = kernel::load_program(isa::encode(isa::assemble(c.text)));
        test::expect_kernel_verdict(theirs, c.message);
        ++checked;
    }
    EXPECT_GT(checked, 20);
}

}  // namespace
}  // namespace tcbpf::verifier
