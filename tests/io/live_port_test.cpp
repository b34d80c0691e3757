// Live ports on real devices in a network namespace the test creates: a veth pair (the host's stack
// sends from p0 with checksum offload on, an AF_PACKET port listens on p1) and a TAP device tcbpf
// owns. Offloaded TCP/UDP frames must arrive with correct checksums, fanout workers must share a flow
// set without loss or duplicates, and what the ports transmit must reach the host's sockets. Skips
// with the reason without root or network namespaces.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "tcbpf/error.h"
#include "tcbpf/live_port.h"
#include "tests/io/live_test_util.h"
#include "tests/net/netns_thread.h"

namespace tcbpf::io {
namespace {

using namespace test;

class LivePort : public ::testing::Test {
   protected:
    void SetUp() override {
        if (const std::string reason = net::test::netns_unavailable_reason(); !reason.empty())
            GTEST_SKIP() << "network namespaces unavailable: " << reason;
    }
};

TEST_F(LivePort, OffloadedUdpAndTcpArriveWithCorrectChecksums) {
    Received received;
    const std::string failure = net::test::run_in_netns(kVeth, [&] {
        auto port = open_afpacket({.device = "p1"});
        received = receive_offloaded_traffic(*port);
    });
    ASSERT_EQ(failure, "");
    // veth keeps the sender's CHECKSUM_PARTIAL: the port finished every one of them.
    expect_all_finished(received);
    for (size_t i = 0; i < received.frames.size(); ++i) EXPECT_EQ(received.metas[i].wire_len, received.frames[i].size());
}

TEST_F(LivePort, FanoutWorkersShareFlowsWithoutLossOrDuplicates) {
    std::vector<std::vector<std::vector<uint8_t>>> per_worker;
    const std::string failure = net::test::run_in_netns(kVeth, [&] {
        std::vector<std::unique_ptr<Port>> ports = open_afpacket_workers({.device = "p1"}, 2);
        for (uint16_t i = 0; i < 64; ++i) send_udp("192.0.2.2", 9100, 20, static_cast<uint16_t>(20000 + i));
        per_worker = collect(ports, {9100}, 64);
    });
    ASSERT_EQ(failure, "");
    expect_each_flow_once(per_worker, 2, 64);
}

// Both transmit paths: sendmmsg batches, and the memory-mapped TX ring.
class LivePortTransmit : public LivePort, public ::testing::WithParamInterface<uint32_t> {
   protected:
    AfPacketOptions options() const { return {.device = "p1", .tx_ring_slots = GetParam()}; }
};
INSTANTIATE_TEST_SUITE_P(AfPacket, LivePortTransmit, ::testing::Values(0u, 64u),
                         [](const auto& info) { return info.param == 0 ? "Sendmmsg" : "TxRing"; });

TEST_P(LivePortTransmit, TransmittedFramesReachTheHostsSockets) {
    Delivery delivery;
    const std::string failure = net::test::run_in_netns(kVeth, [&] {
        auto port = open_afpacket(options());
        delivery = send_complete_and_partial(*port, "finished by the kernel");
    });
    ASSERT_EQ(failure, "");
    EXPECT_EQ(delivery.sent, 2u);
    EXPECT_EQ(delivery.received, (std::vector<std::string>{"complete", "finished by the kernel"}));
}

TEST_P(LivePortTransmit, AGsoFrameSentIsSegmentedByTheKernel) {
    Delivery delivery;
    const std::string failure = net::test::run_in_netns(kVeth, [&] {
        auto port = open_afpacket(options());
        delivery = send_udp_gso_frame(*port);
    });
    ASSERT_EQ(failure, "");
    EXPECT_EQ(delivery.sent, 1u);
    EXPECT_EQ(delivery.received, (std::vector<std::string>{std::string(500, 'a'), std::string(500, 'b'), std::string(500, 'c')}));
}

TEST_P(LivePortTransmit, ManyFramesKeepTheirOrderAcrossRingReuseAndLargeFrames) {
    // 200 datagrams "0".."199" in batches of 50 (more than the ring's 64 slots in all); number 120 is a
    // GSO frame of four 1000-byte segments, too large for a ring slot, so it takes the other road.
    std::vector<std::string> expected, got;
    size_t sent = 0;
    const std::string failure = net::test::run_in_netns(kVeth, [&] {
        const int sock = bound_udp("192.0.2.1", 9700);
        auto port = open_afpacket(options());
        std::vector<std::vector<uint8_t>> frames;
        std::vector<FrameMeta> metas(200);
        for (int i = 0; i < 200; ++i) {
            const std::string text = i == 120 ? std::string(4000, 'g') : std::to_string(i);
            frames.push_back(udp_frame(kP0Mac, "192.0.2.1", 9700, text, true, &metas[i]));
            if (i == 120) {
                metas[i].gso = Gso::UdpL4, metas[i].gso_size = 1000, metas[i].hdr_len = 42;
                for (int s = 0; s < 4; ++s) expected.push_back(std::string(1000, 'g'));
            } else {
                expected.push_back(text);
            }
        }
        for (size_t batch = 0; batch < 200; batch += 50) {
            std::vector<TxFrame> tx;
            for (size_t i = batch; i < batch + 50; ++i) tx.push_back({frames[i], metas[i]});
            // The kernel may hold slots until the receiver is done with them: take what it returns.
            for (size_t done = 0, tries = 0; done < tx.size() && tries < 100; ++tries) {
                done += port->transmit(std::span(tx).subspan(done));
                for (std::string& d : receive_udp(sock, 1)) got.push_back(std::move(d));
            }
        }
        sent = frames.size();
        for (std::string& d : receive_udp(sock, expected.size() - got.size())) got.push_back(std::move(d));
        close(sock);
    });
    ASSERT_EQ(failure, "");
    EXPECT_EQ(sent, 200u);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], expected[i]) << "datagram " << i;
}

