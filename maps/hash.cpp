// HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH (layout and rationale in hash_layout.h).
//
// Locking: data-path lookups take no lock at all: they walk the bucket chain with atomic loads and
// restart if they end on another bucket's chain marker (see hash_layout.h). Everything else on a key
// takes only that key's bucket lock, so different keys proceed in parallel and there is no global lock
// on the data path. Writers store keys with atomic words and publish links with release stores. Plain hashes allocate from a lock-free free list; LRU
// hashes allocate under the LRU lock, which may take a victim's bucket lock to evict it (order: LRU lock,
// then bucket lock; a bucket lock is never held while taking the LRU lock).
#include <cerrno>
#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "maps/block.h"
#include "maps/hash_layout.h"
#include "maps/sync.h"

namespace tcbpf::maps {

namespace {

uint32_t roundup_pow2(uint32_t n) {
    uint32_t p = 1;
    while (p < n) p <<= 1;
    return p;
}

class HashMap final : public MapBase {
   public:
    HashMap(const MapSpec& spec, uint32_t ncpus, Storage storage) : MapBase(spec, ncpus, std::move(storage)) {
        c_ = at<HashControl>(kControlOffset);
        buckets_ = at<HashBucket>(c_->buckets_offset);
        elems_ = at<uint8_t>(c_->elems_offset);
        lru_ = spec.type == kMapLruHash || spec.type == kMapLruPercpuHash;
        percpu_ = spec.type == kMapPercpuHash || spec.type == kMapLruPercpuHash;
    }

    // ---- data path ----
    void* lookup(const void* key, uint32_t cpu) noexcept override {
        if (percpu_ && cpu >= ncpus()) return nullptr;
        uint32_t hash = hash_key(key);
        uint32_t idx = find_lockless(hash, key);
        if (idx == kNil) return nullptr;
        HashElem* e = elem(idx);
        if (lru_ && e->ref.load(std::memory_order_relaxed) == 0) e->ref.store(1, std::memory_order_relaxed);
        return value_of(e, percpu_ ? cpu : 0);
    }
    long update(const void* key, const void* value, uint64_t flags, uint32_t cpu) noexcept override {
        if (percpu_ && cpu >= ncpus()) return -EINVAL;
        return store(key, value, flags, static_cast<int64_t>(cpu));
    }
    long remove(const void* key) noexcept override { return erase(key, nullptr); }

    // ---- user space ----
    int user_lookup(const void* key, void* value_out) const override {
        uint32_t hash = hash_key(key);
        HashBucket& b = bucket(hash);
        BucketGuard guard(*this, b);
        uint32_t idx = find(b, key, hash, nullptr);
        if (idx == kNil) return -ENOENT;
        copy_out(elem(idx), value_out);
        return 0;
    }
    int user_update(const void* key, const void* value, uint64_t flags) override {
        return static_cast<int>(store(key, value, flags, kAllCpus));
    }
    int user_delete(const void* key) override { return static_cast<int>(erase(key, nullptr)); }
    int user_lookup_and_delete(const void* key, void* value_out) override {
        return static_cast<int>(erase(key, value_out));
    }

    int user_next_key(const void* key, void* next_out) const override {
        uint32_t first_bucket = 0;
        if (key) {
            uint32_t hash = hash_key(key);
            HashBucket& b = bucket(hash);
            BucketGuard guard(*this, b);
            uint32_t idx = find(b, key, hash, nullptr);
            if (idx != kNil) {
                uint32_t next = elem(idx)->next.load(std::memory_order_relaxed);
                if (!is_chain_end(next)) {
                    std::memcpy(next_out, key_of(elem(next)), key_size());
                    return 0;
                }
                first_bucket = static_cast<uint32_t>(&b - buckets_) + 1;
            }
            // A missing key restarts from the first bucket, as the kernel does.
        }
        for (uint32_t i = first_bucket; i < c_->n_buckets; ++i) {
            HashBucket& b = buckets_[i];
            BucketGuard guard(*this, b);
            uint32_t head = b.head.load(std::memory_order_relaxed);
            if (!is_chain_end(head)) {
                std::memcpy(next_out, key_of(elem(head)), key_size());
                return 0;
            }
        }
        return -ENOENT;
    }

