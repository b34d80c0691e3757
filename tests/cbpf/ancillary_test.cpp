// Every ancillary load through the whole conversion path (helpers, context reads, the no-device exit)
// on all three engines, and SKF_AD_PAY_OFFSET's flow dissection (the kernel's skb_get_poff) frame by
// frame: where the transport payload starts for each header layout tc meets.
#include <gtest/gtest.h>

#include "builder.h"
#include "converted_runner.h"
#include "tcbpf/helpers.h"

using namespace tcbpf;
using namespace tcbpf::trafficgen;

namespace {

constexpr cbpf::Insn kRetA{0x16, 0, 0, 0};
constexpr uint32_t anc(uint32_t id) { return 0xfffff000u + id; }

// The converted program's answer, the same on every engine, and the reference's.
uint32_t run_everywhere(const cbpf::Program& prog, const cbpf::Packet& p) {
    const cbpf_test::ConvertedRunner runner(prog);
    const uint32_t want = cbpf::run(prog, p);
    for (cbpf_test::Engine engine : cbpf_test::kEngines)
        EXPECT_EQ(runner.run(p, engine), want) << cbpf_test::engine_name(engine) << "\n" << cbpf::disassemble(prog);
    return want;
}

Ip4Header ip4(uint8_t proto, uint16_t frag_field = 0, Bytes options = {}) {
    Ip4Header h;
    h.proto = proto;
    h.frag_field = frag_field;
    h.options = std::move(options);
    return h;
}
Ip6Header ip6(uint8_t next) {
    Ip6Header h;
    h.next = next;
    return h;
}
Bytes segment(uint8_t proto, size_t payload) {
    L4 l4;
    l4.proto = proto;
    l4.sport = 1;
    l4.dport = 2;
    l4.payload = Bytes(payload, 0xab);
    return l4_segment(l4, 0);
}
L2 tagged(std::vector<std::pair<uint16_t, uint16_t>> tags) {
    L2 l2;
    l2.tags = std::move(tags);
    return l2;
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& b : parts) out.insert(out.end(), b.begin(), b.end());
    return out;
}

Bytes udp4(const L2& l2 = {}, uint16_t frag = 0, Bytes options = {}) {
    const Bytes l4 = segment(kProtoUdp, 10);
    return concat({ethernet(l2, 0x0800), ipv4_header(ip4(kProtoUdp, frag, std::move(options)), l4.size()), l4});
}

Bytes tcp4(uint8_t data_offset_words) {
    Bytes l4 = segment(kProtoTcp, 40);
    l4[12] = static_cast<uint8_t>(data_offset_words << 4);
    return concat({ethernet({}, 0x0800), ipv4_header(ip4(kProtoTcp), l4.size()), l4});
}

uint32_t poff(const Bytes& frame, uint16_t protocol, bool vlan_present = false, uint16_t vlan_proto = 0) {
    return helpers::payload_offset(frame, 14, protocol, vlan_present, vlan_proto);
}

}  // namespace

TEST(CbpfAncillary, EachLoadReadsItsSkbField) {
    const Bytes frame = udp4();
    cbpf::Packet p;
    p.data = frame;
    p.protocol = 0x0800;
    p.pkt_type = 3;
    p.ifindex = 7;
    p.mark = 0xabc;
    p.queue_mapping = 2;
    p.hatype = helpers::kArphrdEther;
    p.rxhash = 0xdeadbeef;
    p.cpu = 1;
    p.vlan_tci = 0xe064;
    p.vlan_present = true;
    p.vlan_tpid = 0x88a8;
    p.pay_offset = poff(frame, 0x0800);
    p.random = 0x1234;
    const std::pair<uint32_t, uint32_t> cases[] = {
        {cbpf::kAdProtocol, 0x0800}, {cbpf::kAdPktType, 3}, {cbpf::kAdIfindex, 7}, {cbpf::kAdMark, 0xabc},
        {cbpf::kAdQueue, 2}, {cbpf::kAdHatype, 1}, {cbpf::kAdRxhash, 0xdeadbeef}, {cbpf::kAdCpu, 1},
        {cbpf::kAdVlanTag, 0xe064}, {cbpf::kAdVlanTagPresent, 1}, {cbpf::kAdPayOffset, 14 + 20 + 8},
        {cbpf::kAdRandom, 0x1234}, {cbpf::kAdVlanTpid, 0x88a8},
    };
    for (auto [id, want] : cases)
        for (uint16_t code : {0x20, 0x28, 0x30})  // the size bits do not matter
            EXPECT_EQ(run_everywhere({{code, 0, 0, anc(id)}, kRetA}, p), want) << "SKF_AD_OFF+" << id;
    // Not a load: A ^= X.
    EXPECT_EQ(run_everywhere({{0x00, 0, 0, 0xf0}, {0x01, 0, 0, 0x0f}, {0x20, 0, 0, anc(cbpf::kAdAluXorX)}, kRetA}, p), 0xffu);
    p.hatype = helpers::kArphrdLoopback;
    EXPECT_EQ(run_everywhere({{0x20, 0, 0, anc(cbpf::kAdHatype)}, kRetA}, p), 772u);
}

