// Helpers that insert or remove headers inside the packet: VLAN push/pop, IPv4<->IPv6 header room
// (skb_change_proto) and skb_adjust_room. They follow the kernel's order of operations, including
// which header marks move: bytes in front of the change travel to the new start of the packet
// (bpf_skb_generic_push/pop), the rest stay where they are.
#include "env.h"

namespace tcbpf::helpers::detail {

namespace {

constexpr uint32_t kEthAlen = 6;
constexpr uint32_t kEthHlen = 14;
constexpr uint32_t kVlanHlen = 4;

bool is_vlan_proto(uint16_t proto) { return proto == kEthP8021Q || proto == kEthP8021AD; }

uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
void store_be16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

// skb->mac_len as skb_reset_mac_len leaves it.
int32_t mac_len(const skb::Packet& packet) {
    return mark_or(packet.network_header(), 0) - mark_or(packet.mac_header(), 0);
}

// bpf_push_mac_rcsum / bpf_pull_mac_rcsum: at tc ingress the MAC header is outside a CHECKSUM_COMPLETE
// sum, so VLAN helpers add it before changing it and take it out again afterwards.
void push_mac_rcsum(RunEnv& env) {
    if (!env.tc_ingress) return;
    const int32_t mac = mark_or(env.packet->mac_header(), 0);
    postpush_rcsum(*env.meta, env.packet->data() + mac, static_cast<uint32_t>(mac_len(*env.packet)), 0);
}
void pull_mac_rcsum(RunEnv& env) {
    if (!env.tc_ingress) return;
    const int32_t mac = mark_or(env.packet->mac_header(), 0);
    postpull_rcsum(*env.meta, env.packet->data() + mac, static_cast<uint32_t>(mac_len(*env.packet)), 0);
}

// __vlan_insert_tag on a packet whose MAC header is at data: the addresses move 4 bytes to the front
// and the tag goes between them and the ethertype.
int insert_tag(RunEnv& env, uint16_t proto, uint16_t tci) {
    skb::Packet& packet = *env.packet;
    const int32_t network = mark_or(packet.network_header(), 0);
    packet.insert_gap(2 * kEthAlen, kVlanHlen);
    packet.set_network_header(network + static_cast<int32_t>(kVlanHlen));  // the bytes behind did not move
    packet.set_mac_header(0);
    store_be16(packet.data() + 2 * kEthAlen, proto);
    store_be16(packet.data() + 2 * kEthAlen + 2, tci);
    return 0;
}

// __skb_vlan_pop: removes the tag that follows the addresses, returning its TCI.
int remove_tag(RunEnv& env, uint16_t* tci) {
    skb::Packet& packet = *env.packet;
    if (mark_or(packet.mac_header(), 0) != 0) return -EINVAL;
    if (packet.size() < kEthHlen + kVlanHlen) return -ENOMEM;
    postpull_rcsum(*env.meta, packet.data() + 2 * kEthAlen, kVlanHlen, 0);
    *tci = load_be16(packet.data() + kEthHlen);
    const uint16_t inner = load_be16(packet.data() + kEthHlen + 2);
    // vlan_set_encap_proto: an ethertype, or 802.3/802.2 framing for length values.
    if (inner >= 0x600) env.meta->protocol = inner;
    else if (packet.size() >= kEthHlen + kVlanHlen + 2 && load_be16(packet.data() + kEthHlen + kVlanHlen) == 0xffff)
        env.meta->protocol = 0x0001;  // ETH_P_802_3
    else env.meta->protocol = 0x0004;  // ETH_P_802_2
    const int32_t network = mark_or(packet.network_header(), 0);
    packet.remove_gap(2 * kEthAlen, kVlanHlen);
    packet.set_mac_header(0);
    const int32_t moved_network = network - static_cast<int32_t>(kVlanHlen);
    packet.set_network_header(moved_network < static_cast<int32_t>(kEthHlen) ? static_cast<int32_t>(kEthHlen)
                                                                             : moved_network);
    return 0;
}

int vlan_push(RunEnv& env, uint16_t proto, uint16_t tci) {
    skb::SkbMeta& meta = *env.meta;
    if (meta.vlan_present) {
        // The accelerated tag goes into the bytes; the new one takes its place.
        if (mark_or(env.packet->mac_header(), 0) != 0) return -EINVAL;
        insert_tag(env, meta.vlan_proto, meta.vlan_tci);
        meta.protocol = meta.vlan_proto;
        postpush_rcsum(meta, env.packet->data() + 2 * kEthAlen, kVlanHlen, 0);
    }
    meta.vlan_present = true;
    meta.vlan_proto = proto;
    meta.vlan_tci = tci;
    return 0;
}

int vlan_pop(RunEnv& env) {
    skb::SkbMeta& meta = *env.meta;
    uint16_t tci = 0;
    if (meta.vlan_present) {
        meta.vlan_present = false;
        meta.vlan_tci = 0;
        meta.vlan_proto = 0;
    } else {
        if (!is_vlan_proto(meta.protocol)) return 0;
        if (int err = remove_tag(env, &tci)) return err;
    }
    // A further tag in the bytes becomes the accelerated one.
    if (!is_vlan_proto(meta.protocol)) return 0;
    const uint16_t proto = meta.protocol;
    if (int err = remove_tag(env, &tci)) return err;
    meta.vlan_present = true;
    meta.vlan_proto = proto;
    meta.vlan_tci = tci;
    return 0;
}

// bpf_skb_net_hdr_push / _pop: room at `off`; MAC and network marks travel with the front bytes, a
// transport mark equal to the network mark follows it.
int net_hdr_push(skb::Packet& packet, uint32_t off, uint32_t len) {
    const int32_t mac = mark_or(packet.mac_header(), 0);
    const int32_t network = mark_or(packet.network_header(), 0);
    const std::optional<int32_t> transport = packet.transport_header();
    const bool trans_same = transport && *transport == network;
    if (!packet.insert_gap(off, len)) return -EFAULT;
    packet.set_mac_header(mac);
    packet.set_network_header(network);
    if (trans_same) packet.set_transport_header(network);
    return 0;
}

int net_hdr_pop(RunEnv& env, uint32_t off, uint32_t len) {
    skb::Packet& packet = *env.packet;
    if (uint64_t{off} + len > packet.size()) return -ENOMEM;
    const int32_t mac = mark_or(packet.mac_header(), 0);
    const int32_t network = mark_or(packet.network_header(), 0);
    const std::optional<int32_t> transport = packet.transport_header();
    const bool trans_same = transport && *transport == network;
    postpull_rcsum(*env.meta, packet.data() + off, len, 0);
    packet.remove_gap(off, len);
    packet.set_mac_header(mac);
    packet.set_network_header(network);
    if (trans_same) packet.set_transport_header(network);
    return 0;
}

int change_proto(RunEnv& env, uint16_t to_proto, uint64_t flags) {
    if (flags != 0) return -EINVAL;
    skb::SkbMeta& meta = *env.meta;
    constexpr uint32_t kDiff = 40 - 20;  // ipv6hdr - iphdr
    const auto off = static_cast<uint32_t>(mac_len(*env.packet));
    int err;
    if (meta.protocol == kEthPIp && to_proto == kEthPIpv6) {
        err = net_hdr_push(*env.packet, off, kDiff);
    } else if (meta.protocol == kEthPIpv6 && to_proto == kEthPIp) {
        err = net_hdr_pop(env, off, kDiff);
    } else {
        return -kENOTSUPP;
    }
    if (err) return err;
    meta.protocol = to_proto;
    clear_hash(meta, env.ctx);
    return 0;
}

// BPF_F_ADJ_ROOM_* flags.
constexpr uint64_t kAdjFixedGso = 1;
constexpr uint64_t kAdjEncapL3Ipv4 = 2;
constexpr uint64_t kAdjEncapL3Ipv6 = 4;
constexpr uint64_t kAdjEncapL4Gre = 8;
constexpr uint64_t kAdjEncapL4Udp = 0x10;
constexpr uint64_t kAdjNoCsumReset = 0x20;
constexpr uint64_t kAdjEncapL2Eth = 0x40;
constexpr uint64_t kAdjDecapL3Ipv4 = 0x80;
constexpr uint64_t kAdjDecapL3Ipv6 = 0x100;
constexpr uint64_t kAdjEncapL3Mask = kAdjEncapL3Ipv4 | kAdjEncapL3Ipv6;
constexpr uint64_t kAdjDecapL3Mask = kAdjDecapL3Ipv4 | kAdjDecapL3Ipv6;
constexpr uint64_t kAdjEncapL2Mask = 0xffull << 56;
constexpr uint64_t kAdjMask = kAdjFixedGso | kAdjEncapL3Mask | kAdjEncapL4Gre | kAdjEncapL4Udp | kAdjEncapL2Eth |
                              kAdjEncapL2Mask | kAdjDecapL3Mask;
constexpr uint32_t kSkbMaxLen = 16384 - 320;

uint32_t net_base_len(uint16_t protocol) {
    if (protocol == kEthPIp) return 20;
    if (protocol == kEthPIpv6) return 40;
    return 0;
}

int net_grow(RunEnv& env, uint32_t off, uint32_t len, uint64_t flags) {
    skb::Packet& packet = *env.packet;
    skb::SkbMeta& meta = *env.meta;
    const bool encap = flags & kAdjEncapL3Mask;
    const auto inner_mac_len = static_cast<uint32_t>(flags >> 56);
    int32_t outer_mac_len = 0;
    if (encap) {
        if ((flags & kAdjEncapL3Ipv4) && (flags & kAdjEncapL3Ipv6)) return -EINVAL;
        if ((flags & kAdjEncapL4Gre) && (flags & kAdjEncapL4Udp)) return -EINVAL;
        if ((flags & kAdjEncapL2Eth) && inner_mac_len != kEthHlen) return -EINVAL;
        if (env.encapsulation) return -EALREADY;
        outer_mac_len = mac_len(packet);
        if (inner_mac_len > len) return -EINVAL;
    }
    if (int err = net_hdr_push(packet, off, len)) return err;
    if (encap) {
        env.encapsulation = true;
        packet.set_network_header(outer_mac_len);  // data-relative, as skb_set_network_header
        if (flags & (kAdjEncapL4Gre | kAdjEncapL4Udp)) {
            const int32_t nh_len = (flags & kAdjEncapL3Ipv6) ? 40 : 20;
            packet.set_transport_header(outer_mac_len + nh_len);
        }
        if (meta.protocol == kEthPIp && (flags & kAdjEncapL3Ipv6)) meta.protocol = kEthPIpv6;
        else if (meta.protocol == kEthPIpv6 && (flags & kAdjEncapL3Ipv4)) meta.protocol = kEthPIp;
    }
    return 0;
}

int net_shrink(RunEnv& env, uint32_t off, uint32_t len, uint64_t flags) {
    if (flags & ~(kAdjFixedGso | kAdjDecapL3Mask | kAdjNoCsumReset)) return -EINVAL;
    if (int err = net_hdr_pop(env, off, len)) return err;
    skb::SkbMeta& meta = *env.meta;
    if (meta.protocol == kEthPIp && (flags & kAdjDecapL3Ipv6)) meta.protocol = kEthPIpv6;
    else if (meta.protocol == kEthPIpv6 && (flags & kAdjDecapL3Ipv4)) meta.protocol = kEthPIp;
    return 0;
}

int adjust_room(RunEnv& env, int32_t len_diff, uint32_t mode, uint64_t flags) {
    skb::Packet& packet = *env.packet;
    const uint32_t diff_abs = len_diff < 0 ? 0u - static_cast<uint32_t>(len_diff) : static_cast<uint32_t>(len_diff);
    uint32_t len_min = net_base_len(env.meta->protocol);
    const bool shrink = len_diff < 0;
    if (flags & ~(kAdjMask | kAdjNoCsumReset)) return -EINVAL;
    if (diff_abs > 0xfff) return -EFAULT;
    if (env.meta->protocol != kEthPIp && env.meta->protocol != kEthPIpv6) return -kENOTSUPP;
    auto off = static_cast<uint32_t>(mac_len(packet));
    if (mode == 0) off += len_min;  // BPF_ADJ_ROOM_NET
    else if (mode != 1) return -kENOTSUPP;  // BPF_ADJ_ROOM_MAC
    if (flags & kAdjDecapL3Mask) {
        if (!shrink) return -EINVAL;
        switch (flags & kAdjDecapL3Mask) {
            case kAdjDecapL3Ipv4: len_min = 20; break;
            case kAdjDecapL3Ipv6: len_min = 40; break;
            default: return -EINVAL;
        }
    }
    const uint32_t len_cur = packet.size() - static_cast<uint32_t>(mark_or(packet.network_header(), 0));
    if ((shrink && (diff_abs >= len_cur || len_cur - diff_abs < len_min)) ||
        (!shrink && packet.size() + diff_abs > kSkbMaxLen))
        return -kENOTSUPP;
    const int err = shrink ? net_shrink(env, off, diff_abs, flags) : net_grow(env, off, diff_abs, flags);
    if (err == 0 && !(flags & kAdjNoCsumReset)) reset_checksum_unnecessary(*env.meta);
    return err;
}

}  // namespace

uint64_t skb_vlan_push(uint64_t, uint64_t proto64, uint64_t tci, uint64_t, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    // The protocol arrives in network order; anything but 802.1Q / 802.1ad becomes 802.1Q.
    uint16_t proto = to_network16(static_cast<uint16_t>(proto64));
    if (!is_vlan_proto(proto)) proto = kEthP8021Q;
    push_mac_rcsum(env);
    const int err = vlan_push(env, proto, static_cast<uint16_t>(tci));
    pull_mac_rcsum(env);
    refresh_packet_view(env, cx);
    refresh_l2_view(env);
    return static_cast<uint64_t>(int64_t{err});
}

uint64_t skb_vlan_pop(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    push_mac_rcsum(env);
    const int err = vlan_pop(env);
    pull_mac_rcsum(env);
    refresh_packet_view(env, cx);
    refresh_l2_view(env);
    return static_cast<uint64_t>(int64_t{err});
}

uint64_t skb_change_proto(uint64_t, uint64_t proto, uint64_t flags, uint64_t, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    const int err = change_proto(env, to_network16(static_cast<uint16_t>(proto)), flags);
    refresh_packet_view(env, cx);
    refresh_l2_view(env);
    return static_cast<uint64_t>(int64_t{err});
}

uint64_t skb_adjust_room(uint64_t, uint64_t len_diff, uint64_t mode, uint64_t flags, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    const int err = adjust_room(env, static_cast<int32_t>(len_diff), static_cast<uint32_t>(mode), flags);
    refresh_packet_view(env, cx);
    refresh_l2_view(env);
    return static_cast<uint64_t>(int64_t{err});
}

}  // namespace tcbpf::helpers::detail
