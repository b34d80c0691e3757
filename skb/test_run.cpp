// BPF_PROG_TEST_RUN's way of turning user bytes into an skb for sched_cls/sched_act (net/bpf/test_run.c,
// bpf_prog_test_run_skb), in the kernel's order so the first failing rule is the one reported:
//   1. the frame must hold an Ethernet header and fit a page with the skb's head- and tailroom;
//   2. ctx_in bytes past struct __sk_buff must be zero;
//   3. ctx_in->ifindex > 1 selects that device (ENODEV if none), otherwise loopback;
//   4. eth_type_trans sets protocol and pkt_type; IPv4/IPv6 frames must hold the whole fixed L3 header
//      (Ethernet 14 + 20 / + 40; VLAN-tagged frames are not checked: their protocol is 0x8100/0x88a8 and
//      the tags stay in the bytes, the kernel does not untag in test_run);
//   5. ctx_in may only set mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len, gso_segs,
//      gso_size and hwtstamp; wire_len must lie in [len, 65536], gso_segs ≤ 65535.
// Measured on 6.18: 13-byte frames, 33-byte IPv4 and 53-byte IPv6 frames get EINVAL; 3712 bytes pass
// and 3713 do not; the network header is right after the 14-byte Ethernet header.
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "tcbpf/skb.h"

namespace tcbpf::skb {

namespace {

constexpr uint32_t kEthHlen = 14;
// PAGE_SIZE - (NET_SKB_PAD + NET_IP_ALIGN) - SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86-64.
constexpr uint32_t kMaxFrame = 4096 - kDefaultHeadroom - 320;
constexpr uint32_t kGsoLegacyMaxSize = 65536;
constexpr uint32_t kGsoMaxSegs = 65535;

uint32_t load32(std::span<const uint8_t> ctx, uint32_t offset) {
    uint32_t v = 0;
    if (offset + 4 <= ctx.size()) std::memcpy(&v, ctx.data() + offset, 4);
    return v;
}
uint64_t load64(std::span<const uint8_t> ctx, uint32_t offset) {
    uint64_t v = 0;
    if (offset + 8 <= ctx.size()) std::memcpy(&v, ctx.data() + offset, 8);
    return v;
}

// ctx_in fields test_run copies into the skb; every other byte must be zero.
bool settable(uint32_t offset) {
    const SkbField* field = skb_field_at(offset);
    if (field == nullptr) return false;
    for (std::string_view name : {"mark", "priority", "ingress_ifindex", "ifindex", "cb", "tstamp", "wire_len",
                                  "gso_segs", "gso_size", "hwtstamp"})
        if (field->name == name) return true;
    return false;
}

TestRunResult refuse(int error, std::string reason) {
    TestRunResult r;
    r.error = error;
    r.refusal = std::move(reason);
    return r;
}

}  // namespace

TestRunResult prepare_test_run(std::span<const uint8_t> frame, std::span<const uint8_t> ctx_in,
                               const TestRunEnv& env) {
    const auto size = static_cast<uint32_t>(frame.size());
    if (frame.size() < kEthHlen) return refuse(EINVAL, fmt::format("frame of {} bytes is shorter than 14", frame.size()));
    if (frame.size() > kMaxFrame)
        return refuse(EINVAL, fmt::format("frame of {} bytes is longer than {}", frame.size(), kMaxFrame));
    for (size_t i = kSkbCtxSize; i < ctx_in.size(); ++i)
        if (ctx_in[i] != 0) return refuse(E2BIG, fmt::format("ctx_in byte {} past __sk_buff is not zero", i));

    TestRunDevice device = env.loopback;
    const uint32_t ctx_ifindex = load32(ctx_in, 40);
    if (ctx_ifindex > 1) {
        std::optional<TestRunDevice> found = env.device_for ? env.device_for(ctx_ifindex) : std::nullopt;
        if (!found) return refuse(ENODEV, fmt::format("ctx_in ifindex {}: no such device", ctx_ifindex));
        device = *found;
    }

    const uint16_t protocol = eth_protocol(frame);
    if (protocol == 0x0800 && size < kEthHlen + 20)
        return refuse(EINVAL, fmt::format("IPv4 frame of {} bytes is shorter than 34", size));
    if (protocol == 0x86dd && size < kEthHlen + 40)
        return refuse(EINVAL, fmt::format("IPv6 frame of {} bytes is shorter than 54", size));

    const size_t ctx_len = std::min<size_t>(ctx_in.size(), kSkbCtxSize);
    for (uint32_t i = 0; i < ctx_len; ++i)
        if (ctx_in[i] != 0 && !settable(i))
            return refuse(EINVAL, fmt::format("ctx_in sets {} (offset {}), which test_run does not accept",
                                              skb_field_at(i)->name, i));
    const uint32_t wire_len = load32(ctx_in, 160);
    if (wire_len != 0 && (wire_len < size || wire_len > kGsoLegacyMaxSize))
        return refuse(EINVAL, fmt::format("ctx_in wire_len {} outside [{}, {}]", wire_len, size, kGsoLegacyMaxSize));
    const uint32_t gso_segs = load32(ctx_in, 164);
    if (gso_segs > kGsoMaxSegs) return refuse(EINVAL, fmt::format("ctx_in gso_segs {} above {}", gso_segs, kGsoMaxSegs));

    TestRunSkb skb{Packet(frame), SkbMeta{}};
    skb.packet.set_mac_header(0);
    skb.packet.set_network_header(static_cast<int32_t>(kEthHlen));
    SkbMeta& m = skb.meta;
    m.protocol = protocol;
    m.pkt_type = eth_pkt_type(frame, device);
    m.ifindex = device.ifindex;
    m.mark = load32(ctx_in, 8);
    m.priority = load32(ctx_in, 32);
    m.ingress_ifindex = load32(ctx_in, 36);
    for (uint32_t i = 0; i < 5; ++i) m.cb[i] = load32(ctx_in, 48 + 4 * i);
    m.tstamp = load64(ctx_in, 152);
    m.wire_len = wire_len != 0 ? wire_len : size;
    m.gso_segs = static_cast<uint16_t>(gso_segs);
    m.gso_size = static_cast<uint16_t>(load32(ctx_in, 176));  // skb_shared_info holds 16 bits
    m.hwtstamp = load64(ctx_in, 184);

    TestRunResult result;
    result.skb = std::move(skb);
    return result;
}

}  // namespace tcbpf::skb
