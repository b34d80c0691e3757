// bpf_fib_lookup and bpf_check_mtu over the run's host model (net::Host), following
// net/core/filter.c step by step: which fields of struct bpf_fib_lookup are written before each
// early return is part of the contract (a NO_NEIGH answer already carries the egress ifindex, the
// metric and the gateway in ipv4_dst/ipv6_dst), so the order below is the kernel's.
#include <algorithm>

#include "env.h"
#include "tcbpf/net.h"

namespace tcbpf::helpers::detail {

namespace {

// struct bpf_fib_lookup (uapi), 64 bytes.
inline constexpr uint32_t kFibParamsSize = 64;
inline constexpr uint32_t kOffFamily = 0, kOffTotLen = 6, kOffIfindex = 8, kOffMetric = 12, kOffSrc = 16,
                          kOffDst = 32, kOffTbid = 48, kOffMark = 52, kOffSmac = 52, kOffDmac = 58;

// BPF_FIB_LOOKUP_* flags.
inline constexpr uint32_t kDirect = 1, kOutput = 2, kSkipNeigh = 4, kTbid = 8, kSrc = 16, kMark = 32;
inline constexpr uint32_t kFlagsMask = kDirect | kOutput | kSkipNeigh | kTbid | kSrc | kMark;

// BPF_FIB_LKUP_RET_*.
enum : int {
    kRetSuccess = 0,
    kRetBlackhole = 1,
    kRetUnreachable = 2,
    kRetProhibit = 3,
    kRetNotFwded = 4,
    kRetFwdDisabled = 5,
    kRetNoNeigh = 7,
    kRetFragNeeded = 8,
    kRetNoSrcAddr = 9,
};

inline constexpr uint8_t kAfInet = 2, kAfInet6 = 10;
inline constexpr uint32_t kIpMaxMtu = 0xffff;           // IP_MAX_MTU
inline constexpr uint32_t kIp6MaxMtu = 0xffff + 40;     // IP6_MAX_MTU
inline constexpr uint32_t kIpv6MinMtu = 1280;
inline constexpr uint32_t kVlanHlen = 4;
inline constexpr uint32_t kLoopbackIfindex = 1;

uint16_t get16(const uint8_t* p, uint32_t off) {
    uint16_t v;
    std::memcpy(&v, p + off, 2);
    return v;
}
uint32_t get32(const uint8_t* p, uint32_t off) {
    uint32_t v;
    std::memcpy(&v, p + off, 4);
    return v;
}
void put16(uint8_t* p, uint32_t off, uint16_t v) { std::memcpy(p + off, &v, 2); }
void put32(uint8_t* p, uint32_t off, uint32_t v) { std::memcpy(p + off, &v, 4); }

const net::Host& host_of(const RunEnv& env) {
    // Without a model the program sees what a test run in a fresh network namespace sees: lo only.
    static const net::Host fresh;
    return env.host != nullptr ? *env.host : fresh;
}

uint64_t ret(int value) { return static_cast<uint64_t>(static_cast<int64_t>(value)); }

int reject_code(int error) {
    if (error == -EINVAL) return kRetBlackhole;
    if (error == -EHOSTUNREACH) return kRetUnreachable;
    if (error == -EACCES) return kRetProhibit;
    return kRetNotFwded;
}

// bpf_fib_set_fwd_params.
int set_fwd_params(uint8_t* p, uint32_t mtu) {
    put32(p, kOffTbid, 0);  // h_vlan_proto, h_vlan_TCI
    if (mtu != 0) put16(p, kOffTotLen, static_cast<uint16_t>(mtu));
    return kRetSuccess;
}

// The table lookup both families share: DIRECT picks one table (TBID: the caller's, which is then
// zeroed), otherwise the policy rules with the mark when MARK asks for it.
std::optional<net::FibResult> fib_query(const net::Host& host, uint8_t* p, uint32_t flags, uint8_t family,
                                        net::Flow& flow) {
    if (flags & kDirect) {
        uint32_t table = net::kTableMain;
        if (flags & kTbid) {
            table = get32(p, kOffTbid);
            put32(p, kOffTbid, 0);
        }
        return host.lookup_table(table, family, flow);
    }
    flow.mark = (flags & kMark) ? get32(p, kOffMark) : 0;
    return host.lookup(flow);
}

int neigh_and_macs(const net::Host& host, uint8_t* p, const net::Device& dev, const net::Ip& next_hop) {
    const net::Neighbour* neigh = host.neighbour(dev.ifindex, next_hop);
    if (neigh == nullptr || !(neigh->state & net::kNudValid)) return kRetNoNeigh;
    std::memcpy(p + kOffDmac, neigh->mac.data(), 6);
    std::memcpy(p + kOffSmac, dev.mac.data(), 6);
    return kRetSuccess;
}

int ipv4_fib_lookup(const net::Host& host, uint8_t* p, uint32_t flags, bool check_mtu) {
    const uint32_t ifindex = get32(p, kOffIfindex);
    const net::Device* in = host.device(ifindex);
    if (in == nullptr) return -ENODEV;
    if (!in->forwarding4) return kRetFwdDisabled;

    net::Flow flow;
    flow.iif = (flags & kOutput) ? kLoopbackIfindex : ifindex;
    flow.oif = (flags & kOutput) ? ifindex : 0;
    flow.dst = net::Ip::from_v4_bytes(p + kOffDst);
    flow.src = net::Ip::from_v4_bytes(p + kOffSrc);
    const std::optional<net::FibResult> res = fib_query(host, p, flags, 4, flow);
    if (!res) return kRetNotFwded;
    if (res->error != 0) return reject_code(res->error);
    const net::Route& route = *res->route;
    if (route.type != net::RouteType::Unicast) return kRetNotFwded;
    const net::Device& out = *host.device(route.ifindex);

    uint32_t mtu = 0;
    if (check_mtu) {
        mtu = std::min(out.mtu, kIpMaxMtu);  // ip_mtu_from_fib_result without metrics or exceptions
        if (get16(p, kOffTotLen) > mtu) {
            put16(p, kOffTotLen, static_cast<uint16_t>(mtu));
            return kRetFragNeeded;
        }
    }
    put32(p, kOffMetric, route.metric);
    put32(p, kOffIfindex, out.ifindex);
    if (flags & kSrc) std::memcpy(p + kOffSrc, host.select_source4(route).bytes.data(), 4);
    if (route.gateway) std::memcpy(p + kOffDst, route.gateway->bytes.data(), 4);
    if (!(flags & kSkipNeigh)) {
        const int rc = neigh_and_macs(host, p, out, net::Ip::from_v4_bytes(p + kOffDst));
        if (rc != kRetSuccess) return rc;
    }
    return set_fwd_params(p, mtu);
}

// rt6_need_strict: multicast, link-local and loopback addresses are never forwarded.
bool need_strict(const net::Ip& ip) {
    static const net::Ip loopback = *net::parse_ip("::1");
    return ip.bytes[0] == 0xff || (ip.bytes[0] == 0xfe && (ip.bytes[1] & 0xc0) == 0x80) || ip == loopback;
}

int ipv6_fib_lookup(const net::Host& host, uint8_t* p, uint32_t flags, bool check_mtu) {
    net::Flow flow;
    flow.dst = net::Ip::from_v6_bytes(p + kOffDst);
    flow.src = net::Ip::from_v6_bytes(p + kOffSrc);
    if (need_strict(flow.dst) || need_strict(flow.src)) return kRetNotFwded;
    const uint32_t ifindex = get32(p, kOffIfindex);
    const net::Device* in = host.device(ifindex);
    if (in == nullptr) return -ENODEV;
    if (!in->has_ipv6() || !in->forwarding6) return kRetFwdDisabled;

    flow.iif = (flags & kOutput) ? kLoopbackIfindex : ifindex;
    flow.oif = (flags & kOutput) ? ifindex : 0;
    flow.prefer_oif = ifindex;
    flow.source_known = !(flags & kOutput);  // RT6_LOOKUP_F_HAS_SADDR only for input lookups
    const std::optional<net::FibResult> res = fib_query(host, p, flags, 6, flow);
    if (!res || res->error != 0) return kRetNotFwded;
    const net::Route& route = *res->route;
    switch (route.type) {
        case net::RouteType::Unicast: break;
        case net::RouteType::Blackhole: return kRetBlackhole;
        case net::RouteType::Unreachable: return kRetUnreachable;
        case net::RouteType::Prohibit: return kRetProhibit;
        default: return kRetNotFwded;
    }
    const net::Device& out = *host.device(route.ifindex);

    uint32_t mtu = 0;
    if (check_mtu) {
        mtu = std::min(std::max(kIpv6MinMtu, out.mtu), kIp6MaxMtu);  // ip6_mtu_from_fib6
        if (get16(p, kOffTotLen) > mtu) {
            put16(p, kOffTotLen, static_cast<uint16_t>(mtu));
            return kRetFragNeeded;
        }
    }
    if (route.gateway) std::memcpy(p + kOffDst, route.gateway->bytes.data(), 16);
    put32(p, kOffMetric, route.metric);
    put32(p, kOffIfindex, out.ifindex);
    if (flags & kSrc) {
        const std::optional<net::Ip> src = route.prefsrc ? route.prefsrc : host.select_source6(out.ifindex, flow.dst);
        if (!src) return kRetNoSrcAddr;
        std::memcpy(p + kOffSrc, src->bytes.data(), 16);
    }
    if (!(flags & kSkipNeigh)) {
        const int rc = neigh_and_macs(host, p, out, net::Ip::from_v6_bytes(p + kOffDst));
        if (rc != kRetSuccess) return rc;
    }
    return set_fwd_params(p, mtu);
}

// The skb's device: skb->dev of a test run is lo unless the context named another.
const net::Device* skb_device(const RunEnv& env, const net::Host& host) {
    const net::Device* dev = env.meta != nullptr ? host.device(env.meta->ifindex) : nullptr;
    return dev != nullptr ? dev : host.device(kLoopbackIfindex);
}

// skb_gso_validate_network_len: every segment's network length fits the MTU.
bool gso_segments_fit(const RunEnv& env, uint32_t mtu) {
    const skb::Packet& packet = *env.packet;
    const int32_t nh = mark_or(packet.network_header(), 14);
    const int32_t th = *packet.transport_header();
    uint32_t l4 = 8;  // UDP
    const uint8_t* d = packet.data();
    const bool ipv4 = env.meta->protocol == kEthPIp;
    const uint8_t proto = nh >= 0 && static_cast<uint32_t>(nh) + 40 <= packet.size() ? d[nh + (ipv4 ? 9 : 6)] : 0;
    if (proto == 6 && th >= 0 && static_cast<uint32_t>(th) + 13 <= packet.size()) l4 = (d[th + 12] >> 4) * 4u;
    return static_cast<uint32_t>(th - nh) + l4 + env.meta->gso_size <= mtu;
}

}  // namespace

uint64_t fib_lookup(uint64_t, uint64_t params, uint64_t plen, uint64_t flags_arg, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    const net::Host& host = host_of(env);
    uint8_t* p = ptr_of(params);
    // `int plen` compared with a size_t: a negative length passes this check in the kernel too.
    if (static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(plen))) < kFibParamsSize) return ret(-EINVAL);
    const uint32_t flags = static_cast<uint32_t>(flags_arg);
    if (flags & ~kFlagsMask) return ret(-EINVAL);
    const bool check_mtu = get16(p, kOffTotLen) != 0;
    int rc = -EAFNOSUPPORT;
    if (p[kOffFamily] == kAfInet) rc = ipv4_fib_lookup(host, p, flags, check_mtu);
    else if (p[kOffFamily] == kAfInet6) rc = ipv6_fib_lookup(host, p, flags, check_mtu);
    if (rc == kRetSuccess && !check_mtu) {
        // Without tot_len the skb itself is checked against the egress device (is_skb_forwardable).
        const net::Device& dev = *host.device(get32(p, kOffIfindex));
        const uint32_t limit = dev.mtu + dev.hard_header_len + kVlanHlen;
        const bool gso = env.meta != nullptr && env.meta->gso_size != 0;
        if (!dev.up || (env.packet->size() > limit && !gso)) rc = kRetFragNeeded;
        put16(p, kOffTotLen, static_cast<uint16_t>(dev.mtu));
    }
    return ret(rc);
}

