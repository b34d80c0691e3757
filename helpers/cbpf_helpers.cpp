// What converted cBPF programs call for the ancillary loads the kernel computes with private
// functions (bpf_convert_filter → convert_bpf_extensions): the payload offset, the netlink attribute
// searches and the device type. They take (ctx, A, X) like the kernel's and read the run's skb.
#include "env.h"
#include "tcbpf/cbpf.h"

namespace tcbpf::helpers {

namespace {

using detail::env_of;

// bpf_skb_get_pay_offset.
uint64_t pay_offset(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    const RunEnv& env = env_of(cx);
    const skb::Packet& packet = *env.packet;
    const int32_t network = detail::mark_or(packet.network_header(), 14);
    if (network < 0) return 0;
    return payload_offset(packet.bytes(), static_cast<uint32_t>(network), env.meta->protocol, env.meta->vlan_present,
                          env.meta->vlan_proto);
}

// bpf_skb_get_nlattr / bpf_skb_get_nlattr_nest (tcbpf skbs are always linear, so never the
// non-linear 0).
uint64_t nlattr(uint64_t, uint64_t a, uint64_t x, uint64_t, uint64_t, vm::Context* cx) {
    return cbpf::nlattr_offset(env_of(cx).packet->bytes(), static_cast<uint32_t>(a), static_cast<uint32_t>(x), false);
}
uint64_t nlattr_nest(uint64_t, uint64_t a, uint64_t x, uint64_t, uint64_t, vm::Context* cx) {
    return cbpf::nlattr_offset(env_of(cx).packet->bytes(), static_cast<uint32_t>(a), static_cast<uint32_t>(x), true);
}

// skb->dev->type. The converted program has already left when there is no device (ifindex 0).
uint64_t hatype(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    const RunEnv& env = env_of(cx);
    if (env.device_type != 0) return env.device_type;
    return env.meta->ifindex == 1 ? kArphrdLoopback : kArphrdEther;
}

}  // namespace

void register_cbpf_helpers(vm::HelperRegistry& registry) {
    registry.add(cbpf::kHelperCbpfPayOffset, "cbpf_pay_offset", &pay_offset);
    registry.add(cbpf::kHelperCbpfNlattr, "cbpf_nlattr", &nlattr);
    registry.add(cbpf::kHelperCbpfNlattrNest, "cbpf_nlattr_nest", &nlattr_nest);
    registry.add(cbpf::kHelperCbpfHatype, "cbpf_hatype", &hatype);
}

}  // namespace tcbpf::helpers
