/* Test programs whose behaviour each frame chooses: word A is the 4 bytes right after the Ethernet
 * header (offset 14), word B the next 4 (offset 18), both big-endian. The pipeline tests build frames
 * that make a program return a given verdict, write a given tc_classid or priority, or redirect to a
 * given port, so one object covers every row of the semantics table. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

static __always_inline __u32 word(struct __sk_buff *skb, __u32 off)
{
    __u8 *data = (void *)(long)skb->data;
    __u8 *end = (void *)(long)skb->data_end;
    if (data + off + 4 > end)
        return 0;
    return (__u32)data[off] << 24 | (__u32)data[off + 1] << 16 | (__u32)data[off + 2] << 8 | data[off + 3];
}

/* Returns A (a classid or verdict, as the mode reads it). */
SEC("classifier")
int return_a(struct __sk_buff *skb) { return word(skb, 14); }

/* As an action: returns A. */
SEC("action")
int action_a(struct __sk_buff *skb) { return word(skb, 14); }

/* Writes tc_classid = A, returns B. */
SEC("classid")
int set_classid(struct __sk_buff *skb)
{
    skb->tc_classid = word(skb, 14);
    return word(skb, 18);
}

/* Writes priority = A and mark = B, passes. */
SEC("steer")
int set_priority_and_mark(struct __sk_buff *skb)
{
    skb->priority = word(skb, 14);
    skb->mark = word(skb, 18);
    return TC_ACT_OK;
}

/* bpf_redirect(A, B). */
SEC("redirect")
int redirect_to_a(struct __sk_buff *skb) { return bpf_redirect(word(skb, 14), word(skb, 18)); }

/* Returns what the context shows, so tests can see what the pipeline carried: A selects the field. */
SEC("observe")
int observe_field(struct __sk_buff *skb)
{
    switch (word(skb, 14)) {
    case 0: return skb->mark;
    case 1: return skb->priority;
    case 2: return skb->tc_index;
    case 3: return skb->ifindex;
    case 4: return skb->ingress_ifindex;
    case 5: return skb->vlan_present << 16 | skb->vlan_tci;
    case 6: return skb->tc_classid;
    default: return -1;
    }
}

/* Copies word A over word B in the packet itself (a direct write), passes. */
SEC("rewrite")
int copy_a_over_b(struct __sk_buff *skb)
{
    __u8 *data = (void *)(long)skb->data;
    __u8 *end = (void *)(long)skb->data_end;
    if (data + 22 > end)
        return TC_ACT_OK;
    __builtin_memcpy(data + 18, data + 14, 4);
    return TC_ACT_OK;
}

/* bpf_skb_store_bytes of word A over word B, then returns word B as read back through skb->data. */
SEC("store")
int store_a_over_b(struct __sk_buff *skb)
{
    __u32 a = word(skb, 14);
    __u32 a_in_packet_order = __builtin_bswap32(a);
    if (bpf_skb_store_bytes(skb, 18, &a_in_packet_order, 4, 0) != 0)
        return -1;
    return word(skb, 18);
}

char _license[] SEC("license") = "GPL";
