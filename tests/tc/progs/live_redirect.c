/* The end-to-end tests' redirect: UDP datagrams to the port held in live_redirect[1] leave through the
 * interface whose ifindex is in live_redirect[0] (bpf_redirect, egress); everything else goes on to
 * the next filter (TC_ACT_UNSPEC). The map is pinned by name so the test sets both values from outside,
 * the same way for the kernel's tc and for tcbpf. */
#include "../../../examples/progs/parse.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u32);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} live_redirect SEC(".maps");

SEC("tc")
int redirect_port(struct __sk_buff *skb)
{
    struct parsed p;
    __u32 ifindex_key = 0, port_key = 1;

    if (parse_packet(skb, &p) < 0 || p.key.proto != IPPROTO_UDP)
        return TC_ACT_UNSPEC;
    __u32 *ifindex = bpf_map_lookup_elem(&live_redirect, &ifindex_key);
    __u32 *port = bpf_map_lookup_elem(&live_redirect, &port_key);
    if (!ifindex || !port || *ifindex == 0 || bpf_ntohs(p.key.dport) != *port)
        return TC_ACT_UNSPEC;
    return bpf_redirect(*ifindex, 0);
}

char _license[] SEC("license") = "GPL";
