// Ports for offline runs: ifindexes counted from 2, a veth-like receive (the outer VLAN tag becomes
// metadata unless vlan-offload is off), peers and host sinks, and whole captures pushed through.
#include <filesystem>

#include "tcbpf/pcap.h"
#include "tests/tc/pipeline_fixture.h"

namespace tcbpf::test {
namespace {

using namespace tc;

std::vector<uint8_t> tagged(uint16_t tci, uint32_t a) {
    std::vector<uint8_t> f = frame(a, 0, 0x8100);
    const uint8_t tag[] = {static_cast<uint8_t>(tci >> 8), static_cast<uint8_t>(tci), 0x08, 0x00};
    f.insert(f.begin() + 14, std::begin(tag), std::end(tag));
    return f;
}

class Ports : public PipelineTest {
   protected:
    // A classic-mode filter on eth0's ingress returning the observed field: tc_index shows its minor.
    uint16_t observed(const std::vector<uint8_t>& f) {
        send("eth0", f);
        EXPECT_EQ(left.size(), 1u);
        const uint16_t v = left.empty() ? 0xFFFF : static_cast<uint16_t>(left.back().tc_index);
        left.clear();
        return v;
    }
};

TEST_F(Ports, IfindexesCountFromTwo) {
    EXPECT_EQ(pipeline.ifindex("eth0"), 2u);
    EXPECT_EQ(pipeline.ifindex("eth1"), 3u);
    EXPECT_EQ(pipeline.ifindex("eth2"), 4u);
    run("port add eth9 type pcap ifindex 9");
    EXPECT_EQ(pipeline.ifindex("eth9"), 9u);
    EXPECT_EQ(error_of("port add eth8 type pcap ifindex 9"), "ifindex 9 is already used by port \"eth9\"");
    EXPECT_EQ(error_of("port add eth0 type pcap"), "port \"eth0\" already exists");
}

TEST_F(Ports, ProgramsSeeTheReceivingPortsIfindex) {
    run("qdisc add dev eth0 clsact");
    run("filter add dev eth0 ingress bpf obj " + kObject + " sec observe");
    EXPECT_EQ(observed(frame(3)), 2);  // skb->ifindex
    EXPECT_EQ(observed(frame(4)), 2);  // skb->ingress_ifindex
}

TEST_F(Ports, TheOuterVlanTagBecomesMetadataAndReturnsOnTheWire) {
    run("qdisc add dev eth0 clsact");
    run("filter add dev eth0 ingress bpf obj " + kObject + " sec observe");
    // The program reads A right after the (now removed) tag: the bytes sit where an untagged frame has them.
    const std::vector<uint8_t> in = tagged(0x123, 5);
    send("eth0", in);
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].tc_index, 0x123);
    EXPECT_EQ(left[0].frame, in);  // the capture shows the tag back in place
}

TEST_F(Ports, VlanOffloadOffKeepsTheTagInThePacket) {
    run("port add eth3 type pcap vlan-offload off");
    run("qdisc add dev eth3 clsact");
    // ld [18] reads A only if the 4-byte tag is still in the packet; returned as the classid.
    run("filter add dev eth3 ingress bpf bytecode '2,32 0 0 18,22 0 0 0,'");
    send("eth3", tagged(0x123, 0x10077));
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].tc_index, 0x77);
}

TEST_F(Ports, CapturesGoInAndComeOutWithTheirTimestamps) {
    const auto dir = std::filesystem::temp_directory_path() / ("tcbpf-ports-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string in = (dir / "in.pcap").string(), out = (dir / "out.pcap").string(), host = (dir / "host.pcap").string();
    std::vector<io::Frame> frames;
    for (uint32_t i = 0; i < 4; ++i) frames.push_back(io::Frame{1000 + i * 10, 0, frame(i % 2 == 0 ? 0 : 2)});
    for (auto& f : frames) f.wire_len = static_cast<uint32_t>(f.bytes.size());
    io::write_pcap(in, frames);

    Pipeline p;
    p.apply(parse_command(split_batch_line("port add a type pcap in " + in + " host " + host)));
    p.apply(parse_command(split_batch_line("port add b type pcap in " + in + " out " + out)));
    p.apply(parse_command(split_batch_line("qdisc add dev a clsact")));
    p.apply(parse_command(split_batch_line("filter add dev a ingress bpf da bytecode '2,32 0 0 14,22 0 0 0,'")));
    p.run_captures();
    const std::vector<io::Frame> to_host = io::read_pcap(host);
    ASSERT_EQ(to_host.size(), 2u);  // frames 0 and 2 pass a's filter; 1 and 3 (A = SHOT) are dropped
    EXPECT_EQ(to_host[0].timestamp_ns, 1000u);
    EXPECT_EQ(to_host[1].timestamp_ns, 1020u);
    EXPECT_EQ(to_host[1].bytes, frames[2].bytes);
    EXPECT_EQ(io::read_pcap(out).size(), 0u);  // b has no peer: its traffic goes to its (absent) host sink
    EXPECT_EQ(p.qdisc_stats("a", kClsactHandle).drops, 2u);
    std::filesystem::remove_all(dir);
}

TEST_F(Ports, PeersMustExist) {
    EXPECT_EQ(error_of("port peer eth0 eth7"), "Cannot find device \"eth7\"");
    EXPECT_EQ(error_of("port peer eth2 eth2"), "port \"eth2\" cannot be its own peer");
}

}  // namespace
}  // namespace tcbpf::test
