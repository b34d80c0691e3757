/* The demo's two classifiers (examples/demo/README.md tells the story).
 *
 * Ingress, direct action, on the port traffic arrives at: parse Ethernet/VLAN/IPv4/IPv6/TCP/UDP, count
 * the flow in a per-CPU map, and look its 5-tuple up in the policy map. A policy says what to do with
 * the flow (a TC_ACT_* verdict) and which traffic class it belongs to (a priority, 1..3); the priority
 * rides on skb->priority to the other port's egress. Flows without a policy pass with priority 0.
 *
 * Egress, at the htb's `parent 1:` on the other port, classic (not direct-action) mode: the return value
 * is the classid, 1:10 / 1:20 / 1:30 for priorities 1 / 2 / 3; 0 (no match) lets the htb send the
 * packet to its default class.
 *
 * Both maps are pinned by name, so they live in the bpffs directory's tc/globals/ where a separate
 * `tcbpf map update` changes the policy without reloading anything. */
#include "../progs/parse.h"

struct policy {
    __s32 verdict;  /* TC_ACT_OK, TC_ACT_SHOT, ... */
    __u32 priority; /* traffic class 1..3 at egress, 0: the default class */
};

struct counters {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, struct flow_key);
    __type(value, struct policy);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} demo_policy SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct flow_key);
    __type(value, struct counters);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} demo_flows SEC(".maps");

SEC("tc")
int demo_ingress(struct __sk_buff *skb)
{
    struct parsed p;

    if (parse_packet(skb, &p) < 0)
        return TC_ACT_OK; /* not IP: not ours to police */

    struct counters *c = bpf_map_lookup_elem(&demo_flows, &p.key);
    if (c) {
        c->packets += 1;
        c->bytes += skb->len;
    } else {
        struct counters first = { .packets = 1, .bytes = skb->len };
        bpf_map_update_elem(&demo_flows, &p.key, &first, BPF_NOEXIST);
    }

    struct policy *pol = bpf_map_lookup_elem(&demo_policy, &p.key);
    if (!pol) {
        skb->priority = 0;
        return TC_ACT_OK;
    }
    skb->priority = pol->priority;
    return pol->verdict;
}

SEC("classifier")
int demo_egress(struct __sk_buff *skb)
{
    __u32 prio = skb->priority;

    if (prio >= 1 && prio <= 3)
        return (1 << 16) | (prio << 4); /* 1:10, 1:20, 1:30 */
    return 0;
}

char _license[] SEC("license") = "GPL";
