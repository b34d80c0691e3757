// The packet and socket-buffer model tc programs run against.
//
// Linux hands a tc program an skb: a linear buffer with headroom and tailroom, header marks, and
// metadata (mark, priority, hash, ...). Programs see it through `struct __sk_buff`, a 192-byte *virtual*
// struct whose loads and stores the kernel rewrites into accesses of the real skb. tcbpf does the same:
//   * `Packet`      — the bytes, with headroom/tailroom, header marks and the data_meta area;
//   * `SkbMeta`     — everything else the skb carries, in kernel widths (tc_index is 16-bit, ...);
//   * `kSkbFields`  — the uapi layout as data, with `check_ctx_access` giving the verifier's verdict;
//   * `SkbContext`  — the internal struct programs really read, and `map_ctx_access` telling a rewrite
//                     pass where each uapi access lands (the kernel's convert_ctx_access, as data);
//   * `sync_in` / `sync_out` — copy SkbMeta+Packet into an SkbContext and back around a run;
//   * `prepare_test_run` — BPF_PROG_TEST_RUN's exact rules for turning a frame into an skb;
//   * checksum primitives and FNV-1a, as pure functions.
// Facts marked "(6.18)" were measured with BPF_PROG_TEST_RUN on Linux 6.18 on x86-64.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tcbpf::skb {

// ---------------------------------------------------------------------------------------------------
// Packet: the linear buffer.

// BPF_PROG_TEST_RUN reserves NET_SKB_PAD + NET_IP_ALIGN bytes of headroom (net/bpf/test_run.c). On
// x86-64 NET_SKB_PAD = max(32, L1_CACHE_BYTES) = 64 and NET_IP_ALIGN = 0 (unaligned IP headers are
// cheap there); the largest frame test_run accepts, 4096 - 64 - 320 (aligned skb_shared_info) = 3712
// bytes, confirms the 64 on 6.18.
inline constexpr uint32_t kNetSkbPad = 64;
inline constexpr uint32_t kNetIpAlign = 0;
inline constexpr uint32_t kDefaultHeadroom = kNetSkbPad + kNetIpAlign;
// The kernel rounds the data area up to SKB_DATA_ALIGN (64 bytes); tcbpf keeps one cache line spare.
inline constexpr uint32_t kDefaultTailroom = 64;

class Packet {
   public:
    Packet() : Packet(std::span<const uint8_t>{}) {}
    explicit Packet(std::span<const uint8_t> frame, uint32_t headroom = kDefaultHeadroom,
                    uint32_t tailroom = kDefaultTailroom);

    // A shared frame, as a cloned skb shares its data: until something may write, the packet reads
    // `frame` in place (it must outlive every read) and is otherwise a fresh Packet(frame): default
    // headroom (zeroed), at least the default tailroom, no metadata, no header marks. The first use of
    // anything that may change bytes (the non-const data()/end()/meta()/bytes(), push, put, ...)
    // copies the frame into the packet's own buffer (own()), reusing its capacity. Headroom and
    // tailroom bytes of a shared frame are not readable: read them only after own().
    void borrow(std::span<const uint8_t> frame) {  // inline: the tc pipeline's per-packet start
        data_ = kDefaultHeadroom;
        end_ = data_ + static_cast<uint32_t>(frame.size());
        meta_len_ = 0;
        mac_ = network_ = transport_ = kUnset;
        borrowed_ = frame.data();
        if (frame.empty()) copy_borrowed();  // nothing to share (and an empty span may have no address)
    }
    bool borrowed() const { return borrowed_ != nullptr; }
    // skb_unclone: the bytes become the packet's own (a copy of the shared frame; data moves).
    void own() {
        if (borrowed_ != nullptr) copy_borrowed();
    }

    uint8_t* data() {
        own();
        return buf_.data() + data_;
    }
    const uint8_t* data() const { return borrowed_ != nullptr ? borrowed_ : buf_.data() + data_; }
    uint8_t* end() { return data() + size(); }
    const uint8_t* end() const { return data() + size(); }
    uint32_t size() const { return end_ - data_; }
    std::span<uint8_t> bytes() { return {data(), size()}; }
    std::span<const uint8_t> bytes() const { return {data(), size()}; }
    uint32_t headroom() const { return data_ - meta_len_; }
    uint32_t tailroom() const {
        return borrowed_ != nullptr ? kDefaultTailroom : static_cast<uint32_t>(buf_.size()) - end_;
    }

