// Helpers that insert or remove headers: VLAN push/pop (hardware-accelerated tag first, bytes for the
// tags behind it), skb_change_proto (IPv4 <-> IPv6 header room) and skb_adjust_room, on frames as
// BPF_PROG_TEST_RUN prepares them. Expected bytes and errors are the kernel's.
#include <gtest/gtest.h>

#include <cerrno>

#include <fmt/format.h>

#include "tests/helpers/helper_run.h"

namespace tcbpf::helpers::test {
namespace {

constexpr uint64_t neg(int64_t v) { return static_cast<uint64_t>(v); }

std::string prog(std::string_view body) { return "r6 = r1\nr7 = r2\n" + std::string(body) + "\nexit\n"; }
std::string vlan_push(uint16_t proto_network_order, uint16_t tci) {
    return prog(fmt::format("r1 = r6\nr2 = {}\nr3 = {}\ncall 18", proto_network_order, tci));
}
const std::string kVlanPop = prog("r1 = r6\ncall 19");

std::vector<uint8_t> with_gap(const std::vector<uint8_t>& frame, size_t at, size_t n) {
    std::vector<uint8_t> out(frame.begin(), frame.begin() + static_cast<long>(at));
    out.insert(out.end(), n, 0);
    out.insert(out.end(), frame.begin() + static_cast<long>(at), frame.end());
    return out;
}
std::vector<uint8_t> without(const std::vector<uint8_t>& frame, size_t at, size_t n) {
    std::vector<uint8_t> out(frame.begin(), frame.begin() + static_cast<long>(at));
    out.insert(out.end(), frame.begin() + static_cast<long>(at + n), frame.end());
    return out;
}

TEST(SkbVlanPush, FirstTagIsAcceleratedAndLeavesTheBytes) {
    const auto frame = ipv4_udp_frame();
    HelperRun run(frame);
    EXPECT_EQ(run.run(vlan_push(0x0081, 42)), 0u);
    EXPECT_EQ(run.bytes(), frame);
    EXPECT_TRUE(run.meta.vlan_present);
    EXPECT_EQ(run.meta.vlan_proto, 0x8100);
    EXPECT_EQ(run.meta.vlan_tci, 42);
    EXPECT_EQ(run.run(prog("r0 = {ctx:vlan_tci}\nr1 = {ctx:vlan_proto}\nr1 <<= 16\nr0 |= r1")), 0x0081002au)
        << "the context shows the tag (TPID in network order)";
}

TEST(SkbVlanPush, SecondTagMovesTheFirstIntoTheBytes) {
    const auto frame = ipv4_udp_frame();
    HelperRun run(frame);
    EXPECT_EQ(run.run(vlan_push(0x0081, 42)), 0u);
    EXPECT_EQ(run.run(vlan_push(0xa888, 7)), 0u);
    EXPECT_EQ(run.bytes(), tagged(frame, 0x8100, 42));
    EXPECT_EQ(run.meta.vlan_proto, 0x88a8);
    EXPECT_EQ(run.meta.vlan_tci, 7);
    EXPECT_EQ(run.meta.protocol, 0x8100) << "skb->protocol becomes the tag now in the bytes";
    EXPECT_EQ(run.ctx.len, frame.size() + 4);
}

TEST(SkbVlanPush, UnknownTpidBecomes8021Q) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(vlan_push(0x0008, 1)), 0u);
    EXPECT_EQ(run.meta.vlan_proto, 0x8100);
}

TEST(SkbVlanPop, ClearsTheAcceleratedTag) {
    const auto frame = ipv4_udp_frame();
    HelperRun run(frame);
    run.run(vlan_push(0x0081, 42));
    EXPECT_EQ(run.run(kVlanPop), 0u);
    EXPECT_FALSE(run.meta.vlan_present);
    EXPECT_EQ(run.bytes(), frame);
}

TEST(SkbVlanPop, RemovesATagFromTheBytes) {
    const auto frame = ipv4_udp_frame();
    HelperRun run(tagged(frame, 0x8100, 42));
    EXPECT_EQ(run.meta.protocol, 0x8100);
    EXPECT_EQ(run.run(kVlanPop), 0u);
    EXPECT_EQ(run.bytes(), frame);
    EXPECT_EQ(run.meta.protocol, 0x0800);
    EXPECT_FALSE(run.meta.vlan_present);
    EXPECT_EQ(run.packet.network_header(), 14);
}

