#include "builder.h"

#include <cstring>

#include "tcbpf/skb.h"

namespace tcbpf::trafficgen {

void put16(Bytes& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& out, uint32_t v) {
    put16(out, static_cast<uint16_t>(v >> 16));
    put16(out, static_cast<uint16_t>(v));
}
void set16(Bytes& out, size_t at, uint16_t v) {
    out[at] = static_cast<uint8_t>(v >> 8);
    out[at + 1] = static_cast<uint8_t>(v);
}

namespace {
// Stores a checksum computed with skb's primitives (little-endian load form) into network bytes.
void store_checksum(Bytes& out, size_t at, uint16_t sum) { std::memcpy(out.data() + at, &sum, 2); }
}  // namespace

Bytes ethernet(const L2& l2, uint16_t ethertype) {
    Bytes out(l2.dst.begin(), l2.dst.end());
    out.insert(out.end(), l2.src.begin(), l2.src.end());
    for (const auto& [tpid, tci] : l2.tags) {
        put16(out, tpid);
        put16(out, tci);
    }
    put16(out, ethertype);
    return out;
}

uint32_t pseudo_sum4(const Ip4& src, const Ip4& dst, uint8_t proto, uint16_t length) {
    Bytes p(src.begin(), src.end());
    p.insert(p.end(), dst.begin(), dst.end());
    p.push_back(0);
    p.push_back(proto);
    put16(p, length);
    return skb::csum_partial(p, 0);
}

uint32_t pseudo_sum6(const Ip6& src, const Ip6& dst, uint8_t proto, uint32_t length) {
    Bytes p(src.begin(), src.end());
    p.insert(p.end(), dst.begin(), dst.end());
    put32(p, length);
    put32(p, proto);
    return skb::csum_partial(p, 0);
}

Bytes l4_segment(const L4& l4, uint32_t pseudo_sum) {
    Bytes out;
    size_t csum_at = 0;
    switch (l4.proto) {
        case kProtoTcp:
            put16(out, l4.sport);
            put16(out, l4.dport);
            put32(out, l4.seq);
            put32(out, (l4.tcp_flags & 0x10) ? l4.seq ^ 0x5a5a5a5a : 0);
            out.push_back(0x50);  // data offset 5 words
            out.push_back(l4.tcp_flags);
            put16(out, 64240);
            csum_at = out.size();
            put16(out, 0);
            put16(out, 0);
            break;
        case kProtoUdp:
            put16(out, l4.sport);
            put16(out, l4.dport);
            put16(out, static_cast<uint16_t>(8 + l4.payload.size()));
            csum_at = out.size();
            put16(out, 0);
            break;
        default:  // ICMP / ICMPv6 echo
            out.push_back(l4.icmp_type);
            out.push_back(0);
            csum_at = out.size();
            put16(out, 0);
            put16(out, l4.sport);  // identifier
            put16(out, static_cast<uint16_t>(l4.seq));
            break;
    }
    out.insert(out.end(), l4.payload.begin(), l4.payload.end());
    uint16_t sum = skb::csum_fold(skb::csum_partial(out, pseudo_sum));
    if (l4.proto == kProtoUdp && sum == 0) sum = 0xffff;  // 0 would mean "no checksum"
    store_checksum(out, csum_at, sum);
    return out;
}

Bytes ipv4_header(const Ip4Header& h, size_t payload_len) {
    Bytes out;
    const size_t header_len = 20 + h.options.size();
    out.push_back(static_cast<uint8_t>(0x40 | (header_len / 4)));
    out.push_back(0);
    put16(out, static_cast<uint16_t>(header_len + payload_len));
    put16(out, h.id);
    put16(out, h.frag_field);
    out.push_back(h.ttl);
    out.push_back(h.proto);
    put16(out, 0);
    out.insert(out.end(), h.src.begin(), h.src.end());
    out.insert(out.end(), h.dst.begin(), h.dst.end());
    out.insert(out.end(), h.options.begin(), h.options.end());
    store_checksum(out, 10, skb::internet_checksum(out));
    return out;
}

Bytes ipv6_header(const Ip6Header& h, size_t payload_len) {
    Bytes out;
    put32(out, 0x60000000u | (h.flow & 0xfffff));
    put16(out, static_cast<uint16_t>(payload_len));
    out.push_back(h.next);
    out.push_back(h.hop_limit);
    out.insert(out.end(), h.src.begin(), h.src.end());
    out.insert(out.end(), h.dst.begin(), h.dst.end());
    return out;
}

Bytes ipv6_ext(uint8_t type, uint8_t next) {
    Bytes out{next, 0};
    if (type == kProtoRouting) {
        // Experimental type 253 (RFC 4727) with no segments left: every node skips it (RFC 8200 4.4).
        out.push_back(253);
        out.push_back(0);
        put32(out, 0);
    } else {
        out.push_back(1);  // PadN option filling the 8 bytes
        out.push_back(4);
        put32(out, 0);
    }
    return out;
}

Bytes ipv6_fragment_ext(uint8_t next, uint16_t offset_units, bool more, uint32_t id) {
    Bytes out{next, 0};
    put16(out, static_cast<uint16_t>((offset_units << 3) | (more ? 1 : 0)));
    put32(out, id);
    return out;
}

}  // namespace tcbpf::trafficgen
