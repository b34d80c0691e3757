// Every program of the eBPF conformance suite verifies as the `raw` program type, with r1 pointing to
// its `mem` bytes (0 without any): the suite's programs are all safe, so each one refused is a
// precision bug of ours. The suite's folder comes from TCBPF_SHARED_DIR; without it the test skips.
#include <gtest/gtest.h>

#include <filesystem>

#include "tcbpf/asm.h"
#include "tcbpf/error.h"
#include "tcbpf/verifier.h"
#include "tests/conformance/data_file.h"

namespace tcbpf::verifier {
namespace {

TEST(ConformanceVerify, EverySuiteProgramVerifiesAsRaw) {
    const std::string dir = TCBPF_CONFORMANCE_DIR;
    std::vector<std::string> files = conformance::list_data_files(dir);
    if (files.empty()) GTEST_SKIP() << "no conformance files in " << dir;
    size_t verified = 0;
    for (const std::string& path : files) {
        conformance::DataFile file = conformance::read_data_file(path);
        if (!file.skip_reason.empty()) continue;
        SCOPED_TRACE(path);
        isa::Program prog;
        try {
            prog = file.raw ? isa::decode_bytes(conformance::raw_bytes(*file.raw))
                            : isa::assemble_conformance(file.asm_text, file.path);
        } catch (const Error& e) {
            continue;  // the suite's own malformed files are the assembler's tests
        }
        Options options;
        options.raw_memory_size = static_cast<uint32_t>(file.mem.size());
        Result r = verify(prog, options);
        EXPECT_TRUE(r.ok) << r.message << " at insn " << r.insn_idx << "\n" << isa::disassemble(prog);
        verified += r.ok;
    }
    EXPECT_GT(verified, 280u);
}

}  // namespace
}  // namespace tcbpf::verifier