TEST(SkbVlanPop, AnInnerTagBecomesTheAcceleratedOne) {
    const auto frame = ipv4_udp_frame();
    HelperRun run(tagged(tagged(frame, 0x8100, 5), 0x88a8, 9));
    EXPECT_EQ(run.run(kVlanPop), 0u);
    EXPECT_EQ(run.bytes(), frame);
    EXPECT_TRUE(run.meta.vlan_present);
    EXPECT_EQ(run.meta.vlan_proto, 0x8100);
    EXPECT_EQ(run.meta.vlan_tci, 5);
    EXPECT_EQ(run.meta.protocol, 0x0800);
}

TEST(SkbVlanPop, UntaggedPacketIsLeftAlone) {
    const auto frame = ipv4_udp_frame();
    HelperRun run(frame);
    EXPECT_EQ(run.run(kVlanPop), 0u);
    EXPECT_EQ(run.bytes(), frame);
}

// At tc ingress a CHECKSUM_COMPLETE sum covers the bytes after the MAC header (the MAC header was
// pulled before the sum was taken and pushed back for tc without it), and VLAN helpers keep it so.
TEST(SkbVlanPushPop, KeepAnIngressChecksumCompleteSumOverTheNetworkPart) {
    const auto frame = ipv4_udp_frame(9);  // odd length, so the tail word is partial
    HelperRun run(frame);
    run.env.tc_ingress = true;
    run.meta.ip_summed = skb::ChecksumState::Complete;
    run.meta.csum = skb::csum_partial(std::span(frame).subspan(14), 0);
    const uint16_t network_part = skb::csum_fold(run.meta.csum);
    EXPECT_EQ(run.run(vlan_push(0x0081, 42)), 0u);
    EXPECT_EQ(run.run(vlan_push(0x0081, 43)), 0u);
    ASSERT_EQ(run.packet.size(), frame.size() + 4);
    EXPECT_EQ(skb::csum_fold(run.meta.csum), network_part) << "the tag went into the MAC header, not the sum";
    EXPECT_EQ(run.run(kVlanPop), 0u);
    EXPECT_EQ(run.run(kVlanPop), 0u);
    EXPECT_EQ(run.bytes(), frame);
    EXPECT_EQ(skb::csum_fold(run.meta.csum), network_part);
}

TEST(SkbChangeProto, Ipv4ToIpv6OpensTwentyZeroBytesAfterTheMacHeader) {
    const auto frame = ipv4_udp_frame();
    HelperRun run(frame);
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 0xdd86\nr3 = 0\ncall 31\nr0 = {ctx:protocol}")), 0xdd86u);
    EXPECT_EQ(run.bytes(), with_gap(frame, 14, 20)) << "the EtherType bytes are the program's job";
    EXPECT_EQ(run.meta.protocol, 0x86dd);
    EXPECT_EQ(run.packet.network_header(), 14);
}

TEST(SkbChangeProto, Ipv6ToIpv4RemovesTwentyBytes) {
    const auto frame = ipv6_tcp_frame();
    HelperRun run(frame);
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 0x8\nr3 = 0\ncall 31")), 0u);
    EXPECT_EQ(run.bytes(), without(frame, 14, 20));
    EXPECT_EQ(run.meta.protocol, 0x0800);
}

TEST(SkbChangeProto, Errors) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 0xdd86\nr3 = 1\ncall 31")), neg(-EINVAL)) << "flags";
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 0x8\nr3 = 0\ncall 31")), neg(-kENOTSUPP)) << "IPv4 to IPv4";
}

std::string adjust(int len_diff, int mode, uint64_t flags) {
    return prog(fmt::format("r1 = r6\nr2 = {}\nr3 = {}\nr4 = {:#x} ll\ncall 50", len_diff, mode, flags));
}

