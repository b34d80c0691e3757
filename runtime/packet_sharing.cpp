// The helpers a program may call and still run on a shared frame are listed rather than excluded: a
// helper missing from the list only costs the copy, while a writer wrongly listed would let the
// program's packet pointers go stale (the write lands in the copy, reads keep seeing the shared
// frame). Helpers that fill memory they are given are listed: the verifier counts a packet pointer
// passed to them as a direct write.
#include "runtime/packet_sharing.h"

#include <algorithm>
#include <array>

#include "tcbpf/vm.h"

namespace tcbpf::runtime::detail {

namespace {

// Helper ids (include/uapi/linux/bpf.h) that neither write packet bytes nor move the data. Sorted.
constexpr std::array<int32_t, 50> kPacketReadOnlyHelpers = {
    1,   // map_lookup_elem
    2,   // map_update_elem
    3,   // map_delete_elem
    5,   // ktime_get_ns
    6,   // trace_printk
    7,   // get_prandom_u32
    8,   // get_smp_processor_id
    17,  // get_cgroup_classid
    20,  // skb_get_tunnel_key
    23,  // redirect
    24,  // get_route_realm
    25,  // perf_event_output
    26,  // skb_load_bytes
    28,  // csum_diff
    29,  // skb_get_tunnel_opt
    32,  // skb_change_type (pkt_type only)
    33,  // skb_under_cgroup
    34,  // get_hash_recalc
    40,  // csum_update
    41,  // set_hash_invalid
    42,  // get_numa_node_id
    46,  // get_socket_cookie
    47,  // get_socket_uid
    48,  // set_hash
    66,  // skb_get_xfrm_state
    68,  // skb_load_bytes_relative (from a header mark; marks of a shared packet are at or after data)
    69,  // fib_lookup
    79,  // skb_cgroup_id
    87,  // map_push_elem
    88,  // map_pop_elem
    89,  // map_peek_elem
    93,  // spin_lock
    94,  // spin_unlock
    105, // strtol
    106, // strtoul
    125, // ktime_get_boot_ns
    130, // ringbuf_output
    131, // ringbuf_reserve
    132, // ringbuf_submit
    133, // ringbuf_discard
    134, // ringbuf_query
    135, // csum_level
    151, // skb_cgroup_classid
    152, // redirect_neigh
    155, // redirect_peer
    163, // check_mtu
    182, // strncmp
    192, // skb_set_tstamp
    195, // map_lookup_percpu_elem
    208, // ktime_get_tai_ns
};
static_assert(std::is_sorted(kPacketReadOnlyHelpers.begin(), kPacketReadOnlyHelpers.end()));

bool packet_read_only_helper(int32_t id) {
    return std::binary_search(kPacketReadOnlyHelpers.begin(), kPacketReadOnlyHelpers.end(), id);
}

}  // namespace

bool reads_packet_only(const isa::Program& rewritten, const verifier::Result* proof, bool checked) {
    if (checked || proof == nullptr || !proof->ok || proof->direct_packet_write) return false;
    // The instructions rather than the verifier's list of helpers: dead code is already gone from the
    // rewritten program, and what remains is what can run.
    for (const isa::Insn& insn : rewritten.insns) {
        const isa::Shape shape = isa::info(insn.op).shape;
        if (shape == isa::Shape::LdAbs || shape == isa::Shape::LdInd) return false;
        if (shape == isa::Shape::Callx) return false;
        if (shape == isa::Shape::Call && insn.op != isa::Op::CALL_LOCAL &&
            (insn.op != isa::Op::CALL_HELPER || !packet_read_only_helper(insn.imm)))
            return false;  // tail calls included
    }
    return true;
}

}  // namespace tcbpf::runtime::detail
