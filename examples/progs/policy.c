/* A 5-tuple policy pushed from user space: on a hit the packet gets the policy's verdict, classid and
 * priority (the priority carries the decision to an egress qdisc); misses pass. `stats` counts hits and
 * misses so user space can read them without touching the packet path. */
#include "parse.h"

struct policy {
    __s32 verdict;   /* TC_ACT_* */
    __u32 classid;
    __u32 priority;
    __u32 mark;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, struct flow_key);
    __type(value, struct policy);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_map SEC(".maps");

enum { STAT_HIT, STAT_MISS, STAT_NOT_IP, STAT_MAX };

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, STAT_MAX);
    __type(key, __u32);
    __type(value, __u64);
} policy_stats SEC(".maps");

static __always_inline void count(__u32 which)
{
    __u64 *n = bpf_map_lookup_elem(&policy_stats, &which);
    if (n)
        __sync_fetch_and_add(n, 1);
}

SEC("tc")
int policy_classifier(struct __sk_buff *skb)
{
    struct parsed p;

    if (parse_packet(skb, &p) < 0) {
        count(STAT_NOT_IP);
        return TC_ACT_OK;
    }
    struct policy *pol = bpf_map_lookup_elem(&policy_map, &p.key);
    if (!pol) {
        count(STAT_MISS);
        return TC_ACT_OK;
    }
    count(STAT_HIT);
    skb->tc_classid = pol->classid;
    skb->priority = pol->priority;
    skb->mark = pol->mark;
    return pol->verdict;
}

char _license[] SEC("license") = "GPL";
