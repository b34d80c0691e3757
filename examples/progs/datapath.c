/* A container-networking datapath of the size production ones have (over 3,000 instructions): parses
 * Ethernet with up to two VLAN tags, IPv4 (options walked), IPv6 (extension headers walked), TCP (options
 * walked), UDP and ICMP/ICMPv6; tracks connections in a conntrack table keyed by a hashed 5-tuple;
 * caps new connections per source; applies an allow/deny policy keyed by destination port and protocol; rewrites IPv4 destinations
 * through a NAT table with incremental checksum updates; and hands ICMP and packets it cannot parse to
 * tail-called programs through a prog array. The per-protocol work lives in __noinline functions, so
 * the verifier sees bpf-to-bpf calls, and every walk over headers is a bounded loop.
 *
 * Verdicts: TC_ACT_SHOT for policy drops and malformed headers, TC_ACT_OK otherwise; skb->mark carries
 * the conntrack state and skb->tc_classid the policy class, so a differential run sees every decision. */
#include "parse.h"

/* linux/icmp.h pulls in libc's socket headers, which a BPF target cannot include. */
struct icmp_header {
    __u8 type;
    __u8 code;
    __sum16 checksum;
};
#define ICMP_TYPE_DEST_UNREACH 3
#define ICMP_TYPE_ECHO 8

#define MAX_IP_OPTIONS 6
#define MAX_TCP_OPTIONS 6
#define MAX_IPV6_EXT 6

enum { CT_NEW = 1, CT_ESTABLISHED = 2, CT_CLOSING = 3 };
enum { JUMP_ICMP = 0, JUMP_UNPARSED = 1 };
enum {
    STAT_PACKETS, STAT_IPV4, STAT_IPV6, STAT_TCP, STAT_UDP, STAT_ICMP, STAT_DROPPED, STAT_NATTED,
    STAT_CT_NEW, STAT_CT_HIT, STAT_IP_OPTIONS, STAT_TCP_OPTIONS, STAT_IPV6_EXT, STAT_MALFORMED, STAT_TUNNELLED,
    STAT_BAD_CHECKSUM, STAT_DNS_BLOCKED, STAT_CONN_LIMITED, STAT_COUNT
};

struct ct_entry {
    __u64 packets;
    __u64 bytes;
    __u32 state;
    __u32 tcp_flags_seen;
    __u32 mss;
    __u32 wscale;
};

struct policy_key {
    __u16 port; /* host order */
    __u8 proto;
    __u8 family;
};

struct policy_value {
    __u32 allow;
    __u32 classid;
};

struct nat_key {
    __be32 addr;
    __be16 port;
    __u8 proto;
    __u8 pad;
};

struct nat_value {
    __be32 addr;
    __be16 port;
    __u16 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, __u64);
    __type(value, struct ct_entry);
} dp_conntrack SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, struct policy_key);
    __type(value, struct policy_value);
} dp_policy SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, struct nat_key);
    __type(value, struct nat_value);
} dp_nat SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, STAT_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} dp_stats SEC(".maps");

/* Per-packet facts the stages pass along (on the entry program's stack). */
struct pkt_info {
    struct flow_key key;
    __u32 l3_off;
    __u32 l4_off;
    __u32 len;
    __u16 eth_proto;
    __u8 tcp_flags;
    __u8 fragment;
    __u32 mss;
    __u32 wscale;
    __u32 ip_options;
    __u32 ext_headers;
    __u32 tunnelled;
};

static __always_inline void stat_add(__u32 which, __u64 n)
{
    __u64 *v = bpf_map_lookup_elem(&dp_stats, &which);
    if (v)
        __sync_fetch_and_add(v, n);
}

/* A 64-bit mix of one 32-bit word into the running hash (a multiply-xorshift round). */
static __always_inline __u64 mix(__u64 h, __u32 w)
{
    h ^= w;
    h *= 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    return h;
}

/* The conntrack key: a hash of the 5-tuple with the lower address first, so both directions of a
 * connection share one entry. */
