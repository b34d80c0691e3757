// Helpers over maps: key/value maps, queues and stacks, ring buffers and perf event arrays. The Map
// classes already return what the kernel's helpers return; these adapt registers to them.
#include <atomic>

#include "env.h"

namespace tcbpf::helpers::detail {

uint64_t map_lookup_elem(uint64_t map, uint64_t key, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    return reinterpret_cast<uint64_t>(map_of(map)->lookup(ptr_of<const void>(key), cx->cpu));
}

uint64_t map_update_elem(uint64_t map, uint64_t key, uint64_t value, uint64_t flags, uint64_t, vm::Context* cx) {
    return static_cast<uint64_t>(map_of(map)->update(ptr_of<const void>(key), ptr_of<const void>(value), flags, cx->cpu));
}

uint64_t map_delete_elem(uint64_t map, uint64_t key, uint64_t, uint64_t, uint64_t, vm::Context*) {
    return static_cast<uint64_t>(map_of(map)->remove(ptr_of<const void>(key)));
}

uint64_t map_push_elem(uint64_t map, uint64_t value, uint64_t flags, uint64_t, uint64_t, vm::Context*) {
    return static_cast<uint64_t>(map_of(map)->push(ptr_of<const void>(value), flags));
}

uint64_t map_pop_elem(uint64_t map, uint64_t value, uint64_t, uint64_t, uint64_t, vm::Context*) {
    return static_cast<uint64_t>(map_of(map)->pop(ptr_of<void>(value)));
}

uint64_t map_peek_elem(uint64_t map, uint64_t value, uint64_t, uint64_t, uint64_t, vm::Context*) {
    return static_cast<uint64_t>(map_of(map)->peek(ptr_of<void>(value)));
}

// bpf_map_lookup_percpu_elem: another CPU's slot; NULL for a CPU the map does not have.
uint64_t map_lookup_percpu_elem(uint64_t map, uint64_t key, uint64_t cpu, uint64_t, uint64_t, vm::Context*) {
    maps::Map* m = map_of(map);
    const auto index = static_cast<uint32_t>(cpu);
    if (!m->is_percpu() || index >= m->ncpus()) return 0;
    return reinterpret_cast<uint64_t>(m->lookup(ptr_of<const void>(key), index));
}

uint64_t ringbuf_output(uint64_t map, uint64_t data, uint64_t size, uint64_t flags, uint64_t, vm::Context*) {
    maps::RingBuffer* rb = map_of(map)->as_ringbuf();
    if (rb == nullptr) return static_cast<uint64_t>(-EINVAL);
    return static_cast<uint64_t>(rb->output(ptr_of<const void>(data), size, flags));
}

uint64_t ringbuf_reserve(uint64_t map, uint64_t size, uint64_t flags, uint64_t, uint64_t, vm::Context*) {
    maps::RingBuffer* rb = map_of(map)->as_ringbuf();
    if (rb == nullptr) return 0;
    return reinterpret_cast<uint64_t>(rb->reserve(size, flags));
}

uint64_t ringbuf_submit(uint64_t sample, uint64_t flags, uint64_t, uint64_t, uint64_t, vm::Context*) {
    maps::RingBuffer::submit(ptr_of<void>(sample), flags);
    return 0;
}

uint64_t ringbuf_discard(uint64_t sample, uint64_t flags, uint64_t, uint64_t, uint64_t, vm::Context*) {
    maps::RingBuffer::discard(ptr_of<void>(sample), flags);
    return 0;
}

uint64_t ringbuf_query(uint64_t map, uint64_t flags, uint64_t, uint64_t, uint64_t, vm::Context*) {
    maps::RingBuffer* rb = map_of(map)->as_ringbuf();
    return rb == nullptr ? 0 : rb->query(flags);
}

// bpf_skb_event_output: `data` followed by the first (flags >> 32) & 0xfffff packet bytes.
uint64_t perf_event_output(uint64_t, uint64_t map, uint64_t flags, uint64_t data, uint64_t size, vm::Context* cx) {
    RunEnv& env = env_of(cx);
    const uint64_t packet_bytes = (flags & maps::kFCtxLenMask) >> 32;
    if (flags & ~(maps::kFCtxLenMask | maps::kFIndexMask)) return static_cast<uint64_t>(-EINVAL);
    if (packet_bytes > env.packet->size()) return static_cast<uint64_t>(-EFAULT);
    maps::PerfEventArray* perf = map_of(map)->as_perf_event_array();
    if (perf == nullptr) return static_cast<uint64_t>(-EINVAL);
    return static_cast<uint64_t>(perf->output(flags & maps::kFIndexMask, cx->cpu, ptr_of<const void>(data), size,
                                              env.packet->data(), packet_bytes));
}

}  // namespace tcbpf::helpers::detail

namespace tcbpf::helpers::detail {

namespace {
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
}  // namespace

// bpf_spin_lock / bpf_spin_unlock on the 4-byte struct bpf_spin_lock inside a map value (the
// verifier guarantees its alignment and that every lock is released before exit). A test-and-set
// lock with a pause while waiting: held only for a few instructions, as the kernel's is.
uint64_t spin_lock(uint64_t lock, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*) {
    std::atomic_ref<uint32_t> word(*ptr_of<uint32_t>(lock));
    while (word.exchange(1, std::memory_order_acquire) != 0) {
        while (word.load(std::memory_order_relaxed) != 0) cpu_relax();
    }
    return 0;
}

uint64_t spin_unlock(uint64_t lock, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context*) {
    std::atomic_ref<uint32_t>(*ptr_of<uint32_t>(lock)).store(0, std::memory_order_release);
    return 0;
}

}  // namespace tcbpf::helpers::detail