TEST(CbpfAncillary, WithoutADeviceIfindexAndHatypeEndTheProgramReturningA) {
    const Bytes frame = udp4();
    cbpf::Packet p;
    p.data = frame;
    p.ifindex = 0;
    for (uint32_t id : {cbpf::kAdIfindex, cbpf::kAdHatype})
        EXPECT_EQ(run_everywhere({{0x00, 0, 0, 41}, {0x20, 0, 0, anc(id)}, {0x06, 0, 0, 5}}, p), 41u) << id;
}

TEST(CbpfAncillary, NetlinkAttributesThroughTheHelpers) {
    // {len 8, type 1}, {len 6 (padded to 8), type 2}, a nest {len 12, type 3} holding {len 8, type 5}.
    const Bytes nl = {8, 0, 1, 0, 0, 0, 0, 0, 6, 0, 2, 0, 0, 0, 0, 0, 12, 0, 3, 0, 8, 0, 5, 0, 0, 0, 0, 0};
    cbpf::Packet p;
    p.data = nl;
    auto find = [&](uint32_t a, uint32_t x, uint32_t id) {
        return run_everywhere({{0x01, 0, 0, x}, {0x00, 0, 0, a}, {0x20, 0, 0, anc(id)}, kRetA}, p);
    };
    EXPECT_EQ(find(0, 2, cbpf::kAdNlattr), 8u);
    EXPECT_EQ(find(0, 3, cbpf::kAdNlattr), 16u);
    EXPECT_EQ(find(0, 5, cbpf::kAdNlattr), 0u);  // only inside the nest
    EXPECT_EQ(find(16, 5, cbpf::kAdNlattrNest), 20u);
    EXPECT_EQ(find(0, 5, cbpf::kAdNlattrNest), 0u);  // the attribute at 0 holds no type 5
    EXPECT_EQ(find(25, 1, cbpf::kAdNlattr), 0u);     // fewer than 4 bytes left
    EXPECT_EQ(find(0xffffffff, 1, cbpf::kAdNlattr), 0u);
}

TEST(CbpfPayloadOffset, TransportHeadersAreSkipped) {
    EXPECT_EQ(poff(udp4(), 0x0800), 14u + 20 + 8);
    EXPECT_EQ(poff(tcp4(5), 0x0800), 14u + 20 + 20);
    EXPECT_EQ(poff(tcp4(8), 0x0800), 14u + 20 + 32);  // TCP options
    EXPECT_EQ(poff(tcp4(2), 0x0800), 14u + 20 + 20);  // a data offset below 5 counts as 20 bytes
    EXPECT_EQ(poff(udp4({}, 0, Bytes(8, 1)), 0x0800), 14u + 28 + 8);  // IP options
    const Bytes icmp = segment(kProtoIcmp, 0);
    EXPECT_EQ(poff(concat({ethernet({}, 0x0800), ipv4_header(ip4(kProtoIcmp), icmp.size()), icmp}), 0x0800), 42u);
    const Bytes udp = segment(kProtoUdp, 4);
    EXPECT_EQ(poff(concat({ethernet({}, 0x86dd), ipv6_header(ip6(kProtoUdp), udp.size()), udp}), 0x86dd), 14u + 40 + 8);
    const Bytes hop = ipv6_ext(kProtoHopByHop, kProtoUdp);
    EXPECT_EQ(poff(concat({ethernet({}, 0x86dd), ipv6_header(ip6(kProtoHopByHop), hop.size() + udp.size()), hop, udp}),
                   0x86dd),
              14u + 40 + hop.size() + 8);
}