    // The data_meta area: meta_len bytes right before data (XDP metadata carried into tc; 0 for
    // frames that never passed XDP, as in test_run).
    uint32_t meta_len() const { return meta_len_; }
    uint8_t* meta() { return data() - meta_len_; }
    const uint8_t* meta() const { return data() - meta_len_; }
    // Grows or shrinks the metadata area; false if headroom cannot hold it (the kernel fails then).
    bool set_meta_len(uint32_t len);

    // skb_push: exposes n bytes before data (reallocating when headroom runs out), returns new data.
    uint8_t* push(uint32_t n);
    // skb_pull: drops n bytes at the front; false (nothing changed) if n > size().
    bool pull(uint32_t n);
    // skb_put: appends n zero bytes (reallocating when tailroom runs out), returns the first of them.
    uint8_t* put(uint32_t n);
    // skb_trim: shortens to len; false (nothing changed) if len > size().
    bool trim(uint32_t len);
    // Guarantees room without changing the bytes (pskb_expand_head). Invalidates pointers.
    void reserve(uint32_t headroom, uint32_t tailroom);

    // Opens a zeroed gap of n bytes at offset (bytes before offset move to the front, as
    // bpf_skb_generic_push does); false if offset > size().
    bool insert_gap(uint32_t offset, uint32_t n);
    // Removes n bytes at offset (bytes before it move back, as bpf_skb_generic_pop does); false if
    // offset + n > size().
    bool remove_gap(uint32_t offset, uint32_t n);

    // Header marks, kept relative to the buffer like skb->mac_header so push/pull leave them in place;
    // read back relative to data (negative = before data). Unset marks read as nullopt.
    void set_mac_header(int32_t offset_from_data) { mac_ = data_ + offset_from_data; }
    void set_network_header(int32_t offset_from_data) { network_ = data_ + offset_from_data; }
    void set_transport_header(int32_t offset_from_data) { transport_ = data_ + offset_from_data; }
    std::optional<int32_t> mac_header() const { return relative(mac_); }
    std::optional<int32_t> network_header() const { return relative(network_); }
    std::optional<int32_t> transport_header() const { return relative(transport_); }

   private:
    static constexpr int64_t kUnset = INT64_MIN;
    std::optional<int32_t> relative(int64_t mark) const;
    void regrow(uint32_t headroom, uint32_t tailroom);
    void copy_borrowed();

    std::vector<uint8_t> buf_;
    const uint8_t* borrowed_ = nullptr;  // the shared frame's first byte while the packet borrows it
    uint32_t data_ = 0;
    uint32_t end_ = 0;
    uint32_t meta_len_ = 0;
    int64_t mac_ = kUnset;
    int64_t network_ = kUnset;
    int64_t transport_ = kUnset;
};

// ---------------------------------------------------------------------------------------------------
// SkbMeta: the skb's fields, in the kernel's widths.

enum PacketType : uint8_t {  // skb->pkt_type (uapi linux/if_packet.h)
    kPacketHost = 0,
    kPacketBroadcast = 1,
    kPacketMulticast = 2,
    kPacketOtherHost = 3,
    kPacketOutgoing = 4,
};

enum class ChecksumState : uint8_t { None = 0, Unnecessary = 1, Complete = 2, Partial = 3 };  // ip_summed

