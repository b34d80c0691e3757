/* BPF-to-BPF calls: a static and a global subprogram in .text, one of them shared by two programs,
 * a callback passed by pointer (bpf_loop), and line markers the line-info test looks for. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

static __attribute__((noinline)) int clamp(int value)
{
	return value > 100 ? 100 : value; /* MARK:clamp */
}

__attribute__((noinline)) int weigh(struct __sk_buff *skb)
{
	return clamp(skb->len) + skb->priority; /* MARK:weigh */
}

static int add_one(__u32 index, void *ctx)
{
	*(int *)ctx += 1; /* MARK:callback */
	return 0;
}

SEC("classifier") int first(struct __sk_buff *skb)
{
	int total = weigh(skb); /* MARK:first_call */
	return total > 50 ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("classifier") int second(struct __sk_buff *skb)
{
	int count = 0;
	bpf_loop(4, add_one, &count, 0);
	return clamp(count + skb->mark); /* MARK:second_clamp */
}

char _license[] SEC("license") = "GPL";
