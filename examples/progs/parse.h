/* Packet parsing shared by the example classifiers: Ethernet, up to two in-packet VLAN tags, IPv4 (with
 * options, fragments recognised) and IPv6 (fixed header), then TCP/UDP ports. Every read is bounds-checked
 * against data_end, which is what lets the verifier accept direct packet access. */
#ifndef TCBPF_EXAMPLES_PARSE_H
#define TCBPF_EXAMPLES_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

struct vlan_tag {
    __be16 tci;
    __be16 next_proto;
};

/* The 5-tuple the policy examples key their maps on. Addresses are IPv4-mapped for IPv4 so one key type
 * serves both families; the padding is explicit so keys hash identically everywhere. */
struct flow_key {
    __u8 saddr[16];
    __u8 daddr[16];
    __be16 sport;
    __be16 dport;
    __u8 proto;
    __u8 family; /* 4 or 6 */
    __u8 pad[2];
};

struct parsed {
    struct flow_key key;
    __u32 l3_off;   /* network header offset from data */
    __u32 l4_off;   /* transport header offset (0 if none or not the first fragment) */
    __u16 eth_proto; /* host order, after VLAN tags */
    __u8 fragment;  /* 1 if a non-first fragment */
};

static __always_inline void map_v4(__u8 out[16], __be32 addr)
{
    __builtin_memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    __builtin_memcpy(&out[12], &addr, 4);
}

/* Returns 0 when an IPv4 or IPv6 packet was parsed (ports are 0 for non-TCP/UDP and fragments),
 * -1 otherwise. */
static __always_inline int parse_packet(struct __sk_buff *skb, struct parsed *p)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    __u32 off = sizeof(*eth);
    __u16 proto;

    __builtin_memset(p, 0, sizeof(*p));
    if ((void *)(eth + 1) > data_end)
        return -1;
    proto = bpf_ntohs(eth->h_proto);

#pragma unroll
    for (int i = 0; i < 2; i++) {
        if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
            break;
        struct vlan_tag *tag = data + off;
        if ((void *)(tag + 1) > data_end)
            return -1;
        proto = bpf_ntohs(tag->next_proto);
        off += sizeof(*tag);
    }
    p->eth_proto = proto;
    p->l3_off = off;

    if (proto == ETH_P_IP) {
        struct iphdr *ip = data + off;
        if ((void *)(ip + 1) > data_end)
            return -1;
        __u32 ihl = ip->ihl * 4;
        if (ihl < sizeof(*ip))
            return -1;
        p->key.family = 4;
        p->key.proto = ip->protocol;
        map_v4(p->key.saddr, ip->saddr);
        map_v4(p->key.daddr, ip->daddr);
        if (ip->frag_off & bpf_htons(0x1fff)) {
            p->fragment = 1;
            return 0;
        }
        off += ihl;
    } else if (proto == ETH_P_IPV6) {
        struct ipv6hdr *ip6 = data + off;
        if ((void *)(ip6 + 1) > data_end)
            return -1;
        p->key.family = 6;
        p->key.proto = ip6->nexthdr;
        __builtin_memcpy(p->key.saddr, &ip6->saddr, 16);
        __builtin_memcpy(p->key.daddr, &ip6->daddr, 16);
        off += sizeof(*ip6);
    } else {
        return -1;
    }

    if (p->key.proto == IPPROTO_TCP || p->key.proto == IPPROTO_UDP) {
        /* Both headers start with the two ports. */
        struct udphdr *l4 = data + off;
        if ((void *)(l4 + 1) > data_end)
            return 0;
        p->l4_off = off;
        p->key.sport = l4->source;
        p->key.dport = l4->dest;
    }
    return 0;
}

#endif
