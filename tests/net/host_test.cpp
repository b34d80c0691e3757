// The host model: what its text format accepts and refuses (with FILE:LINE), the routes the kernel
// derives from addresses, and the lookup rules (longest prefix, metrics, reject routes, oif, policy
// rules, neighbour states, source selection).
#include <gtest/gtest.h>

#include <cerrno>

#include "tcbpf/error.h"
#include "tcbpf/net.h"

namespace tcbpf::net {
namespace {

std::string error_of(std::string_view text) {
    try {
        parse_host(text, "host.net");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

Ip ip(const char* text) { return *parse_ip(text); }

Flow to(const char* dst) {
    Flow flow;
    flow.dst = ip(dst);
    flow.src = ip(flow.dst.family == 4 ? "0.0.0.0" : "::");
    return flow;
}

constexpr const char* kBase = R"(# two links, a gateway, reject routes
link add eth0 address 02:00:00:00:00:01 mtu 1400
link add eth1
link set eth0 up
link set eth1 up
addr add 192.0.2.1/24 dev eth0
addr add 192.0.2.9/24 dev eth0
addr add 198.51.100.1/24 dev eth1
addr add 2001:db8::1/64 dev eth0 nodad
route add 203.0.113.0/24 via 192.0.2.254
route add 203.0.113.0/24 via 198.51.100.254 metric 7
route add unreachable 10.0.0.0/8
route add blackhole 10.1.0.0/16
ip -6 route add 2001:db8:f::/48 via 2001:db8::fe
ip -6 route add prohibit 2001:db8:e::/48
neigh add 192.0.2.254 lladdr 02:00:00:00:00:fe dev eth0
neigh add 192.0.2.7 dev eth0 nud failed
)";

TEST(HostModel, AFreshHostHasOnlyLoopbackDown) {
    const Host host;
    ASSERT_EQ(host.devices().size(), 1u);
    const Device& lo = host.devices()[0];
    EXPECT_EQ(lo.name, "lo");
    EXPECT_EQ(lo.ifindex, 1u);
    EXPECT_EQ(lo.mtu, 65536u);
    EXPECT_FALSE(lo.up);
    EXPECT_FALSE(lo.forwarding4);
    EXPECT_TRUE(host.routes().empty());
    EXPECT_EQ(host.lookup(to("127.0.0.1")).error, -ENETUNREACH);
}

TEST(HostModel, LoopbackGetsItsAddressesWhenUp) {
    const Host host = parse_host("link set lo up\n");
    const Device& lo = *host.device("lo");
    ASSERT_EQ(lo.v4.size(), 1u);
    EXPECT_EQ(format_ip(lo.v4[0].ip), "127.0.0.1");
    EXPECT_EQ(lo.v4[0].scope, kScopeHost);
    ASSERT_EQ(lo.v6.size(), 1u);
    EXPECT_EQ(format_ip(lo.v6[0].ip), "::1");
    const FibResult r = host.lookup(to("127.3.4.5"));
    ASSERT_EQ(r.error, 0);
    EXPECT_EQ(r.route->type, RouteType::Local);  // 127.0.0.0/8 is a local route on lo
}

TEST(HostModel, DevicesTakeTheNextFreeIfindexAndVethPeersComeFirst) {
    const Host host = parse_host("link add a0 type veth peer name a1\nlink add x ifindex 40\nlink add y\n");
    EXPECT_EQ(host.device("a1")->ifindex, 2u);
    EXPECT_EQ(host.device("a0")->ifindex, 3u);
    EXPECT_EQ(host.device("y")->ifindex, 4u);  // an explicit ifindex does not move the counter (measured)
    EXPECT_EQ(host.device("a0")->mtu, 1500u);
    EXPECT_EQ(host.device("a0")->mac, (Mac{0x02, 0, 0, 0, 0, 3}));
}

TEST(HostModel, AddressesDeriveTheKernelsRoutes) {
    const Host host = parse_host(kBase);
    auto find = [&](RouteType type, const char* dst, uint8_t len, uint32_t table) -> const Route* {
        for (const Route& r : host.routes())
            if (r.type == type && r.dst == Prefix{ip(dst), len} && r.table == table) return &r;
        return nullptr;
    };
    const Route* local = find(RouteType::Local, "192.0.2.9", 32, kTableLocal);
    ASSERT_NE(local, nullptr);
    EXPECT_EQ(format_ip(*local->prefsrc), "192.0.2.1");  // a secondary's routes name its primary
    EXPECT_NE(find(RouteType::Broadcast, "192.0.2.255", 32, kTableLocal), nullptr);
    const Route* subnet = find(RouteType::Unicast, "192.0.2.0", 24, kTableMain);
    ASSERT_NE(subnet, nullptr);
    EXPECT_EQ(subnet->scope, kScopeLink);
    const Route* subnet6 = find(RouteType::Unicast, "2001:db8::", 64, kTableMain);
    ASSERT_NE(subnet6, nullptr);
    EXPECT_EQ(subnet6->metric, 256u);
    EXPECT_NE(find(RouteType::Local, "2001:db8::1", 128, kTableLocal), nullptr);
    EXPECT_EQ(find(RouteType::Anycast, "2001:db8::", 128, kTableLocal), nullptr);  // forwarding is off
    EXPECT_TRUE(host.device("eth0")->v4[1].secondary);
}

TEST(HostModel, Ipv6ForwardingAddsTheSubnetRouterAnycastRoute) {
    const Host host = parse_host(std::string(kBase) + "sysctl net.ipv6.conf.all.forwarding=1\n");
    const FibResult r = host.lookup(to("2001:db8::"));
    ASSERT_EQ(r.error, 0);
    EXPECT_EQ(r.route->type, RouteType::Anycast);
}

TEST(HostModel, LongestPrefixThenLowestMetric) {
    const Host host = parse_host(kBase);
    FibResult r = host.lookup(to("203.0.113.5"));
    ASSERT_EQ(r.error, 0);
    EXPECT_EQ(format_ip(*r.route->gateway), "192.0.2.254");
    EXPECT_EQ(r.route->metric, 0u);
    // An output lookup through eth1 skips the metric-0 route through eth0.
    Flow out = to("203.0.113.5");
    out.oif = host.device("eth1")->ifindex;
    r = host.lookup(out);
    ASSERT_EQ(r.error, 0);
    EXPECT_EQ(r.route->metric, 7u);
    // ... but reject routes answer whatever the oif.
    out.dst = ip("10.1.2.3");
    EXPECT_EQ(host.lookup(out).error, -EINVAL);
    EXPECT_EQ(host.lookup(to("10.2.0.1")).error, -EHOSTUNREACH);
    EXPECT_EQ(host.lookup(to("192.0.3.1")).error, -ENETUNREACH);
    const FibResult r6 = host.lookup(to("2001:db8:e::1"));
    ASSERT_EQ(r6.error, 0);
    EXPECT_EQ(r6.route->type, RouteType::Prohibit);
    EXPECT_EQ(r6.route->ifindex, 1u);  // IPv6 reject routes point at lo
    EXPECT_EQ(r6.route->metric, 1024u);
}

TEST(HostModel, RulesChooseTablesByMarkSourceAndInterface) {
    const Host host = parse_host(std::string(kBase) + R"(
route add 203.0.113.0/24 via 198.51.100.254 table 10
rule add fwmark 0x4/0xf table 10
rule add from 172.16.0.0/12 table 10
)");
    Flow flow = to("203.0.113.5");
    EXPECT_EQ(host.lookup(flow).route->table, kTableMain);
    flow.mark = 0x14;
    EXPECT_EQ(host.lookup(flow).route->table, 10u);
    flow.mark = 0;
    flow.src = ip("172.20.0.1");
    EXPECT_EQ(host.lookup(flow).route->table, 10u);
    // Custom rules split local from main: a direct lookup in main no longer sees local routes.
    ASSERT_TRUE(host.lookup_table(kTableMain, 4, to("192.0.2.1")));
    EXPECT_EQ(host.lookup_table(kTableMain, 4, to("192.0.2.1"))->route->type, RouteType::Unicast);
    EXPECT_FALSE(host.lookup_table(77, 4, to("192.0.2.1")));  // no such table
}

TEST(HostModel, NeighboursKeepTheirStates) {
    const Host host = parse_host(kBase);
    const uint32_t eth0 = host.device("eth0")->ifindex;
    ASSERT_NE(host.neighbour(eth0, ip("192.0.2.254")), nullptr);
    EXPECT_EQ(host.neighbour(eth0, ip("192.0.2.254"))->state, kNudPermanent);
    EXPECT_EQ(host.neighbour(eth0, ip("192.0.2.7"))->state & kNudValid, 0);
    EXPECT_EQ(host.neighbour(eth0, ip("192.0.2.8")), nullptr);
}

TEST(HostModel, SourceSelection) {
    const Host host = parse_host(std::string(kBase) + "addr add 2001:db8:aa::1/64 dev eth1 nodad\n");
    const FibResult r = host.lookup(to("203.0.113.5"));
    EXPECT_EQ(format_ip(host.select_source4(*r.route)), "192.0.2.1");  // the primary on the gateway's subnet
    // IPv6: the address on the outgoing device wins over a longer common prefix elsewhere.
    EXPECT_EQ(format_ip(*host.select_source6(host.device("eth1")->ifindex, ip("2001:db8::99"))), "2001:db8:aa::1");
    EXPECT_EQ(format_ip(*host.select_source6(0, ip("2001:db8::99"))), "2001:db8::1");
    EXPECT_FALSE(Host().select_source6(0, ip("2001:db8::99")));
}

TEST(HostModel, DownDevicesLoseTheirRoutes) {
    const Host host = parse_host(std::string(kBase) + "link set eth0 down\n");
    EXPECT_EQ(host.lookup(to("203.0.113.5")).route->ifindex, host.device("eth1")->ifindex);
    EXPECT_TRUE(host.device("eth0")->v6.empty());
}

TEST(HostModelText, ErrorsNameFileLineAndReason) {
    EXPECT_EQ(error_of("link add eth0\nlink add eth0\n"), "host.net:2: device \"eth0\" already exists");
    EXPECT_EQ(error_of("addr add 10.0.0.1/24 dev eth9"), "host.net:1: Cannot find device \"eth9\"");
    EXPECT_EQ(error_of("link add e\nroute add 10.0.0.0/8 dev e"), "host.net:2: Device for nexthop is not up");
    EXPECT_EQ(error_of("link add e\nip -6 route add 2001:db8::/32 dev e"), "host.net:2: Nexthop device is not up");
    EXPECT_EQ(error_of("route add 10.0.0.0/8 via 10.9.9.9"), "host.net:1: Nexthop has invalid gateway");
    EXPECT_EQ(error_of("route add 10.0.0.1/8 via 10.9.9.9"), "host.net:1: Invalid prefix for given prefix length");
    EXPECT_EQ(error_of("route add unreachable 10.0.0.0/8\nroute add blackhole 10.0.0.0/8"), "host.net:2: File exists");
    EXPECT_EQ(error_of("link add e\nneigh add 10.0.0.1 dev e"), "host.net:2: No link layer address given");
    EXPECT_EQ(error_of("link add e mtu 67"), "host.net:1: mtu 67 is out of range 68..65535");
    EXPECT_EQ(error_of("\n\n# comment\nlink add e address 02:00"), "host.net:4: \"02:00\" is not a MAC address");
    EXPECT_EQ(error_of("addr add 10.0.0.1/33 dev lo"), "host.net:1: prefix length 33 is too long for 10.0.0.1");
    EXPECT_EQ(error_of("addr add 10.0.0.256/8 dev lo"), "host.net:1: \"10.0.0.256\" is not an IP address");
    EXPECT_EQ(error_of("rule add fwmark 1"), "host.net:1: expected \"table N\"");
    EXPECT_EQ(error_of("route add 10.0.0.0/8 table x dev lo"), "host.net:1: table \"x\" is not a 32-bit number");
    EXPECT_EQ(error_of("tunnel add t0"), "host.net:1: unknown command \"tunnel\"");
    EXPECT_EQ(error_of("link add a0 type veth"), "host.net:1: expected \"peer name NAME\" (the model names no device itself)");
    EXPECT_EQ(error_of("sysctl net.ipv4.tcp_ecn=1"),
              "host.net:1: unknown sysctl \"net.ipv4.tcp_ecn\" (the model knows the forwarding switches)");
    EXPECT_EQ(error_of("sysctl net.ipv6.conf.default.addr_gen_mode=0"),
              "host.net:1: net.ipv6.conf.default.addr_gen_mode: the model only has addr_gen_mode 1 (none)");
    EXPECT_EQ(error_of("link add e\nlink set e up\nneigh add 10.0.0.1 lladdr 02:00:00:00:00:01 dev e nud bogus"),
              "host.net:3: unknown neighbour state \"bogus\"");
    EXPECT_EQ(error_of("route add"), "host.net:1: expected a destination prefix");
}

TEST(HostModelText, LoadHostNamesAMissingFile) {
    try {
        load_host("/nonexistent/host.net");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "/nonexistent/host.net: cannot open: No such file or directory");
    }
}

}  // namespace
}  // namespace tcbpf::net
