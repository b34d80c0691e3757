// Shared plumbing of the helper implementations: reaching the run's skb from a helper's arguments,
// keeping the program's view (SkbContext, checked-mode packet region) in step after the skb changes,
// and the kernel's CHECKSUM_COMPLETE bookkeeping for bytes that appear or disappear.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "tcbpf/helpers.h"
#include "tcbpf/maps.h"

namespace tcbpf::helpers::detail {

inline RunEnv& env_of(vm::Context* cx) { return *static_cast<RunEnv*>(cx->user); }
inline maps::Map* map_of(uint64_t arg) { return reinterpret_cast<maps::Map*>(arg); }
template <typename T = uint8_t>
inline T* ptr_of(uint64_t arg) {
    return reinterpret_cast<T*>(arg);
}

// Rebuilds the program-visible packet view (data, data_end, data_meta, len) and the checked-mode
// packet region: the kernel's bpf_compute_data_pointers after a helper that may move the data.
void refresh_packet_view(RunEnv& env, vm::Context* cx);
// Rewrites ctx->protocol and the VLAN fields from SkbMeta after a helper changed them.
void refresh_l2_view(RunEnv& env);

inline uint16_t to_network16(uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); }

// csum_block_add/sub: a partial sum over bytes that start at an odd offset is byte-rotated first.
uint32_t csum_block_add(uint32_t sum, uint32_t part, uint32_t offset);
uint32_t csum_block_sub(uint32_t sum, uint32_t part, uint32_t offset);
// skb_postpull_rcsum / skb_postpush_rcsum: keep a CHECKSUM_COMPLETE sum (which covers the bytes from
// data on) right when `len` bytes at data + `offset` leave or enter the packet.
void postpull_rcsum(skb::SkbMeta& meta, const uint8_t* start, uint32_t len, uint32_t offset);
void postpush_rcsum(skb::SkbMeta& meta, const uint8_t* start, uint32_t len, uint32_t offset);

// skb_clear_hash.
inline void clear_hash(skb::SkbMeta& meta, skb::SkbContext* ctx) {
    meta.hash = 0;
    meta.sw_hash = false;
    meta.l4_hash = false;
    if (ctx != nullptr) ctx->hash = 0;
}

// __skb_reset_checksum_unnecessary.
inline void reset_checksum_unnecessary(skb::SkbMeta& meta) {
    if (meta.ip_summed == skb::ChecksumState::Unnecessary) {
        meta.ip_summed = skb::ChecksumState::None;
        meta.csum_level = 0;
    }
}

// Offset of a header mark from data, or `fallback` when unset.
inline int32_t mark_or(std::optional<int32_t> mark, int32_t fallback) { return mark ? *mark : fallback; }

// The kernel's ETH_P_* numbers (host order) used by several helpers.
inline constexpr uint16_t kEthPIp = 0x0800;
inline constexpr uint16_t kEthPIpv6 = 0x86dd;
inline constexpr uint16_t kEthP8021Q = 0x8100;
inline constexpr uint16_t kEthP8021AD = 0x88a8;

}  // namespace tcbpf::helpers::detail
