// FIB lookups as the kernel does them for bpf_fib_lookup.
//
// IPv4 (fib_trie.c): the longest prefix with an alias that fits wins; among a prefix's aliases (local
// table before main while the two are merged, then by metric) the first reject route answers with its
// error at once, a route with a device must leave through the flow's oif when one is given, and a
// prefix where nothing fits falls back to shorter ones. Without custom rules the local and main tables
// are one trie, tried before the default table (only when nothing in them matched); custom rules split them and are tried by preference.
// IPv6 (route.c): the longest prefix holding routes wins; among its routes of the lowest metric the
// first through the preferred device, else the first. Local table first, then main, unless rules.
// Source selection: inet_select_addr for IPv4, ipv6_dev_get_saddr's RFC 6724 rules for IPv6.
#include <algorithm>
#include <cerrno>

#include "tcbpf/net.h"

namespace tcbpf::net {

namespace {

bool in_tables(const Route& r, uint32_t table, bool merged) {
    if (r.table == table) return true;
    return merged && (table == kTableMain || table == kTableLocal) && (r.table == kTableMain || r.table == kTableLocal);
}

int reject_error(RouteType type) {
    switch (type) {
        case RouteType::Blackhole: return -EINVAL;
        case RouteType::Unreachable: return -EHOSTUNREACH;
        case RouteType::Prohibit: return -EACCES;
        default: return 0;
    }
}

// The default address label table (net/ipv6/addrlabel.c).
uint32_t label6(const Ip& ip) {
    struct Entry {
        const char* prefix;
        uint8_t len;
        uint32_t label;
    };
    static const Entry table[] = {{"::1", 128, 0},       {"::", 0, 1},          {"2002::", 16, 2},
                                  {"::", 96, 3},         {"::ffff:0:0", 96, 4}, {"fc00::", 7, 5},
                                  {"2001::", 32, 6},     {"2001:10::", 28, 7},  {"3ffe::", 16, 12},
                                  {"fec0::", 10, 11}};
    int best_len = -1;
    uint32_t label = 1;
    for (const Entry& e : table) {
        if (Prefix{*parse_ip(e.prefix), e.len}.contains(ip) && e.len > best_len) {
            best_len = e.len;
            label = e.label;
        }
    }
    return label;
}

bool orchid(const Ip& ip) { return Prefix{*parse_ip("2001:10::"), 28}.contains(ip); }

}  // namespace

bool Host::table_exists(uint8_t family, uint32_t table) const {
    if (table == kTableMain || table == kTableLocal) return true;
    return std::any_of(static_routes_.begin(), static_routes_.end(),
                       [&](const Route& r) { return r.table == table && r.dst.addr.family == family; });
}

std::optional<FibResult> Host::lookup_table(uint32_t table, uint8_t family, const Flow& flow) const {
    if (table == 0) table = kTableMain;
    if (!table_exists(family, table)) return std::nullopt;
    return family == 4 ? table_lookup4(table, flow) : table_lookup6(table, flow);
}

FibResult Host::table_lookup4(uint32_t table, const Flow& flow) const {
    const bool merged = rules4_.empty();
    std::vector<const Route*> hits;
    for (const Route& r : routes_)
        if (r.dst.addr.family == 4 && in_tables(r, table, merged) && r.dst.contains(flow.dst)) hits.push_back(&r);
    std::stable_sort(hits.begin(), hits.end(), [](const Route* a, const Route* b) {
        if (a->dst.len != b->dst.len) return a->dst.len > b->dst.len;
        if (a->table != b->table) return a->table > b->table;
        return a->metric < b->metric;
    });
    for (const Route* r : hits) {
        if (const int error = reject_error(r->type)) return FibResult{error, nullptr};
        if (flow.oif != 0 && r->ifindex != flow.oif) continue;
        return FibResult{0, r};
    }
    return FibResult{-EAGAIN, nullptr};
}

FibResult Host::table_lookup6(uint32_t table, const Flow& flow) const {
    const Route* best = nullptr;
    for (const Route& r : routes_) {
        if (r.dst.addr.family != 6 || r.table != table || !r.dst.contains(flow.dst)) continue;
        if (best == nullptr || r.dst.len > best->dst.len || (r.dst.len == best->dst.len && r.metric < best->metric)) {
            best = &r;
            continue;
        }
        // Same node, same metric: the first through the preferred device (rt6_score_route).
        const bool same_rank = r.dst.len == best->dst.len && r.metric == best->metric;
        const auto prefers = [&](const Route* x) { return flow.prefer_oif == 0 || x->ifindex == flow.prefer_oif; };
        if (same_rank && prefers(&r) && !prefers(best)) best = &r;
    }
    if (best == nullptr) return FibResult{-EAGAIN, nullptr};
    return FibResult{0, best};
}

bool Host::rule_matches(const Rule& rule, const Flow& flow) const {
    auto dev_is = [&](const std::string& name, uint32_t ifindex) {
        const Device* d = device(name);
        return d != nullptr && d->ifindex == ifindex;
    };
    if (!rule.iif.empty() && !dev_is(rule.iif, flow.iif)) return false;
    if (!rule.oif.empty() && !dev_is(rule.oif, flow.oif)) return false;
    if (rule.fwmark && ((*rule.fwmark ^ flow.mark) & rule.fwmask) != 0) return false;
    // fib6_rule_match defers a source prefix it cannot check (no RT6_LOOKUP_F_HAS_SADDR): no match.
    if (rule.from && rule.family == 6 && !flow.source_known) return false;
    if (rule.from && !rule.from->contains(flow.src)) return false;
    if (rule.to && !rule.to->contains(flow.dst)) return false;
    return true;
}

FibResult Host::lookup4(const Flow& flow) const {
    if (rules4_.empty()) {
        // As the default rules would: only a table without any match (-EAGAIN) passes on (measured).
        FibResult r = table_lookup4(kTableMain, flow);
        if (r.error != -EAGAIN) return r;
        if (table_exists(4, kTableDefault)) r = table_lookup4(kTableDefault, flow);
        if (r.error == -EAGAIN) r.error = -ENETUNREACH;
        return r;
    }
    for (const Rule& rule : rules4_) {
        if (!rule_matches(rule, flow) || !table_exists(4, rule.table)) continue;
        const FibResult r = table_lookup4(rule.table, flow);
        if (r.error != -EAGAIN) return r;
    }
    return FibResult{-ENETUNREACH, nullptr};
}

FibResult Host::lookup6(const Flow& flow) const {
    if (rules6_.empty()) {
        const FibResult r = table_lookup6(kTableLocal, flow);
        return r.error == 0 ? r : table_lookup6(kTableMain, flow);
    }
    for (const Rule& rule : rules6_) {
        if (!rule_matches(rule, flow) || !table_exists(6, rule.table)) continue;
        const FibResult r = table_lookup6(rule.table, flow);
        if (r.error == 0) return r;
    }
    return FibResult{-ENETUNREACH, nullptr};
}

FibResult Host::lookup(const Flow& flow) const { return flow.dst.family == 4 ? lookup4(flow) : lookup6(flow); }

const Neighbour* Host::neighbour(uint32_t ifindex, const Ip& ip) const {
    const Device* dev = device(ifindex);
    // arp's key on loopback (and point-to-point) devices is 0.0.0.0 whatever the next hop.
    const Ip key = ip.family == 4 && dev != nullptr && dev->loopback ? Ip::v4(0) : ip;
    for (const Neighbour& n : neighbours_)
        if (n.ifindex == ifindex && n.ip == key) return &n;
    return nullptr;
}

Ip Host::select_source4(const Route& route) const {
    if (route.prefsrc) return *route.prefsrc;
    const Device* dev = device(route.ifindex);
    const std::optional<Ip> gateway = route.gateway;
    std::optional<Ip> first;
    if (dev != nullptr) {
        for (const Address& a : dev->v4) {
            if (a.secondary || std::min<uint8_t>(a.scope, kScopeHost) > route.scope) continue;
            if (!gateway || Prefix{mask_ip(a.ip, a.len), a.len}.contains(*gateway)) return a.ip;
            if (!first) first = a.ip;
        }
    }
    if (first) return *first;
    for (const Device& d : devices_)
        for (const Address& a : d.v4)
            if (!a.secondary && a.scope != kScopeLink && a.scope <= route.scope) return a.ip;
    return Ip::v4(0);
}

std::optional<Ip> Host::select_source6(uint32_t dst_ifindex, const Ip& dst) const {
    const int dst_scope = 0x0e;  // link-local and multicast destinations never get here
    const uint32_t dst_label = label6(dst);
    std::optional<std::vector<int>> best_score;
    std::optional<Ip> best;
    for (const Device& dev : devices_) {
        if (!dev.up || !dev.has_ipv6()) continue;
        for (const Address& a : dev.v6) {
            const int scope = a.scope;
            const std::vector<int> score = {
                a.ip == dst,                                                      // rule 1: same address
                scope >= dst_scope ? -scope : scope - 128,                        // rule 2: scope
                dst_ifindex == 0 || dev.ifindex == dst_ifindex,                   // rule 5: outgoing interface
                label6(a.ip) == dst_label,                                        // rule 6: label
                orchid(a.ip) == orchid(dst),                                      // rule 7.5: ORCHID
                static_cast<int>(std::min<uint32_t>(common_prefix_len(a.ip, dst), a.len)),  // rule 8
            };
            if (!best_score || score > *best_score) {
                best_score = score;
                best = a.ip;
            }
        }
    }
    return best;
}

}  // namespace tcbpf::net
