// The kernel side of the example differential tests must itself be right: these cases pin what the
// kernel does with the example objects on hand-built frames.
#include <gtest/gtest.h>

#include <linux/pkt_cls.h>

#include <cstring>

#include "kernel_object.h"

using namespace tcbpf::kernel;

namespace {

std::string example(const char* name) { return std::string(TCBPF_EXAMPLES_DIR) + "/" + name + ".o"; }

// Ethernet + IPv4 + UDP 10.0.0.1:1000 -> 10.0.0.2:53, 64 bytes in all.
std::vector<uint8_t> udp_frame() {
    std::vector<uint8_t> f(64, 0);
    const uint8_t head[] = {
        0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,                  // Ethernet
        0x45, 0, 0, 50, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,     // IPv4
        0x03, 0xe8, 0x00, 0x35, 0, 30, 0, 0};                                     // UDP
    std::memcpy(f.data(), head, sizeof head);
    return f;
}

// The policy example's struct flow_key for udp_frame().
std::vector<uint8_t> udp_frame_key() {
    std::vector<uint8_t> k(40, 0);
    k[10] = k[11] = 0xff;
    k[12] = 10, k[15] = 1;  // saddr ::ffff:10.0.0.1
    k[26] = k[27] = 0xff;
    k[28] = 10, k[31] = 2;  // daddr ::ffff:10.0.0.2
    k[32] = 0x03, k[33] = 0xe8;  // sport 1000
    k[34] = 0x00, k[35] = 0x35;  // dport 53
    k[36] = 17;
    k[37] = 4;
    return k;
}

TestRunResult run(int prog_fd, const std::vector<uint8_t>& frame) {
    TestRunInput input;
    input.data = frame;
    return test_run_fd(prog_fd, input);
}

class KernelObjectTest : public ::testing::Test {
   protected:
    void SetUp() override {
        if (!probe().available) GTEST_SKIP() << probe().reason;
    }
};

}  // namespace

TEST_F(KernelObjectTest, PassAllReturnsOk) {
    std::string error;
    auto obj = KernelObject::load(example("pass_all"), BPF_PROG_TYPE_SCHED_CLS, &error);
    ASSERT_TRUE(obj) << error;
    const auto frame = udp_frame();
    const auto r = run(obj->program_fd("pass_all"), frame);
    ASSERT_TRUE(r.ok()) << errno_text(r.error);
    EXPECT_EQ(r.retval, static_cast<uint32_t>(TC_ACT_OK));
    EXPECT_EQ(r.data_out, frame);
}

TEST_F(KernelObjectTest, PolicyPushedFromUserSpaceDecidesTheVerdict) {
    std::string error;
    auto obj = KernelObject::load(example("policy"), BPF_PROG_TYPE_SCHED_CLS, &error);
    ASSERT_TRUE(obj) << error;
    const int fd = obj->program_fd("policy_classifier");
    const auto frame = udp_frame();

    EXPECT_EQ(run(fd, frame).retval, static_cast<uint32_t>(TC_ACT_OK));
    // verdict SHOT, classid 1:20, priority 7, mark 0x42
    const uint8_t policy[16] = {2, 0, 0, 0, 0x20, 0, 1, 0, 7, 0, 0, 0, 0x42, 0, 0, 0};
    ASSERT_EQ(obj->update("policy_map", udp_frame_key(), policy), 0);
    EXPECT_EQ(run(fd, frame).retval, static_cast<uint32_t>(TC_ACT_SHOT));

    const auto stats = obj->dump("policy_stats");
    ASSERT_EQ(stats.size(), 3u);
    uint64_t hits = 0, misses = 0;
    std::memcpy(&hits, stats[0].value.data(), 8);
    std::memcpy(&misses, stats[1].value.data(), 8);
    EXPECT_EQ(hits, 1u);
    EXPECT_EQ(misses, 1u);
}

TEST_F(KernelObjectTest, StaticProgArrayIsPopulatedByTheLoader) {
    std::string error;
    auto obj = KernelObject::load(example("tail_dispatch"), BPF_PROG_TYPE_SCHED_CLS, &error);
    ASSERT_TRUE(obj) << error;
    const auto frame = udp_frame();
    const auto r = run(obj->program_fd("dispatch"), frame);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.retval, static_cast<uint32_t>(TC_ACT_OK));  // handle_ipv4 ran, not dispatch's SHOT
    const auto stats = obj->dump("dispatch_stats");
    ASSERT_EQ(stats.size(), 3u);
    uint64_t v4 = 0;
    std::memcpy(&v4, stats[0].value.data(), 8);
    EXPECT_EQ(v4, 1u);
}

TEST_F(KernelObjectTest, RefusedObjectExplainsWhy) {
    std::string error;
    EXPECT_FALSE(KernelObject::load("/nonexistent.o", BPF_PROG_TYPE_SCHED_CLS, &error));
    EXPECT_NE(error.find("/nonexistent.o: libbpf cannot open it"), std::string::npos) << error;
}