static __noinline __u64 flow_hash(const struct flow_key *k)
{
    const __u32 *s = (const __u32 *)k->saddr;
    const __u32 *d = (const __u32 *)k->daddr;
    __u64 h = 0x243f6a8885a308d3ULL ^ k->proto ^ ((__u64)k->family << 8);
    int swap = 0;

#pragma unroll
    for (int i = 0; i < 4; i++) {
        if (s[i] != d[i]) {
            swap = s[i] > d[i];
            break;
        }
    }
    __u16 lo_port = swap ? k->dport : k->sport;
    __u16 hi_port = swap ? k->sport : k->dport;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        h = mix(h, swap ? d[i] : s[i]);
        h = mix(h, swap ? s[i] : d[i]);
    }
    h = mix(h, ((__u32)lo_port << 16) | hi_port);
    return h;
}

/* Walks IPv4 options (bounded: at most MAX_IP_OPTIONS); returns how many were seen, or -1 when one
 * runs past the header. */
static __noinline int walk_ipv4_options(struct __sk_buff *skb, __u32 start, __u32 end)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    __u32 off = start;
    int seen = 0;

    if (end > start + 40)
        return -1;
    for (int i = 0; i < MAX_IP_OPTIONS; i++) {
        if (off >= end)
            break;
        if (off > 200)
            return -1;
        __u8 *opt = data + off;
        if ((void *)(opt + 2) > data_end)
            return -1;
        __u8 type = opt[0];
        if (type == 0) /* end of options */
            break;
        if (type == 1) { /* no-op */
            off += 1;
            seen++;
            continue;
        }
        __u8 len = opt[1];
        if (len < 2)
            return -1;
        off += len;
        seen++;
    }
    return seen;
}

/* Walks TCP options for MSS and window scale (bounded); fills info, returns options seen or -1. */
static __noinline int walk_tcp_options(struct __sk_buff *skb, struct pkt_info *info, __u32 start, __u32 end)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    __u32 off = start;
    int seen = 0;

    if (end > start + 40)
        return -1;
    for (int i = 0; i < MAX_TCP_OPTIONS; i++) {
        if (off >= end)
            break;
        if (off > 300)
            return -1;
        __u8 *opt = data + off;
        if ((void *)(opt + 1) > data_end)
            return -1;
        __u8 kind = opt[0];
        if (kind == 0)
            break;
        if (kind == 1) {
            off += 1;
            seen++;
            continue;
        }
        if ((void *)(opt + 2) > data_end)
            return -1;
        __u8 len = opt[1];
        if (len < 2)
            return -1;
        if (kind == 2 && len == 4) {
            if ((void *)(opt + 4) > data_end)
                return -1;
            info->mss = ((__u32)opt[2] << 8) | opt[3];
        } else if (kind == 3 && len == 3) {
            if ((void *)(opt + 3) > data_end)
                return -1;
            info->wscale = opt[2] & 0x0f;
        }
        off += len;
        seen++;
    }
    return seen;
}

/* Skips IPv6 extension headers (hop-by-hop, routing, destination options, fragment); returns the
 * offset of the upper-layer header with *proto set to it, or -1. */
static __noinline int walk_ipv6_ext(struct __sk_buff *skb, struct pkt_info *info, __u32 off, __u8 *proto)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    __u8 next = *proto;

#pragma unroll
    for (int i = 0; i < MAX_IPV6_EXT; i++) {
        if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS &&
            next != IPPROTO_FRAGMENT)
            break;
        if (off > 400)
            return -1;
        __u8 *ext = data + off;
        if ((void *)(ext + 8) > data_end)
            return -1;
        if (next == IPPROTO_FRAGMENT) {
            if ((ext[2] << 8 | ext[3]) & 0xfff8)
                info->fragment = 1;
            next = ext[0];
            off += 8;
        } else {
            next = ext[0];
            off += (ext[1] + 1) * 8;
        }
        info->ext_headers++;
    }
    *proto = next;
    return off;
}

/* Ethernet at `start`, VLAN tags, then the network header into info; -1 for what is not IPv4/IPv6.
 * Inlined twice: for the packet and for the packet a VXLAN or GRE tunnel carries. */
