/* iproute2-style object: maps in the legacy `maps` section as struct bpf_elf_map (36 bytes), a
 * classifier and an action, and tail-call sections "1/0" and "1/1" for the prog array whose id is 1. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct bpf_elf_map {
	__u32 type, size_key, size_value, max_elem, flags, id, pinning, inner_id, inner_idx;
};

struct bpf_elf_map __attribute__((section("maps"), used)) counters = {
	.type = BPF_MAP_TYPE_HASH, .size_key = 4, .size_value = 8, .max_elem = 64, .pinning = 2,
};
struct bpf_elf_map __attribute__((section("maps"), used)) jmp_table = {
	.type = BPF_MAP_TYPE_PROG_ARRAY, .size_key = 4, .size_value = 4, .max_elem = 4, .id = 1,
};
struct bpf_elf_map __attribute__((section("maps"), used)) flows = {
	.type = BPF_MAP_TYPE_LRU_HASH, .size_key = 8, .size_value = 16, .max_elem = 1024, .flags = 2,
	.id = 7, .pinning = 1, .inner_id = 3, .inner_idx = 5,
};

/* iproute2's BPF_ANNOTATE_KV_PAIR: gives the legacy map BTF key/value types. */
struct ____btf_map_counters { __u32 key; __u64 value; };
struct ____btf_map_counters __attribute__((section(".maps.counters"), used)) ____btf_map_counters = {};

SEC("classifier") int cls_main(struct __sk_buff *skb)
{
	__u32 key = skb->protocol;
	__u64 *count = bpf_map_lookup_elem(&counters, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	bpf_tail_call(skb, &jmp_table, skb->mark & 1);
	return TC_ACT_OK;
}

SEC("action") int act_main(struct __sk_buff *skb)
{
	__u64 key = skb->hash;
	return bpf_map_lookup_elem(&flows, &key) ? TC_ACT_SHOT : TC_ACT_PIPE;
}

SEC("1/0") int tail_zero(struct __sk_buff *skb) { skb->mark = 10; return TC_ACT_OK; }
SEC("1/1") int tail_one(struct __sk_buff *skb) { skb->mark = 11; return TC_ACT_SHOT; }

char __license[] SEC("license") = "GPL";
