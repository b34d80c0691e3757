// A model of one host's network stack as the kernel's FIB helpers see it: devices, addresses, routes
// in numbered tables, policy rules and neighbours, with the kernel's lookup rules (net/ipv4/fib_trie.c,
// fib_rules.c, net/ipv6/route.c, addrconf.c source selection). It is built from `ip`-syntax text, one
// command per line:
//
//   link add NAME [ifindex N] [address MAC] [mtu N]      link set [dev] NAME up|down|mtu N|address MAC
//   addr add IP/LEN dev NAME [nodad]                      rule add [pref N] [from P] [to P] [fwmark M[/K]]
//   route add [unicast|unreachable|blackhole|prohibit] PREFIX [via GW] [dev NAME] [table N] [metric N]
//             [src IP]                                                   [iif NAME] [oif NAME] table N
//   neigh add IP [lladdr MAC] dev NAME [nud permanent|noarp|reachable|stale|delay|probe|failed|incomplete]
//   sysctl net.ipv4.conf.{all,default,NAME}.forwarding=N, net.ipv4.ip_forward=N,
//          net.ipv6.conf.{all,default,NAME}.forwarding=N
//
// (`ip -4`/`ip -6` prefixes and a leading `ip` are accepted; `#` starts a comment.) A new Host is a
// fresh network namespace: only `lo` (ifindex 1, down, MTU 65536), forwarding off everywhere.
// The model derives what the kernel derives: 127.0.0.1/8 and ::1 when lo comes up; local, broadcast,
// prefix and (with IPv6 forwarding) subnet-anycast routes for addresses on up devices; routes through a
// device vanish when it goes down. It has no multipath, lwtunnels, VRFs, PMTU exceptions, DAD or
// generated link-local addresses (give fe80:: addresses explicitly, or none, as a namespace with
// addr_gen_mode none has).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcbpf::net {

using Mac = std::array<uint8_t, 6>;

// An IPv4 or IPv6 address in network byte order (IPv4 in the first 4 bytes).
struct Ip {
    uint8_t family = 0;  // 4 or 6
    std::array<uint8_t, 16> bytes{};
    static Ip v4(uint32_t host_order);
    static Ip from_v4_bytes(const uint8_t* network_order);
    static Ip from_v6_bytes(const uint8_t* network_order);
    uint32_t bits() const { return family == 4 ? 32 : 128; }
    bool operator==(const Ip&) const = default;
};

struct Prefix {
    Ip addr;  // host bits are zero
    uint8_t len = 0;
    bool contains(const Ip& ip) const;
    bool operator==(const Prefix&) const = default;
};

std::optional<Ip> parse_ip(std::string_view text);
std::string format_ip(const Ip& ip);
// Keeps the first `len` bits.
Ip mask_ip(const Ip& ip, uint8_t len);
// Number of leading bits two addresses of one family share.
uint32_t common_prefix_len(const Ip& a, const Ip& b);

// Route scopes (rtnetlink RT_SCOPE_*) and types (RTN_*).
enum Scope : uint8_t { kScopeUniverse = 0, kScopeLink = 253, kScopeHost = 254 };
enum class RouteType : uint8_t { Unicast, Local, Broadcast, Anycast, Unreachable, Blackhole, Prohibit };

inline constexpr uint32_t kTableDefault = 253;
inline constexpr uint32_t kTableMain = 254;
inline constexpr uint32_t kTableLocal = 255;

// Neighbour states (uapi NUD_*); an entry with any kNudValid state is usable for forwarding.
enum Nud : uint8_t {
    kNudIncomplete = 0x01,
    kNudReachable = 0x02,
    kNudStale = 0x04,
    kNudDelay = 0x08,
    kNudProbe = 0x10,
    kNudFailed = 0x20,
    kNudNoarp = 0x40,
    kNudPermanent = 0x80,
};
inline constexpr uint8_t kNudValid = kNudPermanent | kNudNoarp | kNudReachable | kNudProbe | kNudStale | kNudDelay;

struct Address {
    Ip ip;
    uint8_t len = 0;
    uint8_t scope = kScopeUniverse;  // IPv4: host for 127/8
    bool secondary = false;          // IPv4: another primary on the device covers the same subnet
};

struct Device {
    std::string name;
    uint32_t ifindex = 0;
    Mac mac{};
    uint32_t mtu = 1500;
    bool up = false;
    bool loopback = false;
    uint16_t hard_header_len = 14;  // ETH_HLEN, loopback included
    bool forwarding4 = false;
    bool forwarding6 = false;
    std::vector<Address> v4;  // the kernel's list order: primaries by scope, then secondaries
    std::vector<Address> v6;  // newest first within a scope, global before link-local
    bool has_ipv6() const { return mtu >= 1280; }  // below IPV6_MIN_MTU the device has no inet6_dev
};

