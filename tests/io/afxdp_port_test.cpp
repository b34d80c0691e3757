// The AF_XDP port on a veth pair in a namespace the test creates, in generic (SKB) mode: the host's
// stack sends from p0 with checksum offload on, the port listens on p1's queue. Frames must arrive
// with correct checksums (no virtio-net header tells the port which are unfinished: it recognises
// them), super-frames must arrive whole with GSO metadata, and what the port sends — complete,
// partial, or a GSO frame it segments itself — must reach the host's sockets correct. Skips with the
// reason without root, network namespaces or AF_XDP.
#include <gtest/gtest.h>

#include <map>

#include "tcbpf/error.h"
#include "tcbpf/live_port.h"
#include "tests/io/live_test_util.h"
#include "tests/net/netns_thread.h"

namespace tcbpf::io {
namespace {

using namespace test;

// Kernels without AF_XDP (or XDP in generic mode) refuse in one of these ways; anything else fails.
bool afxdp_unsupported(const std::string& error) {
    const std::string last = error.substr(0, error.find(" (native mode:"));  // Auto: generic's refusal
    return last.find("Address family not supported") != std::string::npos ||
           last.find("Operation not supported") != std::string::npos;
}

class AfXdp : public ::testing::Test {
   protected:
    void SetUp() override {
        if (const std::string reason = net::test::netns_unavailable_reason(); !reason.empty())
            GTEST_SKIP() << "network namespaces unavailable: " << reason;
    }

    // Runs `work` in a namespace holding kVeth with an AF_XDP port on p1 (generic mode unless told);
    // `open_error` says why the port could not be opened.
    std::string with_port(const std::function<void(Port&)>& work,
                          const AfXdpOptions& options = {.device = "p1", .mode = XdpMode::Generic}) {
        return net::test::run_in_netns(kVeth, [&] {
            std::unique_ptr<Port> port;
            try {
                port = open_afxdp(options);
            } catch (const Error& e) {
                open_error = e.what();
                return;
            }
            work(*port);
        });
    }
    std::string open_error;
};

#define SKIP_OR_FAIL_ON_OPEN()                                                                    \
    do {                                                                                          \
        if (afxdp_unsupported(open_error)) GTEST_SKIP() << "AF_XDP unavailable: " << open_error; \
        ASSERT_EQ(open_error, "");                                                                \
    } while (0)

// Both XDP modes veth offers: the frames and their checksum state are the same.
class AfXdpModes : public AfXdp, public ::testing::WithParamInterface<XdpMode> {};
INSTANTIATE_TEST_SUITE_P(Veth, AfXdpModes, ::testing::Values(XdpMode::Generic, XdpMode::Native),
                         [](const auto& info) { return info.param == XdpMode::Generic ? "Generic" : "Native"; });

TEST_P(AfXdpModes, OffloadedUdpAndTcpArriveWithCorrectChecksums) {
    Received received;
    const std::string failure = with_port([&](Port& port) { received = receive_offloaded_traffic(port); },
                                          {.device = "p1", .mode = GetParam()});
    ASSERT_EQ(failure, "");
    SKIP_OR_FAIL_ON_OPEN();
    // XDP hands over the sender's partial checksums as they are: the port finished each one.
    expect_all_finished(received);
    for (const FrameMeta& meta : received.metas) EXPECT_EQ(meta.pkt_type, 0) << "p1's own MAC: PACKET_HOST";
}

TEST_P(AfXdpModes, TransmittedFramesReachTheHostsSockets) {
    Delivery delivery;
    const std::string failure = with_port([&](Port& port) { delivery = send_complete_and_partial(port, "finished by the port"); },
                                          {.device = "p1", .mode = GetParam()});
    ASSERT_EQ(failure, "");
    SKIP_OR_FAIL_ON_OPEN();
    EXPECT_EQ(delivery.sent, 2u);
    EXPECT_EQ(delivery.received, (std::vector<std::string>{"complete", "finished by the port"}));
}

TEST_F(AfXdp, AUdpGsoFrameSentIsSegmentedByThePort) {
    Delivery delivery;
    const std::string failure = with_port([&](Port& port) { delivery = send_udp_gso_frame(port); });
    ASSERT_EQ(failure, "");
    SKIP_OR_FAIL_ON_OPEN();
    EXPECT_EQ(delivery.sent, 1u);
    EXPECT_EQ(delivery.received, (std::vector<std::string>{std::string(500, 'a'), std::string(500, 'b'), std::string(500, 'c')}));
}

// A TCP super-frame as TSO leaves it: 7000 bytes of payload in one frame, checksum partial.
std::vector<uint8_t> tcp_super_frame(FrameMeta& meta) {
    std::vector<uint8_t> f = tcp_frame(kP1Mac, kP0Mac, "192.0.2.1", "192.0.2.2", 40000, 9600, 1000, std::string(7000, 'x'));
    for (size_t i = 0; i < 7000; ++i) f[54 + i] = static_cast<uint8_t>('a' + i / 1400);
    write_pseudo_sum(f);
    meta.csum_partial = true;
    meta.csum_start = 34;
    meta.csum_offset = 16;
    meta.gso = Gso::Tcpv4;
    meta.gso_size = 1400;
    meta.hdr_len = 54;
    return f;
}

TEST_F(AfXdp, ATcpSuperFrameArrivesWholeWithGsoMetadata) {
    FrameMeta sent_meta;
    const std::vector<uint8_t> sent = tcp_super_frame(sent_meta);
    std::vector<std::vector<uint8_t>> frames;
    std::vector<FrameMeta> metas;
    const std::string failure = with_port([&](Port& port) {
        // Injected at p0 as a GSO frame (what TSO over a veth produces); generic XDP passes it whole.
        auto injector = open_afpacket({.device = "p0"});
        const TxFrame tx[] = {{sent, sent_meta}};
        if (injector->transmit(tx) != 1) return;
        frames = collect_one(port, {9600}, 1, &metas);
    });
    ASSERT_EQ(failure, "");
    SKIP_OR_FAIL_ON_OPEN();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0], sent) << "more than a UMEM chunk: joined from pieces";
    EXPECT_EQ(metas[0].gso, Gso::Tcpv4);
    EXPECT_EQ(metas[0].gso_size, 1500 - 40);
    EXPECT_EQ(metas[0].hdr_len, 54);
    EXPECT_TRUE(metas[0].csum_partial);
    EXPECT_EQ(metas[0].csum_start, 34);
    EXPECT_EQ(metas[0].csum_offset, 16);
}

