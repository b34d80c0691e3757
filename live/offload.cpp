// GSO metadata into and out of the pipeline (offload.h).
#include "live/offload.h"

namespace tcbpf::live {

namespace {

struct L4Place {
    uint16_t offset = 0;  // of the TCP/UDP header
    uint8_t proto = 0;
    bool ipv6 = false;
};

uint16_t be16(std::span<const uint8_t> f, size_t at) { return static_cast<uint16_t>(f[at] << 8 | f[at + 1]); }

// Ethernet (with any number of VLAN tags), then IPv4 or IPv6 without extension headers, then TCP/UDP.
bool find_l4(std::span<const uint8_t> f, L4Place& out) {
    size_t at = 12;
    if (f.size() < at + 2) return false;
    uint16_t type = be16(f, at);
    while ((type == 0x8100 || type == 0x88A8) && f.size() >= at + 6) {
        at += 4;
        type = be16(f, at);
    }
    at += 2;
    if (type == 0x0800) {
        if (f.size() < at + 20) return false;
        out.proto = f[at + 9];
        at += (f[at] & 0xf) * 4u;
    } else if (type == 0x86DD) {
        if (f.size() < at + 40) return false;
        out.proto = f[at + 6];
        out.ipv6 = true;
        at += 40;
    } else {
        return false;
    }
    if (out.proto != 6 && out.proto != 17) return false;
    if (f.size() < at + (out.proto == 6 ? 20u : 8u)) return false;
    out.offset = static_cast<uint16_t>(at);
    return true;
}

}  // namespace

skb::SkbMeta arrival_meta(std::span<const uint8_t> frame, const io::FrameMeta& meta) {
    skb::SkbMeta m;
    if (meta.gso == io::Gso::None || meta.gso_size == 0) return m;
    m.gso_size = meta.gso_size;
    const uint32_t payload = frame.size() > meta.hdr_len ? static_cast<uint32_t>(frame.size() - meta.hdr_len) : 0;
    m.gso_segs = static_cast<uint16_t>((payload + meta.gso_size - 1) / meta.gso_size);
    m.ip_summed = skb::ChecksumState::Partial;
    return m;
}

bool transmit_meta(std::span<const uint8_t> frame, const skb::SkbMeta& meta, io::FrameMeta& out) {
    out = io::FrameMeta{};
    if (meta.gso_size == 0) return true;
    L4Place l4;
    if (!find_l4(frame, l4)) return false;
    out.csum_partial = true;
    out.csum_start = l4.offset;
    out.gso_size = meta.gso_size;
    if (l4.proto == 6) {
        out.csum_offset = 16;
        out.hdr_len = static_cast<uint16_t>(l4.offset + (frame[l4.offset + 12] >> 4) * 4u);
        out.gso = l4.ipv6 ? io::Gso::Tcpv6 : io::Gso::Tcpv4;
    } else {
        out.csum_offset = 6;
        out.hdr_len = static_cast<uint16_t>(l4.offset + 8);
        out.gso = io::Gso::UdpL4;
    }
    return out.hdr_len <= frame.size();
}

}  // namespace tcbpf::live
