// The map-value cases against the kernel, with real array maps referenced by fd.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tcbpf/asm.h"
#include "tcbpf/verifier.h"
#include "tests/support/kernel_bpf.h"
#include "tests/verifier/map_cases.h"

namespace tcbpf::verifier {
namespace {

TEST(MapValueKernel, CasesMatchTheKernel) {
    const kernel::Availability& availability = kernel::probe();
    if (!availability.available) GTEST_SKIP() << availability.reason;
    kernel::MapOptions array;
    array.type = BPF_MAP_TYPE_ARRAY;
    array.key_size = 4;
    array.value_size = 16;
    array.max_entries = 1;
    kernel::MapCreateResult plain = kernel::create_map(array);
    array.flags = BPF_F_RDONLY_PROG;
    kernel::MapCreateResult read_only = kernel::create_map(array);
    ASSERT_TRUE(plain.ok() && read_only.ok()) << kernel::errno_text(plain.error ? plain.error : read_only.error);
    Options options;
    options.maps.push_back(MapInfo{BPF_MAP_TYPE_ARRAY, 4, 16, 1, 0, plain.fd.get()});
    options.maps.push_back(MapInfo{BPF_MAP_TYPE_ARRAY, 4, 16, 1, BPF_F_RDONLY_PROG, read_only.fd.get()});
    for (const test::MapCase& c : test::kMapCases) {
        SCOPED_TRACE(c.name);
        int fd = c.read_only_map ? read_only.fd.get() : plain.fd.get();
        isa::Program prog = isa::assemble(fmt::format(fmt::runtime(c.text), fmt::format("map[fd:{}]", fd)));
        Result ours = verify(prog, options);
        kernel::LoadResult theirs = kernel::load_program(isa::encode(prog));
        EXPECT_EQ(ours.ok, theirs.ok()) << ours.message << "\nkernel:\n" << theirs.log;
        if (!theirs.ok()) {
            EXPECT_NE(theirs.log.find(ours.message), std::string::npos) << ours.message << "\nkernel:\n" << theirs.log;
        }
    }
}

}  // namespace
}  // namespace tcbpf::verifier