struct SkbMeta {
    uint8_t pkt_type = kPacketHost;
    uint32_t mark = 0;
    uint16_t queue_mapping = 0;
    uint16_t protocol = 0;  // ethertype in host order (0x0800); __sk_buff shows it in network order
    bool vlan_present = false;  // hardware-accelerated tag (not in the bytes)
    uint16_t vlan_tci = 0;
    uint16_t vlan_proto = 0;  // host order (0x8100)
    uint32_t priority = 0;
    uint32_t ingress_ifindex = 0;  // skb->skb_iif
    uint32_t ifindex = 0;          // skb->dev->ifindex, 0 without a device
    uint16_t tc_index = 0;
    uint32_t cb[5] = {};  // qdisc_skb_cb data: 20 bytes of scratch
    uint32_t hash = 0;
    bool l4_hash = false;
    bool sw_hash = false;
    uint16_t tc_classid = 0;  // qdisc_skb_cb->tc_classid
    uint32_t napi_id = 0;
    uint64_t tstamp = 0;
    uint8_t tstamp_type = 0;  // 0 UNSPEC (realtime), 1 DELIVERY_MONO
    uint64_t hwtstamp = 0;
    uint32_t wire_len = 0;  // qdisc_skb_cb->pkt_len
    uint16_t gso_segs = 0;
    uint16_t gso_size = 0;

    ChecksumState ip_summed = ChecksumState::None;
    uint32_t csum = 0;  // CHECKSUM_COMPLETE sum
    uint8_t csum_level = 0;

    // bpf_redirect*() target, consumed by the hook on TC_ACT_REDIRECT.
    uint32_t redirect_ifindex = 0;
    uint32_t redirect_flags = 0;
};

// ---------------------------------------------------------------------------------------------------
// The uapi __sk_buff layout as data, and the verifier's access rules (tc_cls_act_is_valid_access).

enum class ProgType : uint8_t { Classifier, Action };  // BPF_PROG_TYPE_SCHED_CLS / SCHED_ACT

inline constexpr uint32_t kSkbCtxSize = 192;

enum class FieldRule : uint8_t {
    NarrowRead,     // u32 field: reads of 1/2/4 bytes inside it; writes of exactly 4 if writable
    AnySize,        // cb[]: any aligned size 1/2/4/8 that stays inside cb
    PacketPointer,  // data/data_end/data_meta: 4-byte reads only
    Exact8,         // tstamp, hwtstamp, sk: 8-byte accesses only
    Exact1,         // tstamp_type: 1-byte reads only
    Never,          // sk_skb-only fields, flow_keys, padding
};

struct SkbField {
    uint16_t offset;
    uint16_t size;
    std::string_view name;
    FieldRule rule;
    bool writable;  // by tc programs (both types have the same rules)
};

// Every byte of __sk_buff is covered by exactly one row, in offset order.
std::span<const SkbField> skb_fields();
// The row covering `offset`, or nullptr past the end.
const SkbField* skb_field_at(uint32_t offset);

struct CtxVerdict {
    bool ok = false;
    std::string message;  // empty when ok; the verifier's line otherwise
};
// The kernel's verdict on `*(size *)(ctx + offset)` (is_write: a store). Rejections read
// "invalid bpf_context access off=OFF size=SIZE", as the verifier prints them.
CtxVerdict check_ctx_access(ProgType type, int32_t offset, uint32_t size, bool is_write);

// ---------------------------------------------------------------------------------------------------
// The internal context programs actually access. Packet pointers are real 64-bit addresses; 16-bit
// kernel fields stay 16-bit so a 4-byte store keeps the low half exactly as the kernel's does.

struct SkbContext {
    uint64_t data = 0;
    uint64_t data_end = 0;
    uint64_t data_meta = 0;
    uint64_t tstamp = 0;
    uint64_t hwtstamp = 0;
    uint64_t sk = 0;  // no sockets in tcbpf: always NULL
    uint32_t cb[5] = {};
    uint32_t len = 0;
    uint32_t mark = 0;
    uint32_t priority = 0;
    uint32_t ingress_ifindex = 0;
    uint32_t ifindex = 0;
    uint32_t hash = 0;
    uint32_t napi_id = 0;
    uint32_t wire_len = 0;
    // The kernel loads these with 16-bit (or 8-bit) instructions; the width matters for narrow loads
    // (a 2-byte read at protocol+2 returns the whole protocol, measured on 6.18) and for stores.
    uint16_t protocol = 0;  // network order, as __sk_buff shows it
    uint16_t vlan_tci = 0;
    uint16_t vlan_proto = 0;  // network order
    uint16_t queue_mapping = 0;
    uint16_t tc_index = 0;
    uint16_t tc_classid = 0;
    uint16_t gso_segs = 0;
    uint16_t gso_size = 0;
    uint8_t pkt_type = 0;
    uint8_t vlan_present = 0;
    uint8_t tstamp_type = 0;
};

