// Offload work for frames that come and go without a virtio-net header (AF_XDP): the headers alone say
// whether the sender left a checksum unfinished and whether a frame is a GSO super-frame, and a frame
// meant for the kernel to finish or segment is finished or segmented here instead.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "tcbpf/live_port.h"

namespace tcbpf::io::detail {

// A received frame: a TCP/UDP checksum whose field holds exactly the pseudo-header sum (what a sender
// with checksum offload leaves, CHECKSUM_PARTIAL) is finished in place (meta.checksum_completed); a TCP
// frame whose IP packet exceeds `mtu` keeps its partial checksum and gets GSO metadata (segments of
// mtu minus the headers), as the kernel's own metadata would describe it. Other frames are untouched.
void infer_offloads(std::span<uint8_t> frame, uint32_t mtu, FrameMeta& meta);

// A frame to send: calls `emit` with each wire frame it becomes — a GSO frame cut into segments with
// their headers fixed and checksums complete, a partial checksum finished, anything else unchanged.
// `scratch` must hold the frame (a segment is built there). False if the metadata does not fit the
// frame (nothing was emitted).
bool finish_for_wire(std::span<const uint8_t> frame, const FrameMeta& meta, std::span<uint8_t> scratch,
                     const std::function<bool(std::span<const uint8_t>)>& emit);

}  // namespace tcbpf::io::detail
