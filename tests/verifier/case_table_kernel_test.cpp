// The case table against the running kernel's verifier: each case whose rule is the kernel's is loaded
// for real (its maps created as stated) and must get the stated verdict, a rejection's log containing
// the stated fragment. This is what keeps the table's expectations honest. Strict cases are tcbpf's own
// (the kernel's unprivileged mode does not load tc programs), raw ones have no kernel type.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cctype>
#include <optional>

#include "tests/support/kernel_bpf.h"
#include "tests/verifier/case_table.h"

namespace tcbpf::verifier::test {
namespace {

// The instruction the kernel's log blames: the last "N: (op) ..." line before the message, if any (shape
// errors found before exploration, such as "unreachable insn 2", print none).
std::optional<size_t> blamed_insn(const std::string& log, size_t message_pos) {
    std::optional<size_t> insn;
    size_t line_start = 0;
    while (line_start < message_pos) {
        size_t digits = line_start;
        while (digits < log.size() && std::isdigit(static_cast<unsigned char>(log[digits]))) ++digits;
        if (digits > line_start && log.compare(digits, 3, ": (") == 0)
            insn = std::stoul(log.substr(line_start, digits - line_start));
        size_t next = log.find('\n', line_start);
        if (next == std::string::npos) break;
        line_start = next + 1;
    }
    return insn;
}

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
            size_t at = theirs.log.find(c.message);
            EXPECT_NE(at, std::string::npos) << "kernel log lacks \"" << c.message << "\":\n" << theirs.log;
            std::optional<size_t> blamed = at == std::string::npos ? std::nullopt : blamed_insn(theirs.log, at);
            // A message naming its own instruction ("infinite loop detected at insn 1") is checked by its text.
            if (blamed && !c.any_insn && c.message.find("insn ") == std::string::npos) {
                EXPECT_EQ(*blamed, c.insn_idx) << "the kernel blames another instruction:\n" << theirs.log;
            }
        }
    }
    std::cout << compared << " of " << cases.size() << " cases compared with the kernel\n";
}

}  // namespace
}  // namespace tcbpf::verifier::test
