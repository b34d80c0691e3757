/* A bounded loop over the payload: counts bytes equal to a pattern byte (from `.rodata`, settable
 * before load) in the first 256 payload bytes of TCP/UDP packets, and marks packets whose count passes
 * a threshold. The loop bound is a constant, which is what lets the verifier prove it terminates. */
#include "parse.h"

const volatile __u8 pattern = 0x41;   /* 'A' */
const volatile __u32 threshold = 8;
__u64 packets_marked = 0;             /* .bss: read back by user space */

#define MAX_SCAN 256

/* A global (non-static) function is verified once on its own, whatever state the caller is in, so the
 * loop's cost to the verifier does not multiply with the parser's paths. */
__noinline int count_pattern(struct __sk_buff *skb, __u32 start)
{
    int hits = 0;

    if (!skb)
        return 0;
    for (__u32 i = 0; i < MAX_SCAN; i++) {
        __u8 byte;
        if (bpf_skb_load_bytes(skb, start + i, &byte, 1) < 0)
            break;
        if (byte == pattern)
            hits++;
    }
    return hits;
}

SEC("tc")
int payload_scan(struct __sk_buff *skb)
{
    struct parsed p;

    if (parse_packet(skb, &p) < 0 || p.l4_off == 0)
        return TC_ACT_OK;
    __u32 start = p.l4_off + (p.key.proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr));
    int hits = count_pattern(skb, start);
    if (hits >= (int)threshold) {
        skb->mark = 0x5ca7;
        __sync_fetch_and_add(&packets_marked, 1);
    }
    return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
