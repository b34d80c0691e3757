/* Per-flow packet and byte counters in a per-CPU hash: each CPU updates its own slot without atomics,
 * and user space sums the slots when it reads. */
#include "parse.h"

struct counters {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct flow_key);
    __type(value, struct counters);
} flow_stats SEC(".maps");

SEC("tc")
int flow_counters(struct __sk_buff *skb)
{
    struct parsed p;

    if (parse_packet(skb, &p) < 0)
        return TC_ACT_OK;
    struct counters *c = bpf_map_lookup_elem(&flow_stats, &p.key);
    if (c) {
        c->packets += 1;
        c->bytes += skb->len;
    } else {
        struct counters init = { .packets = 1, .bytes = skb->len };
        bpf_map_update_elem(&flow_stats, &p.key, &init, BPF_NOEXIST);
    }
    return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