TEST(SkbAdjustRoom, NetModeGrowsAndShrinksBehindTheIpHeader) {
    const auto frame = ipv4_udp_frame();
    HelperRun run(frame);
    EXPECT_EQ(run.run(adjust(8, 0, 0)), 0u);
    EXPECT_EQ(run.bytes(), with_gap(frame, 34, 8));
    EXPECT_EQ(run.run(adjust(-8, 0, 0)), 0u);
    EXPECT_EQ(run.bytes(), frame);
    EXPECT_EQ(run.run(adjust(-16, 0, 0)), 0u);
    EXPECT_EQ(run.bytes(), without(frame, 34, 16));
}

TEST(SkbAdjustRoom, MacModeWorksRightAfterTheMacHeader) {
    const auto frame = ipv4_udp_frame();
    HelperRun run(frame);
    EXPECT_EQ(run.run(adjust(4, 1, 0)), 0u);
    EXPECT_EQ(run.bytes(), with_gap(frame, 14, 4));
    EXPECT_EQ(run.packet.network_header(), 14) << "the network mark moves to the new room";
}

TEST(SkbAdjustRoom, Errors) {
    HelperRun run(ipv4_udp_frame());  // 36 bytes from the network header on
    EXPECT_EQ(run.run(adjust(4, 0, 0x200)), neg(-EINVAL)) << "unknown flag";
    EXPECT_EQ(run.run(adjust(0x1000, 0, 0)), neg(-EFAULT)) << "more than 0xfff";
    EXPECT_EQ(run.run(adjust(4, 2, 0)), neg(-kENOTSUPP)) << "unknown mode";
    EXPECT_EQ(run.run(adjust(-36, 0, 0)), neg(-kENOTSUPP)) << "the whole network part";
    EXPECT_EQ(run.run(adjust(-17, 0, 0)), neg(-kENOTSUPP)) << "less than an IPv4 header would remain";
    EXPECT_EQ(run.run(adjust(4, 0, 0x80)), neg(-EINVAL)) << "decap while growing";
    EXPECT_EQ(run.run(adjust(4, 0, 0x6)), neg(-EINVAL)) << "encap as IPv4 and IPv6";
    EXPECT_EQ(run.run(adjust(-4, 0, 0x2)), neg(-EINVAL)) << "encap flags while shrinking";
    EXPECT_EQ(run.bytes(), ipv4_udp_frame()) << "no failure changed the packet";
}

TEST(SkbAdjustRoom, NonIpPacketsAreNotSupported) {
    auto frame = ipv4_udp_frame();
    frame[12] = 0x08;
    frame[13] = 0x06;  // ARP
    HelperRun run(frame);
    EXPECT_EQ(run.run(adjust(4, 1, 0)), neg(-kENOTSUPP));
}

TEST(SkbAdjustRoom, ResetsChecksumUnnecessaryUnlessAsked) {
    HelperRun run(ipv4_udp_frame());
    run.meta.ip_summed = skb::ChecksumState::Unnecessary;
    EXPECT_EQ(run.run(adjust(4, 0, 0x20)), 0u);
    EXPECT_EQ(run.meta.ip_summed, skb::ChecksumState::Unnecessary);
    EXPECT_EQ(run.run(adjust(4, 0, 0)), 0u);
    EXPECT_EQ(run.meta.ip_summed, skb::ChecksumState::None);
}

TEST(SkbAdjustRoom, EncapsulationMovesTheNetworkHeaderAndBlocksChangeTail) {
    const auto frame = ipv4_udp_frame();
    HelperRun run(frame);
    // Room for an outer IPv4 + UDP header in front of the original IPv4 header.
    EXPECT_EQ(run.run(adjust(28, 1, 0x2 | 0x10)), 0u);
    EXPECT_EQ(run.bytes(), with_gap(frame, 14, 28));
    EXPECT_EQ(run.packet.network_header(), 14);
    EXPECT_EQ(run.packet.transport_header(), 34);
    EXPECT_EQ(run.run(adjust(28, 1, 0x2)), neg(-EALREADY)) << "already encapsulated";
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 100\nr3 = 0\ncall 38")), neg(-kENOTSUPP));
}

}  // namespace
}  // namespace tcbpf::helpers::test
