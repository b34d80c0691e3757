// The program's view of the skb, rebuilt after helpers change the skb under it.
#include <cstring>

#include "env.h"

namespace tcbpf::helpers::detail {

void refresh_packet_view(RunEnv& env, vm::Context* cx) {
    skb::Packet& packet = *env.packet;
    if (env.ctx != nullptr) {
        env.ctx->data = reinterpret_cast<uint64_t>(packet.data());
        env.ctx->data_end = reinterpret_cast<uint64_t>(packet.end());
        env.ctx->data_meta = reinterpret_cast<uint64_t>(packet.meta());
        env.ctx->len = packet.size();
    }
    if (cx == nullptr) return;
    for (vm::Region& region : cx->regions) {
        if (region.name != nullptr && std::strcmp(region.name, kPacketRegion) == 0) {
            region.begin = reinterpret_cast<uint64_t>(packet.meta());
            region.size = packet.meta_len() + packet.size();
        }
    }
}

void refresh_l2_view(RunEnv& env) {
    if (env.ctx == nullptr) return;
    const skb::SkbMeta& meta = *env.meta;
    env.ctx->protocol = to_network16(meta.protocol);
    env.ctx->vlan_present = meta.vlan_present ? 1 : 0;
    env.ctx->vlan_tci = meta.vlan_tci;
    env.ctx->vlan_proto = to_network16(meta.vlan_proto);
}

uint32_t csum_block_add(uint32_t sum, uint32_t part, uint32_t offset) {
    if (offset & 1) part = (part >> 8) | (part << 24);
    return skb::csum_add(sum, part);
}

uint32_t csum_block_sub(uint32_t sum, uint32_t part, uint32_t offset) { return csum_block_add(sum, ~part, offset); }

void postpull_rcsum(skb::SkbMeta& meta, const uint8_t* start, uint32_t len, uint32_t offset) {
    if (meta.ip_summed == skb::ChecksumState::Complete)
        meta.csum = csum_block_sub(meta.csum, skb::csum_partial({start, len}, 0), offset);
}

void postpush_rcsum(skb::SkbMeta& meta, const uint8_t* start, uint32_t len, uint32_t offset) {
    if (meta.ip_summed == skb::ChecksumState::Complete)
        meta.csum = csum_block_add(meta.csum, skb::csum_partial({start, len}, 0), offset);
}

}  // namespace tcbpf::helpers::detail
