// Checksum and segmentation offloads recognised and done from the headers alone (io/frame_offload.h).
#include "io/frame_offload.h"

#include <cstring>
#include <optional>

namespace tcbpf::io::detail {

namespace {

uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void store16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
uint32_t add_words(const uint8_t* p, size_t n, uint32_t sum = 0) {
    size_t i = 0;
    for (; i + 1 < n; i += 2) sum += load16(p + i);
    if (i < n) sum += static_cast<uint32_t>(p[i] << 8);
    return sum;
}
uint16_t fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// Where an Ethernet frame's IPv4/IPv6 TCP or UDP header sits (VLAN tags skipped; no IPv4 fragments,
// no IPv6 extension headers: the kernel's checksum offload covers exactly these shapes here).
struct Layout {
    size_t l3 = 0, l4 = 0, end = 0;  // offsets; `end` closes the IP packet (Ethernet padding excluded)
    bool ipv6 = false;
    uint8_t proto = 0;
    uint16_t csum_offset = 0;  // of the checksum field within the L4 header
    size_t header_end = 0;     // first payload byte
};

std::optional<Layout> parse(std::span<const uint8_t> f) {
    Layout l;
    size_t off = 12;
    if (f.size() < off + 2) return std::nullopt;
    uint16_t type = load16(&f[off]);
    for (int tags = 0; (type == 0x8100 || type == 0x88a8) && tags < 2; ++tags) {
        off += 4;
        if (f.size() < off + 2) return std::nullopt;
        type = load16(&f[off]);
    }
    l.l3 = off + 2;
    if (type == 0x0800) {
        if (f.size() < l.l3 + 20 || (f[l.l3] >> 4) != 4) return std::nullopt;
        const size_t ihl = (f[l.l3] & 0xfu) * 4u;
        if (ihl < 20 || (load16(&f[l.l3 + 6]) & 0x3fff) != 0) return std::nullopt;
        l.proto = f[l.l3 + 9];
        l.l4 = l.l3 + ihl;
        l.end = l.l3 + load16(&f[l.l3 + 2]);
    } else if (type == 0x86dd) {
        if (f.size() < l.l3 + 40 || (f[l.l3] >> 4) != 6) return std::nullopt;
        l.ipv6 = true;
        l.proto = f[l.l3 + 6];
        l.l4 = l.l3 + 40;
        l.end = l.l4 + load16(&f[l.l3 + 4]);
    } else {
        return std::nullopt;
    }
    if (l.end > f.size()) return std::nullopt;
    if (l.proto == 6) {
        if (l.end < l.l4 + 20) return std::nullopt;
        l.csum_offset = 16;
        l.header_end = l.l4 + (f[l.l4 + 12] >> 4) * 4u;
        if (l.header_end < l.l4 + 20 || l.header_end > l.end) return std::nullopt;
    } else if (l.proto == 17) {
        if (l.end < l.l4 + 8) return std::nullopt;
        l.csum_offset = 6;
        l.header_end = l.l4 + 8;
    } else {
        return std::nullopt;
    }
    return l;
}

// The pseudo-header sum (addresses, protocol, L4 length) the checksum covers besides the L4 bytes.
uint32_t pseudo_sum(std::span<const uint8_t> f, const Layout& l, size_t l4_len) {
    const uint32_t sum = l.ipv6 ? add_words(&f[l.l3 + 8], 32) : add_words(&f[l.l3 + 12], 8);
    return sum + l.proto + static_cast<uint32_t>(l4_len >> 16) + static_cast<uint32_t>(l4_len & 0xffff);
}

// Writes the complete L4 checksum of [l4, end) (pseudo-header included) into its field.
void write_l4_checksum(std::span<uint8_t> f, const Layout& l) {
    uint8_t* field = &f[l.l4 + l.csum_offset];
    store16(field, 0);
    uint16_t sum = static_cast<uint16_t>(~fold(add_words(&f[l.l4], l.end - l.l4, pseudo_sum(f, l, l.end - l.l4))));
    if (sum == 0 && l.proto == 17) sum = 0xffff;  // to UDP, 0 means "no checksum"
    store16(field, sum);
}

}  // namespace

void infer_offloads(std::span<uint8_t> frame, uint32_t mtu, FrameMeta& meta) {
    const std::optional<Layout> l = parse(frame);
    if (!l) return;
    const uint16_t field = load16(&frame[l->l4 + l->csum_offset]);
    if (l->proto == 17 && !l->ipv6 && field == 0) return;  // sent without a checksum
    const size_t l4_len = l->end - l->l4;
    const uint32_t pseudo = pseudo_sum(frame, *l, l4_len);
    // Only a field holding exactly the pseudo-header sum can be unfinished; anything else is complete
    // or wrong, and left as it came (as the kernel would). So the common case sums no payload.
    if (field != fold(pseudo)) return;
    if (fold(add_words(&frame[l->l4], l4_len, pseudo)) == 0xffff) return;  // complete after all (1 in 65536)
    const size_t headers = l->header_end - l->l3;
    if (l->proto == 6 && l->end - l->l3 > mtu && mtu > headers) {
        meta.gso = l->ipv6 ? Gso::Tcpv6 : Gso::Tcpv4;
        meta.gso_size = static_cast<uint16_t>(mtu - headers);
        meta.hdr_len = static_cast<uint16_t>(l->header_end);
        meta.csum_partial = true;
        meta.csum_start = static_cast<uint16_t>(l->l4);
        meta.csum_offset = l->csum_offset;
        return;
    }
    meta.checksum_completed = complete_checksum(frame.first(l->end), static_cast<uint16_t>(l->l4), l->csum_offset);
}

bool finish_for_wire(std::span<const uint8_t> frame, const FrameMeta& meta, std::span<uint8_t> scratch,
                     const std::function<bool(std::span<const uint8_t>)>& emit) {
    if (scratch.size() < frame.size()) return false;
    if (meta.gso == Gso::None) {
        if (!meta.csum_partial) return emit(frame);
        std::memcpy(scratch.data(), frame.data(), frame.size());
        if (!complete_checksum(scratch.first(frame.size()), meta.csum_start, meta.csum_offset)) return false;
        return emit(scratch.first(frame.size()));
    }
    const std::optional<Layout> l = parse(frame);
    const bool tcp = meta.gso == Gso::Tcpv4 || meta.gso == Gso::Tcpv6;
    if (!l || meta.gso_size == 0 || (tcp ? l->proto != 6 : l->proto != 17) || l->header_end >= l->end) return false;
    const size_t header = l->header_end, payload = l->end - header;
    const uint32_t seq = static_cast<uint32_t>(load16(&frame[l->l4 + 4]) << 16 | load16(&frame[l->l4 + 6]));
    const uint16_t ip_id = l->ipv6 ? 0 : load16(&frame[l->l3 + 4]);
    const uint8_t tcp_flags = tcp ? frame[l->l4 + 13] : 0;
    for (size_t done = 0, index = 0; done < payload; done += meta.gso_size, ++index) {
        const size_t chunk = std::min<size_t>(meta.gso_size, payload - done);
        const bool first = done == 0, last = done + chunk == payload;
        std::memcpy(scratch.data(), frame.data(), header);
        std::memcpy(scratch.data() + header, frame.data() + header + done, chunk);
        Layout s = *l;
        s.end = header + chunk;
        std::span<uint8_t> seg = scratch.first(s.end);
        if (s.ipv6) {
            store16(&seg[s.l3 + 4], static_cast<uint16_t>(s.end - s.l4));
        } else {
            // Total length, one IP id per segment (as the kernel's segmentation counts them), header sum.
            store16(&seg[s.l3 + 2], static_cast<uint16_t>(s.end - s.l3));
            store16(&seg[s.l3 + 4], static_cast<uint16_t>(ip_id + index));
            store16(&seg[s.l3 + 10], 0);
            store16(&seg[s.l3 + 10], static_cast<uint16_t>(~fold(add_words(&seg[s.l3], s.l4 - s.l3))));
        }
        if (tcp) {
            const uint32_t n = seq + static_cast<uint32_t>(done);
            store16(&seg[s.l4 + 4], static_cast<uint16_t>(n >> 16));
            store16(&seg[s.l4 + 6], static_cast<uint16_t>(n));
            // FIN and PSH belong to the last segment, CWR to the first (tcp_gso_segment does the same).
            uint8_t flags = tcp_flags;
            if (!last) flags &= static_cast<uint8_t>(~0x09);
            if (!first) flags &= static_cast<uint8_t>(~0x80);
            seg[s.l4 + 13] = flags;
        } else {
            store16(&seg[s.l4 + 4], static_cast<uint16_t>(s.end - s.l4));
        }
        write_l4_checksum(seg, s);
        if (!emit(seg)) return false;
    }
    return true;
}

}  // namespace tcbpf::io::detail
