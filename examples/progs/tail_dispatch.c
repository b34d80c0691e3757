/* A tail-call dispatcher: the entry program looks at the IP version and jumps through a prog array to
 * a per-family handler, initialised statically with libbpf's `.values`. Handlers count and classify;
 * an empty slot falls through to the entry's default verdict, as the kernel does. */
#include "parse.h"

enum { SLOT_IPV4 = 0, SLOT_IPV6 = 1, SLOT_OTHER = 2 };

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 3);
    __type(key, __u32);
    __type(value, __u64);
} dispatch_stats SEC(".maps");

static __always_inline void count(__u32 slot)
{
    __u64 *n = bpf_map_lookup_elem(&dispatch_stats, &slot);
    if (n)
        __sync_fetch_and_add(n, 1);
}

SEC("tc")
int handle_ipv4(struct __sk_buff *skb)
{
    count(SLOT_IPV4);
    skb->tc_classid = 0x10004;
    return TC_ACT_OK;
}

SEC("tc")
int handle_ipv6(struct __sk_buff *skb)
{
    count(SLOT_IPV6);
    skb->tc_classid = 0x10006;
    return TC_ACT_OK;
}

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 3);
    __uint(key_size, sizeof(__u32));
    __array(values, int (void *));
} jump_table SEC(".maps") = {
    .values = {
        [SLOT_IPV4] = (void *)&handle_ipv4,
        [SLOT_IPV6] = (void *)&handle_ipv6,
    },
};

SEC("tc")
int dispatch(struct __sk_buff *skb)
{
    struct parsed p;

    if (parse_packet(skb, &p) < 0) {
        count(SLOT_OTHER);
        bpf_tail_call(skb, &jump_table, SLOT_OTHER); /* empty slot: falls through */
        return TC_ACT_UNSPEC;
    }
    bpf_tail_call(skb, &jump_table, p.key.family == 4 ? SLOT_IPV4 : SLOT_IPV6);
    return TC_ACT_SHOT; /* not reached while the table is populated */
}

char _license[] SEC("license") = "GPL";
