// Partial checksums and virtio-net headers for the live ports.
#include "io/vnet.h"

namespace tcbpf::io {

bool complete_checksum(std::span<uint8_t> frame, uint16_t csum_start, uint16_t csum_offset) {
    const size_t field = static_cast<size_t>(csum_start) + csum_offset;
    if (csum_start >= frame.size() || field + 2 > frame.size()) return false;
    // The field holds the folded pseudo-header sum; summing it with the rest gives the full sum.
    uint32_t sum = 0;
    size_t i = csum_start;
    for (; i + 1 < frame.size(); i += 2) sum += static_cast<uint32_t>(frame[i] << 8 | frame[i + 1]);
    if (i < frame.size()) sum += static_cast<uint32_t>(frame[i] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    uint16_t result = static_cast<uint16_t>(~sum);
    // skb_checksum_help writes a computed 0 as 0xffff (CSUM_MANGLED_0): to UDP, 0 means "no checksum".
    if (result == 0) result = 0xffff;
    frame[field] = static_cast<uint8_t>(result >> 8);
    frame[field + 1] = static_cast<uint8_t>(result);
    return true;
}

namespace detail {

void apply_vnet_header(const virtio_net_hdr& hdr, std::span<uint8_t> frame, FrameMeta& meta) {
    meta.gso = static_cast<Gso>(hdr.gso_type & ~VIRTIO_NET_HDR_GSO_ECN);
    meta.gso_size = hdr.gso_size;
    meta.hdr_len = hdr.hdr_len;
    if (!(hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) return;
    if (meta.gso == Gso::None && complete_checksum(frame, hdr.csum_start, hdr.csum_offset)) {
        meta.checksum_completed = true;
        return;
    }
    meta.csum_partial = true;
    meta.csum_start = hdr.csum_start;
    meta.csum_offset = hdr.csum_offset;
}

virtio_net_hdr vnet_header_for(const FrameMeta& meta) {
    virtio_net_hdr hdr{};
    if (meta.csum_partial) {
        hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        hdr.csum_start = meta.csum_start;
        hdr.csum_offset = meta.csum_offset;
    }
    if (meta.gso != Gso::None) {
        hdr.gso_type = static_cast<uint8_t>(meta.gso);
        hdr.gso_size = meta.gso_size;
        hdr.hdr_len = meta.hdr_len;
    }
    return hdr;
}

}  // namespace detail
}  // namespace tcbpf::io
