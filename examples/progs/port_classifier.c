/* Chooses a class from the destination port, for an htb or prio qdisc behind it:
 * well-known ports 0-1023 → 1:10, registered 1024-49151 → 1:20, dynamic 49152-65535 → 1:30,
 * other IP traffic (ICMP, fragments, other protocols) → 1:40. Non-IP packets keep the filter's classid. */
#include "parse.h"

#define CLASS(major, minor) (((major) << 16) | (minor))

SEC("tc")
int port_classifier(struct __sk_buff *skb)
{
    struct parsed p;

    if (parse_packet(skb, &p) < 0)
        return TC_ACT_OK;
    if (p.l4_off == 0) {
        skb->tc_classid = CLASS(1, 40);
        return TC_ACT_OK;
    }
    __u16 port = bpf_ntohs(p.key.dport);
    if (port < 1024)
        skb->tc_classid = CLASS(1, 10);
    else if (port < 49152)
        skb->tc_classid = CLASS(1, 20);
    else
        skb->tc_classid = CLASS(1, 30);
    return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
