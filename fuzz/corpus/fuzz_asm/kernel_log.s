0: (b7) r0 = 0
1: (18) r1 = 0xffff888100000000
3: (85) call bpf_map_lookup_elem#1
4: (15) if r0 == 0x0 goto pc+1
5: (db) r0 = atomic64_fetch_add((u64 *)(r0 +0), r0)
6: (95) exit
