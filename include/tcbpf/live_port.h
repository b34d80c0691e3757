// Live ports: where tcbpf meets real interfaces. A Port hands over received frames in batches and
// sends batches; what is behind it is an AF_PACKET socket bound to an interface (a TPACKET_V3
// memory-mapped receive ring, batched sendmmsg, optional PACKET_FANOUT so N workers share one
// interface), an AF_XDP socket on one of its queues (through libxdp), or a TAP device tcbpf owns (what
// the host sends into it arrives here; what tcbpf sends into it arrives in the host's stack).
//
// Offloads stay on: frames from veth/TAP devices may carry unfinished checksums (the sender's
// checksum offload, CHECKSUM_PARTIAL). AF_PACKET and TAP ports ask for the virtio-net header, AF_XDP
// ports recognise such frames from their headers; all complete such checksums before a frame is
// handed over, so programs always see correct packets. A GSO frame (one large TCP/UDP frame the kernel
// would segment later, as tc programs see it too) is handed over whole with its segmentation metadata
// and its checksum left partial; transmit() passes that metadata back to the kernel, which segments
// and finishes it (an AF_XDP port segments and finishes it itself).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace tcbpf::io {

// GSO types (virtio_net.h VIRTIO_NET_HDR_GSO_*).
enum class Gso : uint8_t { None = 0, Tcpv4 = 1, Udp = 3, Tcpv6 = 4, UdpL4 = 5 };

struct FrameMeta {
    uint64_t timestamp_ns = 0;  // CLOCK_REALTIME as the kernel stamped it (0 on TAP and AF_XDP ports)
    uint32_t wire_len = 0;      // length on the wire (≥ bytes.size() if the frame was cut)
    uint32_t ifindex = 0;
    uint8_t pkt_type = 0;       // PACKET_HOST, PACKET_BROADCAST, ... (uapi if_packet.h)
    bool vlan_present = false;  // an accelerated VLAN tag that is not in the bytes
    uint16_t vlan_tci = 0;
    uint16_t vlan_tpid = 0;
    bool checksum_completed = false;  // tcbpf finished a partial checksum in the bytes
    // A partial checksum still to be finished (GSO frames): the sum over [csum_start, end) goes at
    // csum_start + csum_offset. csum_partial false: the checksums in the bytes are complete.
    bool csum_partial = false;
    uint16_t csum_start = 0, csum_offset = 0;
    Gso gso = Gso::None;
    uint16_t gso_size = 0;  // payload bytes per segment
    uint16_t hdr_len = 0;   // header bytes before the payload of each segment
};

struct RxFrame {
    std::span<uint8_t> bytes;  // valid until the next receive() on the same port
    FrameMeta meta;
};

struct TxFrame {
    std::span<const uint8_t> bytes;
    // Only the checksum and GSO fields are read: a frame with csum_partial or gso set is sent with a
    // virtio-net header asking the kernel to finish it.
    FrameMeta meta;
};

class Port {
   public:
    virtual ~Port() = default;
    // Appends up to `max` frames to `out`, waiting up to `timeout_ms` for the first (0: don't wait,
    // -1: wait forever). Frames handed out by the previous call are released first.
    virtual size_t receive(std::vector<RxFrame>& out, size_t max, int timeout_ms) = 0;
    // Sends frames in order; returns how many the kernel took (the rest would have blocked or failed).
    virtual size_t transmit(std::span<const TxFrame> frames) = 0;
    virtual const std::string& name() const = 0;
    virtual uint32_t ifindex() const = 0;
    virtual int fd() const = 0;  // for poll()
};

struct AfPacketOptions {
    std::string device;
    // Ring geometry: `block_count` blocks of `block_size` bytes (a multiple of the page size, large
    // enough for the largest GSO frame); a block is handed over when full or after `block_timeout_ms`.
    uint32_t block_size = 1u << 18;
    uint32_t block_count = 32;
    uint32_t block_timeout_ms = 2;
    // 0: no fanout. Otherwise sockets opened with the same group id on the same interface share its
    // traffic, each flow (by hash) going to one of them.
    uint16_t fanout_group = 0;
    // Transmit through a memory-mapped TX ring of this many 2 KiB slots (a multiple of 8; frames that
    // do not fit a slot are sent with sendmmsg, in order), or 0: sendmmsg batches only.
    uint32_t tx_ring_slots = 0;
};

// Opens and binds an AF_PACKET port; throws tcbpf::Error naming the device and the failing step
// ("no such interface", "needs CAP_NET_RAW", ...).
std::unique_ptr<Port> open_afpacket(const AfPacketOptions& options);
// `workers` AF_PACKET ports on one interface in one fanout group of their own (hash fanout).
std::vector<std::unique_ptr<Port>> open_afpacket_workers(const AfPacketOptions& options, unsigned workers);

// AF_XDP: an XDP socket on one receive queue of the interface, its frames in a UMEM of this port's own
// (4 KiB chunks: half stocked on the fill ring for receiving, half for transmitting), through Debian's
// libxdp (which attaches its redirect-to-socket program to the interface and detaches it with the last
// socket). Copy mode: veth and most drivers offer no zero-copy, and copying is what makes frames ours.
// Frames carry no virtio-net header, so the port recognises unfinished checksums (the sender's offload:
// the field holds the pseudo-header sum) and finishes them, and hands TCP frames larger than the
// interface's MTU (GSO super-frames, which generic XDP passes whole) over with GSO metadata derived
// from the headers. Frames larger than a chunk arrive in pieces (multi-buffer) and are joined.
enum class XdpMode : uint8_t {
    Generic,  // XDP_FLAGS_SKB_MODE: works on every interface (veth, TAP, any driver)
    Native,   // XDP_FLAGS_DRV_MODE: the driver runs the program (veth has it; fails where absent)
    Auto,     // native where the driver has it, else generic
};

struct AfXdpOptions {
    std::string device;
    uint32_t queue = 0;  // the receive queue this socket serves
    XdpMode mode = XdpMode::Auto;
    uint32_t ring_size = 2048;  // descriptors per ring (a power of two); the UMEM has 2 x ring_size chunks
};

// Opens an AF_XDP port; throws tcbpf::Error naming the device and the failing step.
std::unique_ptr<Port> open_afxdp(const AfXdpOptions& options);
// `workers` AF_XDP ports covering every receive queue of the interface (it needs at least `workers`;
// a veth gets them with `numrxqueues N numtxqueues N`): worker w serves queues w, w + workers, ...,
// so no queue's traffic bypasses tcbpf; the NIC's (or veth's) queue choice spreads flows. On a veth
// only native mode spreads them: generic XDP there sees every frame on queue 0.
std::vector<std::unique_ptr<Port>> open_afxdp_workers(const AfXdpOptions& options, unsigned workers);

struct TapOptions {
    std::string name;  // the TAP device to create (or attach to, if it exists and is a TAP)
};
// Creates the TAP device and opens it; the device is left down (the host brings it up and addresses
// it). Throws tcbpf::Error.
std::unique_ptr<Port> open_tap(const TapOptions& options);

// Finishes a partial checksum in place: the 16-bit field at csum_start + csum_offset holds the
// pseudo-header sum, the Internet checksum of [csum_start, end) replaces it. False if the offsets
// fall outside the frame (the frame is then left alone).
bool complete_checksum(std::span<uint8_t> frame, uint16_t csum_start, uint16_t csum_offset);

}  // namespace tcbpf::io
