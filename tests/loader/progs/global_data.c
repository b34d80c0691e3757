/* Global variables in all four kinds of data section: .data (initialised), .rodata (const),
 * .bss (zero-initialised) and .rodata.str1.1 (string literals). */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

__u32 drop_mark = 0x2a;          /* .data offset 0 */
__u64 threshold = 1500;          /* .data offset 8 */
const volatile __u32 verdicts[2] = { TC_ACT_OK, TC_ACT_SHOT };  /* .rodata */
__u64 packets;                   /* .bss offset 0 */
__u32 last_len;                  /* .bss offset 8 */
static __u32 hidden = 7;         /* .data, static: relocated through the section symbol */

SEC("classifier") int classify(struct __sk_buff *skb)
{
	packets++;
	last_len = skb->len;
	hidden += skb->len;
	if (skb->len > threshold) {
		bpf_trace_printk("big packet\n", sizeof("big packet\n"));
		return verdicts[1];
	}
	return skb->mark == drop_mark ? verdicts[1] : verdicts[0];
}

char _license[] SEC("license") = "GPL";
