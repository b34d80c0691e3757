// The case table against the running kernel's verifier: each case whose rule is the kernel's is loaded
// for real (its maps created as stated) and must get the stated verdict, a rejection's log containing
// the stated fragment. This is what keeps the table's expectations honest. Strict cases are tcbpf's own
// (the kernel's unprivileged mode does not load tc programs), raw ones have no kernel type.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/kernel_bpf.h"
#include "tests/verifier/case_table.h"

namespace tcbpf::verifier::test {
namespace {

std::string kernel_skip_reason(const Case& c) {
    if (!c.kernel_skip.empty()) return c.kernel_skip;
    if (c.strict) return "strict mode is tcbpf's own";
    if (!kernel_prog_type(c)) return "the raw program type is tcbpf's own";
    return {};
}

TEST(CaseTableKernel, EveryCaseGetsTheKernelsVerdict) {
    const kernel::Availability& availability = kernel::probe();
    if (!availability.available) GTEST_SKIP() << availability.reason;
    std::vector<Case> cases = load_cases(TCBPF_CASES_DIR);
    size_t compared = 0;
    for (const Case& c : cases) {
        if (!kernel_skip_reason(c).empty()) continue;
        SCOPED_TRACE(fmt::format("{}:{} {}", c.file, c.line, c.name));
        std::vector<kernel::Fd> maps;
        std::vector<int> fds;
        for (const CaseMap& m : c.maps) {
            kernel::MapOptions mo;
            mo.type = static_cast<bpf_map_type>(m.type);
            mo.key_size = m.key_size;
            mo.value_size = m.value_size;
            mo.max_entries = m.max_entries;
            mo.flags = m.flags;
            kernel::MapCreateResult created = kernel::create_map(mo);
            ASSERT_TRUE(created.ok()) << "map " << m.kind << ": " << kernel::errno_text(created.error);
            fds.push_back(created.fd.get());
            maps.push_back(std::move(created.fd));
        }
        kernel::LoadOptions lo;
        lo.type = static_cast<bpf_prog_type>(*kernel_prog_type(c));
        lo.license = c.license;
        kernel::LoadResult theirs = kernel::load_program(isa::encode(with_map_fds(assemble_case(c), fds)), lo);
        ++compared;
        if (c.accept) {
            EXPECT_TRUE(theirs.ok()) << "the kernel rejects:\n" << theirs.log;
        } else {
            EXPECT_FALSE(theirs.ok()) << "the kernel accepts";
            EXPECT_NE(theirs.log.find(c.message), std::string::npos)
                << "kernel log lacks \"" << c.message << "\":\n" << theirs.log;
        }
    }
    std::cout << compared << " of " << cases.size() << " cases compared with the kernel\n";
}

}  // namespace
}  // namespace tcbpf::verifier::test