TEST_F(AfXdp, ATcpSuperFrameSentLeavesAsCorrectSegments) {
    FrameMeta meta;
    std::vector<uint8_t> super = tcp_super_frame(meta);
    std::memcpy(super.data(), kP0Mac, 6);  // toward p0 this time
    std::memcpy(super.data() + 6, kP1Mac, 6);
    std::vector<std::vector<uint8_t>> segments;
    size_t sent = 0;
    const std::string failure = with_port([&](Port& port) {
        auto capture = open_afpacket({.device = "p0"});
        const TxFrame tx[] = {{super, meta}};
        sent = port.transmit(tx);
        segments = collect_one(*capture, {9600}, 5);
    });
    ASSERT_EQ(failure, "");
    SKIP_OR_FAIL_ON_OPEN();
    EXPECT_EQ(sent, 1u);
    ASSERT_EQ(segments.size(), 5u);
    for (size_t i = 0; i < segments.size(); ++i) {
        const std::vector<uint8_t>& s = segments[i];
        ASSERT_EQ(s.size(), 54u + 1400) << "segment " << i;
        EXPECT_TRUE(checksum_ok(s, *transport(s))) << "segment " << i;
        EXPECT_EQ(s[16] << 8 | s[17], 40 + 1400) << "IPv4 total length, segment " << i;
        const uint32_t seq = static_cast<uint32_t>(s[38] << 24 | s[39] << 16 | s[40] << 8 | s[41]);
        EXPECT_EQ(seq, 1000u + 1400 * i);
        EXPECT_EQ(s[54], 'a' + i);
        EXPECT_EQ(s[47] & 0x08, i == 4 ? 0x08 : 0) << "PSH only on the last segment";
    }
}

