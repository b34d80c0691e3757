/* libbpf-style object: BTF-defined maps (key/value types, explicit sizes, pinning by name), a prog array
 * statically initialised with .values, several programs in one section, tc/tcx section names. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct flow_key { __u32 saddr, daddr; __u16 sport, dport; __u8 proto; };
struct flow_stats { __u64 packets, bytes; };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flow_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(key_size, 4);
	__uint(value_size, 24);
	__uint(max_entries, 8);
} scratch SEC(".maps");

int tail_drop(struct __sk_buff *skb);
int tail_pass(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int (struct __sk_buff *));
} dispatch SEC(".maps") = {
	.values = { [1] = &tail_drop, [3] = &tail_pass },
};

SEC("tc") int ingress_count(struct __sk_buff *skb)
{
	struct flow_key key = { .saddr = skb->hash, .daddr = skb->ifindex, .proto = 6 };
	struct flow_stats *st = bpf_map_lookup_elem(&flow_table, &key);
	if (st) {
		st->packets++;
		st->bytes += skb->len;
	}
	return TC_ACT_OK;
}

SEC("tc") int ingress_dispatch(struct __sk_buff *skb)
{
	__u32 zero = 0;
	void *tmp = bpf_map_lookup_elem(&scratch, &zero);
	if (!tmp)
		return TC_ACT_SHOT;
	bpf_tail_call(skb, &dispatch, skb->mark);
	return TC_ACT_OK;
}

SEC("tc") int tail_drop(struct __sk_buff *skb) { return TC_ACT_SHOT; }
SEC("tc") int tail_pass(struct __sk_buff *skb) { return TC_ACT_OK; }

SEC("tcx/ingress") int tcx_prog(struct __sk_buff *skb) { return skb->len > 1000 ? TC_ACT_SHOT : TC_ACT_OK; }
SEC("tc/egress") int tc_egress(struct __sk_buff *skb) { return TC_ACT_OK; }

char LICENSE[] SEC("license") = "GPL";
