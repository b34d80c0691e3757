// The kernel helpers tc programs call (bpf_map_lookup_elem, bpf_skb_store_bytes, bpf_redirect, ...),
// with the semantics and error codes of Linux's net/core/filter.c and kernel/bpf/helpers.c.
//
// A helper is a plain vm::HelperFn. Everything it acts on arrives through the program's registers
// (the ctx argument is the address of the run's skb::SkbContext, a map argument the address of a
// maps::Map) or through the run's RunEnv, which the runtime points vm::Context::user at. The CPU index
// (bpf_get_smp_processor_id, per-CPU map slots) is vm::Context::cpu.
//
// State the runtime relies on after a helper returns:
//  * Packet, SkbMeta and the SkbContext's read-only views stay consistent: a helper that moves or
//    resizes packet data rewrites ctx->data/data_end/data_meta/len, one that changes protocol or the
//    VLAN tag rewrites ctx->protocol/vlan_*, set_hash rewrites ctx->hash, and so on. Fields a program
//    may write (mark, priority, cb, ...) are left to skb::sync_out after the run.
//  * In checked mode the region named kPacketRegion in vm::Context::regions (if any) is moved to the
//    packet's new [data_meta, data_end) after a helper reallocates or resizes the packet.
//  * bpf_redirect, bpf_redirect_neigh and bpf_redirect_peer record their target in
//    SkbMeta::redirect_ifindex/redirect_flags.
// Helpers never throw: failures are the kernel's negative errno (or TC_ACT_SHOT for bpf_redirect).
//
// tcbpf skbs carry no socket, dst or tunnel metadata (ctx->sk is NULL), so socket, cgroup, route and
// tunnel queries answer as the kernel does for such an skb (cookie 0, overflowuid, -ENOENT, ...).
// Note that the kernel's BPF_PROG_TEST_RUN attaches a dummy socket (measured on 6.18: cookie 1, uid 0,
// skb_cgroup_id 1), so those few answers differ from a kernel test run by design.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "tcbpf/skb.h"
#include "tcbpf/vm.h"

namespace tcbpf::net {
class Host;
}

namespace tcbpf::helpers {

// Name of the checked-mode region holding the packet bytes, [data_meta, data_end).
inline constexpr const char* kPacketRegion = "packet";

// tc verdicts helpers return (uapi pkt_cls.h).
inline constexpr uint64_t kTcActShot = 2;
inline constexpr uint64_t kTcActRedirect = 7;

// bpf_redirect / bpf_clone_redirect flag.
inline constexpr uint64_t kFIngress = 1;
// The kernel's internal redirect flags (net/core/filter.c), recorded in SkbMeta::redirect_flags by
// bpf_redirect_neigh (kRedirectNeigh, plus kRedirectNexthop when it was given a next hop) and
// bpf_redirect_peer (kRedirectPeer), for the hook to act on.
inline constexpr uint32_t kRedirectNeigh = 1u << 16;
inline constexpr uint32_t kRedirectPeer = 1u << 17;
inline constexpr uint32_t kRedirectNexthop = 1u << 18;

// The kernel's internal ENOTSUPP, which helpers leak to programs (e.g. skb_change_proto, csum_update).
inline constexpr int kENOTSUPP = 524;

// The skb as it stands when bpf_clone_redirect asks for a copy to be sent: bytes and metadata
// (including the program's writes to mark, priority, ... made before the call).
struct CloneRequest {
    uint32_t ifindex = 0;
    uint64_t flags = 0;  // 0 (egress) or kFIngress
    const skb::Packet* packet = nullptr;
    const skb::SkbMeta* meta = nullptr;
};

// What one run's helpers operate on. The runtime fills it, points vm::Context::user at it, and keeps
// it alive for the run.
struct RunEnv {
    skb::Packet* packet = nullptr;
    skb::SkbMeta* meta = nullptr;
    skb::SkbContext* ctx = nullptr;  // the program's r1

    // True when the program runs at the tc ingress hook (skb_at_tc_ingress): VLAN helpers then keep a
    // CHECKSUM_COMPLETE sum in step with the MAC header, as the kernel does there.
    bool tc_ingress = false;
    // skb->encapsulation: set by bpf_skb_adjust_room with an ENCAP flag; skb_change_tail then refuses.
    bool encapsulation = false;

    // bpf_trace_printk lines (without trailing newline); nullptr writes them to stderr.
    std::function<void(std::string_view)>* trace = nullptr;

    // bpf_get_prandom_u32 state. 0 means "seed randomly on first use"; any other value
    // makes the sequence deterministic (tests). Advanced by every call.
    uint64_t prandom_state = 0;

    // bpf_clone_redirect: sends the clone now and returns 0, or a negative errno (-EINVAL for an
    // unknown ifindex, as the kernel's dev_get_by_index miss). nullptr: no device exists (-EINVAL).
    std::function<long(const CloneRequest&)>* clone_redirect = nullptr;

    // skb->dev->type (ARPHRD_*), what a cBPF program's SKF_AD_HATYPE reads. 0: the device is loopback
    // if the skb's ifindex is 1 (LOOPBACK_IFINDEX: a BPF_PROG_TEST_RUN skb), else an Ethernet port.
    uint16_t device_type = 0;

    // The host bpf_fib_lookup and bpf_check_mtu consult (include/tcbpf/net.h); nullptr: a fresh
    // network namespace's, where only lo exists (what BPF_PROG_TEST_RUN in a new netns sees).
    const net::Host* host = nullptr;
};

inline constexpr uint16_t kArphrdEther = 1;
inline constexpr uint16_t kArphrdLoopback = 772;

// Registers every helper tcbpf implements under its kernel id and name ("map_lookup_elem", without
// the bpf_ prefix). Tail calls (id 12) are executed by the interpreter itself and not registered.
void register_tc_helpers(vm::HelperRegistry& registry);

// The kernel's private functions that converted cBPF programs call for ancillary loads (cbpf.h
// kHelperCbpf*: payload offset, netlink attribute search, device type), with the kernel's semantics.
// register_tc_helpers includes them.
void register_cbpf_helpers(vm::HelperRegistry& registry);

// skb_get_poff: the offset from `data` (the MAC header) of the transport payload, as the kernel's flow
// dissector finds it from the network header at `network_offset` (0 when dissection fails). Protocols
// in host order; `vlan_proto` matters only when a tag was taken out of the bytes.
uint32_t payload_offset(std::span<const uint8_t> data, uint32_t network_offset, uint16_t protocol,
                        bool vlan_tag_present, uint16_t vlan_proto);

// The name of a kernel helper id (helpers.md, "map_lookup_elem"), implemented or not, for messages
// about unimplemented ones; empty for an id the kernel does not define (0 or above 211).
std::string_view helper_name(int32_t id);

}  // namespace tcbpf::helpers