TEST_F(LivePort, AMalformedFrameDoesNotStopTheTxRing) {
    // The middle frame asks the kernel to finish a checksum beyond its end: the kernel refuses it,
    // drops it (PACKET_LOSS) and sends the next one.
    std::vector<std::string> got;
    size_t sent = 0;
    const std::string failure = net::test::run_in_netns(kVeth, [&] {
        const int sock = bound_udp("192.0.2.1", 9800);
        auto port = open_afpacket({.device = "p1", .tx_ring_slots = 64});
        FrameMeta ok_meta, bad_meta;
        const std::vector<uint8_t> a = udp_frame(kP0Mac, "192.0.2.1", 9800, "before", false, &ok_meta);
        const std::vector<uint8_t> bad = udp_frame(kP0Mac, "192.0.2.1", 9800, "malformed", true, &bad_meta);
        bad_meta.csum_start = 1000;
        const std::vector<uint8_t> b = udp_frame(kP0Mac, "192.0.2.1", 9800, "after", false, &ok_meta);
        const TxFrame frames[] = {{a, ok_meta}, {bad, bad_meta}, {b, ok_meta}};
        sent = port->transmit(frames);
        got = receive_udp(sock, 2);
        close(sock);
    });
    ASSERT_EQ(failure, "");
    EXPECT_EQ(sent, 3u) << "all three went into the ring";
    EXPECT_EQ(got, (std::vector<std::string>{"before", "after"}));
}

