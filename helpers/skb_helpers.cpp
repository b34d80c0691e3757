// Helpers about the skb rather than its bytes: time, randomness, CPU, redirects, hashing, packet
// type, and the socket/cgroup/route/tunnel queries whose answer in tcbpf is always the kernel's
// "nothing attached" answer (test runs and tcbpf ports have no sockets, dsts or tunnel metadata).
#include <time.h>

#include <random>

#include "env.h"

namespace tcbpf::helpers::detail {

namespace {

uint64_t clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// The flow a packet belongs to, as far as the headers present tell (the flow dissector's keys).
struct FlowKeys {
    uint8_t addrs[32] = {};
    uint8_t ports[4] = {};
    uint8_t ip_proto = 0;
    bool has_ports = false;
};

FlowKeys dissect(const skb::Packet& packet, uint16_t protocol) {
    FlowKeys keys;
    const uint8_t* p = packet.data();
    const uint32_t size = packet.size();
    uint32_t off = static_cast<uint32_t>(std::max(0, mark_or(packet.network_header(), 14)));
    // One 802.1Q/802.1ad tag in the bytes is looked through, as the dissector does.
    if ((protocol == kEthP8021Q || protocol == kEthP8021AD) && off + 4 <= size) {
        protocol = load_be16(p + off + 2);
        off += 4;
    }
    uint32_t l4 = 0;
    bool fragment = false;
    if (protocol == kEthPIp && off + 20 <= size && (p[off] >> 4) == 4) {
        const uint32_t ihl = (p[off] & 0xf) * 4u;
        std::memcpy(keys.addrs, p + off + 12, 8);
        keys.ip_proto = p[off + 9];
        fragment = (load_be16(p + off + 6) & 0x3fff) != 0;
        l4 = off + ihl;
    } else if (protocol == kEthPIpv6 && off + 40 <= size) {
        std::memcpy(keys.addrs, p + off + 8, 32);
        keys.ip_proto = p[off + 6];
        l4 = off + 40;
    } else {
        return keys;
    }
    const uint8_t proto = keys.ip_proto;
    const bool ported = proto == 6 || proto == 17 || proto == 132 || proto == 136;
    if (ported && !fragment && l4 + 4 <= size) {
        std::memcpy(keys.ports, p + l4, 4);
        keys.has_ports = true;
    }
    return keys;
}

}  // namespace

uint64_t ktime_get_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*) {
    return clock_ns(CLOCK_MONOTONIC);
}

uint64_t ktime_get_boot_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*) {
    return clock_ns(CLOCK_BOOTTIME);
}

uint64_t ktime_get_tai_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*) {
    return clock_ns(CLOCK_TAI);
}

// splitmix64: tiny state, good output, deterministic from a seed. An unseeded run takes its seed from
// a per-thread generator (seeded once from std::random_device), so runs stay cheap and independent.
uint64_t get_prandom_u32(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    if (env.prandom_state == 0) {
        thread_local std::mt19937_64 seeder{(uint64_t{std::random_device{}()} << 32) | std::random_device{}()};
        env.prandom_state = seeder() | 1;
    }
    uint64_t z = (env.prandom_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return static_cast<uint32_t>(z ^ (z >> 31));
}

uint64_t get_smp_processor_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) { return cx->cpu; }

uint64_t get_numa_node_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*) { return 0; }

uint64_t redirect(uint64_t ifindex, uint64_t flags, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    if (flags & ~kFIngress) return kTcActShot;
    skb::SkbMeta& meta = *env_of(cx).meta;
    meta.redirect_ifindex = static_cast<uint32_t>(ifindex);
    meta.redirect_flags = static_cast<uint32_t>(flags);
    return kTcActRedirect;
}

// bpf_redirect_neigh: egress through the neighbour subsystem, optionally towards a given next hop
// (struct bpf_redir_neigh, 20 bytes; its address is not kept: tcbpf has no neighbour tables).
uint64_t redirect_neigh(uint64_t ifindex, uint64_t, uint64_t plen64, uint64_t flags, uint64_t, vm::Context* cx) {
    const auto plen = static_cast<int32_t>(plen64);
    if ((plen != 0 && plen < 20) || flags != 0) return kTcActShot;
    skb::SkbMeta& meta = *env_of(cx).meta;
    meta.redirect_ifindex = static_cast<uint32_t>(ifindex);
    meta.redirect_flags = kRedirectNeigh | (plen != 0 ? kRedirectNexthop : 0);
    return kTcActRedirect;
}

