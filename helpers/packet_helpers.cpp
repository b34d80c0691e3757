// Helpers that read or rewrite packet bytes in place or at the ends: load/store, checksum fix-ups,
// pull_data, change_tail and change_head. tcbpf packets are always linear and private, so the
// kernel's "make writable" steps reduce to their length checks (pskb_may_pull fails past skb->len).
#include <climits>

#include "env.h"

namespace tcbpf::helpers::detail {

namespace {

// BPF_SKB_MAX_LEN (SKB_MAX_ALLOC on x86-64: 4 pages minus the aligned skb_shared_info).
constexpr uint32_t kSkbMaxLen = 16384 - 320;

// Whether the first `len` bytes exist (pskb_may_pull), with the unsigned arithmetic the kernel uses.
bool may_pull(const skb::Packet& packet, uint64_t len) { return len <= packet.size(); }

}  // namespace

uint64_t skb_load_bytes(uint64_t, uint64_t offset64, uint64_t to, uint64_t len64, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    const auto offset = static_cast<uint32_t>(offset64);
    const auto len = static_cast<uint32_t>(len64);
    if (offset <= INT_MAX && uint64_t{offset} + len <= env.packet->size()) {
        std::memmove(ptr_of(to), env.packet->data() + offset, len);  // `to` may be packet memory too
        return 0;
    }
    std::memset(ptr_of(to), 0, len);
    return static_cast<uint64_t>(-EFAULT);
}

// Offsets relative to the MAC (0) or network (1) header; reads stop at the end of the linear data,
// and may start before data (the MAC header at egress sits in front of it).
uint64_t skb_load_bytes_relative(uint64_t, uint64_t offset64, uint64_t to, uint64_t len64, uint64_t start_header,
                                 vm::Context* cx) {
    RunEnv& env = env_of(cx);
    const skb::Packet& packet = *env.packet;
    const auto offset = static_cast<uint32_t>(offset64);
    const auto len = static_cast<uint32_t>(len64);
    std::optional<int32_t> start;
    if (offset <= 0xffff) {
        if (static_cast<uint32_t>(start_header) == 0) start = packet.mac_header();
        else if (static_cast<uint32_t>(start_header) == 1) start = packet.network_header();
    }
    if (start) {
        const int64_t from = int64_t{*start} + offset;
        const int64_t buffer_begin = -int64_t{packet.headroom()} - packet.meta_len();
        if (from >= buffer_begin && from + len <= int64_t{packet.size()}) {
            std::memmove(ptr_of(to), packet.data() + from, len);
            return 0;
        }
    }
    std::memset(ptr_of(to), 0, len);
    return static_cast<uint64_t>(-EFAULT);
}

uint64_t skb_store_bytes(uint64_t, uint64_t offset64, uint64_t from, uint64_t len64, uint64_t flags, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    const auto offset = static_cast<uint32_t>(offset64);
    const auto len = static_cast<uint32_t>(len64);
    if (flags & ~(skb::kFRecomputeCsum | skb::kFInvalidateHash)) return static_cast<uint64_t>(-EINVAL);
    if (offset > INT_MAX) return static_cast<uint64_t>(-EFAULT);
    if (!may_pull(*env.packet, static_cast<uint32_t>(offset + len))) return static_cast<uint64_t>(-EFAULT);
    uint8_t* ptr = env.packet->data() + offset;
    if (flags & skb::kFRecomputeCsum) postpull_rcsum(*env.meta, ptr, len, offset);
    std::memmove(ptr, ptr_of<const uint8_t>(from), len);
    if (flags & skb::kFRecomputeCsum) postpush_rcsum(*env.meta, ptr, len, offset);
    if (flags & skb::kFInvalidateHash) clear_hash(*env.meta, env.ctx);
    return 0;
}

uint64_t l3_csum_replace(uint64_t, uint64_t offset64, uint64_t from, uint64_t to, uint64_t flags, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    const auto offset = static_cast<uint32_t>(offset64);
    if (!skb::l3_csum_flags_valid(flags)) return static_cast<uint64_t>(-EINVAL);
    if (offset > 0xffff || (offset & 1) || !may_pull(*env.packet, offset + 2)) return static_cast<uint64_t>(-EFAULT);
    return static_cast<uint64_t>(int64_t{skb::l3_csum_replace(env.packet->data() + offset, from, to, flags)});
}

uint64_t l4_csum_replace(uint64_t, uint64_t offset64, uint64_t from, uint64_t to, uint64_t flags, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    const auto offset = static_cast<uint32_t>(offset64);
    if (!skb::l4_csum_flags_valid(flags)) return static_cast<uint64_t>(-EINVAL);
    if (offset > 0xffff || (offset & 1) || !may_pull(*env.packet, offset + 2)) return static_cast<uint64_t>(-EFAULT);
    return static_cast<uint64_t>(
        int64_t{skb::l4_csum_replace(env.packet->data() + offset, from, to, flags, *env.meta)});
}

// bpf_csum_diff as Linux 6.13+ computes it (measured on 6.18): no size rule beyond the verifier's
// (sizes need not be multiples of 4, nor total at most 512), and the partial sum folded to 16 bits.
// skb::csum_diff keeps the older size checks, so the helper does the arithmetic itself.
uint64_t csum_diff(uint64_t from, uint64_t from_size, uint64_t to, uint64_t to_size, uint64_t seed, vm::Context*) {
    const std::span<const uint8_t> from_bytes{ptr_of<const uint8_t>(from), static_cast<uint32_t>(from_size)};
    const std::span<const uint8_t> to_bytes{ptr_of<const uint8_t>(to), static_cast<uint32_t>(to_size)};
    auto sum = static_cast<uint32_t>(seed);
    if (!from_bytes.empty() && !to_bytes.empty())
        sum = skb::csum_sub(skb::csum_partial(to_bytes, sum), skb::csum_partial(from_bytes, 0));
    else if (!to_bytes.empty())
        sum = skb::csum_partial(to_bytes, sum);
    else if (!from_bytes.empty())
        sum = ~skb::csum_partial(from_bytes, ~sum);
    return skb::csum_from32to16(sum);
}

// bpf_csum_update: folds a diff into a CHECKSUM_COMPLETE sum and returns the new sum.
uint64_t csum_update(uint64_t, uint64_t diff, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    skb::SkbMeta& meta = *env_of(cx).meta;
    if (meta.ip_summed != skb::ChecksumState::Complete) return static_cast<uint64_t>(int64_t{-kENOTSUPP});
    meta.csum = skb::csum_add(meta.csum, static_cast<uint32_t>(diff));
    return meta.csum;
}

uint64_t csum_level(uint64_t, uint64_t level, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    skb::SkbMeta& meta = *env_of(cx).meta;
    const bool unnecessary = meta.ip_summed == skb::ChecksumState::Unnecessary;
    switch (level) {
        case 0:  // BPF_CSUM_LEVEL_QUERY
            return unnecessary ? meta.csum_level : static_cast<uint64_t>(-EACCES);
        case 1:  // INC (__skb_incr_checksum_unnecessary; SKB_MAX_CSUM_LEVEL is 3)
            if (unnecessary) {
                if (meta.csum_level < 3) ++meta.csum_level;
            } else if (meta.ip_summed == skb::ChecksumState::None) {
                meta.ip_summed = skb::ChecksumState::Unnecessary;
                meta.csum_level = 0;
            }
            return 0;
        case 2:  // DEC
            if (unnecessary) {
                if (meta.csum_level == 0) meta.ip_summed = skb::ChecksumState::None;
                else --meta.csum_level;
            }
            return 0;
        case 3:  // RESET
            reset_checksum_unnecessary(meta);
            return 0;
        default:
            return static_cast<uint64_t>(-EINVAL);
    }
}

// bpf_skb_pull_data: our data is always linear, so only the bounds check remains (0 = whole head).
uint64_t skb_pull_data(uint64_t, uint64_t len, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    const int64_t result = may_pull(*env.packet, static_cast<uint32_t>(len)) ? 0 : -ENOMEM;
    refresh_packet_view(env, cx);
    return static_cast<uint64_t>(result);
}

namespace {

// __bpf_skb_min_len: a packet may not be cut into the headers the stack already parsed.
uint32_t min_len(const skb::Packet& packet) {
    int32_t len = mark_or(packet.network_header(), 0);
    if (packet.transport_header()) len = *packet.transport_header();
    return len < 0 ? 0 : static_cast<uint32_t>(len);
}

int64_t change_tail(RunEnv& env, uint32_t new_len, uint64_t flags) {
    skb::Packet& packet = *env.packet;
    if (flags != 0 || new_len > kSkbMaxLen || new_len < min_len(packet)) return -EINVAL;
    if (env.encapsulation) return -kENOTSUPP;
    const uint32_t old_len = packet.size();
    if (new_len > old_len) {
        packet.put(new_len - old_len);  // zeroes: a CHECKSUM_COMPLETE sum does not change
    } else if (new_len < old_len) {
        postpull_rcsum(*env.meta, packet.data() + new_len, old_len - new_len, new_len);
        packet.trim(new_len);
    }
    return 0;
}

int64_t change_head(RunEnv& env, uint32_t head_room, uint64_t flags) {
    skb::Packet& packet = *env.packet;
    const uint32_t new_len = packet.size() + head_room;
    if (flags != 0 || new_len > kSkbMaxLen || new_len < packet.size()) return -EINVAL;
    std::memset(packet.push(head_room), 0, head_room);
    packet.set_mac_header(0);
    return 0;
}

}  // namespace

uint64_t skb_change_tail(uint64_t, uint64_t new_len, uint64_t flags, uint64_t, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    const int64_t result = change_tail(env, static_cast<uint32_t>(new_len), flags);
    refresh_packet_view(env, cx);
    return static_cast<uint64_t>(result);
}

uint64_t skb_change_head(uint64_t, uint64_t head_room, uint64_t flags, uint64_t, uint64_t, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    const int64_t result = change_head(env, static_cast<uint32_t>(head_room), flags);
    refresh_packet_view(env, cx);
    return static_cast<uint64_t>(result);
}

}  // namespace tcbpf::helpers::detail