TEST(CbpfPayloadOffset, FragmentsVlansAndTunnels) {
    EXPECT_EQ(poff(udp4({}, 0x2000), 0x0800), 42u);  // first fragment: the UDP header is still skipped
    EXPECT_EQ(poff(udp4({}, 0x0003), 0x0800), 34u);  // a later one: the offset is the IP payload
    const Bytes frag = ipv6_fragment_ext(kProtoUdp, 0, true, 1), later = ipv6_fragment_ext(kProtoUdp, 8, false, 1);
    const Bytes udp = segment(kProtoUdp, 0);
    EXPECT_EQ(poff(concat({ethernet({}, 0x86dd), ipv6_header(ip6(kProtoFragment), 16), frag, udp}), 0x86dd), 70u);
    EXPECT_EQ(poff(concat({ethernet({}, 0x86dd), ipv6_header(ip6(kProtoFragment), 16), later, udp}), 0x86dd), 62u);
    // In-band tags are walked; a tag taken out of the bytes hands over to skb->protocol.
    EXPECT_EQ(poff(udp4(tagged({{0x88a8, 1}, {0x8100, 2}})), 0x88a8), 14u + 8 + 20 + 8);
    EXPECT_EQ(poff(udp4(), 0x0800, true, 0x8100), 42u);
    // IPv4 in IPv4.
    const Bytes inner = concat({ipv4_header(ip4(kProtoUdp), udp.size()), udp});
    EXPECT_EQ(poff(concat({ethernet({}, 0x0800), ipv4_header(ip4(4), inner.size()), inner}), 0x0800), 14u + 20 + 20 + 8);
    // GRE with a key, carrying Ethernet (TEB) then IPv4/UDP.
    Bytes gre = {0x20, 0x00, 0x65, 0x58, 0, 0, 0, 7};
    const Bytes teb = concat({gre, ethernet({}, 0x0800), inner});
    EXPECT_EQ(poff(concat({ethernet({}, 0x0800), ipv4_header(ip4(47), teb.size()), teb}), 0x0800),
              14u + 20 + 8 + 14 + 20 + 8);
}

TEST(CbpfPayloadOffset, WhatTheDissectorCannotParse) {
    Bytes arp = ethernet({}, 0x0806);
    arp.resize(42);
    EXPECT_EQ(poff(arp, 0x0806), 14u);  // dissection succeeds at the network header
    Bytes unknown = ethernet({}, 0x1234);
    unknown.resize(60);
    EXPECT_EQ(poff(unknown, 0x1234), 0u);
    Bytes bad_ihl = udp4();
    bad_ihl[14] = 0x44;
    EXPECT_EQ(poff(bad_ihl, 0x0800), 0u);
    Bytes short_ip = udp4();
    short_ip.resize(14 + 19);
    EXPECT_EQ(poff(short_ip, 0x0800), 0u);
    // The TCP data offset byte is missing: the transport offset alone.
    Bytes cut_tcp = tcp4(5);
    cut_tcp.resize(14 + 20 + 12);
    EXPECT_EQ(poff(cut_tcp, 0x0800), 34u);
    // The header lengths may point beyond the packet: thoff is capped at the length, the L4 header is not.
    Bytes long_ihl = udp4();
    long_ihl[14] = 0x4f;
    long_ihl.resize(14 + 20 + 4);
    EXPECT_EQ(poff(long_ihl, 0x0800), 38u + 8);
}

TEST(CbpfPayloadOffset, TheHatypeHelperDefaultsFollowTheIfindex) {
    // RunEnv::device_type 0: loopback (772) at ifindex 1, as under BPF_PROG_TEST_RUN; Ethernet elsewhere.
    vm::HelperRegistry registry;
    helpers::register_cbpf_helpers(registry);
    skb::SkbMeta meta;
    helpers::RunEnv env;
    env.meta = &meta;
    vm::Context cx;
    cx.user = &env;
    const vm::Helper* hatype = registry.find(cbpf::kHelperCbpfHatype);
    ASSERT_NE(hatype, nullptr);
    meta.ifindex = 1;
    EXPECT_EQ(hatype->fn(0, 0, 0, 0, 0, &cx), 772u);
    meta.ifindex = 4;
    EXPECT_EQ(hatype->fn(0, 0, 0, 0, 0, &cx), 1u);
    env.device_type = 24;  // ARPHRD_IEEE1394, say
    EXPECT_EQ(hatype->fn(0, 0, 0, 0, 0, &cx), 24u);
}