// bpf_redirect_peer: into the ingress of the target's peer device (veth, netkit).
uint64_t redirect_peer(uint64_t ifindex, uint64_t flags, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    if (flags != 0) return kTcActShot;
    skb::SkbMeta& meta = *env_of(cx).meta;
    meta.redirect_ifindex = static_cast<uint32_t>(ifindex);
    meta.redirect_flags = kRedirectPeer;
    return kTcActRedirect;
}

uint64_t clone_redirect(uint64_t, uint64_t ifindex, uint64_t flags, uint64_t, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    if (flags & ~kFIngress) return static_cast<uint64_t>(-EINVAL);
    if (env.clone_redirect == nullptr || !*env.clone_redirect) return static_cast<uint64_t>(-EINVAL);
    // The clone carries what the program wrote so far (mark, priority, ...), not just the run's input.
    skb::SkbMeta snapshot = *env.meta;
    if (env.ctx != nullptr) skb::sync_out(*env.ctx, snapshot);
    const CloneRequest request{static_cast<uint32_t>(ifindex), flags, env.packet, &snapshot};
    return static_cast<uint64_t>((*env.clone_redirect)(request));
}

// skb_get_hash: a stored hash is returned as is; otherwise one is computed from the flow and kept
// (software hash, L4 when ports were found). The kernel keys its hash with a boot-time random
// secret, so only its properties can be matched: same flow, same hash; never 0.
uint64_t get_hash_recalc(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    skb::SkbMeta& meta = *env.meta;
    if (!meta.l4_hash && !meta.sw_hash) {
        const FlowKeys keys = dissect(*env.packet, meta.protocol);
        uint8_t bytes[sizeof keys.addrs + sizeof keys.ports + 1];
        std::memcpy(bytes, keys.addrs, sizeof keys.addrs);
        std::memcpy(bytes + sizeof keys.addrs, keys.ports, sizeof keys.ports);
        bytes[sizeof bytes - 1] = keys.ip_proto;
        const uint64_t h = skb::fnv1a64(bytes);
        const auto folded = static_cast<uint32_t>(h ^ (h >> 32));
        meta.hash = folded != 0 ? folded : 1;
        meta.sw_hash = true;
        meta.l4_hash = keys.has_ports;
        if (env.ctx != nullptr) env.ctx->hash = meta.hash;
    }
    return meta.hash;
}

uint64_t set_hash(uint64_t, uint64_t hash, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    env.meta->hash = static_cast<uint32_t>(hash);
    env.meta->sw_hash = true;
    env.meta->l4_hash = true;
    if (env.ctx != nullptr) env.ctx->hash = env.meta->hash;
    return 0;
}

uint64_t set_hash_invalid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    clear_hash(*env.meta, env.ctx);
    return 0;
}

// bpf_skb_change_type: only between HOST, BROADCAST, MULTICAST and OTHERHOST.
uint64_t skb_change_type(uint64_t, uint64_t type, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    const auto new_type = static_cast<uint32_t>(type);
    if (env.meta->pkt_type > skb::kPacketOtherHost || new_type > skb::kPacketOtherHost)
        return static_cast<uint64_t>(-EINVAL);
    env.meta->pkt_type = static_cast<uint8_t>(new_type);
    if (env.ctx != nullptr) env.ctx->pkt_type = env.meta->pkt_type;
    return 0;
}

// Queries whose subject (socket, cgroup, dst, tunnel) a tcbpf skb never has.
uint64_t get_cgroup_classid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*) { return 0; }
uint64_t get_route_realm(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*) { return 0; }
uint64_t get_socket_cookie(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*) { return 0; }
uint64_t get_socket_uid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*) {
    return 65534;  // overflowuid
}
uint64_t skb_cgroup_classid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*) { return 0; }
uint64_t skb_cgroup_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*) { return 0; }
uint64_t skb_under_cgroup(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*) {
    return static_cast<uint64_t>(-ENOENT);  // no full socket
}

// No tunnel metadata: the kernel zeroes the buffer and answers -EINVAL (key) / -ENOENT (options).
uint64_t skb_get_tunnel_key(uint64_t, uint64_t to, uint64_t size, uint64_t, uint64_t, vm::Context*) {
    std::memset(ptr_of(to), 0, static_cast<uint32_t>(size));
    return static_cast<uint64_t>(-EINVAL);
}
uint64_t skb_get_tunnel_opt(uint64_t, uint64_t to, uint64_t size, uint64_t, uint64_t, vm::Context*) {
    std::memset(ptr_of(to), 0, static_cast<uint32_t>(size));
    return static_cast<uint64_t>(-ENOENT);
}

}  // namespace tcbpf::helpers::detail