TEST_F(LivePort, TapPortIsTheWireBehindItsDevice) {
    std::vector<std::vector<uint8_t>> frames;
    std::vector<FrameMeta> metas;
    std::vector<std::string> got;
    std::string setup_error;
    const std::string failure = net::test::run_in_netns("sysctl net.ipv6.conf.default.addr_gen_mode=1\n", [&] {
        std::unique_ptr<Port> tap;
        try {
            tap = open_tap({.name = "tcbtap0"});
        } catch (const Error& e) {
            setup_error = e.what();
            return;
        }
        const char* const commands[] = {"ip link set tcbtap0 up", "ip addr add 198.51.100.1/24 dev tcbtap0",
                                        "ip neigh add 198.51.100.2 lladdr 02:00:00:00:00:11 dev tcbtap0"};
        for (const char* c : commands)
            if (std::system(c) != 0) setup_error += std::string(c) + " failed\n";
        const int sock = bound_udp("198.51.100.1", 9300);
        send_udp("198.51.100.2", 9301, 200);
        std::vector<std::unique_ptr<Port>> ports;
        ports.push_back(std::move(tap));
        frames = collect(ports, {9301}, 1, &metas)[0];
        // The way back: a frame tcbpf writes into the device arrives at the host's socket.
        const uint8_t* tap_mac = frames.empty() ? nullptr : frames[0].data() + 6;
        if (tap_mac != nullptr) {
            FrameMeta meta;
            const std::vector<uint8_t> f = udp_frame(tap_mac, "198.51.100.1", 9300, "via tap", false, &meta);
            const TxFrame tx[] = {{f, meta}};
            ports[0]->transmit(tx);
            got = receive_udp(sock, 1);
        }
        close(sock);
    });
    ASSERT_EQ(failure, "");
    ASSERT_EQ(setup_error, "");
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_TRUE(checksum_ok(frames[0], *transport(frames[0])));
    EXPECT_TRUE(metas[0].checksum_completed);  // TUN_F_CSUM: the host left it to us
    EXPECT_EQ(got, (std::vector<std::string>{"via tap"}));
}

// What the receiving side of GsoFramesPassWholeWithTheirMetadata saw.
struct GsoReport {
    size_t gso_frames = 0, plain_frames = 0, bad_metadata = 0, bad_checksums = 0, payload = 0;
    std::string error;
};

// In a namespace of its own holding p1: a TCP server on 192.0.2.2:9400 reading until the sender closes,
// with an AF_PACKET port on p1 watching the same traffic. Runs in a forked child; `ready` is written
// to once p1 is configured, the report to `out` at the end.
GsoReport serve_and_watch(int moved, int ready) {
    GsoReport report;
    char c;
    if (read(moved, &c, 1) != 1) return report;  // the parent moved p1 in
    for (const char* cmd : {"ip link set lo up", "ip link set p1 up", "ip addr add 192.0.2.2/24 dev p1"})
        if (std::system(cmd) != 0) report.error += std::string(cmd) + " failed; ";
    std::unique_ptr<Port> port;
    try {
        port = open_afpacket({.device = "p1"});
    } catch (const Error& e) {
        report.error += e.what();
    }
    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_storage at;
    const socklen_t len = address_of("192.0.2.2", 9400, at);
    if (bind(listener, reinterpret_cast<sockaddr*>(&at), len) != 0 || listen(listener, 1) != 0)
        report.error += std::string("listen: ") + std::strerror(errno);
    if (write(ready, "r", 1) != 1 || !report.error.empty()) return report;
    int conn = -1;
    bool closed = false;
    for (int idle = 0; !closed && idle < 200;) {
        bool any = false;
        if (conn < 0) conn = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
        if (conn >= 0) {
            char buf[65536];
            const ssize_t n = read(conn, buf, sizeof buf);
            if (n > 0) report.payload += static_cast<size_t>(n), any = true;
            if (n == 0) closed = true;
        }
        std::vector<RxFrame> frames;
        port->receive(frames, 64, 5);
        for (const RxFrame& f : frames) {
            const std::optional<L4> l4 = transport(f.bytes);
            if (!l4 || l4->dport != 9400) continue;
            any = true;
            if (f.meta.gso == Gso::None) {
                ++report.plain_frames;
                report.bad_checksums += !checksum_ok(f.bytes, *l4);
                continue;
            }
            ++report.gso_frames;
            // A whole TCP super-frame: larger than the MTU, segment size and header length as TCP over
            // IPv4 has them, checksum left partial at the TCP field.
            const bool sane = f.meta.gso == Gso::Tcpv4 && f.bytes.size() > 1514 && f.meta.gso_size > 0 &&
                              f.meta.gso_size <= 1460 && f.meta.csum_partial && f.meta.csum_start == l4->off &&
                              f.meta.csum_offset == 16;
            report.bad_metadata += !sane;
        }
        idle = any ? 0 : idle + 1;
    }
    if (conn >= 0) close(conn);
    close(listener);
    return report;
}

