// The virtio-net header both live port types exchange with the kernel (PACKET_VNET_HDR, IFF_VNET_HDR):
// how a received one becomes FrameMeta (finishing a partial checksum unless the frame is GSO) and how
// a frame to send gets one.
#pragma once

#include <cstdint>

#include "tcbpf/live_port.h"

namespace tcbpf::io::detail {

// struct virtio_net_hdr (linux/virtio_net.h, which C++ cannot include: a member is named `class`),
// little-endian as packet sockets and TAP devices use it on x86.
struct virtio_net_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
};
static_assert(sizeof(virtio_net_hdr) == 10);
inline constexpr uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
inline constexpr uint8_t VIRTIO_NET_HDR_GSO_ECN = 0x80;

// Fills meta's checksum/GSO fields from `hdr`, completing a non-GSO frame's partial checksum in place.
void apply_vnet_header(const virtio_net_hdr& hdr, std::span<uint8_t> frame, FrameMeta& meta);
// The header that asks the kernel to finish what `meta` says is unfinished (all zero otherwise).
virtio_net_hdr vnet_header_for(const FrameMeta& meta);

}  // namespace tcbpf::io::detail