namespace tcbpf::helpers::detail {

namespace {

// IP_ECN_set_ce: ECT(0)/ECT(1) become CE with the header checksum patched incrementally; CE stays CE
// (still "set"); Not-ECT cannot be marked.
int64_t ecn_set_ce_ipv4(uint8_t* ip) {
    const uint32_t ecn = (ip[1] + 1u) & 3u;
    if (!(ecn & 2)) return ecn == 0 ? 1 : 0;
    // check += htons(0xFFFB + ecn) as a one's-complement 16-bit addition on the stored field.
    uint16_t check;
    std::memcpy(&check, ip + 10, 2);
    const auto add = static_cast<uint16_t>(to_network16(0xfffb) + to_network16(static_cast<uint16_t>(ecn)));
    auto sum = static_cast<uint16_t>(check + add);
    sum = static_cast<uint16_t>(sum + (sum < add ? 1 : 0));
    std::memcpy(ip + 10, &sum, 2);
    ip[1] |= 3;
    return 1;
}

// IP6_ECN_set_ce: the traffic class straddles the first two bytes.
int64_t ecn_set_ce_ipv6(uint8_t* ip, skb::SkbMeta& meta) {
    const uint8_t dsfield = static_cast<uint8_t>(((ip[0] & 0x0f) << 4) | (ip[1] >> 4));
    if ((dsfield & 3) == 0) return 0;
    uint32_t from;
    std::memcpy(&from, ip, 4);
    ip[1] |= 0x30;
    uint32_t to;
    std::memcpy(&to, ip, 4);
    if (meta.ip_summed == skb::ChecksumState::Complete) meta.csum = skb::csum_add(skb::csum_sub(meta.csum, from), to);
    return 1;
}

}  // namespace

// bpf_skb_ecn_set_ce: 1 if the packet now carries CE, 0 if it cannot (not IP, not ECN-capable,
// header not in the packet).
uint64_t skb_ecn_set_ce(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    skb::Packet& packet = *env.packet;
    uint16_t protocol = env.meta->protocol;
    // vlan_get_protocol: look through tags in the bytes for the protocol behind them.
    uint32_t at = 2 * 6;
    while ((protocol == kEthP8021Q || protocol == kEthP8021AD) && at + 8 <= packet.size()) {
        protocol = static_cast<uint16_t>((packet.data()[at + 4] << 8) | packet.data()[at + 5]);
        at += 4;
    }
    const int32_t network = mark_or(packet.network_header(), 0);
    if (network < 0) return 0;
    uint8_t* ip = packet.data() + network;
    if (protocol == kEthPIp && uint64_t(network) + 20 <= packet.size()) return static_cast<uint64_t>(ecn_set_ce_ipv4(ip));
    if (protocol == kEthPIpv6 && uint64_t(network) + 40 <= packet.size())
        return static_cast<uint64_t>(ecn_set_ce_ipv6(ip, *env.meta));
    return 0;
}

// bpf_skb_set_tstamp: realtime (0), monotonic (1) or TAI (2) delivery time, IP packets only.
uint64_t skb_set_tstamp(uint64_t, uint64_t tstamp, uint64_t type64, uint64_t, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    const auto type = static_cast<uint32_t>(type64);
    if (env.meta->protocol != kEthPIp && env.meta->protocol != kEthPIpv6) return static_cast<uint64_t>(-EOPNOTSUPP);
    if (type > 2) return static_cast<uint64_t>(-EINVAL);
    if (type != 0 && tstamp == 0) return static_cast<uint64_t>(-EINVAL);
    env.meta->tstamp = tstamp;
    env.meta->tstamp_type = static_cast<uint8_t>(type);
    if (env.ctx != nullptr) {
        env.ctx->tstamp = tstamp;
        env.ctx->tstamp_type = static_cast<uint8_t>(type);
    }
    return 0;
}

// bpf_skb_get_xfrm_state: no IPsec state on tcbpf skbs — the kernel then clears the buffer, -EINVAL.
uint64_t skb_get_xfrm_state(uint64_t, uint64_t, uint64_t to, uint64_t size, uint64_t, vm::Context*) {
    std::memset(ptr_of(to), 0, static_cast<uint32_t>(size));
    return static_cast<uint64_t>(-EINVAL);
}

}  // namespace tcbpf::helpers::detail
