// PROG_ARRAY and PERF_EVENT_ARRAY: arrays whose slots refer to objects that belong to one process (in
// the kernel, the value written is a file descriptor: a program or a perf event). The block records
// which slots are occupied (and the program id), so every process sees the same occupancy; the objects
// themselves (program handles, sample buffers) live in the process that installed them.
//
// Data-path readers load a slot with one atomic acquire load and no lock. Replaced or removed objects
// are kept until the map is destroyed, because a program running on another thread may still be using
// one (the kernel defers the release with RCU; a map's lifetime is our grace period).
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "maps/block.h"
#include "maps/sync.h"

namespace tcbpf::maps {

namespace {

struct SlotWord {
    std::atomic<uint32_t> occupied;
    uint32_t id;  // program id (prog array) or event CPU (perf event array)
};

constexpr uint64_t kSlotsOffset = kControlOffset;

// Shared by both: array-style keys, get_next_key by index, deletion of an occupied slot.
class SlotArrayBase : public MapBase {
   protected:
    SlotArrayBase(const MapSpec& spec, uint32_t ncpus, Storage storage) : MapBase(spec, ncpus, std::move(storage)) {
        slots_ = at<SlotWord>(kSlotsOffset);
    }
    static uint32_t load_index(const void* key) {
        uint32_t index;
        std::memcpy(&index, key, 4);
        return index;
    }

   public:
    int user_next_key(const void* key, void* next_out) const override {
        uint32_t next = 0;
        if (key) {
            uint32_t index = load_index(key);
            if (index < max_entries()) {
                if (index == max_entries() - 1) return -ENOENT;
                next = index + 1;
            }
        }
        std::memcpy(next_out, &next, 4);
        return 0;
    }
    int user_delete(const void* key) override { return clear_slot(load_index(key)); }

   protected:
    virtual void drop_local(uint32_t index) = 0;
    int clear_slot(uint32_t index) {
        if (index >= max_entries()) return -E2BIG;
        std::lock_guard guard(local_mutex_);
        if (slots_[index].occupied.exchange(0, std::memory_order_acq_rel) == 0) return -ENOENT;
        drop_local(index);
        return 0;
    }

    SlotWord* slots_;
    std::mutex local_mutex_;  // process-local objects only; the block has no std::mutex
};

class ProgArrayMap final : public SlotArrayBase, public ProgArray {
   public:
    ProgArrayMap(const MapSpec& spec, uint32_t ncpus, Storage storage)
        : SlotArrayBase(spec, ncpus, std::move(storage)), programs_(spec.max_entries) {}

    ProgArray* as_prog_array() override { return this; }

    int set_program(uint32_t index, std::shared_ptr<const void> program, uint32_t id) override {
        if (index >= max_entries()) return -E2BIG;
        if (!program) return -EINVAL;
        std::lock_guard guard(local_mutex_);
        programs_[index].store(program.get(), std::memory_order_release);
        keep_alive_.push_back(std::move(program));
        slots_[index].id = id;
        slots_[index].occupied.store(1, std::memory_order_release);
        return 0;
    }
    int clear_program(uint32_t index) override { return clear_slot(index); }
    const void* program_at(uint32_t index) const noexcept override {
        return index < max_entries() ? programs_[index].load(std::memory_order_acquire) : nullptr;
    }

    // User space sees the program id, as the kernel reports it for prog arrays.
    int user_lookup(const void* key, void* value_out) const override {
        uint32_t index = load_index(key);
        if (index >= max_entries() || !slots_[index].occupied.load(std::memory_order_acquire)) return -ENOENT;
        std::memcpy(value_out, &slots_[index].id, 4);
        return 0;
    }
    // The kernel's value is a program fd, which means nothing here: install programs with set_program.
    int user_update(const void*, const void*, uint64_t) override { return -EINVAL; }

   private:
    void drop_local(uint32_t index) override { programs_[index].store(nullptr, std::memory_order_release); }

    std::vector<std::atomic<const void*>> programs_;
    std::vector<std::shared_ptr<const void>> keep_alive_;
};

// One slot's sample buffer: a byte ring of records {u32 size; u8 data[size]} with size padded so each
// record is a multiple of 8 bytes, as perf lays out raw samples.
struct PerfBuffer {
    explicit PerfBuffer(uint32_t capacity, uint32_t cpu_) : ring(capacity), cpu(cpu_) {}
    std::vector<uint8_t> ring;
    uint32_t cpu;
    std::atomic<uint32_t> lock{0};
    uint64_t head = 0;  // bytes ever written
    uint64_t tail = 0;  // bytes ever consumed
    std::atomic<uint64_t> lost{0};

