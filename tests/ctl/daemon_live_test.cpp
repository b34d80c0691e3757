// The daemon on a live port: a TAP port in its setup makes it a live daemon (the live runner's
// workers), configured through the socket like any other; pcap ports are refused beside it. The daemon
// runs in a network namespace of its own, so its TAP device never appears on the host.
#include <fmt/format.h>

#include "tests/ctl/daemon_fixture.h"

namespace tcbpf::test {
namespace {

using DaemonLive = DaemonFixture;

TEST_F(DaemonLive, ATapPortMakesALiveDaemonConfiguredThroughTheSocket) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace and a TAP device";
    if (::access("/dev/net/tun", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/net/tun";
    Daemon& d = start("d", write("setup.tc", "port add t0 dev tcbpfctl0 type tap\nqdisc add dev t0 clsact\n"), "bpffs", {}, true);
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

}  // namespace
}  // namespace tcbpf::test