   private:
    static constexpr int64_t kAllCpus = -1;  // value buffer in the user-space per-CPU layout

    uint32_t hash_key(const void* key) const {
        auto* p = static_cast<const uint8_t*>(key);
        uint64_t h = c_->seed ^ (uint64_t(key_size()) * 0x9e3779b97f4a7c15ull);
        size_t n = key_size();
        for (; n >= 8; n -= 8, p += 8) {
            uint64_t v;
            std::memcpy(&v, p, 8);
            h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
            h ^= h >> 31;
        }
        uint64_t tail = 0;
        std::memcpy(&tail, p, n);
        h = (h ^ tail) * 0x94d049bb133111ebull;
        h ^= h >> 29;
        h *= 0x9e3779b97f4a7c15ull;
        return static_cast<uint32_t>(h >> 32);
    }
    HashBucket& bucket(uint32_t hash) const { return buckets_[hash & (c_->n_buckets - 1)]; }
    HashElem* elem(uint32_t idx) const { return reinterpret_cast<HashElem*>(elems_ + uint64_t(idx) * c_->elem_size); }
    uint8_t* key_of(HashElem* e) const { return reinterpret_cast<uint8_t*>(e) + sizeof(HashElem); }
    uint8_t* value_of(HashElem* e, uint32_t cpu) const {
        return key_of(e) + c_->key_stride + uint64_t(cpu) * c_->value_stride;
    }

    uint32_t bucket_index(uint32_t hash) const { return hash & (c_->n_buckets - 1); }

    // Under the bucket lock. Returns the element index or kNil; `link` gets the link pointing at it.
    uint32_t find(HashBucket& b, const void* key, uint32_t hash, std::atomic<uint32_t>** link) const {
        std::atomic<uint32_t>* slot = &b.head;
        for (uint32_t idx = slot->load(std::memory_order_relaxed); !is_chain_end(idx);
             idx = slot->load(std::memory_order_relaxed)) {
            HashElem* e = elem(idx);
            if (e->hash.load(std::memory_order_relaxed) == hash && key_equals(e, key)) {
                if (link) *link = slot;
                return idx;
            }
            slot = &e->next;
        }
        return kNil;
    }

    // Without any lock (data path). Elements may be unlinked and reused while we walk: a walk that ends
    // on another bucket's marker, or finds nothing while the chain changed, restarts. After a few tries
    // (the chain changing under us the whole time) fall back to the locked walk, so the reader finishes.
    uint32_t find_lockless(uint32_t hash, const void* key) const {
        uint32_t home = bucket_index(hash);
        HashBucket& b = buckets_[home];
        for (int attempt = 0; attempt < 4; ++attempt) {
            uint32_t seq = b.seq.load(std::memory_order_acquire);
            uint32_t idx = b.head.load(std::memory_order_acquire);
            for (uint32_t steps = 0; !is_chain_end(idx) && steps <= c_->n_elems; ++steps) {
                HashElem* e = elem(idx);
                if (e->hash.load(std::memory_order_relaxed) == hash && key_equals(e, key)) return idx;
                idx = e->next.load(std::memory_order_acquire);
            }
            std::atomic_thread_fence(std::memory_order_acquire);
            if (idx == (kChainEnd | home) && !(seq & 1) && b.seq.load(std::memory_order_relaxed) == seq) return kNil;
        }
        BucketGuard guard(*this, b);
        return find(b, key, hash, nullptr);
    }

    // A bucket's lock. An open relink bracket (odd seq) on entry means the previous holder died inside
    // it and its lock was taken over (maps/sync.h): the chain is put right before anyone uses it.
    class BucketGuard {
       public:
        BucketGuard(const HashMap& map, HashBucket& b) : b_(b) {
            spin_lock(b.lock);
            if (b.seq.load(std::memory_order_relaxed) & 1) const_cast<HashMap&>(map).repair(b);
        }
        ~BucketGuard() { spin_unlock(b_.lock); }
        BucketGuard(const BucketGuard&) = delete;
        BucketGuard& operator=(const BucketGuard&) = delete;

       private:
        HashBucket& b_;
    };