    void put(const void* src, uint64_t n) {
        uint64_t at = head % ring.size();
        uint64_t first = std::min<uint64_t>(n, ring.size() - at);
        if (src) {
            std::memcpy(ring.data() + at, src, first);
            std::memcpy(ring.data(), static_cast<const uint8_t*>(src) + first, n - first);
        } else {
            std::memset(ring.data() + at, 0, first);
            std::memset(ring.data(), 0, n - first);
        }
        head += n;
    }
    void get(void* dst, uint64_t n) {
        uint64_t at = tail % ring.size();
        uint64_t first = std::min<uint64_t>(n, ring.size() - at);
        std::memcpy(dst, ring.data() + at, first);
        std::memcpy(static_cast<uint8_t*>(dst) + first, ring.data(), n - first);
        tail += n;
    }
};

class PerfEventArrayMap final : public SlotArrayBase, public PerfEventArray {
   public:
    PerfEventArrayMap(const MapSpec& spec, uint32_t ncpus, Storage storage)
        : SlotArrayBase(spec, ncpus, std::move(storage)), buffers_(spec.max_entries) {}

    PerfEventArray* as_perf_event_array() override { return this; }

    int open_buffer(uint32_t index, uint32_t cpu, uint32_t capacity) override {
        if (index >= max_entries()) return -E2BIG;
        if (capacity < 64 || cpu >= ncpus()) return -EINVAL;
        auto buffer = std::make_unique<PerfBuffer>(static_cast<uint32_t>(round_up(capacity, 8)), cpu);
        std::lock_guard guard(local_mutex_);
        buffers_[index].store(buffer.get(), std::memory_order_release);
        owned_.push_back(std::move(buffer));
        slots_[index].id = cpu;
        slots_[index].occupied.store(1, std::memory_order_release);
        return 0;
    }
    int close_buffer(uint32_t index) override { return clear_slot(index); }

    long output(uint64_t flags, uint32_t cpu, const void* data, uint64_t size, const void* extra,
                uint64_t extra_size) noexcept override {
        if (flags & ~(kFIndexMask | kFCtxLenMask)) return -EINVAL;
        uint64_t index = flags & kFIndexMask;
        if (index == kFCurrentCpu) index = cpu;
        if (index >= max_entries()) return -E2BIG;
        PerfBuffer* buffer = buffers_[index].load(std::memory_order_acquire);
        if (!buffer) return -ENOENT;
        if (buffer->cpu != cpu) return -EOPNOTSUPP;
        uint64_t total = size + extra_size;
        uint64_t padded = round_up(total + 4, 8) - 4;
        if (padded > UINT32_MAX - 4) return -E2BIG;
        SpinGuard guard(buffer->lock);
        if (buffer->ring.size() - (buffer->head - buffer->tail) < padded + 4) {
            buffer->lost.fetch_add(1, std::memory_order_relaxed);
            return -ENOSPC;
        }
        uint32_t header = static_cast<uint32_t>(padded);
        buffer->put(&header, 4);
        buffer->put(data, size);
        if (extra_size) buffer->put(extra, extra_size);
        buffer->put(nullptr, padded - total);
        return 0;
    }

    size_t consume(uint32_t index, const std::function<void(std::span<const uint8_t>)>& fn) override {
        if (index >= max_entries()) return 0;
        PerfBuffer* buffer = buffers_[index].load(std::memory_order_acquire);
        if (!buffer) return 0;
        size_t delivered = 0;
        std::vector<uint8_t> sample;
        for (;;) {
            {
                SpinGuard guard(buffer->lock);
                if (buffer->head == buffer->tail) return delivered;
                uint32_t size = 0;
                buffer->get(&size, 4);
                sample.resize(size);
                buffer->get(sample.data(), size);
            }
            fn(sample);
            ++delivered;
        }
    }

    uint64_t lost(uint32_t index) const override {
        if (index >= max_entries()) return 0;
        PerfBuffer* buffer = buffers_[index].load(std::memory_order_acquire);
        return buffer ? buffer->lost.load(std::memory_order_relaxed) : 0;
    }

   private:
    void drop_local(uint32_t index) override { buffers_[index].store(nullptr, std::memory_order_release); }

    std::vector<std::atomic<PerfBuffer*>> buffers_;
    std::vector<std::unique_ptr<PerfBuffer>> owned_;
};

}  // namespace

BlockLayout slot_array_layout(const MapSpec& spec, uint32_t) {
    return {kSlotsOffset + uint64_t(spec.max_entries) * sizeof(SlotWord), 0};
}

std::unique_ptr<Map> open_prog_array(const MapSpec& spec, uint32_t ncpus, Storage storage, bool) {
    return std::make_unique<ProgArrayMap>(spec, ncpus, std::move(storage));
}

std::unique_ptr<Map> open_perf_event_array(const MapSpec& spec, uint32_t ncpus, Storage storage, bool) {
    return std::make_unique<PerfEventArrayMap>(spec, ncpus, std::move(storage));
}

}  // namespace tcbpf::maps