struct Route {
    RouteType type = RouteType::Unicast;
    Prefix dst;
    uint32_t table = kTableMain;
    uint32_t metric = 0;
    uint8_t scope = kScopeUniverse;
    std::optional<Ip> gateway;
    uint32_t ifindex = 0;  // 0: no device (IPv4 reject routes)
    std::optional<Ip> prefsrc;
};

struct Rule {
    uint8_t family = 4;
    uint32_t pref = 0;
    std::optional<Prefix> from, to;
    std::optional<uint32_t> fwmark;
    uint32_t fwmask = 0xffffffff;
    std::string iif, oif;
    uint32_t table = kTableMain;
};

struct Neighbour {
    Ip ip;
    uint32_t ifindex = 0;
    Mac mac{};
    uint8_t state = kNudPermanent;
};

// What a FIB lookup is asked (struct flowi4/flowi6 as bpf_fib_lookup fills it).
struct Flow {
    Ip dst, src;
    uint32_t iif = 0;  // rules' iif
    uint32_t oif = 0;  // rules' oif; IPv4 routes must go out through it
    uint32_t mark = 0;
    uint32_t prefer_oif = 0;  // IPv6: among equal routes, the one through this device wins
    bool source_known = true;  // IPv6: false (an output lookup) makes rules with `from` never match
};

// The outcome of a FIB lookup: error is 0, or the kernel's -EINVAL (blackhole), -EHOSTUNREACH
// (unreachable), -EACCES (prohibit), -ENETUNREACH (nothing matched), -EAGAIN (table had no match).
struct FibResult {
    int error = 0;
    const Route* route = nullptr;  // set when error is 0
};

class Host {
   public:
    Host();  // a fresh namespace: lo only

    // Commands; each throws tcbpf::Error with the kernel's (or iproute2's) complaint.
    void add_link(const std::string& name, std::optional<uint32_t> ifindex, std::optional<Mac> mac,
                  std::optional<uint32_t> mtu);
    void set_link_up(const std::string& name, bool up);
    void set_link_mtu(const std::string& name, uint32_t mtu);
    void set_link_address(const std::string& name, const Mac& mac);
    void add_address(const std::string& dev, const Ip& ip, uint8_t len);
    void add_route(Route route, const std::string& dev);
    void add_rule(Rule rule, bool pref_given = true);  // without a pref: the kernel's default one
    void add_neighbour(const Ip& ip, const std::string& dev, std::optional<Mac> mac, uint8_t state);
    void set_sysctl(std::string_view key, std::string_view value);

    const Device* device(uint32_t ifindex) const;
    const Device* device(std::string_view name) const;
    const std::vector<Device>& devices() const { return devices_; }
    // Every route in force: the given ones plus those the kernel derives from addresses.
    const std::vector<Route>& routes() const { return routes_; }

    // fib_lookup (policy rules, or the default local/main/default order) and fib_table_lookup.
    FibResult lookup(const Flow& flow) const;
    std::optional<FibResult> lookup_table(uint32_t table, uint8_t family, const Flow& flow) const;  // nullopt: no such table
    const Neighbour* neighbour(uint32_t ifindex, const Ip& ip) const;
    // IPv4 source for a route without prefsrc (inet_select_addr); 0.0.0.0 if none.
    Ip select_source4(const Route& route) const;
    // IPv6 source address selection (RFC 6724 as ipv6_dev_get_saddr applies it); nullopt if none.
    std::optional<Ip> select_source6(uint32_t dst_ifindex, const Ip& dst) const;

   private:
    Device& device_named(const std::string& name);
    void rebuild_routes();
    FibResult lookup4(const Flow& flow) const;
    FibResult lookup6(const Flow& flow) const;
    FibResult table_lookup4(uint32_t table, const Flow& flow) const;
    FibResult table_lookup6(uint32_t table, const Flow& flow) const;
    bool table_exists(uint8_t family, uint32_t table) const;
    bool rule_matches(const Rule& rule, const Flow& flow) const;

    std::vector<Device> devices_;
    std::vector<Route> static_routes_;
    std::vector<Route> routes_;
    std::vector<Rule> rules4_, rules6_;  // custom rules only; empty: the default rules
    std::vector<Neighbour> neighbours_;
    bool default_forwarding4_ = false, default_forwarding6_ = false;
    uint32_t next_ifindex_ = 2;
};

// Parses the text format above; errors read "NAME:LINE: reason".
Host parse_host(std::string_view text, std::string_view name = "<net>");
Host load_host(const std::string& path);

}  // namespace tcbpf::net
