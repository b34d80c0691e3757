// The block layout shared by the four hash map types (HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH).
//
// Buckets (a lock word and the index of the first element) number roundup_pow_of_two(max_entries), as
// in the kernel. Free lists start empty: elements never used yet are handed out in index order from a
// counter, so creating a big map touches none of them and the memory is committed only as it fills. Elements are preallocated in one array and linked by index: into a bucket chain while
// they hold a key, into a free list otherwise. Plain hashes allocate max_entries + ncpus elements and
// count live entries separately, so replacing a key in a full map still finds a spare element (the
// kernel's per-CPU "extra elements"): a replaced element is never overwritten in place, so a program
// still holding a pointer to it sees the old value whole. LRU hashes have exactly max_entries elements
// on two lists under one LRU lock: a free list and an in-use list ordered by allocation; a lookup sets
// the element's reference bit, and eviction gives referenced elements a second chance (an approximate
// LRU, like the kernel's).
//
// Element: {next, hash, lru_prev, lru_next, ref, free_next} then the key (8-aligned) then the value:
// round_up(value_size, 8) bytes, times ncpus for per-CPU maps (CPU c's value at c × that stride).
#pragma once

#include <atomic>
#include <cstdint>

namespace tcbpf::maps {

struct HashControl {
    uint64_t buckets_offset;
    uint64_t elems_offset;
    uint64_t seed;
    uint32_t n_buckets;
    uint32_t n_elems;
    uint32_t elem_size;
    uint32_t key_stride;
    uint32_t value_stride;
    uint32_t value_slots;
    alignas(64) std::atomic<uint32_t> count;      // live entries (plain hashes)
    alignas(64) std::atomic<uint64_t> free_top;   // plain hashes: Treiber stack, (ABA tag << 32) | index
    std::atomic<uint32_t> never_used;             // elements [never_used, n_elems) were never handed out
    alignas(64) std::atomic<uint32_t> lru_lock;   // LRU hashes: guards the fields below
    uint32_t lru_head;                            // most recently allocated
    uint32_t lru_tail;                            // eviction candidates
    uint32_t lru_free;
};

// Chains end in a "nulls" marker naming their bucket (kChainEnd | bucket index) instead of one shared
// terminator: a lock-free reader that followed a recycled element into another bucket's chain notices
// (it ends on the wrong marker) and starts over, the kernel's hlist_nulls technique.
inline constexpr uint32_t kChainEnd = 1u << 31;
inline bool is_chain_end(uint32_t link) { return (link & kChainEnd) != 0; }

struct HashBucket {
    std::atomic<uint32_t> lock;
    std::atomic<uint32_t> head;  // written under `lock`, read lock-free by data-path lookups
    // Odd while a writer relinks this chain. A lock-free lookup that found nothing trusts that answer
    // only if `seq` was even and unchanged around its walk: otherwise it may have been standing on an
    // element that was unlinked and refilled under it, and missed a key that was there all along.
    std::atomic<uint32_t> seq;
    uint32_t pad;
};

struct HashElem {
    std::atomic<uint32_t> next;
    std::atomic<uint32_t> hash;  // read without the bucket lock by the LRU evictor to pick the bucket
    uint32_t lru_prev;
    uint32_t lru_next;
    std::atomic<uint32_t> ref;
    std::atomic<uint32_t> free_next;
};
static_assert(sizeof(HashElem) == 24 && sizeof(HashBucket) == 16);

}  // namespace tcbpf::maps
