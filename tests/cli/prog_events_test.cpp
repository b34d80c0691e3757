// `tcbpf prog run` shows what output helpers produced: examples/progs/event_log.c on a hand-built
// capture. A TCP SYN gives one ring-buffer record and one trace_printk line on stderr, a SYN-ACK gives
// nothing, a UDP datagram one perf event on CPU 0 (padded as perf delivers raw samples); record lines come
// after the frame lines, in frame order, before the summary, and in --json as "records".
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "tcbpf/pcap.h"
#include "tests/cli/cli_fixture.h"
#include "tcbpf/skb.h"

namespace {

using tcbpf::test::Outcome;
using Bytes = std::vector<uint8_t>;


// Ethernet + IPv4 10.0.0.1 → 10.0.0.2 + L4 header from port 1000 to `dport`, 64 bytes.
Bytes frame(uint8_t proto, uint16_t dport, uint8_t tcp_flags = 0) {
    Bytes f(64, 0);
    const uint8_t head[] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 50, 0, 1, 0, 0,
                            64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x03, 0xe8};
    std::memcpy(f.data(), head, sizeof head);
    f[36] = static_cast<uint8_t>(dport >> 8), f[37] = static_cast<uint8_t>(dport);
    if (proto == 6) {
        f[46] = 0x50;  // data offset 5 words
        f[47] = tcp_flags;
    }
    return f;
}
constexpr uint8_t kSyn = 0x02, kAck = 0x10;

std::string hash_of(const Bytes& f) { return fmt::format("{:016x}", tcbpf::skb::fnv1a64(f)); }

// struct event for 10.0.0.1:1000 → 10.0.0.2:DPORT (IPv4-mapped addresses, ports in network order,
// proto, family 4, skb->len 64 little-endian).
std::string event_hex(const std::string& dport_hex, const std::string& proto_hex) {
    return "00000000000000000000ffff0a000001" "00000000000000000000ffff0a000002" "03e8" + dport_hex + proto_hex +
           "04" "4000";
}

class ProgEvents : public tcbpf::test::CliFixture {
   protected:
    std::string in;

    void SetUp() override {
        CliFixture::SetUp();
        const std::vector<Bytes> frames = {frame(6, 80, kSyn), frame(6, 80, kSyn | kAck), frame(17, 53)};
        std::vector<tcbpf::io::Frame> out;
        for (size_t i = 0; i < frames.size(); ++i) out.push_back({1000 * (i + 1), 64, frames[i]});
        in = (dir / "in.pcap").string();
        tcbpf::io::write_pcap(in, out);
    }
    std::string object() const { return std::string(TCBPF_EXAMPLES_DIR) + "/event_log.o"; }
};

TEST_F(ProgEvents, RecordLinesFollowTheFramesAndTracePrintkGoesToStderr) {
    const Outcome r = tcbpf("prog run " + object() + " --pcap " + in);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "0 ret=0 mark=0x0 prio=0x0 classid=0x0 len_out=64 hash=" + hash_of(frame(6, 80, kSyn)) + "\n" +
                         "1 ret=0 mark=0x0 prio=0x0 classid=0x0 len_out=64 hash=" + hash_of(frame(6, 80, kSyn | kAck)) +
                         "\n" + "2 ret=0 mark=0x0 prio=0x0 classid=0x0 len_out=64 hash=" + hash_of(frame(17, 53)) + "\n" +
                         "ringbuf syn_events frame=0 40 " + event_hex("0050", "06") + "\n" +
                         "perf udp_events cpu=0 frame=2 44 " + event_hex("0035", "11") + "00000000\n" +
                         "summary packets=3 errors=0\n");
    EXPECT_EQ(r.err, "syn to port 80 len 64\n");
}

TEST_F(ProgEvents, JsonListsRecordsAfterTheSummary) {
    const Outcome r = tcbpf("prog run " + object() + " --pcap " + in + " --json");
    ASSERT_EQ(r.status, 0) << r.err;
    const std::string records =
        "  \"records\": [\n"
        "    {\"kind\": \"ringbuf\", \"map\": \"syn_events\", \"frame\": 0, \"len\": 40, \"data\": \"" +
        event_hex("0050", "06") + "\"},\n" +
        "    {\"kind\": \"perf\", \"map\": \"udp_events\", \"cpu\": 0, \"frame\": 2, \"len\": 44, \"data\": \"" +
        event_hex("0035", "11") + "00000000\"}\n" + "  ]\n}\n";
    ASSERT_GE(r.out.size(), records.size());
    EXPECT_EQ(r.out.substr(r.out.size() - records.size()), records) << r.out;
    EXPECT_NE(r.out.find("\"summary\": {\"packets\": 3, \"errors\": 0},\n"), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "syn to port 80 len 64\n");
}

}  // namespace
