// Copies between the skb model and the context a program reads. Only the fields tc programs may write
// travel back; everything else in SkbContext is a view rebuilt before every run (cls_bpf recomputes the
// data pointers before each program, so stale pointers from an earlier run never leak into the next).
#include <cstring>

#include "tcbpf/skb.h"

namespace tcbpf::skb {

namespace {
uint16_t to_network(uint16_t host) { return static_cast<uint16_t>((host >> 8) | (host << 8)); }
}

void sync_in(const SkbMeta& meta, const Packet& packet, SkbContext& ctx) {
    ctx.data = reinterpret_cast<uint64_t>(packet.data());
    ctx.data_end = reinterpret_cast<uint64_t>(packet.end());
    ctx.data_meta = reinterpret_cast<uint64_t>(packet.meta());
    ctx.tstamp = meta.tstamp;
    ctx.hwtstamp = meta.hwtstamp;
    ctx.sk = 0;
    std::memcpy(ctx.cb, meta.cb, sizeof ctx.cb);
    ctx.len = packet.size();
    ctx.mark = meta.mark;
    ctx.priority = meta.priority;
    ctx.ingress_ifindex = meta.ingress_ifindex;
    ctx.ifindex = meta.ifindex;
    ctx.hash = meta.hash;
    ctx.napi_id = meta.napi_id;
    ctx.wire_len = meta.wire_len;
    ctx.protocol = to_network(meta.protocol);
    ctx.vlan_tci = meta.vlan_tci;
    ctx.vlan_proto = to_network(meta.vlan_proto);
    ctx.queue_mapping = meta.queue_mapping;
    ctx.tc_index = meta.tc_index;
    ctx.tc_classid = meta.tc_classid;
    ctx.gso_segs = meta.gso_segs;
    ctx.gso_size = meta.gso_size;
    ctx.pkt_type = meta.pkt_type;
    ctx.vlan_present = meta.vlan_present ? 1 : 0;
    ctx.tstamp_type = meta.tstamp_type;
}

void sync_out(const SkbContext& ctx, SkbMeta& meta) {
    meta.mark = ctx.mark;
    meta.priority = ctx.priority;
    meta.tc_index = ctx.tc_index;
    meta.tc_classid = ctx.tc_classid;
    std::memcpy(meta.cb, ctx.cb, sizeof meta.cb);
    meta.tstamp = ctx.tstamp;
    meta.queue_mapping = ctx.queue_mapping;
}

}  // namespace tcbpf::skb
