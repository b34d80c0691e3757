// BPF_MAP_TYPE_ARRAY and PERCPU_ARRAY: max_entries fixed slots indexed by a u32 key, all existing from
// creation (zero-filled), never deleted. Values are round_up(value_size, 8) apart; a per-CPU element is
// ncpus such slots in a row. Each element has a sequence word: writers (helper updates, user updates)
// hold it odd while copying so a user-space copy is never torn; program loads and stores through
// lookup() pointers go straight to memory, as in the kernel.
#include <cerrno>
#include <cstring>

#include "maps/block.h"
#include "maps/sync.h"

namespace tcbpf::maps {

namespace {

struct ArrayControl {
    uint64_t seq_offset;
    uint64_t values_offset;
    uint32_t stride;         // bytes per CPU slot
    uint32_t slots_per_elem; // ncpus for per-CPU arrays, else 1
};

class ArrayMap final : public MapBase {
   public:
    ArrayMap(const MapSpec& spec, uint32_t ncpus, Storage storage) : MapBase(spec, ncpus, std::move(storage)) {
        control_ = at<ArrayControl>(kControlOffset);
        seq_ = at<std::atomic<uint32_t>>(control_->seq_offset);
        values_ = at<uint8_t>(control_->values_offset);
    }

    void* lookup(const void* key, uint32_t cpu) noexcept override {
        uint32_t index = load_index(key);
        if (index >= max_entries() || (is_percpu() && cpu >= ncpus())) return nullptr;
        return slot(index, is_percpu() ? cpu : 0);
    }

    long update(const void* key, const void* value, uint64_t flags, uint32_t cpu) noexcept override {
        if (long err = check_update(key, flags)) return err;
        if (is_percpu() && cpu >= ncpus()) return -EINVAL;
        uint32_t index = load_index(key);
        seq_write_begin(seq_[index]);
        slot_store(slot(index, is_percpu() ? cpu : 0), value, value_size());
        seq_write_end(seq_[index]);
        return 0;
    }

    long remove(const void*) noexcept override { return -EINVAL; }

    int user_lookup(const void* key, void* value_out) const override {
        uint32_t index = load_index(key);
        if (index >= max_entries()) return -ENOENT;
        seq_read_copy(seq_[index], value_out, slot(index, 0),
                      is_percpu() ? size_t(control_->stride) * ncpus() : value_size());
        return 0;
    }

    int user_update(const void* key, const void* value, uint64_t flags) override {
        if (long err = check_update(key, flags)) return static_cast<int>(err);
        uint32_t index = load_index(key);
        seq_write_begin(seq_[index]);
        if (is_percpu()) {
            // The user buffer has the kernel's per-CPU layout; like the kernel, keep its padding bytes too.
            slot_store(slot(index, 0), value, size_t(control_->stride) * ncpus());
        } else {
            slot_store(slot(index, 0), value, value_size());
        }
        seq_write_end(seq_[index]);
        return 0;
    }

    int user_delete(const void*) override { return -EINVAL; }

    int user_next_key(const void* key, void* next_out) const override {
        uint32_t next = 0;
        if (key) {
            uint32_t index = load_index(key);
            if (index < max_entries()) {
                if (index == max_entries() - 1) return -ENOENT;
                next = index + 1;
            }
        }
        std::memcpy(next_out, &next, sizeof next);
        return 0;
    }

   private:
    static uint32_t load_index(const void* key) {
        uint32_t index;
        std::memcpy(&index, key, sizeof index);
        return index;
    }
    long check_update(const void* key, uint64_t flags) const noexcept {
        if (flags & kBpfFLock) return -EINVAL;  // no bpf_spin_lock in values
        if (flags > kBpfExist) return -EINVAL;
        if (load_index(key) >= max_entries()) return -E2BIG;
        if (flags == kBpfNoExist) return -EEXIST;  // every element of an array always exists
        return 0;
    }
    uint8_t* slot(uint32_t index, uint32_t cpu) const {
        return values_ + (uint64_t(index) * control_->slots_per_elem + cpu) * control_->stride;
    }

    ArrayControl* control_;
    std::atomic<uint32_t>* seq_;
    uint8_t* values_;
};

}  // namespace

BlockLayout array_layout(const MapSpec& spec, uint32_t ncpus) {
    uint64_t slots = uint64_t(spec.max_entries) * (spec.type == kMapPercpuArray ? ncpus : 1);
    uint64_t seq_offset = kControlOffset + 64;
    uint64_t values_offset = round_up(seq_offset + 4ull * spec.max_entries, 64);
    return {values_offset + slots * round_up(spec.value_size, 8), 0};
}

std::unique_ptr<Map> open_array(const MapSpec& spec, uint32_t ncpus, Storage storage, bool initialize) {
    if (initialize) {
        auto* control = storage.at<ArrayControl>(kControlOffset);
        control->seq_offset = kControlOffset + 64;
        control->values_offset = round_up(control->seq_offset + 4ull * spec.max_entries, 64);
        control->stride = static_cast<uint32_t>(round_up(spec.value_size, 8));
        control->slots_per_elem = spec.type == kMapPercpuArray ? ncpus : 1;
    }
    return std::make_unique<ArrayMap>(spec, ncpus, std::move(storage));
}

}  // namespace tcbpf::maps
