// BPF_MAP_TYPE_RINGBUF, following the kernel's design (kernel/bpf/ringbuf.c) so that positions,
// record headers and error behaviour match:
//  - block: page 0 holds the header, the positions and the lock words; the data area (max_entries
//    bytes, a power of two) starts at page 1 and is mapped twice, so a record crossing the end is
//    contiguous in memory and the producer writes it with one memcpy.
//  - producer_pos / consumer_pos only grow; a position's offset is pos & mask. Reservations happen
//    under the producer lock, in position order; commits happen in any order, without the lock.
//  - a reservation fails if the new producer position would be more than mask bytes ahead of the
//    consumer, or of the oldest record still being written (pending_pos), so a busy record is never
//    overwritten after the consumer skips past discarded ones.
//  - a record header is {len | BUSY | DISCARD, pg_off}: pg_off is the header's page index in the block,
//    which lets submit/discard find the buffer from the sample pointer alone, as the helpers require.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

#include "maps/block.h"
#include "maps/sync.h"

namespace tcbpf::maps {

namespace {

constexpr uint64_t kDataOffset = kPageSize;
constexpr uint64_t kMaxRecord = UINT32_MAX / 4;  // RINGBUF_MAX_RECORD_SZ

struct RingControl {
    uint64_t mask;
    alignas(64) std::atomic<uint32_t> producer_lock;
    uint64_t pending_pos;  // under producer_lock
    alignas(64) std::atomic<uint64_t> producer_pos;
    alignas(64) std::atomic<uint64_t> consumer_pos;
    std::atomic<uint32_t> consumer_lock;
    alignas(64) std::atomic<uint32_t> waiters;
    std::atomic<uint32_t> notify_seq;  // futex word
};
static_assert(kControlOffset + sizeof(RingControl) <= kPageSize);

struct RecordHeader {
    std::atomic<uint32_t> len;
    uint32_t pg_off;
};

uint64_t record_span(uint32_t len_word) {
    return round_up((len_word & ~(kRingbufBusyBit | kRingbufDiscardBit)) + uint64_t(kRingbufHeaderSize), 8);
}

RingControl* control_of_sample(void* sample) {
    auto* hdr = reinterpret_cast<RecordHeader*>(static_cast<uint8_t*>(sample) - kRingbufHeaderSize);
    auto page = reinterpret_cast<uintptr_t>(hdr) & ~uintptr_t(kPageSize - 1);
    auto* base = reinterpret_cast<uint8_t*>(page - uintptr_t(hdr->pg_off) * kPageSize);
    return reinterpret_cast<RingControl*>(base + kControlOffset);
}

void commit(void* sample, uint64_t flags, bool discard) noexcept {
    auto* hdr = reinterpret_cast<RecordHeader*>(static_cast<uint8_t*>(sample) - kRingbufHeaderSize);
    RingControl* c = control_of_sample(sample);
    uint32_t len = hdr->len.load(std::memory_order_relaxed) & ~kRingbufBusyBit;
    if (discard) len |= kRingbufDiscardBit;
    hdr->len.exchange(len, std::memory_order_seq_cst);
    if (flags & kRbNoWakeup) return;
    if (c->waiters.load(std::memory_order_seq_cst) > 0) {
        c->notify_seq.fetch_add(1, std::memory_order_seq_cst);
        syscall(SYS_futex, reinterpret_cast<uint32_t*>(&c->notify_seq), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
    }
}

class RingBufferMap final : public MapBase, public RingBuffer {
   public:
    RingBufferMap(const MapSpec& spec, uint32_t ncpus, Storage storage) : MapBase(spec, ncpus, std::move(storage)) {
        c_ = at<RingControl>(kControlOffset);
        data_ = at<uint8_t>(kDataOffset);
    }

    RingBuffer* as_ringbuf() override { return this; }

    void* reserve(uint64_t size, uint64_t flags) noexcept override {
        if (flags != 0 || size > kMaxRecord) return nullptr;
        uint64_t len = round_up(size + kRingbufHeaderSize, 8);
        if (len > c_->mask + 1) return nullptr;
        uint64_t cons = c_->consumer_pos.load(std::memory_order_acquire);
        SpinGuard guard(c_->producer_lock);
        uint64_t prod = c_->producer_pos.load(std::memory_order_relaxed);
        uint64_t pend = c_->pending_pos;
        while (pend < prod) {
            auto* h = header_at(pend);
            uint32_t word = h->len.load(std::memory_order_acquire);
            if (word & kRingbufBusyBit) break;
            pend += record_span(word);
        }
        c_->pending_pos = pend;
        uint64_t new_prod = prod + len;
        if (new_prod - cons > c_->mask || new_prod - pend > c_->mask) return nullptr;
        RecordHeader* hdr = header_at(prod);
        hdr->len.store(static_cast<uint32_t>(size) | kRingbufBusyBit, std::memory_order_relaxed);
        hdr->pg_off = static_cast<uint32_t>((reinterpret_cast<uint8_t*>(hdr) - storage_.base()) / kPageSize);
        c_->producer_pos.store(new_prod, std::memory_order_release);
        return reinterpret_cast<uint8_t*>(hdr) + kRingbufHeaderSize;
    }

    long output(const void* data, uint64_t size, uint64_t flags) noexcept override {
        if (flags & ~(kRbNoWakeup | kRbForceWakeup)) return -EINVAL;
        void* sample = reserve(size, 0);
        if (!sample) return -EAGAIN;
        std::memcpy(sample, data, size);
        commit(sample, flags, false);
        return 0;
    }

    uint64_t query(uint64_t flags) const noexcept override {
        uint64_t cons = c_->consumer_pos.load(std::memory_order_acquire);
        uint64_t prod = c_->producer_pos.load(std::memory_order_acquire);
        switch (flags) {
            case kRbAvailData: return prod - cons;
            case kRbRingSize: return c_->mask + 1;
            case kRbConsPos: return cons;
            case kRbProdPos: return prod;
            default: return 0;
        }
    }

    size_t consume(const std::function<int(std::span<const uint8_t>)>& fn) override {
        SpinGuard guard(c_->consumer_lock);
        size_t delivered = 0;
        uint64_t cons = c_->consumer_pos.load(std::memory_order_relaxed);
        for (;;) {
            uint64_t prod = c_->producer_pos.load(std::memory_order_acquire);
            if (cons >= prod) return delivered;
            while (cons < prod) {
                RecordHeader* hdr = header_at(cons);
                uint32_t word = hdr->len.load(std::memory_order_acquire);
                if (word & kRingbufBusyBit) return delivered;
                int stop = 0;
                if (!(word & kRingbufDiscardBit)) {
                    const auto* sample = reinterpret_cast<const uint8_t*>(hdr) + kRingbufHeaderSize;
                    stop = fn({sample, word & ~kRingbufDiscardBit});
                    ++delivered;
                }
                cons += record_span(word);
                c_->consumer_pos.store(cons, std::memory_order_release);
                if (stop) return delivered;
            }
        }
    }

    bool wait(int timeout_ms) override {
        auto available = [&] {
            return c_->producer_pos.load(std::memory_order_seq_cst) > c_->consumer_pos.load(std::memory_order_seq_cst);
        };
        if (available()) return true;
        timespec deadline{};
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        uint64_t end_ns = uint64_t(deadline.tv_sec) * 1000000000ull + deadline.tv_nsec + uint64_t(timeout_ms) * 1000000ull;
        c_->waiters.fetch_add(1, std::memory_order_seq_cst);
        bool ready = false;
        for (;;) {
            uint32_t seq = c_->notify_seq.load(std::memory_order_seq_cst);
            if ((ready = available())) break;
            timespec now{};
            clock_gettime(CLOCK_MONOTONIC, &now);
            uint64_t now_ns = uint64_t(now.tv_sec) * 1000000000ull + now.tv_nsec;
            if (timeout_ms >= 0 && now_ns >= end_ns) break;
            timespec rel{};
            if (timeout_ms >= 0) {
                rel.tv_sec = static_cast<time_t>((end_ns - now_ns) / 1000000000ull);
                rel.tv_nsec = static_cast<long>((end_ns - now_ns) % 1000000000ull);
            }
            syscall(SYS_futex, reinterpret_cast<uint32_t*>(&c_->notify_seq), FUTEX_WAIT, seq,
                    timeout_ms >= 0 ? &rel : nullptr, nullptr, 0);
        }
        c_->waiters.fetch_sub(1, std::memory_order_seq_cst);
        return ready;
    }

   private:
    RecordHeader* header_at(uint64_t pos) const { return reinterpret_cast<RecordHeader*>(data_ + (pos & c_->mask)); }

    RingControl* c_;
    uint8_t* data_;
};

}  // namespace

void RingBuffer::submit(void* sample, uint64_t flags) noexcept { commit(sample, flags, false); }
void RingBuffer::discard(void* sample, uint64_t flags) noexcept { commit(sample, flags, true); }

BlockLayout ringbuf_layout(const MapSpec& spec, uint32_t) { return {kDataOffset + spec.max_entries, kDataOffset}; }

std::unique_ptr<Map> open_ringbuf(const MapSpec& spec, uint32_t ncpus, Storage storage, bool initialize) {
    if (initialize) {
        auto* c = new (storage.at<void>(kControlOffset)) RingControl{};
        c->mask = spec.max_entries - 1;
    }
    return std::make_unique<RingBufferMap>(spec, ncpus, std::move(storage));
}

}  // namespace tcbpf::maps