static __always_inline int parse_l3_at(struct __sk_buff *skb, struct pkt_info *info, __u32 start)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    if (start > 128)
        return -1;
    struct ethhdr *eth = data + start;
    __u32 off = start + sizeof(*eth);

    if ((void *)(eth + 1) > data_end)
        return -1;
    __u16 proto = bpf_ntohs(eth->h_proto);
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
    info->eth_proto = proto;
    info->l3_off = off;

    if (proto == ETH_P_IP) {
        struct iphdr *ip = data + off;
        if ((void *)(ip + 1) > data_end)
            return -1;
        __u32 ihl = ip->ihl * 4;
        if (ihl < sizeof(*ip))
            return -1;
        info->key.family = 4;
        info->key.proto = ip->protocol;
        map_v4(info->key.saddr, ip->saddr);
        map_v4(info->key.daddr, ip->daddr);
        if (ip->frag_off & bpf_htons(0x1fff))
            info->fragment = 1;
        if (ihl > sizeof(*ip)) {
            int n = walk_ipv4_options(skb, off + sizeof(*ip), off + ihl);
            if (n < 0)
                return -1;
            info->ip_options = n;
        }
        info->l4_off = off + ihl;
        return 0;
    }
    if (proto == ETH_P_IPV6) {
        struct ipv6hdr *ip6 = data + off;
        if ((void *)(ip6 + 1) > data_end)
            return -1;
        __u8 next = ip6->nexthdr;
        info->key.family = 6;
        __builtin_memcpy(info->key.saddr, &ip6->saddr, 16);
        __builtin_memcpy(info->key.daddr, &ip6->daddr, 16);
        int l4 = walk_ipv6_ext(skb, info, off + sizeof(*ip6), &next);
        if (l4 < 0)
            return -1;
        info->key.proto = next;
        info->l4_off = l4;
        return 0;
    }
    return -1;
}

static __noinline int parse_l3(struct __sk_buff *skb, struct pkt_info *info)
{
    return parse_l3_at(skb, info, 0);
}

/* The IPv4 header checksum over ihl words must fold to 0xffff; -1 when it does not. */
static __noinline int ipv4_checksum_ok(struct __sk_buff *skb, __u32 l3)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    if (l3 > 64)
        return 0;
    __u8 *ip = data + l3;
    if ((void *)(ip + 20) > data_end)
        return 0;
    __u32 words = (ip[0] & 0x0f) * 2;
    __u32 sum = 0;
#pragma unroll
    for (int i = 0; i < 30; i++) {
        __u8 *w = ip + i * 2;
        if (i < words) {
            if ((void *)(w + 2) > data_end)
                return 0;
            sum += ((__u32)w[0] << 8) | w[1];
        }
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

#define VXLAN_PORT 4789
#define GRE_PROTO 47
#define GRE_ETH_BRIDGING 0x6558

/* A VXLAN (UDP 4789) or GRE (transparent Ethernet bridging) tunnel: the carried packet's flow replaces
 * the outer one in info, so policy and conntrack see the workload's traffic. 1 when decapsulated. */
static __noinline int parse_tunnel(struct __sk_buff *skb, struct pkt_info *info)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    __u32 off = info->l4_off;
    __u32 inner;

    if (info->fragment || off > 128)
        return 0;
    if (info->key.proto == IPPROTO_UDP) {
        struct udphdr *udp = data + off;
        if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(VXLAN_PORT))
            return 0;
        __u8 *vx = (void *)(udp + 1);
        if ((void *)(vx + 8) > data_end || !(vx[0] & 0x08))
            return 0;
        inner = off + sizeof(*udp) + 8;
    } else if (info->key.proto == GRE_PROTO) {
        __u8 *gre = data + off;
        if ((void *)(gre + 4) > data_end)
            return 0;
        if ((((__u16)gre[2] << 8) | gre[3]) != GRE_ETH_BRIDGING || (gre[0] & 0xb0))
            return 0; /* only plain GRE without checksum, key or sequence */
        inner = off + 4;
    } else {
        return 0;
    }
    struct pkt_info outer = *info;
    __builtin_memset(info, 0, sizeof(*info));
    info->len = outer.len;
    if (parse_l3_at(skb, info, inner) < 0) {
        *info = outer;
        return 0;
    }
    info->tunnelled = 1;
    return 1;
}

