/* The older map layout: struct bpf_map_def, five u32 fields (no id/pinning), 20-byte entries. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def_old {
	__u32 type, key_size, value_size, max_entries, map_flags;
};

struct bpf_map_def_old __attribute__((section("maps"), used)) stats = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 2,
};
struct bpf_map_def_old __attribute__((section("maps"), used)) seen = {
	.type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 4, .max_entries = 128, .map_flags = 1,
};

SEC("classifier") int count_packets(struct __sk_buff *skb)
{
	__u32 idx = skb->len > 100;
	__u64 *slot = bpf_map_lookup_elem(&stats, &idx);
	if (slot)
		*slot += 1;
	__u32 src = skb->hash, one = 1;
	bpf_map_update_elem(&seen, &src, &one, BPF_ANY);
	return TC_ACT_OK;
}

char __license[] SEC("license") = "Dual BSD/GPL";
