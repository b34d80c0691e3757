// AF_XDP ports in tcbpf's live runner: A ⇄ tcbpf ⇄ B over veth pairs in namespaces of the test's own
// (tests/tc/live_topology.h), `port add ... type afxdp` on both sides. Pings cross both ways, UDP
// datagrams arrive except those a classifier drops, and a TCP stream crosses whole (its checksums left
// to offload by the sender, finished by the port). Skips with the reason without root, namespaces or
// AF_XDP.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "tcbpf/error.h"
#include "tcbpf/live.h"
#include "tests/support/scratch_dir.h"
#include "tests/tc/live_topology.h"

namespace tcbpf::test {
namespace {

// Datagrams a bound socket receives until none came for 300 ms.
size_t drain_udp(int fd) {
    size_t n = 0;
    pollfd p{fd, POLLIN, 0};
    char buf[2048];
    while (poll(&p, 1, 300) > 0)
        while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0) ++n;
    return n;
}

sockaddr_in ipv4(const std::string& address, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, address.c_str(), &a.sin_addr);
    return a;
}

// `bytes` of TCP from A to B:port; returns what B read (0 if the connection failed).
size_t tcp_across(const LiveTopology& topology, uint16_t port, size_t bytes) {
    int listener = -1, client = -1;
    topology.in('B', [&] {
        listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const sockaddr_in at = ipv4(topology.address('B'), port);
        if (bind(listener, reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0 || listen(listener, 1) != 0)
            throw Error(fmt::format("listen: {}", std::strerror(errno)));
    });
    topology.in('A', [&] { client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); });
    size_t got = 0;
    std::thread reader([&] {
        const int conn = accept(listener, nullptr, nullptr);
        const timeval limit{5, 0};
        setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        std::vector<uint8_t> buf(1 << 16);
        for (ssize_t n; conn >= 0 && (n = read(conn, buf.data(), buf.size())) > 0;) got += static_cast<size_t>(n);
        if (conn >= 0) close(conn);
    });
    const sockaddr_in to = ipv4(topology.address('B'), port);
    const timeval limit{5, 0};
    setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    if (connect(client, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0) {
        const std::vector<uint8_t> data(bytes, 0x42);
        for (size_t off = 0; off < bytes;) {
            const ssize_t n = write(client, data.data() + off, bytes - off);
            if (n <= 0) break;
            off += static_cast<size_t>(n);
        }
    } else {
        shutdown(listener, SHUT_RDWR);  // the reader's accept returns
    }
    close(client);
    reader.join();
    close(listener);
    return got;
}

TEST(AfXdpRunner, TrafficCrossesAfXdpPortsAndTheClassifierDrops) {
    if (const std::string why = LiveTopology::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    LiveTopology topology;
    const ScratchDir scratch("afxdp");
    const std::filesystem::path& pins = scratch.path;
    std::unique_ptr<live::Runner> runner;
    try {
        runner = start_runner(topology,
                              {"port add wan dev a1 type afxdp", "port add lan dev b1 type afxdp", "port peer wan lan",
                               "qdisc add dev wan clsact",
                               "filter add dev wan ingress bpf expression 'udp dst port 7201' action drop"},
                              pins);
    } catch (const Error& e) {
        if (std::string(e.what()).find("not supported") != std::string::npos) GTEST_SKIP() << "AF_XDP unavailable: " << e.what();
        FAIL() << e.what();
    }
    int replies = 0;
    topology.in('A', [&] {
        for (uint16_t seq = 1; seq <= 3; ++seq) replies += ping(topology.address('B'), seq, 2000);
    });
    EXPECT_EQ(replies, 3) << "echo and reply through both ports";

    int kept = -1, dropped = -1, out = -1;
    topology.in('B', [&] {
        kept = udp_socket_bound(topology.address('B'), 7200);
        dropped = udp_socket_bound(topology.address('B'), 7201);
    });
    topology.in('A', [&] { out = udp_socket_bound(topology.address('A'), 7300); });
    const std::vector<uint8_t> payload(300, 0x5a);
    for (int i = 0; i < 200; ++i) {
        udp_send(out, topology.address('B'), 7200, payload.data(), payload.size());
        udp_send(out, topology.address('B'), 7201, payload.data(), payload.size());
    }
    EXPECT_EQ(drain_udp(kept), 200u);
    EXPECT_EQ(drain_udp(dropped), 0u);
    for (const int fd : {kept, dropped, out}) close(fd);

    EXPECT_EQ(tcp_across(topology, 7400, 1u << 20), 1u << 20);

    runner->stop();
    for (const live::PortCounters& p : runner->port_counters()) {
        EXPECT_EQ(p.type, tc::PortType::AfXdp) << p.name;
        EXPECT_EQ(p.tx_errors, 0u) << p.name;
    }
}

}  // namespace
}  // namespace tcbpf::test
