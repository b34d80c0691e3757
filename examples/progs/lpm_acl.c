/* A source-address ACL in two LPM tries (IPv4 and IPv6): the longest matching prefix decides whether
 * the packet is dropped; no match allows it. Counts decisions per rule action. */
#include "parse.h"

struct lpm_v4_key {
    __u32 prefixlen;
    __u8 addr[4];
};

struct lpm_v6_key {
    __u32 prefixlen;
    __u8 addr[16];
};

enum { ACL_ALLOW = 0, ACL_DROP = 1 };

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 1024);
    __type(key, struct lpm_v4_key);
    __type(value, __u32);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} acl_v4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 1024);
    __type(key, struct lpm_v6_key);
    __type(value, __u32);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} acl_v6 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 3); /* allowed by rule, dropped by rule, no rule */
    __type(key, __u32);
    __type(value, __u64);
} acl_stats SEC(".maps");

static __always_inline void count(__u32 which)
{
    __u64 *n = bpf_map_lookup_elem(&acl_stats, &which);
    if (n)
        __sync_fetch_and_add(n, 1);
}

SEC("tc")
int lpm_acl(struct __sk_buff *skb)
{
    struct parsed p;
    __u32 *action = 0;

    if (parse_packet(skb, &p) < 0)
        return TC_ACT_OK;
    if (p.key.family == 4) {
        struct lpm_v4_key k = { .prefixlen = 32 };
        __builtin_memcpy(k.addr, &p.key.saddr[12], 4);
        action = bpf_map_lookup_elem(&acl_v4, &k);
    } else {
        struct lpm_v6_key k = { .prefixlen = 128 };
        __builtin_memcpy(k.addr, p.key.saddr, 16);
        action = bpf_map_lookup_elem(&acl_v6, &k);
    }
    if (!action) {
        count(2);
        return TC_ACT_OK;
    }
    if (*action == ACL_DROP) {
        count(1);
        return TC_ACT_SHOT;
    }
    count(0);
    return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
