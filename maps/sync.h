// Lock words that live inside a map block. They are plain std::atomic integers (lock-free, hence
// address-free: two processes mapping the block at different addresses share them), never std::mutex.
// Waiting spins briefly then yields: the data path must not sleep, and on a machine with few cores a
// preempted lock holder needs the CPU back.
//  - spin lock: one word, 0 free / else the holder's process id. A waiter that has waited long checks
//    whether that process still exists; if it died holding the lock (kill -9 mid-update), the waiter
//    takes the lock over and the structure's own code repairs what the dead holder left half-done
//    (hash buckets: maps/hash.cpp). Processes sharing a map must therefore share a pid namespace.
//  - sequence lock: an even/odd counter per value; writers make it odd while copying (taking it with a
//    CAS also excludes other writers), readers retry until they copied between two equal even reads
//    (maps/array.cpp, where a journal makes a dead writer's update finishable).
#pragma once

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <cstdint>
#include <cstring>

namespace tcbpf::maps {

static_assert(std::atomic<uint32_t>::is_always_lock_free && std::atomic<uint64_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<uint32_t>) == 4 && sizeof(std::atomic<uint64_t>) == 8);

inline void cpu_relax(unsigned& spins) {
    if (++spins == 0) spins = 100;  // never wrap back into the busy-spin phase
    if (spins < 100) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        sched_yield();
    }
}

// This process's id as lock words record it, kept right in fork()ed children (maps/sync.cpp).
uint32_t lock_owner_id();

inline bool lock_owner_died(uint32_t owner) { return ::kill(static_cast<pid_t>(owner), 0) != 0 && errno == ESRCH; }

// True when it took the lock over from a holder that died (what it guards may need repair).
inline bool spin_lock(std::atomic<uint32_t>& word) {
    const uint32_t me = lock_owner_id();
    unsigned spins = 0;
    for (;;) {
        uint32_t held = word.load(std::memory_order_relaxed);
        if (held == 0) {
            if (word.compare_exchange_weak(held, me, std::memory_order_acquire)) return false;
            continue;
        }
        // After ~1000 yields, look at the holder now and then (kill(0) is a syscall: not on every spin).
        if (spins >= 1000 && spins % 256 == 0 && lock_owner_died(held) &&
            word.compare_exchange_strong(held, me, std::memory_order_acquire))
            return true;
        cpu_relax(spins);
    }
}
inline void spin_unlock(std::atomic<uint32_t>& word) { word.store(0, std::memory_order_release); }
// Takes the lock at once if its holder has died (true: the caller holds it now and repairs); false
// when it is free or held by a live process.
inline bool take_over_if_dead(std::atomic<uint32_t>& word) {
    uint32_t held = word.load(std::memory_order_relaxed);
    return held != 0 && lock_owner_died(held) && word.compare_exchange_strong(held, lock_owner_id(), std::memory_order_acquire);
}

class SpinGuard {
   public:
    explicit SpinGuard(std::atomic<uint32_t>& word) : word_(word) { spin_lock(word_); }
    ~SpinGuard() { spin_unlock(word_); }
    SpinGuard(const SpinGuard&) = delete;
    SpinGuard& operator=(const SpinGuard&) = delete;

   private:
    std::atomic<uint32_t>& word_;
};

inline void seq_write_begin(std::atomic<uint32_t>& seq) {
    unsigned spins = 0;
    for (;;) {
        uint32_t s = seq.load(std::memory_order_relaxed);
        if (!(s & 1) && seq.compare_exchange_weak(s, s + 1, std::memory_order_acquire)) break;
        cpu_relax(spins);
    }
    std::atomic_thread_fence(std::memory_order_release);
}
inline void seq_write_end(std::atomic<uint32_t>& seq) { seq.fetch_add(1, std::memory_order_release); }

// Copy between a value slot in a block (8-byte aligned, padded to a multiple of 8) and any buffer, 8
// bytes at a time with relaxed atomic accesses. Sequence-lock readers and writers then race only on
// atomics (defined behaviour; a reader discards a copy that overlapped a write). A store keeps the
// bytes after `size` in its last word (callers hold the sequence lock, so no other writer is there).
inline void slot_load(void* dst, const void* slot, size_t size) {
    auto* words = static_cast<uint64_t*>(const_cast<void*>(slot));
    auto* out = static_cast<uint8_t*>(dst);
    for (size_t off = 0; off < size; off += 8) {
        uint64_t word = std::atomic_ref<uint64_t>(words[off / 8]).load(std::memory_order_relaxed);
        std::memcpy(out + off, &word, size - off < 8 ? size - off : 8);
    }
}
inline void slot_store(void* slot, const void* src, size_t size) {
    auto* words = static_cast<uint64_t*>(slot);
    auto* in = static_cast<const uint8_t*>(src);
    for (size_t off = 0; off < size; off += 8) {
        std::atomic_ref<uint64_t> word_ref(words[off / 8]);
        uint64_t word = size - off < 8 ? word_ref.load(std::memory_order_relaxed) : 0;
        std::memcpy(&word, in + off, size - off < 8 ? size - off : 8);
        word_ref.store(word, std::memory_order_relaxed);
    }
}

}  // namespace tcbpf::maps