enum class CtxKind : uint8_t {
    Plain,          // load/store `size` bytes at `offset`, then shift/mask for narrow loads
    PacketPointer,  // 64-bit load of a packet pointer (the register becomes PTR_TO_PACKET*)
};

// Where one accepted uapi access lands. A load reads `size` bytes at `offset` of SkbContext
// (zero-extended), then, when `narrow`, shifts right by `shift` bits and keeps the low `mask_bytes`
// bytes. A store writes the low `size` bytes of the source — unless `store_limit` is non-zero and the
// value is ≥ it, in which case the kernel skips the store (queue_mapping and NO_QUEUE_MAPPING 0xffff).
struct CtxMapping {
    CtxKind kind = CtxKind::Plain;
    uint16_t offset = 0;
    uint8_t size = 0;
    bool narrow = false;
    uint8_t shift = 0;
    uint8_t mask_bytes = 0;
    uint32_t store_limit = 0;
};
// The mapping of an access check_ctx_access accepted; nullopt for anything it rejects.
std::optional<CtxMapping> map_ctx_access(ProgType type, int32_t offset, uint32_t size, bool is_write);

// Runs a mapped load against a context (what rewritten code computes); for tests and slow paths.
// `value` of a store is the whole 64-bit source register: the kernel compares all of it with
// NO_QUEUE_MAPPING before storing the low 16 bits.
uint64_t ctx_load(const SkbContext& ctx, const CtxMapping& mapping);
void ctx_store(SkbContext& ctx, const CtxMapping& mapping, uint64_t value);

// Before a run: fills ctx from meta and the packet (data = first byte of the packet, which is the MAC
// header in tc). After a run: copies the writable fields back (mark, priority, tc_index, tc_classid,
// cb, tstamp, queue_mapping).
// Not modelled here, left to the hook (tc stage): at tc *ingress*, for a program that never touches
// tstamp_type, the kernel reads tstamp as 0 when it holds a delivery time and a tstamp write clears
// tstamp_type (bpf_convert_tstamp_read/write). BPF_PROG_TEST_RUN is not "at ingress", so it sees plain
// values, as this model does.
void sync_in(const SkbMeta& meta, const Packet& packet, SkbContext& ctx);
void sync_out(const SkbContext& ctx, SkbMeta& meta);

// ---------------------------------------------------------------------------------------------------
// BPF_PROG_TEST_RUN for sched_cls/sched_act: frame + optional __sk_buff ctx_in → skb, or a refusal.

struct TestRunDevice {
    uint32_t ifindex = 1;      // loopback, used when ctx_in->ifindex ≤ 1
    uint8_t mac[6] = {};       // loopback's address is all zeroes ...
    uint8_t broadcast[6] = {}; // ... and so is its broadcast address: ff:ff:.. is MULTICAST there
};

struct TestRunSkb {
    Packet packet;
    SkbMeta meta;
};

struct TestRunResult {
    std::optional<TestRunSkb> skb;
    std::string refusal;  // set when skb is empty: short reason for "IDX err=REASON"
    int error = 0;        // the errno the kernel returns (EINVAL, ENODEV)
};

// `ctx_in` is the raw __sk_buff image (up to 192 bytes; empty = none). `device_for` resolves an
// ifindex > 1 to its device (nullopt = no such device → ENODEV); by default only loopback exists.
struct TestRunEnv {
    TestRunDevice loopback;
    std::optional<TestRunDevice> (*device_for)(uint32_t ifindex) = nullptr;
};
TestRunResult prepare_test_run(std::span<const uint8_t> frame, std::span<const uint8_t> ctx_in = {},
                               const TestRunEnv& env = {});