uint64_t check_mtu(uint64_t, uint64_t ifindex, uint64_t mtu_len_arg, uint64_t len_diff_arg, uint64_t flags,
                   vm::Context* cx) {
    constexpr uint64_t kSegs = 1;  // BPF_MTU_CHK_SEGS
    enum : int { kChkSuccess = 0, kChkFragNeeded = 1, kChkSegsTooBig = 2 };
    RunEnv& env = env_of(cx);
    const net::Host& host = host_of(env);
    uint8_t* mtu_len = ptr_of(mtu_len_arg);
    const int32_t len_diff = static_cast<int32_t>(len_diff_arg);
    const uint32_t requested = get32(mtu_len, 0);
    if (flags & ~kSegs) return ret(-EINVAL);
    if ((flags & kSegs) && (len_diff != 0 || requested != 0)) return ret(-EINVAL);
    const uint32_t index = static_cast<uint32_t>(ifindex);
    const net::Device* dev = index == 0 ? skb_device(env, host) : host.device(index);
    if (dev == nullptr) return ret(-ENODEV);

    // The kernel adds these as ints and its build wraps on overflow (-fno-strict-overflow): the same
    // sums in uint32_t, read back as int32_t, without undefined behaviour (mtu_len 0x7fffffff, ...).
    const int mtu = static_cast<int>(dev->mtu);
    const int32_t dev_len = static_cast<int32_t>(dev->mtu + dev->hard_header_len);
    const uint32_t base = requested != 0 ? requested + dev->hard_header_len : env.packet->size();
    const int32_t skb_len = static_cast<int32_t>(base + static_cast<uint32_t>(len_diff));
    int rc = kChkFragNeeded;
    if (skb_len <= dev_len) {
        rc = kChkSuccess;
    } else if (env.meta->gso_size != 0) {
        // A GSO skb is checked per segment only when asked: it may be segmented on the way out.
        rc = kChkSuccess;
        if (flags & kSegs) {
            if (!env.packet->transport_header()) return ret(-EINVAL);
            if (!gso_segments_fit(env, static_cast<uint32_t>(mtu))) rc = kChkSegsTooBig;
        }
    }
    put32(mtu_len, 0, static_cast<uint32_t>(mtu));
    return ret(rc);
}

}  // namespace tcbpf::helpers::detail
