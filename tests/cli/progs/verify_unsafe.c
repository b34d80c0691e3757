/* Two programs for `tcbpf prog verify`'s tests: one that reads the packet without proving it long enough
 * (the kernel refuses it), one that is safe but calls bpf_jiffies64, which the runtime does not run. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc/unchecked")
int unchecked_read(struct __sk_buff *skb)
{
    unsigned char *data = (unsigned char *)(long)skb->data;
    return data[12] == 0x08 ? TC_ACT_OK : TC_ACT_SHOT;
}

SEC("tc/jiffies")
int jiffies_mark(struct __sk_buff *skb)
{
    skb->mark = (__u32)bpf_jiffies64();
    return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
