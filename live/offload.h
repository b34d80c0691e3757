// GSO super-frames through the pipeline. A live port hands a GSO frame over whole (one large TCP/UDP
// frame with its segment size and a partial checksum, as tc programs in the kernel see it); the
// pipeline carries that as skb metadata (gso_size, gso_segs, ip_summed Partial), and on the way out the
// port needs the virtio-net fields back. They are derived from the headers as they are when the frame
// leaves, because a program may have changed them (pushed a VLAN tag, rewritten addresses).
#pragma once

#include <cstdint>
#include <span>

#include "tcbpf/live_port.h"
#include "tcbpf/skb.h"

namespace tcbpf::live {

// The skb metadata a frame arrives with: GSO frames carry their segmentation, others nothing.
skb::SkbMeta arrival_meta(std::span<const uint8_t> frame, const io::FrameMeta& meta);

// What to tell the port about a frame leaving with skb metadata `meta`: nothing for a complete frame,
// GSO type, segment size, header length and the partial checksum's place for a GSO frame. False when a
// GSO frame's headers are not TCP/UDP over IPv4/IPv6 (it cannot be segmented: the caller drops it).
bool transmit_meta(std::span<const uint8_t> frame, const skb::SkbMeta& meta, io::FrameMeta& out);

}  // namespace tcbpf::live