// p0 <-> p1 with two queues each: the sender's stack spreads flows over p0's transmit queues, veth
// delivers each on the matching receive queue of p1 — to native XDP. (Generic XDP on a veth sees
// every frame on queue 0: veth does not record the receive queue, and the generic path reads transmit
// queue n as receive queue n-1, 0 for both 0 and 1. So AF_XDP workers on a veth use native mode.)
constexpr const char* kTwoQueueVeth = R"(
sysctl net.ipv6.conf.default.addr_gen_mode=1
link add p0 numtxqueues 2 numrxqueues 2 address 02:00:00:00:00:10 type veth peer name p1 numtxqueues 2 numrxqueues 2 address 02:00:00:00:00:11
link set p0 up
link set p1 up
addr add 192.0.2.1/24 dev p0
neigh add 192.0.2.2 lladdr 02:00:00:00:00:11 dev p0
)";

// One worker serves both queues (a queue without a socket would pass its frames to the stack instead);
// two workers take one queue each.
class AfXdpWorkers : public AfXdp, public ::testing::WithParamInterface<unsigned> {};
INSTANTIATE_TEST_SUITE_P(TwoQueueVeth, AfXdpWorkers, ::testing::Values(1u, 2u),
                         [](const auto& info) { return std::to_string(info.param) + "Workers"; });

TEST_P(AfXdpWorkers, NativeWorkersCoverEveryQueueWithoutLossOrDuplicates) {
    std::vector<std::vector<std::vector<uint8_t>>> per_worker;
    std::string link_after;
    const std::string failure = net::test::run_in_netns(kTwoQueueVeth, [&] {
        try {
            std::vector<std::unique_ptr<Port>> ports = open_afxdp_workers({.device = "p1", .mode = XdpMode::Native}, GetParam());
            for (uint16_t i = 0; i < 64; ++i) send_udp("192.0.2.2", 9100, 20, static_cast<uint16_t>(20000 + i));
            per_worker = collect(ports, {9100}, 64);
        } catch (const Error& e) {
            open_error = e.what();
        }
        link_after = shell_output("ip link show p1");
    });
    ASSERT_EQ(failure, "");
    SKIP_OR_FAIL_ON_OPEN();
    expect_each_flow_once(per_worker, GetParam(), 64);
    // The last socket closed: libxdp took its program off the interface.
    EXPECT_EQ(link_after.find("xdp"), std::string::npos) << link_after;
}

TEST_F(AfXdp, AutoModePrefersNativeAndFallsBackToGeneric) {
    std::string veth_link, lo_link;
    const std::string failure = net::test::run_in_netns(kVeth, [&] {
        try {
            auto veth = open_afxdp({.device = "p1", .mode = XdpMode::Auto});
            veth_link = shell_output("ip link show p1");
            auto lo = open_afxdp({.device = "lo", .mode = XdpMode::Auto});  // loopback has no native XDP
            lo_link = shell_output("ip link show lo");
        } catch (const Error& e) {
            open_error = e.what();
        }
    });
    ASSERT_EQ(failure, "");
    SKIP_OR_FAIL_ON_OPEN();
    // `ip link` names the attach mode after the MTU: "xdp" (native) or "xdpgeneric".
    EXPECT_NE(veth_link.find(" xdp "), std::string::npos) << veth_link;
    EXPECT_NE(lo_link.find(" xdpgeneric "), std::string::npos) << lo_link;
}

TEST_F(AfXdp, MoreWorkersThanQueuesIsRefused) {
    const std::string failure = net::test::run_in_netns(kVeth, [&] {
        try {
            open_afxdp_workers({.device = "p1"}, 2);
        } catch (const Error& e) {
            open_error = e.what();
        }
    });
    ASSERT_EQ(failure, "");
    EXPECT_EQ(open_error, "p1: 2 AF_XDP workers need 2 receive queues, the interface has 1");
}

TEST(AfXdpErrors, BadOptionsAreNamed) {
    try {
        open_afxdp({.device = "no-such-dev0"});
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "no-such-dev0: no such interface");
    }
    try {
        open_afxdp({.device = "lo", .ring_size = 1000});
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "lo: AF_XDP ring size 1000 is not a power of two");
    }
}

}  // namespace
}  // namespace tcbpf::io
