// BPF_PROG_TEST_RUN's input rules for sched_cls/sched_act; the expectations were measured on Linux 6.18.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "tcbpf/skb.h"

namespace tcbpf::skb {
namespace {

// Ethernet header to the all-zero (loopback) MAC from 11:22:33:44:55:66, then `type`, then zeroes.
std::vector<uint8_t> frame(uint16_t type, size_t size, uint8_t first_dst_byte = 0) {
    std::vector<uint8_t> f(size, 0);
    f[0] = first_dst_byte;
    for (int i = 0; i < 6; ++i) f[6 + i] = static_cast<uint8_t>(0x11 * (i + 1));
    f[12] = static_cast<uint8_t>(type >> 8);
    f[13] = static_cast<uint8_t>(type);
    return f;
}

std::vector<uint8_t> ctx_with(uint32_t offset, uint32_t value) {
    std::vector<uint8_t> ctx(kSkbCtxSize, 0);
    std::memcpy(ctx.data() + offset, &value, 4);
    return ctx;
}

TEST(PrepareTestRun, RefusesFramesWithoutAnEthernetHeader) {
    const TestRunResult r = prepare_test_run(std::vector<uint8_t>(13, 0));
    EXPECT_FALSE(r.skb);
    EXPECT_EQ(r.error, EINVAL);
    EXPECT_EQ(r.refusal, "frame of 13 bytes is shorter than 14");
    EXPECT_TRUE(prepare_test_run(frame(0x0806, 14)).skb);
}

TEST(PrepareTestRun, RefusesFramesLargerThanAPageLeavesRoomFor) {
    EXPECT_TRUE(prepare_test_run(frame(0xaaaa, 3712)).skb);
    const TestRunResult r = prepare_test_run(frame(0xaaaa, 3713));
    EXPECT_EQ(r.error, EINVAL);
    EXPECT_EQ(r.refusal, "frame of 3713 bytes is longer than 3712");
}

TEST(PrepareTestRun, IpFramesMustHoldTheFixedL3Header) {
    EXPECT_EQ(prepare_test_run(frame(0x0800, 14)).refusal, "IPv4 frame of 14 bytes is shorter than 34");
    EXPECT_EQ(prepare_test_run(frame(0x0800, 33)).refusal, "IPv4 frame of 33 bytes is shorter than 34");
    EXPECT_TRUE(prepare_test_run(frame(0x0800, 34)).skb);
    EXPECT_EQ(prepare_test_run(frame(0x86dd, 53)).refusal, "IPv6 frame of 53 bytes is shorter than 54");
    EXPECT_TRUE(prepare_test_run(frame(0x86dd, 54)).skb);
    // VLAN-tagged frames are not checked: protocol is the TPID and the tags stay in the bytes.
    const TestRunResult vlan = prepare_test_run(frame(0x8100, 20));
    ASSERT_TRUE(vlan.skb);
    EXPECT_EQ(vlan.skb->meta.protocol, 0x8100);
    EXPECT_FALSE(vlan.skb->meta.vlan_present);
    EXPECT_EQ(vlan.skb->packet.size(), 20u);
    EXPECT_EQ(prepare_test_run(frame(0x88a8, 20)).skb->meta.protocol, 0x88a8);
}

TEST(PrepareTestRun, ProtocolFollowsEthTypeTrans) {
    EXPECT_EQ(prepare_test_run(frame(0x0806, 19)).skb->meta.protocol, 0x0806);
    EXPECT_EQ(prepare_test_run(frame(0xffff, 60)).skb->meta.protocol, 0xffff);
    EXPECT_EQ(prepare_test_run(frame(0x002e, 60)).skb->meta.protocol, 0x0004);  // 802.3 length → 802.2
    std::vector<uint8_t> ipx = frame(0x002e, 60);
    ipx[14] = ipx[15] = 0xff;
    EXPECT_EQ(prepare_test_run(ipx).skb->meta.protocol, 0x0001);  // raw 802.3 (IPX)
}

TEST(PrepareTestRun, PktTypeComparesTheDestinationWithTheDevice) {
    EXPECT_EQ(prepare_test_run(frame(0x0800, 42)).skb->meta.pkt_type, kPacketHost);  // lo is 00:..:00
    std::vector<uint8_t> bcast = frame(0x0800, 42);
    std::memset(bcast.data(), 0xff, 6);
    // Loopback's broadcast address is 00:00:00:00:00:00, so ff:ff:ff:ff:ff:ff is only multicast there.
    EXPECT_EQ(prepare_test_run(bcast).skb->meta.pkt_type, kPacketMulticast);
    EXPECT_EQ(prepare_test_run(frame(0x0806, 14, 0x33)).skb->meta.pkt_type, kPacketMulticast);
    EXPECT_EQ(prepare_test_run(frame(0x0800, 36, 0x02)).skb->meta.pkt_type, kPacketOtherHost);
}

TEST(PrepareTestRun, BuildsTheSkbAsTheKernelDoes) {
    const TestRunResult r = prepare_test_run(frame(0x0800, 42));
    ASSERT_TRUE(r.skb);
    EXPECT_EQ(r.error, 0);
    EXPECT_EQ(r.refusal, "");
    const TestRunSkb& skb = *r.skb;
    EXPECT_EQ(skb.packet.size(), 42u);
    EXPECT_EQ(skb.packet.headroom(), 64u);
    EXPECT_EQ(skb.packet.meta_len(), 0u);
    EXPECT_EQ(skb.packet.mac_header(), 0);
    EXPECT_EQ(skb.packet.network_header(), 14);
    EXPECT_EQ(skb.meta.ifindex, 1u);
    EXPECT_EQ(skb.meta.ingress_ifindex, 0u);
    EXPECT_EQ(skb.meta.wire_len, 42u);
    EXPECT_EQ(skb.meta.hash, 0u);
}

TEST(PrepareTestRun, CtxInMaySetOnlyTheFieldsTestRunCopies) {
    const std::vector<uint8_t> f = frame(0x0800, 42);
    for (uint32_t off : {8u, 32u, 36u, 48u, 64u, 152u, 156u, 164u, 176u, 184u, 188u})
        EXPECT_TRUE(prepare_test_run(f, ctx_with(off, 5)).skb) << off;
    EXPECT_EQ(prepare_test_run(f, ctx_with(0, 5)).refusal,
              "ctx_in sets len (offset 0), which test_run does not accept");
    EXPECT_EQ(prepare_test_run(f, ctx_with(12, 1)).refusal,
              "ctx_in sets queue_mapping (offset 12), which test_run does not accept");
    for (uint32_t off : {4u, 16u, 20u, 24u, 28u, 44u, 68u, 72u, 76u, 80u, 84u, 88u, 140u, 144u, 168u, 180u}) {
        const TestRunResult r = prepare_test_run(f, ctx_with(off, 5));
        EXPECT_FALSE(r.skb) << off;
        EXPECT_EQ(r.error, EINVAL) << off;
    }
}

TEST(PrepareTestRun, CtxInValuesLandInTheSkb) {
    std::vector<uint8_t> ctx(kSkbCtxSize, 0);
    auto put32 = [&ctx](uint32_t off, uint32_t v) { std::memcpy(ctx.data() + off, &v, 4); };
    put32(8, 0xabc);
    put32(32, 6);
    put32(36, 9);
    put32(48, 1);
    put32(64, 5);
    put32(152, 77);
    put32(160, 100);
    put32(164, 65535);
    put32(176, 0x12345);
    put32(184, 99);
    const TestRunResult r = prepare_test_run(frame(0x0800, 42), ctx);
    ASSERT_TRUE(r.skb) << r.refusal;
    const SkbMeta& m = r.skb->meta;
    EXPECT_EQ(m.mark, 0xabcu);
    EXPECT_EQ(m.priority, 6u);
    EXPECT_EQ(m.ingress_ifindex, 9u);
    EXPECT_EQ(m.cb[0], 1u);
    EXPECT_EQ(m.cb[4], 5u);
    EXPECT_EQ(m.tstamp, 77u);
    EXPECT_EQ(m.wire_len, 100u);
    EXPECT_EQ(m.gso_segs, 65535u);
    EXPECT_EQ(m.gso_size, 0x2345u);  // a program reading gso_size sees the 16-bit shinfo field
    EXPECT_EQ(m.hwtstamp, 99u);
}

TEST(PrepareTestRun, WireLenAndGsoSegsLimits) {
    const std::vector<uint8_t> f = frame(0x0800, 42);
    EXPECT_EQ(prepare_test_run(f, ctx_with(160, 41)).refusal, "ctx_in wire_len 41 outside [42, 65536]");
    EXPECT_TRUE(prepare_test_run(f, ctx_with(160, 42)).skb);
    EXPECT_TRUE(prepare_test_run(f, ctx_with(160, 65536)).skb);
    EXPECT_EQ(prepare_test_run(f, ctx_with(160, 65537)).error, EINVAL);
    EXPECT_EQ(prepare_test_run(f, ctx_with(164, 65536)).refusal, "ctx_in gso_segs 65536 above 65535");
}

std::vector<uint8_t> bcast_frame() {
    std::vector<uint8_t> f = frame(0x0800, 42);
    std::memset(f.data(), 0xff, 6);
    return f;
}

std::optional<TestRunDevice> fake_eth0(uint32_t ifindex) {
    if (ifindex != 4) return std::nullopt;
    return TestRunDevice{4, {0x02, 0xfc, 0, 0, 0, 1}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
}

TEST(PrepareTestRun, IfindexSelectsTheDeviceBeforeOtherChecks) {
    TestRunEnv env;
    env.device_for = fake_eth0;
    const TestRunResult missing = prepare_test_run(frame(0x0800, 30), ctx_with(40, 99), env);
    EXPECT_EQ(missing.error, ENODEV);  // reported before the short IPv4 frame
    EXPECT_EQ(missing.refusal, "ctx_in ifindex 99: no such device");
    EXPECT_EQ(prepare_test_run(frame(0x0800, 42), ctx_with(40, 99)).error, ENODEV);

    std::vector<uint8_t> to_eth0 = frame(0x0800, 42);
    const uint8_t mac[6] = {0x02, 0xfc, 0, 0, 0, 1};
    std::memcpy(to_eth0.data(), mac, 6);
    const TestRunResult r = prepare_test_run(to_eth0, ctx_with(40, 4), env);
    ASSERT_TRUE(r.skb);
    EXPECT_EQ(r.skb->meta.ifindex, 4u);
    EXPECT_EQ(r.skb->meta.pkt_type, kPacketHost);
    EXPECT_EQ(prepare_test_run(frame(0x0800, 42), ctx_with(40, 4), env).skb->meta.pkt_type, kPacketOtherHost);
    EXPECT_EQ(prepare_test_run(bcast_frame(), ctx_with(40, 4), env).skb->meta.pkt_type, kPacketBroadcast);
    EXPECT_EQ(prepare_test_run(frame(0x0800, 42), ctx_with(40, 1), env).skb->meta.ifindex, 1u);
}

TEST(PrepareTestRun, CtxInLongerThanSkBuffMustBeZeroPadded) {
    std::vector<uint8_t> ctx(200, 0);
    EXPECT_TRUE(prepare_test_run(frame(0x0800, 42), ctx).skb);
    ctx[195] = 1;
    const TestRunResult r = prepare_test_run(frame(0x0800, 42), ctx);
    EXPECT_EQ(r.error, E2BIG);
    EXPECT_EQ(r.refusal, "ctx_in byte 195 past __sk_buff is not zero");
}

}  // namespace
}  // namespace tcbpf::skb