#define DNS_PORT 53
#define MAX_QNAME 48

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u64);
    __type(value, __u32);
} dp_dns_block SEC(".maps");

/* A DNS query's name, hashed label by label over at most MAX_QNAME bytes (lower-cased); 1 when the
 * blocklist has it. */
static __noinline int dns_blocked(struct __sk_buff *skb, struct pkt_info *info)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    __u32 off = info->l4_off;

    if (info->key.proto != IPPROTO_UDP || info->key.dport != bpf_htons(DNS_PORT) || off > 128)
        return 0;
    __u8 *q = data + off + sizeof(struct udphdr) + 12; /* past the DNS header */
    __u64 h = 0xcbf29ce484222325ULL;
    __u32 label_left = 0;
#pragma unroll
    for (int i = 0; i < MAX_QNAME; i++) {
        if ((void *)(q + i + 1) > data_end)
            return 0;
        __u8 c = q[i];
        if (label_left == 0) {
            if (c == 0)
                break;
            label_left = c;
            c = '.';
        } else {
            label_left--;
            if (c >= 'A' && c <= 'Z')
                c += 'a' - 'A';
        }
        h = (h ^ c) * 0x100000001b3ULL;
    }
    return bpf_map_lookup_elem(&dp_dns_block, &h) != 0;
}

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, __u32);
} dp_conn_limit SEC(".maps");

#define MAX_CONNECTIONS_PER_SOURCE 1000

/* New connections per IPv4 source (the last word of the mapped address), capped: 0 when the source
 * already opened MAX_CONNECTIONS_PER_SOURCE. Counting, not timing, keeps runs reproducible. */
static __noinline int within_connection_limit(struct pkt_info *info)
{
    __u32 src;
    __builtin_memcpy(&src, &info->key.saddr[12], 4);
    __u32 *count = bpf_map_lookup_elem(&dp_conn_limit, &src);
    if (!count) {
        __u32 one = 1;
        bpf_map_update_elem(&dp_conn_limit, &src, &one, BPF_NOEXIST);
        return 1;
    }
    if (*count >= MAX_CONNECTIONS_PER_SOURCE)
        return 0;
    __sync_fetch_and_add(count, 1);
    return 1;
}

struct nat6_value {
    __u8 prefix[8]; /* the new /64 */
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u64); /* the old /64, as bytes */
    __type(value, struct nat6_value);
} dp_nat6 SEC(".maps");

/* Stateless IPv6 prefix translation of the destination (NPTv6-like, without the checksum-neutral
 * adjustment): rewrites the upper 64 bits and fixes the L4 checksum with csum_diff. */
static __noinline int nat_ipv6(struct __sk_buff *skb, struct pkt_info *info)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    __u32 l3 = info->l3_off, l4 = info->l4_off;

    if (info->key.family != 6 || info->tunnelled || l3 > 64 || l4 > 256)
        return 0;
    if (info->key.proto != IPPROTO_TCP && info->key.proto != IPPROTO_UDP)
        return 0;
    struct ipv6hdr *ip6 = data + l3;
    if ((void *)(ip6 + 1) > data_end)
        return 0;
    __u64 old_prefix;
    __builtin_memcpy(&old_prefix, &ip6->daddr, 8);
    struct nat6_value *nv = bpf_map_lookup_elem(&dp_nat6, &old_prefix);
    if (!nv)
        return 0;
    __u8 new_prefix[8];
    __builtin_memcpy(new_prefix, nv->prefix, 8);
    __s64 diff = bpf_csum_diff((__be32 *)&old_prefix, 8, (__be32 *)new_prefix, 8, 0);
    if (diff < 0)
        return 0;
    __u32 csum_off = info->key.proto == IPPROTO_TCP ? l4 + 16 : l4 + 6;
    bpf_l4_csum_replace(skb, csum_off, 0, diff, BPF_F_PSEUDO_HDR);
    bpf_skb_store_bytes(skb, l3 + 24, new_prefix, 8, 0);
    stat_add(STAT_NATTED, 1);
    return 1;
}

