// The daemon on live ports: a TAP port in its setup makes it a live daemon (the live runner's
// workers), configured through the socket like any other; pcap ports are refused beside it. The TAP
// daemon runs in a network namespace of its own, so its device never appears on the host; the traffic
// test runs A ⇄ daemon ⇄ B in namespaces of its own (live_topology.h) and replaces the filter through
// the socket while a UDP stream crosses.
#include <fmt/format.h>

#include <atomic>
#include <cstring>
#include <set>
#include <sys/socket.h>

#include "tests/ctl/daemon_fixture.h"
#include "tests/tc/live_topology.h"

namespace tcbpf::test {
namespace {

using DaemonLive = DaemonFixture;

TEST_F(DaemonLive, ATapPortMakesALiveDaemonConfiguredThroughTheSocket) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace and a TAP device";
    if (::access("/dev/net/tun", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/net/tun";
    Daemon& d = start("d", write("setup.tc", "port add t0 dev tcbpfctl0 type tap\nqdisc add dev t0 clsact\n"), "bpffs", {}, kPrivateNetns);
    ASSERT_GT(d.pid, 0);
    EXPECT_NE(slurp(d.log).find("info daemon.runner kind=live first_port=t0"), std::string::npos) << slurp(d.log);
    Outcome o = ctl(d, "filter add dev t0 ingress bpf da bc '1,6 0 0 0,'");
    EXPECT_EQ(o.status, 0) << o.err;
    o = ctl(d, "filter show dev t0 ingress");
    EXPECT_NE(o.out.find("handle 0x1 bytecode '1,6 0 0 0,' direct-action"), std::string::npos) << o.out;
    o = ctl(d, "port add p type pcap");
    EXPECT_EQ(o.status, 2);
    EXPECT_EQ(o.err, "port add p: this daemon runs live ports (its first port chose); live and pcap ports cannot be mixed\n");
    const Outcome stats = client(d, "stats --prometheus");
    EXPECT_NE(stats.out.find("tcbpf_port_rx_packets_total{port=\"t0\"} "), std::string::npos) << stats.out;
    EXPECT_NE(stats.out.find("tcbpf_qdisc_packets_total{dev=\"t0\",kind=\"clsact\",handle=\"ffff:\"} "), std::string::npos) << stats.out;
    ::kill(d.pid, SIGTERM);
    EXPECT_EQ(wait_exit(d), 0) << slurp(d.log);
}

TEST_F(DaemonLive, APcapDaemonRefusesALivePort) {
    const Daemon& d = start("d", write("setup.tc", "port add a type pcap\n"));
    const Outcome o = ctl(d, "port add t0 dev tcbpfctl0 type tap");
    EXPECT_EQ(o.status, 2);
    EXPECT_EQ(o.err, "port add t0: this daemon runs pcap ports (its first port chose); live and pcap ports cannot be mixed\n");
}

TEST_F(DaemonLive, FilterReplaceThroughTheSocketUnderTrafficLosesAndDuplicatesNothing) {
    if (const std::string why = LiveTopology::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    using namespace std::chrono_literals;
    LiveTopology topology;
    Daemon& d = start("d", write("setup.tc", "port add a dev a1 type afpacket\nport add b dev b1 type afpacket\nport peer a b\n"
                                             "qdisc add dev a clsact\nfilter add dev a ingress pref 1 handle 1 bpf da bc '1,6 0 0 0,'\n"),
                      "bpffs", {}, topology.ns('T'));
    ASSERT_GT(d.pid, 0);
    const std::string a = topology.address('A'), b = topology.address('B');
    bool reached = false;
    topology.in('A', [&] {
        for (uint16_t i = 0; i < 20 && !reached; ++i) reached = ping(b, i, 500);  // neighbours resolved before the stream
    });
    ASSERT_TRUE(reached) << slurp(d.log);

    constexpr uint32_t kDatagrams = 1500;
    int tx = -1, rx = -1;
    topology.in('A', [&] { tx = udp_socket_bound(a, 7400); });
    topology.in('B', [&] { rx = udp_socket_bound(b, 7401); });
    std::atomic<bool> sent{false};
    std::thread stream([&] {
        for (uint32_t seq = 0; seq < kDatagrams; ++seq) {
            uint8_t payload[64] = {};
            std::memcpy(payload, &seq, 4);
            udp_send(tx, b, 7401, payload, sizeof payload);
            std::this_thread::sleep_for(500us);
        }
        sent = true;
    });
    std::multiset<uint32_t> received;
    std::thread sink([&] {
        auto quiet_since = std::chrono::steady_clock::now();
        while (!sent || std::chrono::steady_clock::now() - quiet_since < 500ms) {
            uint8_t buf[128];
            const ssize_t n = ::recv(rx, buf, sizeof buf, 0);
            if (n >= 4) {
                uint32_t seq;
                std::memcpy(&seq, buf, 4);
                received.insert(seq);
                quiet_since = std::chrono::steady_clock::now();
            } else {
                std::this_thread::sleep_for(1ms);
            }
        }
    });
    int replaced = 0;
    for (int i = 0; i < 20; ++i) {
        const Outcome o = ctl(d, fmt::format("filter replace dev a ingress pref 1 handle 1 bpf da bc '{}'",
                                             i % 2 ? "1,6 0 0 0," : "2,40 0 0 12,6 0 0 0,"));
        replaced += o.status == 0;
        std::this_thread::sleep_for(20ms);
    }
    stream.join();
    sink.join();
    ::close(tx);
    ::close(rx);
    EXPECT_EQ(replaced, 20);
    EXPECT_EQ(received.size(), kDatagrams);
    std::set<uint32_t> unique(received.begin(), received.end());
    EXPECT_EQ(unique.size(), kDatagrams) << "duplicates";
    ::kill(d.pid, SIGTERM);
    EXPECT_EQ(wait_exit(d), 0) << slurp(d.log);
}

}  // namespace
}  // namespace tcbpf::test