    // The writer died between linking a replacement and unlinking the element it replaced, or anywhere
    // else inside the bracket: the chain may hold a key twice, the newer copy first (every other state
    // inside the bracket is a whole chain). Older copies are unlinked and given back to the free list,
    // then the bracket is closed. LRU elements also sit on the LRU list, which only its own lock may
    // change: there the older copy stays linked behind the newer one, which every lookup finds first.
    void repair(HashBucket& b) {
        std::atomic<uint32_t>* link = &b.head;
        for (uint32_t idx = link->load(std::memory_order_relaxed); !is_chain_end(idx);
             idx = link->load(std::memory_order_relaxed)) {
            HashElem* e = elem(idx);
            if (!lru_ && find(b, key_of(e), e->hash.load(std::memory_order_relaxed), nullptr) != idx) {
                link->store(e->next.load(std::memory_order_relaxed), std::memory_order_release);
                free_push(idx);
                continue;
            }
            link = &e->next;
        }
        end_relink(b);
    }

    // Under the bucket lock: bracket changes of the chain's links for lock-free readers.
    static void begin_relink(HashBucket& b) {
        b.seq.store(b.seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
    }
    static void end_relink(HashBucket& b) {
        b.seq.store(b.seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }

    // Keys are compared word by word with atomic loads: a lock-free reader may look at an element
    // whose key a writer is replacing (it then simply does not match, or matches the new key).
    bool key_equals(HashElem* e, const void* key) const {
        auto* words = reinterpret_cast<uint64_t*>(key_of(e));
        auto* want = static_cast<const uint8_t*>(key);
        for (uint32_t off = 0; off < key_size(); off += 8) {
            uint64_t word = std::atomic_ref<uint64_t>(words[off / 8]).load(std::memory_order_relaxed);
            if (std::memcmp(&word, want + off, std::min<uint32_t>(8, key_size() - off)) != 0) return false;
        }
        return true;
    }

    void copy_out(HashElem* e, void* out) const {
        if (percpu_)
            std::memcpy(out, value_of(e, 0), size_t(c_->value_stride) * ncpus());
        else
            std::memcpy(out, value_of(e, 0), value_size());
    }
    // Writes `value` into element e: all CPUs from a user buffer, or one CPU's slot. A brand-new per-CPU
    // element gets zeros on the other CPUs (the kernel does the same).
    void copy_in(HashElem* e, const void* value, int64_t cpu, bool fresh) const {
        if (!percpu_) {
            std::memcpy(value_of(e, 0), value, value_size());
        } else if (cpu == kAllCpus) {
            // The whole user layout, padding included: the kernel keeps (and returns) those bytes too.
            std::memcpy(value_of(e, 0), value, size_t(c_->value_stride) * ncpus());
        } else {
            if (fresh) std::memset(value_of(e, 0), 0, size_t(c_->value_stride) * ncpus());
            std::memcpy(value_of(e, static_cast<uint32_t>(cpu)), value, value_size());
        }
    }

    long store(const void* key, const void* value, uint64_t flags, int64_t cpu) noexcept {
        if (flags & kBpfFLock) return -EINVAL;  // no bpf_spin_lock in values
        if (flags > kBpfExist) return -EINVAL;
        uint32_t hash = hash_key(key);
        uint32_t fresh = kNil;
        if (lru_ && !(percpu_ && flags == kBpfExist)) {
            // The kernel's LRU maps take (and, if full, evict for) a new element before looking.
            fresh = lru_alloc();
            if (fresh == kNil) return -ENOMEM;
        }
        HashBucket& b = bucket(hash);
        uint32_t old = kNil;
        bool fresh_used = false;
        long err = 0;
        {
            BucketGuard guard(*this, b);
            std::atomic<uint32_t>* link = nullptr;
            old = find(b, key, hash, &link);
            if (old != kNil && flags == kBpfNoExist) {
                err = -EEXIST;
            } else if (old == kNil && flags == kBpfExist) {
                err = -ENOENT;
            } else if (old != kNil && percpu_) {
                // Per-CPU values are updated in place (only this CPU's slot from the data path).
                copy_in(elem(old), value, cpu, false);
                if (lru_) elem(old)->ref.store(1, std::memory_order_relaxed);
                old = kNil;
            } else {
                if (!lru_) {
                    if (old == kNil && c_->count.fetch_add(1, std::memory_order_relaxed) >= max_entries()) {
                        c_->count.fetch_sub(1, std::memory_order_relaxed);
                        err = -E2BIG;
                    } else {
                        fresh = free_pop();
                        if (fresh == kNil) {
                            // Only when every spare element is in flight: fall back to writing in place.
                            if (old != kNil) {
                                copy_in(elem(old), value, cpu, false);
                                old = kNil;
                            } else {
                                c_->count.fetch_sub(1, std::memory_order_relaxed);
                                err = -E2BIG;
                            }
                        }
                    }
                }
                if (err == 0 && fresh != kNil) {
                    HashElem* e = elem(fresh);
                    e->hash.store(hash, std::memory_order_relaxed);
                    slot_store(key_of(e), key, key_size());
                    copy_in(e, value, cpu, true);
                    // Link the new element first, then unlink the one it replaces (as the kernel does), so a
                    // lock-free lookup racing with a replacement always finds one of the two.
                    begin_relink(b);
                    e->next.store(b.head.load(std::memory_order_relaxed), std::memory_order_relaxed);
                    b.head.store(fresh, std::memory_order_release);
                    if (old != kNil) {
                        if (link == &b.head) link = &e->next;  // old was first: now it follows the new one
                        link->store(elem(old)->next.load(std::memory_order_relaxed), std::memory_order_release);
                    }
                    end_relink(b);
                    fresh_used = true;
                }
            }
        }
        if (old != kNil && err == 0) release(old);
        if (fresh != kNil && !fresh_used) release(fresh);
        return err;
    }

    long erase(const void* key, void* value_out) noexcept {
        uint32_t hash = hash_key(key);
        HashBucket& b = bucket(hash);
        uint32_t idx;
        {
            BucketGuard guard(*this, b);
            std::atomic<uint32_t>* link = nullptr;
            idx = find(b, key, hash, &link);
            if (idx == kNil) return -ENOENT;
            if (value_out) copy_out(elem(idx), value_out);
            begin_relink(b);
            link->store(elem(idx)->next.load(std::memory_order_relaxed), std::memory_order_release);
            end_relink(b);
        }
        if (!lru_) c_->count.fetch_sub(1, std::memory_order_relaxed);
        release(idx);
        return 0;
    }

    void release(uint32_t idx) noexcept {
        if (lru_)
            lru_free(idx);
        else
            free_push(idx);
    }

    // ---- plain hashes: lock-free free list ----
    // An element never used before, or kNil when all have been handed out once.
    uint32_t take_never_used() noexcept {
        uint32_t idx = c_->never_used.load(std::memory_order_relaxed);
        while (idx < c_->n_elems)
            if (c_->never_used.compare_exchange_weak(idx, idx + 1, std::memory_order_relaxed)) return idx;
        return kNil;
    }
    uint32_t free_pop() noexcept {
        uint64_t top = c_->free_top.load(std::memory_order_acquire);
        for (;;) {
            uint32_t idx = static_cast<uint32_t>(top);
            if (idx == kNil) return take_never_used();
            uint32_t next = elem(idx)->free_next.load(std::memory_order_relaxed);
            uint64_t replacement = ((top >> 32) + 1) << 32 | next;
            if (c_->free_top.compare_exchange_weak(top, replacement, std::memory_order_acquire)) return idx;
        }
    }
    void free_push(uint32_t idx) noexcept {
        uint64_t top = c_->free_top.load(std::memory_order_relaxed);
        for (;;) {
            elem(idx)->free_next.store(static_cast<uint32_t>(top), std::memory_order_relaxed);
            uint64_t replacement = ((top >> 32) + 1) << 32 | idx;
            if (c_->free_top.compare_exchange_weak(top, replacement, std::memory_order_release)) return;
        }
    }

    // ---- LRU hashes (all under lru_lock) ----
    // An element off the list links to itself both ways, so unlinking it again (a dead writer left it off
    // the list with stale links; a later delete frees it) changes nothing instead of cutting the list.
    void lru_unlink(uint32_t idx) {
        HashElem* e = elem(idx);
        if (e->lru_prev == idx) return;
        if (e->lru_prev != kNil) elem(e->lru_prev)->lru_next = e->lru_next; else c_->lru_head = e->lru_next;
        if (e->lru_next != kNil) elem(e->lru_next)->lru_prev = e->lru_prev; else c_->lru_tail = e->lru_prev;
        e->lru_prev = e->lru_next = idx;
    }
    void lru_push_front(uint32_t idx) {
        HashElem* e = elem(idx);
        e->lru_prev = kNil;
        e->lru_next = c_->lru_head;
        if (c_->lru_head != kNil) elem(c_->lru_head)->lru_prev = idx; else c_->lru_tail = idx;
        // The publishing store: released, so no compiler puts it before e's links. A process killed in
        // between would otherwise leave lru_head on an element whose lru_next is stale (the whole rest of
        // the list lost to lru_repair's forward walk).
        std::atomic_ref<uint32_t>(c_->lru_head).store(idx, std::memory_order_release);
    }
    // Unlinks element idx from its bucket if it is there (it may be mid-insert or mid-delete).
    bool unlink_from_hash(uint32_t idx) {
        // A stale hash (the element is being refilled) only makes us look in a bucket it is not in.
        HashBucket& b = bucket(elem(idx)->hash.load(std::memory_order_relaxed));
        BucketGuard guard(*this, b);
        for (std::atomic<uint32_t>* slot = &b.head; !is_chain_end(slot->load(std::memory_order_relaxed));
             slot = &elem(slot->load(std::memory_order_relaxed))->next) {
            if (slot->load(std::memory_order_relaxed) == idx) {
                begin_relink(b);
                slot->store(elem(idx)->next.load(std::memory_order_relaxed), std::memory_order_release);
                end_relink(b);
                return true;
            }
        }
        return false;
    }
    // The LRU lock; taken over from a holder that died mid-change, the list is repaired first.
    class LruGuard {
       public:
        explicit LruGuard(HashMap& map) : map_(map) {
            if (spin_lock(map_.c_->lru_lock)) map_.lru_repair();
        }
        ~LruGuard() { spin_unlock(map_.c_->lru_lock); }
        LruGuard(const LruGuard&) = delete;
        LruGuard& operator=(const LruGuard&) = delete;

       private:
        HashMap& map_;
    };
    // Every change of the LRU list publishes with one store, keeping the forward chain from lru_head
    // whole, so a dead holder's list is repaired by walking that chain and setting each element's
    // lru_prev and lru_tail from it. An element it had unlinked but not yet relinked stays off the list
    // (never evicted again: capacity lost, as for a hash element taken and not linked).
    void lru_repair() noexcept {
        std::vector<bool> listed(c_->n_elems, false);
        uint32_t prev = kNil;
        uint64_t budget = uint64_t(c_->n_elems) + 1;  // a chain longer than the pool loops: cut it
        for (uint32_t idx = c_->lru_head; idx != kNil && idx < c_->n_elems && !listed[idx] && budget > 0;
             idx = elem(idx)->lru_next, --budget) {
            listed[idx] = true;
            elem(idx)->lru_prev = prev;
            prev = idx;
        }
        if (prev != kNil) elem(prev)->lru_next = kNil;
        else c_->lru_head = kNil;
        c_->lru_tail = prev;
        // Elements neither listed nor free were cut off mid-move: mark them off the list.
        for (uint32_t idx = c_->lru_free; idx != kNil && idx < c_->n_elems && !listed[idx];
             idx = elem(idx)->free_next.load(std::memory_order_relaxed))
            listed[idx] = true;
        const uint32_t used = std::min(c_->never_used.load(std::memory_order_relaxed), c_->n_elems);
        for (uint32_t idx = 0; idx < used; ++idx)
            if (!listed[idx]) elem(idx)->lru_prev = elem(idx)->lru_next = idx;
    }
    uint32_t lru_alloc() noexcept {
        LruGuard guard(*this);
        uint32_t idx = c_->lru_free;
        if (idx != kNil) {
            c_->lru_free = elem(idx)->free_next.load(std::memory_order_relaxed);
        } else if ((idx = take_never_used()) != kNil) {
            // first use of this element
        } else {
            // Second chance from the oldest end: referenced elements move to the front, unreferenced
            // ones are evicted. Bounded: if everything is in flight, fail like the kernel (-ENOMEM).
            for (uint64_t budget = 2ull * c_->n_elems + 2; budget > 0 && c_->lru_tail != kNil; --budget) {
                uint32_t victim = c_->lru_tail;
                HashElem* e = elem(victim);
                lru_unlink(victim);
                lru_push_front(victim);
                if (e->ref.load(std::memory_order_relaxed)) {
                    e->ref.store(0, std::memory_order_relaxed);
                    continue;
                }
                if (unlink_from_hash(victim)) {
                    lru_unlink(victim);
                    idx = victim;
                    break;
                }
            }
            if (idx == kNil) return kNil;
        }
        elem(idx)->ref.store(0, std::memory_order_relaxed);
        lru_push_front(idx);
        return idx;
    }
    void lru_free(uint32_t idx) noexcept {
        LruGuard guard(*this);
        lru_unlink(idx);
        elem(idx)->free_next.store(c_->lru_free, std::memory_order_relaxed);
        std::atomic_ref<uint32_t>(c_->lru_free).store(idx, std::memory_order_release);  // after free_next, as above
    }

    HashControl* c_;
    HashBucket* buckets_;
    uint8_t* elems_;
    bool lru_ = false;
    bool percpu_ = false;
};

struct HashGeometry {
    uint32_t n_buckets, n_elems, elem_size, key_stride, value_stride, value_slots;
    uint64_t buckets_offset, elems_offset, size;
};

HashGeometry geometry(const MapSpec& spec, uint32_t ncpus) {
    bool lru = spec.type == kMapLruHash || spec.type == kMapLruPercpuHash;
    bool percpu = spec.type == kMapPercpuHash || spec.type == kMapLruPercpuHash;
    HashGeometry g{};
    g.n_buckets = roundup_pow2(spec.max_entries);
    uint64_t n_elems = lru ? uint64_t(spec.max_entries) : uint64_t(spec.max_entries) + ncpus;
    if (n_elems >= kChainEnd)  // element indices must not look like chain markers
        throw MapError(-E2BIG, fmt::format("map '{}': {} elements are more than a hash map can index", spec.name, n_elems));
    g.n_elems = static_cast<uint32_t>(n_elems);
    g.key_stride = static_cast<uint32_t>(round_up(spec.key_size, 8));
    g.value_stride = static_cast<uint32_t>(round_up(spec.value_size, 8));
    g.value_slots = percpu ? ncpus : 1;
    g.elem_size = static_cast<uint32_t>(sizeof(HashElem) + g.key_stride + uint64_t(g.value_stride) * g.value_slots);
    g.buckets_offset = round_up(kControlOffset + sizeof(HashControl), 64);
    g.elems_offset = round_up(g.buckets_offset + uint64_t(g.n_buckets) * sizeof(HashBucket), 64);
    g.size = g.elems_offset + uint64_t(g.n_elems) * g.elem_size;
    return g;
}

}  // namespace

BlockLayout hash_layout(const MapSpec& spec, uint32_t ncpus) { return {geometry(spec, ncpus).size, 0}; }

std::unique_ptr<Map> open_hash(const MapSpec& spec, uint32_t ncpus, Storage storage, bool initialize) {
    if (initialize) {
        HashGeometry g = geometry(spec, ncpus);
        auto* c = new (storage.at<void>(kControlOffset)) HashControl{};
        c->buckets_offset = g.buckets_offset;
        c->elems_offset = g.elems_offset;
        c->seed = (spec.map_flags & kFZeroSeed) ? 0 : (uint64_t(std::random_device{}()) << 32 | std::random_device{}());
        c->n_buckets = g.n_buckets;
        c->n_elems = g.n_elems;
        c->elem_size = g.elem_size;
        c->key_stride = g.key_stride;
        c->value_stride = g.value_stride;
        c->value_slots = g.value_slots;
        auto* buckets = storage.at<HashBucket>(g.buckets_offset);
        for (uint32_t i = 0; i < g.n_buckets; ++i) buckets[i].head.store(kChainEnd | i, std::memory_order_relaxed);
        c->free_top.store(kNil, std::memory_order_relaxed);
        c->never_used.store(0, std::memory_order_relaxed);
        c->lru_head = c->lru_tail = kNil;
        c->lru_free = kNil;
    }
    return std::make_unique<HashMap>(spec, ncpus, std::move(storage));
}

}  // namespace tcbpf::maps
