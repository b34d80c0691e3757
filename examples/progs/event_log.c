/* Reports packets to user space instead of classifying them: every TCP SYN (without ACK) becomes a
 * ring-buffer record and a trace_printk line, every UDP datagram a perf event on the current CPU. All
 * packets pass. The records carry the flow's ports and protocol, so a consumer sees what arrived without
 * reading the packets themselves. */
#include "parse.h"

struct event {
    __u8 saddr[16];
    __u8 daddr[16];
    __be16 sport;
    __be16 dport;
    __u8 proto;
    __u8 family;
    __u16 len; /* skb->len, host order */
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} syn_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
    /* One slot per CPU. libbpf would size a 0 to the CPU count; tcbpf's runtime does not yet. */
    __uint(max_entries, 128);
} udp_events SEC(".maps");

SEC("tc")
int event_log(struct __sk_buff *skb)
{
    struct parsed p;
    struct event ev;

    if (parse_packet(skb, &p) < 0 || p.l4_off == 0)
        return TC_ACT_OK;
    __builtin_memcpy(ev.saddr, p.key.saddr, 16);
    __builtin_memcpy(ev.daddr, p.key.daddr, 16);
    ev.sport = p.key.sport;
    ev.dport = p.key.dport;
    ev.proto = p.key.proto;
    ev.family = p.key.family;
    ev.len = (__u16)skb->len;

    if (p.key.proto == IPPROTO_TCP) {
        void *data = (void *)(long)skb->data;
        void *data_end = (void *)(long)skb->data_end;
        /* The mask keeps the offset provably small for the verifier (it is at most 82). */
        struct tcphdr *tcp = data + (p.l4_off & 0xff);
        if ((void *)(tcp + 1) > data_end)
            return TC_ACT_OK;
        if (!tcp->syn || tcp->ack)
            return TC_ACT_OK;
        bpf_ringbuf_output(&syn_events, &ev, sizeof(ev), 0);
        bpf_printk("syn to port %u len %u", bpf_ntohs(ev.dport), ev.len);
    } else if (p.key.proto == IPPROTO_UDP) {
        bpf_perf_event_output(skb, &udp_events, BPF_F_CURRENT_CPU, &ev, sizeof(ev));
    }
    return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
