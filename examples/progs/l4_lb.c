/* An L4 load balancer for IPv4: TCP/UDP packets to a virtual service (address and port in `services`)
 * are spread over backends by a hash of the flow, the destination address and port rewritten with the
 * checksum helpers, the destination MAC set to the backend's, and the packet redirected out of the
 * backend's interface. Everything else passes. */
#include <stddef.h>
#include "parse.h"

struct service_key {
    __be32 vip;
    __be16 port;
    __u8 proto;
    __u8 pad;
};

struct service {
    __u32 first_backend; /* index into `backends` */
    __u32 backend_count;
};

struct backend {
    __be32 addr;
    __be16 port;
    __u8 mac[6];
    __u32 ifindex;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, struct service_key);
    __type(value, struct service);
} services SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, struct backend);
} backends SEC(".maps");

/* FNV-1a over the fields that identify the flow: the same flow always reaches the same backend. */
static __always_inline __u32 flow_hash(const struct parsed *p)
{
    const __u8 *b = (const __u8 *)&p->key;
    __u32 h = 2166136261u;
#pragma unroll
    for (int i = 0; i < (int)offsetof(struct flow_key, family); i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

SEC("tc")
int l4_lb(struct __sk_buff *skb)
{
    struct parsed p;

    if (parse_packet(skb, &p) < 0 || p.key.family != 4 || p.l4_off == 0)
        return TC_ACT_OK;

    struct service_key sk = { .port = p.key.dport, .proto = p.key.proto };
    __builtin_memcpy(&sk.vip, &p.key.daddr[12], 4);
    struct service *svc = bpf_map_lookup_elem(&services, &sk);
    if (!svc || svc->backend_count == 0)
        return TC_ACT_OK;

    __u32 idx = svc->first_backend + flow_hash(&p) % svc->backend_count;
    struct backend *be = bpf_map_lookup_elem(&backends, &idx);
    if (!be)
        return TC_ACT_SHOT;

    __u32 ip_daddr_off = p.l3_off + offsetof(struct iphdr, daddr);
    __u32 l4_csum_off = p.l4_off + (p.key.proto == IPPROTO_TCP ? offsetof(struct tcphdr, check)
                                                                 : offsetof(struct udphdr, check));
    __u32 l4_dport_off = p.l4_off + offsetof(struct udphdr, dest);
    __be32 old_addr = sk.vip;
    __be32 new_addr = be->addr;
    __be16 old_port = p.key.dport;
    __be16 new_port = be->port;
    /* UDP over IPv4 may carry no checksum; it must stay 0 (BPF_F_MARK_MANGLED_0 keeps it so). */
    __u64 l4_flags = p.key.proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

    if (bpf_l4_csum_replace(skb, l4_csum_off, old_addr, new_addr, l4_flags | BPF_F_PSEUDO_HDR | sizeof(new_addr)))
        return TC_ACT_SHOT;
    if (bpf_l4_csum_replace(skb, l4_csum_off, old_port, new_port, l4_flags | sizeof(new_port)))
        return TC_ACT_SHOT;
    if (bpf_l3_csum_replace(skb, p.l3_off + offsetof(struct iphdr, check), old_addr, new_addr, sizeof(new_addr)))
        return TC_ACT_SHOT;
    if (bpf_skb_store_bytes(skb, ip_daddr_off, &new_addr, sizeof(new_addr), 0))
        return TC_ACT_SHOT;
    if (bpf_skb_store_bytes(skb, l4_dport_off, &new_port, sizeof(new_port), 0))
        return TC_ACT_SHOT;
    if (bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_dest), be->mac, ETH_ALEN, 0))
        return TC_ACT_SHOT;
    return bpf_redirect(be->ifindex, 0);
}

char _license[] SEC("license") = "GPL";