/* Ports, TCP flags and options; -1 for a transport header that does not fit. */
static __noinline int parse_l4(struct __sk_buff *skb, struct pkt_info *info)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    __u32 off = info->l4_off;

    if (info->fragment || off > 512)
        return 0;
    if (info->key.proto == IPPROTO_TCP) {
        struct tcphdr *tcp = data + off;
        if ((void *)(tcp + 1) > data_end)
            return -1;
        info->key.sport = tcp->source;
        info->key.dport = tcp->dest;
        info->tcp_flags = ((__u8 *)tcp)[13];
        __u32 doff = tcp->doff * 4;
        if (doff < sizeof(*tcp))
            return -1;
        if (doff > sizeof(*tcp)) {
            int n = walk_tcp_options(skb, info, off + sizeof(*tcp), off + doff);
            if (n < 0)
                return -1;
            stat_add(STAT_TCP_OPTIONS, n);
        }
        stat_add(STAT_TCP, 1);
        return 0;
    }
    if (info->key.proto == IPPROTO_UDP) {
        struct udphdr *udp = data + off;
        if ((void *)(udp + 1) > data_end)
            return -1;
        info->key.sport = udp->source;
        info->key.dport = udp->dest;
        stat_add(STAT_UDP, 1);
        return 0;
    }
    return 0;
}

/* Finds or creates the connection's entry; returns its state after this packet. */
static __noinline __u32 conntrack(struct pkt_info *info)
{
    __u64 id = flow_hash(&info->key);
    struct ct_entry *ct = bpf_map_lookup_elem(&dp_conntrack, &id);

    if (!ct) {
        struct ct_entry fresh = {
            .packets = 1,
            .bytes = info->len,
            .state = CT_NEW,
            .tcp_flags_seen = info->tcp_flags,
            .mss = info->mss,
            .wscale = info->wscale,
        };
        bpf_map_update_elem(&dp_conntrack, &id, &fresh, BPF_ANY);
        stat_add(STAT_CT_NEW, 1);
        return CT_NEW;
    }
    __sync_fetch_and_add(&ct->packets, 1);
    __sync_fetch_and_add(&ct->bytes, info->len);
    ct->tcp_flags_seen |= info->tcp_flags;
    if (info->mss)
        ct->mss = info->mss;
    if (info->tcp_flags & 0x05) /* FIN or RST */
        ct->state = CT_CLOSING;
    else if (ct->state == CT_NEW && ct->packets > 1)
        ct->state = CT_ESTABLISHED;
    stat_add(STAT_CT_HIT, 1);
    return ct->state;
}

/* The policy for the destination port and protocol: 1 allow, 0 deny; no entry allows. */
static __noinline int policy(struct __sk_buff *skb, struct pkt_info *info)
{
    struct policy_key pk = {
        .port = bpf_ntohs(info->key.dport),
        .proto = info->key.proto,
        .family = info->key.family,
    };
    struct policy_value *pv = bpf_map_lookup_elem(&dp_policy, &pk);

    if (!pv) {
        pk.port = 0; /* a per-protocol default */
        pv = bpf_map_lookup_elem(&dp_policy, &pk);
        if (!pv)
            return 1;
    }
    skb->tc_classid = pv->classid;
    return pv->allow != 0;
}

/* Destination NAT for IPv4 TCP/UDP: rewrites address and port, fixing the IP and L4 checksums. */
static __noinline int nat_ipv4(struct __sk_buff *skb, struct pkt_info *info)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    __u32 l3 = info->l3_off, l4 = info->l4_off;

    if (info->key.family != 4 || info->fragment || info->tunnelled || l3 > 64 || l4 > 128)
        return 0;
    if (info->key.proto != IPPROTO_TCP && info->key.proto != IPPROTO_UDP)
        return 0;
    struct iphdr *ip = data + l3;
    if ((void *)(ip + 1) > data_end)
        return 0;
    struct nat_key nk = { .addr = ip->daddr, .port = info->key.dport, .proto = info->key.proto };
    struct nat_value *nv = bpf_map_lookup_elem(&dp_nat, &nk);
    if (!nv)
        return 0;
    __be32 old_addr = nk.addr, new_addr = nv->addr;
    __be16 old_port = nk.port, new_port = nv->port;
    __u32 csum_off = info->key.proto == IPPROTO_TCP ? l4 + 16 : l4 + 6;
    __u32 port_off = l4 + 2;

    bpf_l4_csum_replace(skb, csum_off, old_addr, new_addr, BPF_F_PSEUDO_HDR | 4);
    bpf_l4_csum_replace(skb, csum_off, old_port, new_port, 2);
    bpf_l3_csum_replace(skb, l3 + 10, old_addr, new_addr, 4);
    bpf_skb_store_bytes(skb, l3 + 16, &new_addr, 4, 0);
    bpf_skb_store_bytes(skb, port_off, &new_port, 2, 0);
    stat_add(STAT_NATTED, 1);
    return 1;
}

