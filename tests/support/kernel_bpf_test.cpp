// The bpf() wrapper against the running kernel: what it returns for an accepted program, a rejected one
// (errno plus the verifier's own words) and the map commands. Skips with the reason without bpf().
#include "tests/support/kernel_bpf.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

namespace tcbpf::kernel {
namespace {

#define REQUIRE_BPF()                                                 \
    do {                                                              \
        if (!probe().available) GTEST_SKIP() << probe().reason;       \
    } while (0)

// r0 = 7; exit
const isa::RawInsn kReturnSeven[] = {{0xb7, 0x00, 0, 7}, {0x95, 0x00, 0, 0}};
// exit without setting r0
const isa::RawInsn kReturnUninitialised[] = {{0x95, 0x00, 0, 0}};

TEST(KernelBpf, TestRunReportsTheReturnValueAndThePacket) {
    REQUIRE_BPF();
    const LoadResult loaded = load_program(kReturnSeven);
    ASSERT_TRUE(loaded.ok()) << errno_text(loaded.error) << "\n" << loaded.log;
    std::vector<uint8_t> packet(64);
    for (size_t i = 0; i < packet.size(); ++i) packet[i] = static_cast<uint8_t>(i);
    TestRunInput input;
    input.data = packet;
    input.repeat = 3;
    const TestRunResult run = test_run(loaded.fd, input);
    ASSERT_TRUE(run.ok()) << errno_text(run.error);
    EXPECT_EQ(run.retval, 7u);
    EXPECT_EQ(run.data_out, packet);
}

TEST(KernelBpf, RejectionReturnsErrnoAndTheVerifierLog) {
    REQUIRE_BPF();
    const LoadResult loaded = load_program(kReturnUninitialised);
    EXPECT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.error, EACCES);
    EXPECT_NE(loaded.log.find("R0 !read_ok"), std::string::npos) << loaded.log;
}

TEST(KernelBpf, HashMapRoundTrip) {
    REQUIRE_BPF();
    MapOptions options;
    options.type = BPF_MAP_TYPE_HASH;
    options.key_size = 4;
    options.value_size = 8;
    options.max_entries = 4;
    options.name = "tcbpf_test";
    const MapCreateResult map = create_map(options);
    ASSERT_TRUE(map.ok()) << errno_text(map.error);

    const uint8_t key[4] = {1, 0, 0, 0};
    const uint8_t value[8] = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1};
    uint8_t read_back[8] = {};
    uint8_t next[4] = {};
    EXPECT_EQ(map_lookup(map.fd, key, read_back), ENOENT);
    EXPECT_EQ(map_get_next_key(map.fd, {}, next), ENOENT);  // empty map has no first key
    EXPECT_EQ(map_update(map.fd, key, value, BPF_NOEXIST), 0);
    EXPECT_EQ(map_update(map.fd, key, value, BPF_NOEXIST), EEXIST);
    EXPECT_EQ(map_lookup(map.fd, key, read_back), 0);
    EXPECT_EQ(std::memcmp(read_back, value, sizeof value), 0);
    EXPECT_EQ(map_get_next_key(map.fd, {}, next), 0);
    EXPECT_EQ(std::memcmp(next, key, sizeof key), 0);
    EXPECT_EQ(map_get_next_key(map.fd, key, next), ENOENT);  // it was the last key
    EXPECT_EQ(map_delete(map.fd, key), 0);
    EXPECT_EQ(map_delete(map.fd, key), ENOENT);
}

TEST(KernelBpf, MapCreateReportsInvalidArguments) {
    REQUIRE_BPF();
    MapOptions options;
    options.key_size = 0;  // a hash map needs a key
    const MapCreateResult map = create_map(options);
    EXPECT_FALSE(map.ok());
    EXPECT_EQ(map.error, EINVAL);
}

TEST(KernelBpf, ErrnoTextNamesTheConstant) { EXPECT_EQ(errno_text(EPERM), "EPERM (Operation not permitted)"); }

}  // namespace
}  // namespace tcbpf::kernel
