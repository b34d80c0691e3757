// BPF_MAP_TYPE_QUEUE (FIFO) and STACK (LIFO): a ring of max_entries + 1 value slots under one spin lock,
// as in the kernel: `head` is where the next push writes, `tail` the oldest value; equal means empty.
// A push into a full map fails with -E2BIG unless BPF_EXIST asks to drop the oldest value instead.
// User space reaches them through the syscall mapping: update → push, lookup → peek,
// lookup_and_delete → pop; delete and get_next_key are -EINVAL.
#include <cerrno>
#include <cstring>

#include "maps/block.h"
#include "maps/sync.h"

namespace tcbpf::maps {

namespace {

struct QueueControl {
    uint64_t slots_offset;
    uint32_t n_slots;
    uint32_t stride;
    alignas(64) std::atomic<uint32_t> lock;
    uint32_t head;
    uint32_t tail;
};

class QueueMap final : public MapBase {
   public:
    QueueMap(const MapSpec& spec, uint32_t ncpus, Storage storage) : MapBase(spec, ncpus, std::move(storage)) {
        c_ = at<QueueControl>(kControlOffset);
        slots_ = at<uint8_t>(c_->slots_offset);
        stack_ = spec.type == kMapStack;
    }

    long push(const void* value, uint64_t flags) noexcept override {
        if ((flags & kBpfNoExist) || flags > kBpfExist) return -EINVAL;
        SpinGuard guard(c_->lock);
        if (next(c_->head) == c_->tail) {
            if (!(flags & kBpfExist)) return -E2BIG;
            c_->tail = next(c_->tail);  // overwrite the oldest
        }
        std::memcpy(slot(c_->head), value, value_size());
        c_->head = next(c_->head);
        return 0;
    }
    long pop(void* value_out) noexcept override { return take(value_out, true); }
    long peek(void* value_out) noexcept override { return take(value_out, false); }
    long update(const void*, const void*, uint64_t, uint32_t) noexcept override { return -EINVAL; }

    int user_lookup(const void*, void* value_out) const override {
        return static_cast<int>(take(value_out, false));
    }
    int user_update(const void*, const void* value, uint64_t flags) override {
        return static_cast<int>(push(value, flags));
    }
    int user_delete(const void*) override { return -EINVAL; }
    int user_next_key(const void*, void*) const override { return -EINVAL; }
    int user_lookup_and_delete(const void*, void* value_out) override { return static_cast<int>(take(value_out, true)); }

   private:
    uint32_t next(uint32_t i) const { return i + 1 == c_->n_slots ? 0 : i + 1; }
    uint8_t* slot(uint32_t i) const { return slots_ + uint64_t(i) * c_->stride; }

    long take(void* value_out, bool remove) const noexcept {
        SpinGuard guard(c_->lock);
        if (c_->head == c_->tail) return -ENOENT;
        if (stack_) {
            uint32_t top = c_->head == 0 ? c_->n_slots - 1 : c_->head - 1;
            std::memcpy(value_out, slot(top), value_size());
            if (remove) c_->head = top;
        } else {
            std::memcpy(value_out, slot(c_->tail), value_size());
            if (remove) c_->tail = next(c_->tail);
        }
        return 0;
    }

    QueueControl* c_;
    uint8_t* slots_;
    bool stack_ = false;
};

}  // namespace

BlockLayout queue_layout(const MapSpec& spec, uint32_t) {
    uint64_t slots_offset = round_up(kControlOffset + sizeof(QueueControl), 64);
    return {slots_offset + (uint64_t(spec.max_entries) + 1) * round_up(spec.value_size, 8), 0};
}

std::unique_ptr<Map> open_queue(const MapSpec& spec, uint32_t ncpus, Storage storage, bool initialize) {
    if (initialize) {
        auto* c = new (storage.at<void>(kControlOffset)) QueueControl{};
        c->slots_offset = round_up(kControlOffset + sizeof(QueueControl), 64);
        c->n_slots = spec.max_entries + 1;
        c->stride = static_cast<uint32_t>(round_up(spec.value_size, 8));
    }
    return std::make_unique<QueueMap>(spec, ncpus, std::move(storage));
}

}  // namespace tcbpf::maps