SEC("tc")
int datapath_icmp(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;

    stat_add(STAT_ICMP, 1);
    if ((void *)(eth + 1) > data_end)
        return TC_ACT_OK;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) > data_end)
            return TC_ACT_OK;
        struct icmp_header *icmp = (void *)ip + ip->ihl * 4;
        if ((void *)(icmp + 1) > data_end)
            return TC_ACT_OK;
        /* Echo requests get class 1:10, errors 1:20, the rest 1:30. */
        skb->tc_classid = icmp->type == ICMP_TYPE_ECHO ? 0x10010 : icmp->type == ICMP_TYPE_DEST_UNREACH ? 0x10020 : 0x10030;
    } else {
        skb->tc_classid = 0x10030;
    }
    return TC_ACT_OK;
}

SEC("tc")
int datapath_unparsed(struct __sk_buff *skb)
{
    stat_add(STAT_MALFORMED, 1);
    skb->mark = 0xbad;
    return TC_ACT_OK;
}

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 2);
    __uint(key_size, sizeof(__u32));
    __array(values, int (void *));
} dp_jumps SEC(".maps") = {
    .values = {
        [JUMP_ICMP] = (void *)&datapath_icmp,
        [JUMP_UNPARSED] = (void *)&datapath_unparsed,
    },
};

SEC("tc")
int datapath(struct __sk_buff *skb)
{
    struct pkt_info info;

    __builtin_memset(&info, 0, sizeof(info));
    info.len = skb->len;
    stat_add(STAT_PACKETS, 1);
    if (parse_l3(skb, &info) < 0) {
        bpf_tail_call(skb, &dp_jumps, JUMP_UNPARSED);
        return TC_ACT_OK;
    }
    stat_add(info.key.family == 4 ? STAT_IPV4 : STAT_IPV6, 1);
    if (info.ip_options)
        stat_add(STAT_IP_OPTIONS, info.ip_options);
    if (info.ext_headers)
        stat_add(STAT_IPV6_EXT, info.ext_headers);
    if (info.key.family == 4 && !ipv4_checksum_ok(skb, info.l3_off)) {
        stat_add(STAT_BAD_CHECKSUM, 1);
        return TC_ACT_SHOT;
    }
    if (parse_tunnel(skb, &info))
        stat_add(STAT_TUNNELLED, 1);
    if (info.key.proto == IPPROTO_ICMP || info.key.proto == IPPROTO_ICMPV6) {
        bpf_tail_call(skb, &dp_jumps, JUMP_ICMP);
        return TC_ACT_OK;
    }
    if (parse_l4(skb, &info) < 0) {
        stat_add(STAT_MALFORMED, 1);
        return TC_ACT_SHOT;
    }
    if (!policy(skb, &info)) {
        stat_add(STAT_DROPPED, 1);
        return TC_ACT_SHOT;
    }
    if (dns_blocked(skb, &info)) {
        stat_add(STAT_DNS_BLOCKED, 1);
        return TC_ACT_SHOT;
    }
    __u32 state = conntrack(&info);
    skb->mark = state | (info.tunnelled << 8);
    if (state == CT_NEW) {
        if (info.key.family == 4 && !within_connection_limit(&info)) {
            stat_add(STAT_CONN_LIMITED, 1);
            return TC_ACT_SHOT;
        }
        if (!info.tunnelled) {
            nat_ipv4(skb, &info);
            nat_ipv6(skb, &info);
        }
    }
    return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