TEST_F(LivePort, GsoFramesPassWholeWithTheirMetadata) {
    GsoReport report;
    std::string parent_error;
    constexpr size_t kBytes = 4 << 20;
    const std::string failure = net::test::run_in_netns(kVeth, [&] {
        int moved[2], ready[2], out[2];
        if (pipe(moved) != 0 || pipe(ready) != 0 || pipe(out) != 0) return;
        const pid_t child = fork();
        if (child == 0) {
            if (unshare(CLONE_NEWNET) != 0) _exit(2);
            const GsoReport r = serve_and_watch(moved[0], ready[1]);
            const std::string text = fmt::format("{} {} {} {} {} {}", r.gso_frames, r.plain_frames, r.bad_metadata,
                                                 r.bad_checksums, r.payload, r.error);
            (void)!write(out[1], text.data(), text.size());
            _exit(0);
        }
        // Wait for the child's namespace to exist before moving p1 into it.
        usleep(100000);
        if (std::system(fmt::format("ip link set p1 netns {}", child).c_str()) != 0) parent_error = "moving p1 failed";
        (void)!write(moved[1], "m", 1);
        char c;
        if (read(ready[0], &c, 1) == 1) {
            std::system("ip neigh flush dev p0");
            sockaddr_storage to;
            const socklen_t len = address_of("192.0.2.2", 9400, to);
            const int fd = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(fd, reinterpret_cast<sockaddr*>(&to), len) != 0) {
                parent_error = std::string("connect: ") + std::strerror(errno);
            } else {
                const std::vector<uint8_t> data(kBytes, 0x42);
                for (size_t off = 0; off < data.size();) {
                    const ssize_t n = write(fd, data.data() + off, data.size() - off);
                    if (n <= 0) break;
                    off += static_cast<size_t>(n);
                }
            }
            close(fd);
        }
        close(out[1]);
        std::string text(256, '\0');
        const ssize_t n = read(out[0], text.data(), text.size());
        text.resize(n > 0 ? static_cast<size_t>(n) : 0);
        int status = 0;
        waitpid(child, &status, 0);
        std::istringstream in(text);
        in >> report.gso_frames >> report.plain_frames >> report.bad_metadata >> report.bad_checksums >> report.payload;
        std::getline(in >> std::ws, report.error);
    });
    ASSERT_EQ(failure, "");
    ASSERT_EQ(parent_error, "");
    ASSERT_EQ(report.error, "");
    std::printf("%zu GSO frames, %zu plain frames, %zu payload bytes\n", report.gso_frames, report.plain_frames,
                report.payload);
    EXPECT_EQ(report.payload, kBytes);
    EXPECT_GT(report.gso_frames, 0u) << "no GSO frame crossed the veth (TSO off?)";
    EXPECT_EQ(report.bad_metadata, 0u);
    EXPECT_EQ(report.bad_checksums, 0u) << "of " << report.plain_frames << " plain frames";
}

TEST(LivePortErrors, AMissingInterfaceIsNamed) {
    try {
        open_afpacket({.device = "no-such-dev0"});
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "no-such-dev0: no such interface");
    }
}

}  // namespace
}  // namespace tcbpf::io
