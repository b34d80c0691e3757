// The maps that carry things other than key/value pairs: the BPF ring buffer and the perf event array
// (records from programs to a user-space consumer) and the program array (tail-call targets).
// Included by tcbpf/maps.h; obtain them with Map::as_ringbuf() / as_perf_event_array() / as_prog_array().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

namespace tcbpf::maps {

// Ring buffer flags and query selectors (uapi bpf.h).
inline constexpr uint64_t kRbNoWakeup = 1;
inline constexpr uint64_t kRbForceWakeup = 2;
inline constexpr uint64_t kRbAvailData = 0;
inline constexpr uint64_t kRbRingSize = 1;
inline constexpr uint64_t kRbConsPos = 2;
inline constexpr uint64_t kRbProdPos = 3;
// Record header bits in the length word (BPF_RINGBUF_BUSY_BIT / DISCARD_BIT) and header size.
inline constexpr uint32_t kRingbufBusyBit = 1u << 31;
inline constexpr uint32_t kRingbufDiscardBit = 1u << 30;
inline constexpr uint32_t kRingbufHeaderSize = 8;

// BPF_MAP_TYPE_RINGBUF: the kernel's model. A power-of-two data area holds records, each an 8-byte
// header {u32 len | BUSY | DISCARD, u32 page offset} plus the sample, padded to 8 bytes. Producers
// reserve under a lock (positions only grow; position & mask is the offset), fill the sample in place
// and commit by clearing BUSY; the consumer reads committed records in order and stops at a busy one.
// The data area is mapped twice back to back, so a record that wraps is still contiguous in memory.
class RingBuffer {
   public:
    virtual ~RingBuffer() = default;
    // ---- data path (bpf_ringbuf_*), never throws ----
    // Returns the sample pointer or nullptr: flags != 0, size too big, or not enough free space.
    virtual void* reserve(uint64_t size, uint64_t flags) noexcept = 0;
    // Commit / drop a reserved sample. Static: like the helper, it needs only the sample pointer
    // (the header's page offset locates the buffer).
    static void submit(void* sample, uint64_t flags) noexcept;
    static void discard(void* sample, uint64_t flags) noexcept;
    // bpf_ringbuf_output: 0, -EINVAL (flags), -EAGAIN (no space).
    virtual long output(const void* data, uint64_t size, uint64_t flags) noexcept = 0;
    // bpf_ringbuf_query: kRbAvailData, kRbRingSize, kRbConsPos, kRbProdPos; 0 for anything else.
    virtual uint64_t query(uint64_t flags) const noexcept = 0;

    // ---- consumer (user space) ----
    // Calls `fn` with each committed, non-discarded sample in order and advances the consumer position
    // past it (discarded records are skipped silently). Stops at the first record still being written,
    // or when `fn` returns non-zero (that record is consumed). Returns the number of samples delivered.
    // One consumer at a time (others wait).
    virtual size_t consume(const std::function<int(std::span<const uint8_t> sample)>& fn) = 0;
    // Waits until data is available or timeout_ms passes (-1: forever). Returns true if data is there.
    virtual bool wait(int timeout_ms) = 0;
};

// Perf event output flags (uapi bpf.h).
inline constexpr uint64_t kFIndexMask = 0xffffffffull;
inline constexpr uint64_t kFCurrentCpu = 0xffffffffull;
inline constexpr uint64_t kFCtxLenMask = 0xfffffull << 32;

// BPF_MAP_TYPE_PERF_EVENT_ARRAY: slots that user space fills with per-CPU event buffers (the kernel's
// perf event fds). bpf_perf_event_output writes a sample into the slot chosen by the flags.
class PerfEventArray {
   public:
    virtual ~PerfEventArray() = default;
    // User space: attaches a buffer of `capacity` bytes (at least 64) to `index`, bound to `cpu` (the
    // event's CPU: output from another CPU gets -EOPNOTSUPP). 0, -E2BIG (index), -EINVAL (capacity/cpu).
    // Replaces any buffer already there (its unread samples are dropped).
    virtual int open_buffer(uint32_t index, uint32_t cpu, uint32_t capacity_bytes) = 0;
    // Detaches the buffer: 0, -E2BIG, -ENOENT (empty slot), as deleting an element of the kernel's map.
    virtual int close_buffer(uint32_t index) = 0;

    // Data path (bpf_perf_event_output): the sample is `data` followed by `extra` (the helper passes the
    // packet bytes requested in the flags there). 0, -EINVAL (flags), -E2BIG (index ≥ max_entries),
    // -ENOENT (no buffer), -EOPNOTSUPP (buffer bound to another CPU), -ENOSPC (buffer full: counted lost).
    virtual long output(uint64_t flags, uint32_t cpu, const void* data, uint64_t size, const void* extra = nullptr,
                        uint64_t extra_size = 0) noexcept = 0;

    // Consumer: delivers the samples of slot `index` in order. As perf presents raw samples, each is
    // padded with zeros to round_up(size + 4, 8) - 4 bytes. Returns the number delivered.
    virtual size_t consume(uint32_t index, const std::function<void(std::span<const uint8_t> sample)>& fn) = 0;
    // Samples dropped at `index` because its buffer was full (the perf LOST records' total).
    virtual uint64_t lost(uint32_t index) const = 0;
};

// BPF_MAP_TYPE_PROG_ARRAY: each slot holds an opaque program handle (kept alive by the map) and the
// program's id (what user-space lookups report, as the kernel's do).
class ProgArray {
   public:
    virtual ~ProgArray() = default;
    // User space: 0 or -E2BIG (index ≥ max_entries). A program replaced or cleared stays alive until the
    // map is destroyed, because a running program may still be tail-calling into it.
    virtual int set_program(uint32_t index, std::shared_ptr<const void> program, uint32_t id) = 0;
    virtual int clear_program(uint32_t index) = 0;  // 0, -E2BIG, -ENOENT
    // Data path (the tail-call hook): lock-free read of the slot; nullptr if empty or out of range.
    virtual const void* program_at(uint32_t index) const noexcept = 0;
};

}  // namespace tcbpf::maps
