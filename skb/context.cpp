// The __sk_buff contract as data. The table says what each uapi byte is; check_ctx_access replays the
// kernel's decision order (tc_cls_act_is_valid_access, then bpf_skb_is_valid_access) so verdicts match
// for every offset/size/direction; map_ctx_access is bpf_convert_ctx_access reduced to "which internal
// field, what width", which is all a rewrite pass or a slow-path interpreter needs.
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "tcbpf/skb.h"

namespace tcbpf::skb {

namespace {

using R = FieldRule;
constexpr SkbField kFields[] = {
    {0, 4, "len", R::NarrowRead, false},
    {4, 4, "pkt_type", R::NarrowRead, false},
    {8, 4, "mark", R::NarrowRead, true},
    {12, 4, "queue_mapping", R::NarrowRead, true},
    {16, 4, "protocol", R::NarrowRead, false},
    {20, 4, "vlan_present", R::NarrowRead, false},
    {24, 4, "vlan_tci", R::NarrowRead, false},
    {28, 4, "vlan_proto", R::NarrowRead, false},
    {32, 4, "priority", R::NarrowRead, true},
    {36, 4, "ingress_ifindex", R::NarrowRead, false},
    {40, 4, "ifindex", R::NarrowRead, false},
    {44, 4, "tc_index", R::NarrowRead, true},
    {48, 20, "cb", R::AnySize, true},
    {68, 4, "hash", R::NarrowRead, false},
    {72, 4, "tc_classid", R::NarrowRead, true},
    {76, 4, "data", R::PacketPointer, false},
    {80, 4, "data_end", R::PacketPointer, false},
    {84, 4, "napi_id", R::NarrowRead, false},
    {88, 4, "family", R::Never, false},
    {92, 4, "remote_ip4", R::Never, false},
    {96, 4, "local_ip4", R::Never, false},
    {100, 16, "remote_ip6", R::Never, false},
    {116, 16, "local_ip6", R::Never, false},
    {132, 4, "remote_port", R::Never, false},
    {136, 4, "local_port", R::Never, false},
    {140, 4, "data_meta", R::PacketPointer, false},
    {144, 8, "flow_keys", R::Never, false},
    {152, 8, "tstamp", R::Exact8, true},
    {160, 4, "wire_len", R::NarrowRead, false},
    {164, 4, "gso_segs", R::NarrowRead, false},
    {168, 8, "sk", R::Exact8, false},
    {176, 4, "gso_size", R::NarrowRead, false},
    {180, 1, "tstamp_type", R::Exact1, false},
    {181, 3, "padding", R::Never, false},
    {184, 8, "hwtstamp", R::Exact8, false},
};

bool power_of_two_size(uint32_t size) { return size == 1 || size == 2 || size == 4 || size == 8; }

// Each uapi field's home in SkbContext and the width the kernel's rewritten load/store uses there.
struct Target {
    uint16_t offset;
    uint8_t size;
};
#define TCBPF_AT(member) Target{static_cast<uint16_t>(offsetof(SkbContext, member)), sizeof(SkbContext::member)}
Target target_of(uint16_t uapi_offset) {
    switch (uapi_offset) {
        case 0: return TCBPF_AT(len);
        case 4: return TCBPF_AT(pkt_type);
        case 8: return TCBPF_AT(mark);
        case 12: return TCBPF_AT(queue_mapping);
        case 16: return TCBPF_AT(protocol);
        case 20: return TCBPF_AT(vlan_present);
        case 24: return TCBPF_AT(vlan_tci);
        case 28: return TCBPF_AT(vlan_proto);
        case 32: return TCBPF_AT(priority);
        case 36: return TCBPF_AT(ingress_ifindex);
        case 40: return TCBPF_AT(ifindex);
        case 44: return TCBPF_AT(tc_index);
        case 68: return TCBPF_AT(hash);
        case 72: return TCBPF_AT(tc_classid);
        case 76: return TCBPF_AT(data);
        case 80: return TCBPF_AT(data_end);
        case 84: return TCBPF_AT(napi_id);
        case 140: return TCBPF_AT(data_meta);
        case 152: return TCBPF_AT(tstamp);
        case 160: return TCBPF_AT(wire_len);
        case 164: return TCBPF_AT(gso_segs);
        case 168: return TCBPF_AT(sk);
        case 176: return TCBPF_AT(gso_size);
        case 180: return TCBPF_AT(tstamp_type);
        case 184: return TCBPF_AT(hwtstamp);
        default: return Target{0, 0};
    }
}
#undef TCBPF_AT

// The kernel's switch cases are field ranges; this is bpf_ctx_range's "offset lies in field".
bool in_field(int32_t offset, uint16_t field_offset, uint16_t field_size) {
    return offset >= field_offset && offset < field_offset + field_size;
}

bool accepted(int32_t off, uint32_t size, bool is_write) {
    if (!power_of_two_size(size)) return false;
    // 1. Writes only to the writable fields.
    if (is_write) {
        const SkbField* field = off >= 0 ? skb_field_at(static_cast<uint32_t>(off)) : nullptr;
        if (field == nullptr || !field->writable) return false;
    }
    // 2.-4. tc's own cases: packet pointers fall through to the generic checks; the sk_skb fields are
    // refused; tstamp_type takes exactly one byte.
    if (off >= 88 && off < 140) return false;
    if (off == 180) return size == 1;
    // 5. Generic bounds and natural alignment.
    if (off < 0 || off >= static_cast<int32_t>(kSkbCtxSize)) return false;
    if (off % static_cast<int32_t>(size) != 0) return false;
    // 6. Per field.
    const SkbField& field = *skb_field_at(static_cast<uint32_t>(off));
    switch (field.rule) {
        case R::AnySize: return off + size <= 68u;
        case R::PacketPointer: return size == 4;
        case R::Never: return false;
        case R::Exact1: return false;  // only offset 180 itself, handled above
        case R::Exact8: return size == 8 && (field.writable || !is_write);
        case R::NarrowRead: return is_write ? size == 4 : size <= 4;
    }
    return false;
}

}  // namespace

std::span<const SkbField> skb_fields() { return kFields; }

const SkbField* skb_field_at(uint32_t offset) {
    for (const SkbField& field : kFields)
        if (in_field(static_cast<int32_t>(offset), field.offset, field.size)) return &field;
    return nullptr;
}

CtxVerdict check_ctx_access(ProgType, int32_t offset, uint32_t size, bool is_write) {
    // sched_cls and sched_act share tc_cls_act_is_valid_access: the type does not change the verdict.
    if (accepted(offset, size, is_write)) return {true, {}};
    return {false, fmt::format("invalid bpf_context access off={} size={}", offset, size)};
}

std::optional<CtxMapping> map_ctx_access(ProgType type, int32_t offset, uint32_t size, bool is_write) {
    if (!check_ctx_access(type, offset, size, is_write).ok) return std::nullopt;
    const SkbField& field = *skb_field_at(static_cast<uint32_t>(offset));
    CtxMapping m;
    if (field.rule == R::AnySize) {
        m.offset = static_cast<uint16_t>(offsetof(SkbContext, cb) + (offset - field.offset));
        m.size = static_cast<uint8_t>(size);
        return m;
    }
    const Target target = target_of(field.offset);
    m.offset = target.offset;
    m.size = target.size;
    if (field.rule == R::PacketPointer) {
        m.kind = CtxKind::PacketPointer;
        return m;
    }
    if (is_write) {
        if (field.offset == 12) m.store_limit = 0xffff;  // NO_QUEUE_MAPPING: such writes are dropped
        return m;
    }
    // The kernel shifts and masks only when the access is narrower than the target's load width, so
    // a 2-byte read at protocol+2 returns the whole 16-bit protocol while a 1-byte read at +1 returns
    // its high byte (little-endian byte order within the field).
    if (size < target.size) {
        m.narrow = true;
        m.shift = static_cast<uint8_t>((offset - field.offset) * 8);
        m.mask_bytes = static_cast<uint8_t>(size);
    }
    return m;
}

uint64_t ctx_load(const SkbContext& ctx, const CtxMapping& m) {
    uint64_t value = 0;
    std::memcpy(&value, reinterpret_cast<const uint8_t*>(&ctx) + m.offset, m.size);
    if (m.narrow) {
        value = m.shift >= 64 ? 0 : value >> m.shift;
        value &= m.mask_bytes >= 8 ? ~uint64_t{0} : (uint64_t{1} << (m.mask_bytes * 8)) - 1;
    }
    return value;
}

void ctx_store(SkbContext& ctx, const CtxMapping& m, uint64_t value) {
    if (m.store_limit != 0 && value >= m.store_limit) return;
    std::memcpy(reinterpret_cast<uint8_t*>(&ctx) + m.offset, &value, m.size);
}

}  // namespace tcbpf::skb