// eth_type_trans on a frame of ≥ 14 bytes: skb->protocol (host order) and pkt_type for a device.
// Inline: the tc pipeline runs both on every packet it receives.
inline uint16_t eth_protocol(std::span<const uint8_t> frame) {
    const uint16_t type = static_cast<uint16_t>(frame[12] << 8 | frame[13]);
    if (type >= 0x0600) return type;  // an EtherType, not an 802.3 length
    // 802.3 length field: raw IPX (payload starts 0xFFFF) is ETH_P_802_3, anything else is 802.2 LLC.
    if (frame.size() >= 16 && frame[14] == 0xff && frame[15] == 0xff) return 0x0001;
    return 0x0004;
}
inline uint8_t eth_pkt_type(std::span<const uint8_t> frame, const TestRunDevice& device) {
    // eth_type_trans compares with the device's own broadcast address, not with ff:ff:ff:ff:ff:ff.
    if (std::memcmp(frame.data(), device.mac, 6) == 0) return kPacketHost;
    if (frame[0] & 1) return std::memcmp(frame.data(), device.broadcast, 6) == 0 ? kPacketBroadcast : kPacketMulticast;
    return kPacketOtherHost;
}

// ---------------------------------------------------------------------------------------------------
// Hashing and checksums.

uint64_t fnv1a64(std::span<const uint8_t> bytes);

// The one's-complement primitives of include/net/checksum.h on little-endian. Words are taken from
// memory as little-endian loads, exactly as the kernel sums network-order data on x86.
uint32_t csum_partial(std::span<const uint8_t> bytes, uint32_t seed);
uint32_t csum_add(uint32_t a, uint32_t b);
uint32_t csum_sub(uint32_t a, uint32_t b);
uint16_t csum_fold(uint32_t sum);         // folded and complemented: the value stored in a header
uint16_t csum_from32to16(uint32_t sum);   // folded, not complemented
// Checksum of a whole buffer as stored in a header field (the field itself must be zero or skipped).
uint16_t internet_checksum(std::span<const uint8_t> bytes);

// bpf_csum_diff (6.18): sizes multiples of 4 with from+to ≤ 512, else -EINVAL; the result is folded
// to 16 bits (since Linux 6.13 every architecture returns csum_from32to16 of the partial sum).
int64_t csum_diff(std::span<const uint8_t> from, std::span<const uint8_t> to, uint32_t seed);

// BPF_F_* flags of the checksum helpers.
inline constexpr uint64_t kFRecomputeCsum = 1;
inline constexpr uint64_t kFInvalidateHash = 2;
inline constexpr uint64_t kFHdrFieldMask = 0xf;
inline constexpr uint64_t kFPseudoHdr = 0x10;
inline constexpr uint64_t kFMarkMangled0 = 0x20;
inline constexpr uint64_t kFMarkEnforce = 0x40;
inline constexpr uint64_t kFIpv6 = 0x80;

// bpf_l3_csum_replace / bpf_l4_csum_replace on the 2-byte checksum field at `field` (bytes as in the
// packet). `from`/`to` are the helper's arguments (network-order values as loaded on LE; for size 0
// `to` is a csum_diff result and `from` must be 0). Returns 0 or -EINVAL for bad flags/sizes. Offset
// checks (-EFAULT for odd, > 0xffff or outside the packet) belong to the caller that owns the packet.
// l4 also updates meta.csum for CHECKSUM_COMPLETE pseudo-header changes.
// The helpers check flag bits (-EINVAL) before the offset (-EFAULT); these let callers keep that order.
inline bool l3_csum_flags_valid(uint64_t flags) { return (flags & ~kFHdrFieldMask) == 0; }
inline bool l4_csum_flags_valid(uint64_t flags) {
    return (flags & ~(kFMarkMangled0 | kFMarkEnforce | kFPseudoHdr | kFHdrFieldMask | kFIpv6)) == 0;
}
int l3_csum_replace(uint8_t* field, uint64_t from, uint64_t to, uint64_t flags);
int l4_csum_replace(uint8_t* field, uint64_t from, uint64_t to, uint64_t flags, SkbMeta& meta);

}  // namespace tcbpf::skb
