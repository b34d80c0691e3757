// The host's configuration commands, with the kernel's refusals, and the routes the kernel derives
// from addresses (fib_add_ifaddr, addrconf_prefix_route, the subnet-router anycast route).
#include <algorithm>

#include <fmt/format.h>

#include "tcbpf/error.h"
#include "tcbpf/net.h"

namespace tcbpf::net {

namespace {

inline constexpr uint32_t kMinMtu = 68;      // ETH_MIN_MTU
inline constexpr uint32_t kMaxMtu = 65535;   // ETH_MAX_MTU
inline constexpr uint32_t kLoopbackMtu = 65536;
inline constexpr uint32_t kIpv6MinMtu = 1280;

// IPv6 address scopes as addrconf ranks them (IPV6_ADDR_SCOPE_*).
inline constexpr uint8_t kScope6Node = 0x01;
inline constexpr uint8_t kScope6Link = 0x02;
inline constexpr uint8_t kScope6Global = 0x0e;

uint8_t scope6_of(const Ip& ip) {
    static const Ip loopback = *parse_ip("::1");
    if (ip == loopback) return kScope6Node;
    if (ip.bytes[0] == 0xfe && (ip.bytes[1] & 0xc0) == 0x80) return kScope6Link;
    return kScope6Global;
}

bool routes_same_slot(const Route& a, const Route& b) {
    return a.dst == b.dst && a.table == b.table && a.metric == b.metric;
}

}  // namespace

Host::Host() {
    Device lo;
    lo.name = "lo";
    lo.ifindex = 1;
    lo.mtu = kLoopbackMtu;
    lo.loopback = true;
    devices_.push_back(lo);
}

const Device* Host::device(uint32_t ifindex) const {
    for (const Device& d : devices_)
        if (d.ifindex == ifindex) return &d;
    return nullptr;
}

const Device* Host::device(std::string_view name) const {
    for (const Device& d : devices_)
        if (d.name == name) return &d;
    return nullptr;
}

Device& Host::device_named(const std::string& name) {
    for (Device& d : devices_)
        if (d.name == name) return d;
    throw Error(fmt::format("Cannot find device \"{}\"", name));
}

void Host::add_link(const std::string& name, std::optional<uint32_t> ifindex, std::optional<Mac> mac,
                    std::optional<uint32_t> mtu) {
    if (name.empty() || name.size() > 15 || name.find_first_of("/: \t") != std::string::npos)
        throw Error(fmt::format("\"{}\" is not a valid device name", name));
    if (device(name) != nullptr) throw Error(fmt::format("device \"{}\" already exists", name));
    Device dev;
    dev.name = name;
    if (ifindex) {
        if (*ifindex == 0 || *ifindex > 0x7fffffff) throw Error(fmt::format("ifindex {} is out of range", *ifindex));
        if (device(*ifindex) != nullptr) throw Error(fmt::format("ifindex {} is already in use", *ifindex));
        dev.ifindex = *ifindex;
    } else {
        // dev_index_reserve: the next free index from a counter only automatic choices advance, so
        // an explicit ifindex does not move where the next automatic one lands.
        while (device(next_ifindex_) != nullptr) ++next_ifindex_;
        dev.ifindex = next_ifindex_++;
    }
    if (mtu && (*mtu < kMinMtu || *mtu > kMaxMtu))
        throw Error(fmt::format("mtu {} is out of range {}..{}", *mtu, kMinMtu, kMaxMtu));
    dev.mtu = mtu.value_or(1500);
    // The kernel picks a random address; the model a locally administered one derived from ifindex.
    dev.mac = mac.value_or(Mac{0x02, 0, static_cast<uint8_t>(dev.ifindex >> 24), static_cast<uint8_t>(dev.ifindex >> 16),
                               static_cast<uint8_t>(dev.ifindex >> 8), static_cast<uint8_t>(dev.ifindex)});
    dev.forwarding4 = default_forwarding4_;
    dev.forwarding6 = default_forwarding6_;
    devices_.push_back(dev);
}

void Host::set_link_up(const std::string& name, bool up) {
    Device& dev = device_named(name);
    if (dev.up == up) return;
    dev.up = up;
    if (up && dev.loopback) {
        // inetdev_event and init_loopback give lo its addresses when it comes up.
        const Ip v4 = *parse_ip("127.0.0.1");
        if (std::none_of(dev.v4.begin(), dev.v4.end(), [&](const Address& a) { return a.ip == v4; }))
            add_address(name, v4, 8);
        add_address(name, *parse_ip("::1"), 128);
    }
    if (!up) {
        // NETDEV_DOWN: routes through the device are flushed; IPv6 addresses are dropped
        // (keep_addr_on_down is 0).
        std::erase_if(static_routes_, [&](const Route& r) { return r.ifindex == dev.ifindex; });
        dev.v6.clear();
    }
    rebuild_routes();
}

void Host::set_link_mtu(const std::string& name, uint32_t mtu) {
    Device& dev = device_named(name);
    const uint32_t max = dev.loopback ? 0x7fffffffu : kMaxMtu;
    if (mtu < kMinMtu || mtu > max) throw Error(fmt::format("mtu {} is out of range {}..{}", mtu, kMinMtu, max));
    dev.mtu = mtu;
    if (!dev.has_ipv6()) {
        dev.v6.clear();  // addrconf_ifdown: the inet6_dev goes with an MTU below 1280
        std::erase_if(static_routes_, [&](const Route& r) { return r.dst.addr.family == 6 && r.ifindex == dev.ifindex; });
    }
    rebuild_routes();
}

void Host::set_link_address(const std::string& name, const Mac& mac) { device_named(name).mac = mac; }

void Host::add_address(const std::string& name, const Ip& ip, uint8_t len) {
    Device& dev = device_named(name);
    if (len > ip.bits()) throw Error(fmt::format("prefix length {} is too long for {}", len, format_ip(ip)));
    Address addr{ip, len, kScopeUniverse, false};
    if (ip.family == 4) {
        const Prefix subnet{mask_ip(ip, len), len};
        if (ip.bytes[0] == 127) addr.scope = kScopeHost;  // iproute2 scopes loopback addresses host
        for (const Address& a : dev.v4) {
            if (a.ip == ip && a.len == len) throw Error(fmt::format("address {}/{} already assigned", format_ip(ip), len));
            if (!a.secondary && a.len == len && subnet.contains(a.ip)) addr.secondary = true;
        }
        if (addr.secondary) {
            dev.v4.push_back(addr);
        } else {
            // __inet_insert_ifa: a primary goes after the last primary of the same or wider scope.
            auto pos = dev.v4.begin();
            for (auto it = dev.v4.begin(); it != dev.v4.end(); ++it)
                if (!it->secondary && addr.scope <= it->scope) pos = it + 1;
            dev.v4.insert(pos, addr);
        }
    } else {
        if (!dev.has_ipv6()) throw Error(fmt::format("device \"{}\" has no IPv6 (MTU below {})", name, kIpv6MinMtu));
        for (const Address& a : dev.v6)
            if (a.ip == ip) throw Error(fmt::format("address {} already assigned", format_ip(ip)));
        addr.scope = scope6_of(ip);
        // ipv6_link_dev_addr: before the first address of the same or a narrower scope.
        auto pos = std::find_if(dev.v6.begin(), dev.v6.end(), [&](const Address& a) { return addr.scope >= a.scope; });
        dev.v6.insert(pos, addr);
    }
    rebuild_routes();
}

void Host::add_route(Route route, const std::string& dev_name) {
    const uint8_t family = route.dst.addr.family;
    if (route.dst.len > route.dst.addr.bits())
        throw Error(fmt::format("prefix length {} is too long for {}", route.dst.len, format_ip(route.dst.addr)));
    if (family == 4 && mask_ip(route.dst.addr, route.dst.len) != route.dst.addr)
        throw Error("Invalid prefix for given prefix length");
    route.dst.addr = mask_ip(route.dst.addr, route.dst.len);
    if (family == 6 && route.metric == 0) route.metric = 1024;  // IP6_RT_PRIO_USER
    if (route.gateway && route.gateway->family != family)
        throw Error(fmt::format("gateway {} is not of the route's family", format_ip(*route.gateway)));
    if (route.prefsrc && route.prefsrc->family != family)
        throw Error(fmt::format("source {} is not of the route's family", format_ip(*route.prefsrc)));

    const bool reject = route.type != RouteType::Unicast;
    const Device* dev = dev_name.empty() ? nullptr : &device_named(dev_name);
    if (reject) {
        route.gateway.reset();
        route.ifindex = family == 6 ? 1 : 0;  // IPv6 reject routes point at lo
        route.scope = kScopeUniverse;
    } else {
        if (dev == nullptr && !route.gateway) throw Error("route needs a device or a gateway");
        if (dev != nullptr && !dev->up)
            throw Error(family == 4 ? "Device for nexthop is not up" : "Nexthop device is not up");
        if (route.gateway) {
            const bool link_local6 = family == 6 && scope6_of(*route.gateway) == kScope6Link;
            if (link_local6) {
                if (dev == nullptr) throw Error("Nexthop has invalid gateway");
            } else {
                // fib_check_nh_v4_gw / ip6_validate_gw: the gateway must be on a link.
                const Route* onlink = nullptr;
                for (const Route& r : routes_)
                    if (r.dst.contains(*route.gateway) && !r.gateway && r.ifindex != 0 &&
                        (r.type == RouteType::Unicast || r.type == RouteType::Local) &&
                        (dev == nullptr || r.ifindex == dev->ifindex) &&
                        (onlink == nullptr || r.dst.len > onlink->dst.len))
                        onlink = &r;
                if (onlink == nullptr) throw Error("Nexthop has invalid gateway");
                if (dev == nullptr) dev = device(onlink->ifindex);
            }
            route.scope = kScopeUniverse;
        } else {
            route.scope = kScopeLink;
        }
        route.ifindex = dev->ifindex;
    }
    if (route.prefsrc) {
        bool local = false;
        for (const Device& d : devices_)
            for (const Address& a : family == 4 ? d.v4 : d.v6) local |= a.ip == *route.prefsrc;
        if (!local) throw Error(fmt::format("Invalid prefsrc address {}", format_ip(*route.prefsrc)));
    }
    for (const Route& r : routes_)
        if (routes_same_slot(r, route)) throw Error("File exists");
    static_routes_.push_back(route);
    rebuild_routes();
}

void Host::add_rule(Rule rule, bool pref_given) {
    std::vector<Rule>& rules = rule.family == 4 ? rules4_ : rules6_;
    if (rules.empty()) {
        // The default rules, which stop being implicit once a rule is added (fib_unmerge).
        rules.push_back(Rule{rule.family, 0, {}, {}, {}, 0, {}, {}, kTableLocal});
        rules.push_back(Rule{rule.family, 32766, {}, {}, {}, 0, {}, {}, kTableMain});
        if (rule.family == 4) rules.push_back(Rule{rule.family, 32767, {}, {}, {}, 0, {}, {}, kTableDefault});
    }
    // fib_default_rule_pref: one below the second rule's, if that is not 0.
    if (!pref_given) rule.pref = rules.size() > 1 && rules[1].pref != 0 ? rules[1].pref - 1 : 0;
    auto pos = std::find_if(rules.begin(), rules.end(), [&](const Rule& r) { return r.pref > rule.pref; });
    rules.insert(pos, rule);
}

void Host::add_neighbour(const Ip& ip, const std::string& dev_name, std::optional<Mac> mac, uint8_t state) {
    const Device& dev = device_named(dev_name);
    if ((state & kNudValid) && !mac) throw Error("No link layer address given");
    for (const Neighbour& n : neighbours_)
        if (n.ifindex == dev.ifindex && n.ip == ip) throw Error("File exists");
    neighbours_.push_back(Neighbour{ip, dev.ifindex, mac.value_or(Mac{}), state});
}

void Host::set_sysctl(std::string_view key, std::string_view value) {
    if (value.empty() || value.find_first_not_of("0123456789") != std::string_view::npos)
        throw Error(fmt::format("sysctl value \"{}\" is not a number", value));
    const bool on = value.find_first_not_of('0') != std::string_view::npos;
    std::string k(key);
    std::replace(k.begin(), k.end(), '/', '.');
    if (k.starts_with("net.ipv6.conf.") && k.ends_with(".addr_gen_mode")) {
        // The model never generates link-local addresses: mode 1 (none) is the only one it has.
        if (value != "1") throw Error(fmt::format("{}: the model only has addr_gen_mode 1 (none)", k));
        return;
    }
    if (k == "net.ipv4.ip_forward") k = "net.ipv4.conf.all.forwarding";
    for (const uint8_t family : {uint8_t{4}, uint8_t{6}}) {
        const std::string head = family == 4 ? "net.ipv4.conf." : "net.ipv6.conf.";
        const std::string tail = ".forwarding";
        if (k.size() <= head.size() + tail.size() || !k.starts_with(head) || !k.ends_with(tail)) continue;
        const std::string which = k.substr(head.size(), k.size() - head.size() - tail.size());
        bool& dflt = family == 4 ? default_forwarding4_ : default_forwarding6_;
        auto set = [&](Device& d) { (family == 4 ? d.forwarding4 : d.forwarding6) = on; };
        if (which == "all") {
            // inet_forward_change / addrconf_fixup_forwarding: all also sets default and every device.
            dflt = on;
            for (Device& d : devices_) set(d);
        } else if (which == "default") {
            dflt = on;
        } else {
            set(device_named(which));
        }
        rebuild_routes();
        return;
    }
    throw Error(fmt::format("unknown sysctl \"{}\" (the model knows the forwarding switches)", key));
}

void Host::rebuild_routes() {
    routes_.clear();
    auto add = [&](Route r) {
        for (const Route& have : routes_)
            if (have.type == r.type && have.dst == r.dst && have.table == r.table && have.ifindex == r.ifindex) return;
        routes_.push_back(r);
    };
    for (const Device& dev : devices_) {
        if (!dev.up) continue;
        for (const Address& a : dev.v4) {
            // A secondary's routes carry its primary's address as source.
            Ip primary = a.ip;
            for (const Address& p : dev.v4)
                if (a.secondary && !p.secondary && p.len == a.len && Prefix{mask_ip(a.ip, a.len), a.len}.contains(p.ip))
                    primary = p.ip;
            add(Route{RouteType::Local, {a.ip, 32}, kTableLocal, 0, kScopeHost, {}, dev.ifindex, primary});
            if (a.len < 31) {
                Ip brd = a.ip;
                for (uint32_t bit = a.len; bit < 32; ++bit) brd.bytes[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
                add(Route{RouteType::Broadcast, {brd, 32}, kTableLocal, 0, kScopeLink, {}, dev.ifindex, primary});
            }
            const Prefix subnet{mask_ip(a.ip, a.len), a.len};
            if (!a.secondary && a.len < 32 && subnet.addr != Ip::v4(0)) {
                if (dev.loopback)
                    add(Route{RouteType::Local, subnet, kTableLocal, 0, kScopeHost, {}, dev.ifindex, a.ip});
                else
                    add(Route{RouteType::Unicast, subnet, kTableMain, 0, kScopeLink, {}, dev.ifindex, a.ip});
            }
        }
        if (!dev.has_ipv6()) continue;
        for (const Address& a : dev.v6) {
            add(Route{RouteType::Local, {a.ip, 128}, kTableLocal, 0, kScopeUniverse, {}, dev.ifindex, {}});
            const Prefix subnet{mask_ip(a.ip, a.len), a.len};
            if (!dev.loopback) add(Route{RouteType::Unicast, subnet, kTableMain, 256, kScopeUniverse, {}, dev.ifindex, {}});
            if (dev.forwarding6 && a.len < 127 && subnet.addr != mask_ip(a.ip, 0))
                add(Route{RouteType::Anycast, {subnet.addr, 128}, kTableLocal, 0, kScopeUniverse, {}, dev.ifindex, {}});
        }
    }
    for (const Route& r : static_routes_) routes_.push_back(r);
}

}  // namespace tcbpf::net
