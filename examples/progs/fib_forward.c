/* A router in tc: asks the host's FIB where each IPv4/IPv6 packet goes (bpf_fib_lookup, with the
 * packet's length so the egress MTU is checked), and when the answer is a neighbour on an egress device,
 * decrements the TTL/hop limit (fixing the IPv4 checksum), rewrites both MAC addresses and redirects the
 * packet there. Reject routes drop the packet; everything the fast path cannot finish (no neighbour
 * entry yet, local destinations, forwarding off, too big, TTL about to expire) goes up to the stack. */
#include "parse.h"

#define AF_INET 2
#define AF_INET6 10

static __always_inline int decrement_ttl(struct __sk_buff *skb, __u16 eth_proto)
{
    const __u32 l3 = sizeof(struct ethhdr);

    if (eth_proto == ETH_P_IP) {
        /* TTL and protocol share a 16-bit checksum word. */
        __u16 old_word, new_word;
        __u8 ttl;

        if (bpf_skb_load_bytes(skb, l3 + offsetof(struct iphdr, ttl), &old_word, 2) < 0)
            return -1;
        ttl = ((__u8 *)&old_word)[0] - 1;
        new_word = old_word;
        ((__u8 *)&new_word)[0] = ttl;
        if (bpf_l3_csum_replace(skb, l3 + offsetof(struct iphdr, check), old_word, new_word, 2) < 0)
            return -1;
        return bpf_skb_store_bytes(skb, l3 + offsetof(struct iphdr, ttl), &ttl, 1, 0);
    }
    __u8 hop_limit;
    if (bpf_skb_load_bytes(skb, l3 + offsetof(struct ipv6hdr, hop_limit), &hop_limit, 1) < 0)
        return -1;
    hop_limit--;
    return bpf_skb_store_bytes(skb, l3 + offsetof(struct ipv6hdr, hop_limit), &hop_limit, 1, 0);
}

SEC("tc")
int fib_forward(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct bpf_fib_lookup fib;
    __u16 proto;
    long rc;

    __builtin_memset(&fib, 0, sizeof(fib));
    if ((void *)(eth + 1) > data_end)
        return TC_ACT_OK;
    proto = bpf_ntohs(eth->h_proto);
    if (proto == ETH_P_IP) {
        struct iphdr *ip = (void *)(eth + 1);

        if ((void *)(ip + 1) > data_end || ip->ttl <= 1)
            return TC_ACT_OK;
        fib.family = AF_INET;
        fib.tos = ip->tos;
        fib.l4_protocol = ip->protocol;
        fib.tot_len = bpf_ntohs(ip->tot_len);
        fib.ipv4_src = ip->saddr;
        fib.ipv4_dst = ip->daddr;
    } else if (proto == ETH_P_IPV6) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);

        if ((void *)(ip6 + 1) > data_end || ip6->hop_limit <= 1)
            return TC_ACT_OK;
        fib.family = AF_INET6;
        fib.l4_protocol = ip6->nexthdr;
        fib.tot_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
        __builtin_memcpy(fib.ipv6_src, &ip6->saddr, 16);
        __builtin_memcpy(fib.ipv6_dst, &ip6->daddr, 16);
    } else {
        return TC_ACT_OK;
    }
    fib.ifindex = skb->ifindex;

    rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
    switch (rc) {
    case BPF_FIB_LKUP_RET_SUCCESS:
        break;
    case BPF_FIB_LKUP_RET_BLACKHOLE:
    case BPF_FIB_LKUP_RET_UNREACHABLE:
    case BPF_FIB_LKUP_RET_PROHIBIT:
        return TC_ACT_SHOT;
    default:
        return TC_ACT_OK;
    }
    if (decrement_ttl(skb, proto) < 0)
        return TC_ACT_SHOT;
    if (bpf_skb_store_bytes(skb, 0, fib.dmac, ETH_ALEN, 0) < 0 ||
        bpf_skb_store_bytes(skb, ETH_ALEN, fib.smac, ETH_ALEN, 0) < 0)
        return TC_ACT_SHOT;
    return bpf_redirect(fib.ifindex, 0);
}

char _license[] SEC("license") = "GPL";
