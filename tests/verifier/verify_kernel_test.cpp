// The verifier's cases against the running kernel: same verdict, and the kernel's log contains our
// message (tcbpf's own "not supported yet" cases excepted).
#include <gtest/gtest.h>

#include "tcbpf/asm.h"
#include "tests/support/kernel_bpf.h"
#include "tests/verifier/expect_verdict.h"
#include "tests/verifier/verify_cases.h"

namespace tcbpf::verifier {
namespace {

TEST(VerifyKernel, CasesMatchTheKernel) {
    const kernel::Availability& availability = kernel::probe();
    if (!availability.available) GTEST_SKIP() << availability.reason;
    for (const test::VerifyCase& c : test::kVerifyCases) {
        if (!c.kernel) continue;
        SCOPED_TRACE(c.name);
        kernel::LoadResult theirs = kernel::load_program(isa::encode(isa::assemble(c.text)));
        test::expect_kernel_verdict(theirs, c.message);
    }
}

}  // namespace
}  // namespace tcbpf::verifier
