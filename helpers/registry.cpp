// The table of implemented helpers: kernel id → implementation. Names come from helper_name so the
// registry and the id table can never disagree.
#include "env.h"

namespace tcbpf::helpers {

namespace detail {
#define TCBPF_HELPER(name) uint64_t name(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*);
#define TCBPF_HELPERS(X)                                                                                          \
    X(1, map_lookup_elem) X(2, map_update_elem) X(3, map_delete_elem) X(5, ktime_get_ns) X(6, trace_printk)       \
    X(7, get_prandom_u32) X(8, get_smp_processor_id) X(9, skb_store_bytes) X(10, l3_csum_replace)                 \
    X(11, l4_csum_replace) X(13, clone_redirect) X(17, get_cgroup_classid) X(18, skb_vlan_push)                   \
    X(19, skb_vlan_pop) X(20, skb_get_tunnel_key) X(23, redirect) X(24, get_route_realm)                          \
    X(25, perf_event_output) X(26, skb_load_bytes) X(28, csum_diff) X(29, skb_get_tunnel_opt)                     \
    X(31, skb_change_proto) X(32, skb_change_type) X(33, skb_under_cgroup) X(34, get_hash_recalc)                 \
    X(38, skb_change_tail) X(39, skb_pull_data) X(40, csum_update) X(41, set_hash_invalid)                        \
    X(42, get_numa_node_id) X(43, skb_change_head) X(46, get_socket_cookie) X(47, get_socket_uid)                 \
    X(48, set_hash) X(50, skb_adjust_room) X(66, skb_get_xfrm_state) X(68, skb_load_bytes_relative)               \
    X(69, fib_lookup) X(79, skb_cgroup_id) X(87, map_push_elem) X(88, map_pop_elem) X(89, map_peek_elem)          \
    X(93, spin_lock) X(94, spin_unlock) X(97, skb_ecn_set_ce) X(105, strtol) X(106, strtoul)                      \
    X(125, ktime_get_boot_ns) X(130, ringbuf_output) X(131, ringbuf_reserve) X(132, ringbuf_submit)               \
    X(133, ringbuf_discard) X(134, ringbuf_query) X(135, csum_level) X(151, skb_cgroup_classid)                   \
    X(152, redirect_neigh) X(155, redirect_peer) X(163, check_mtu) X(182, strncmp) X(192, skb_set_tstamp)         \
    X(195, map_lookup_percpu_elem) X(208, ktime_get_tai_ns)
#define TCBPF_DECLARE(id, name) TCBPF_HELPER(name)
TCBPF_HELPERS(TCBPF_DECLARE)
#undef TCBPF_DECLARE
#undef TCBPF_HELPER
}  // namespace detail

void register_tc_helpers(vm::HelperRegistry& registry) {
#define TCBPF_REGISTER(id, name)                                                   \
    static_assert(id != vm::kHelperTailCall);                                       \
    registry.add(id, std::string(helper_name(id)), &detail::name);
    TCBPF_HELPERS(TCBPF_REGISTER)
#undef TCBPF_REGISTER
    register_cbpf_helpers(registry);
}

}  // namespace tcbpf::helpers
