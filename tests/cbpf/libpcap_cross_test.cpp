// libpcap's own interpreter (bpf_filter) is a second opinion on the expression path: over the
// generated traffic, tcbpf's reference interpreter must give the same answer for every compiled filter.
// Compiled expressions use no ancillary loads and no shifts by X, where the two legitimately differ.
#include <gtest/gtest.h>

#include <pcap/pcap.h>

#include "generator.h"
#include "tcbpf/cbpf.h"

using namespace tcbpf;

TEST(CbpfAgainstLibpcap, SameVerdictOnGeneratedTraffic) {
    const char* expressions[] = {
        "ip",
        "ip6",
        "tcp port 80",
        "udp and dst portrange 1024-2048",
        "tcp port 80 and not src net 10.0.0.0/8",
        "icmp or icmp6",
        "vlan and tcp",
        "ip[6:2] & 0x1fff != 0",
        "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
        "ip6 and udp",
        "greater 200 and less 1000",
        "ether broadcast or ether multicast",
        "net 192.168.0.0/16 or net 172.16.0.0/12",
        "ip proto 47 or (udp and port 53)",
    };
    const auto frames = trafficgen::generate({.seed = 7, .count = 3000});
    size_t compared = 0, accepted = 0;
    for (const char* expr : expressions) {
        const cbpf::Program prog = cbpf::compile_filter(expr);
        cbpf::check(prog);
        std::vector<bpf_insn> raw;
        for (const auto& i : prog) raw.push_back(bpf_insn{i.code, i.jt, i.jf, i.k});
        for (size_t n = 0; n < frames.size(); ++n) {
            const auto& bytes = frames[n].bytes;
            cbpf::Packet p;
            p.data = bytes;
            const uint32_t ours = cbpf::run(prog, p);
            const uint32_t theirs = bpf_filter(raw.data(), bytes.data(), static_cast<u_int>(bytes.size()),
                                               static_cast<u_int>(bytes.size()));
            ASSERT_EQ(ours, theirs) << "filter '" << expr << "', frame " << n;
            ++compared;
            accepted += ours != 0;
        }
    }
    EXPECT_EQ(compared, std::size(expressions) * frames.size());
    EXPECT_GT(accepted, compared / 20);  // the traffic exercises the accepting paths too
}
