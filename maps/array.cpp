// BPF_MAP_TYPE_ARRAY and PERCPU_ARRAY: max_entries fixed slots indexed by a u32 key, all existing from
// creation (zero-filled), never deleted. Values are round_up(value_size, 8) apart; a per-CPU element is
// ncpus such slots in a row. Each element has a sequence word: writers (helper updates, user updates)
// hold it odd while copying so a user-space copy is never torn; program loads and stores through
// lookup() pointers go straight to memory, as in the kernel.
//
// A writer killed mid-copy (kill -9 of a process sharing a pinned array) must leave neither a torn value
// nor a sequence word odd forever. Writers therefore take the array's journal lock (a spin lock that
// records its holder's pid, sync.h), put the whole new value and the element's even sequence word in the
// journal, mark it valid, and only then copy into the element. Whoever takes the lock next — a writer,
// or a reader that found an element odd for long with the lock's holder dead — finds the journal still
// valid and finishes the copy from it, so every update is all or nothing. Helper updates from programs
// take the lock too (one writer per array at a time); program stores through lookup() pointers do not.
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
    uint64_t journal_offset; // 0 in blocks made before the journal existed: their writers go without
};

// The update in progress; its data (up to one element's slots) follows at journal_offset + 64.
struct ArrayJournal {
    std::atomic<uint32_t> lock;
    std::atomic<uint32_t> valid;  // 1 from when the data is whole until the element holds it
    uint32_t index;
    uint32_t first_slot;          // the CPU slot the data starts at (0 unless a per-CPU helper update)
    uint64_t length;
    uint32_t old_version;         // the element's sequence word before the update (even)
};
static_assert(sizeof(ArrayJournal) <= 64);

class ArrayMap final : public MapBase {
   public:
    ArrayMap(const MapSpec& spec, uint32_t ncpus, Storage storage) : MapBase(spec, ncpus, std::move(storage)) {
        control_ = at<ArrayControl>(kControlOffset);
        seq_ = at<std::atomic<uint32_t>>(control_->seq_offset);
        values_ = at<uint8_t>(control_->values_offset);
        if (control_->journal_offset != 0) {
            journal_ = at<ArrayJournal>(control_->journal_offset);
            journal_data_ = at<uint8_t>(control_->journal_offset + 64);
        }
    }

    void* lookup(const void* key, uint32_t cpu) noexcept override {
        uint32_t index = load_index(key);
        if (index >= max_entries() || (is_percpu() && cpu >= ncpus())) return nullptr;
        return slot(index, is_percpu() ? cpu : 0);
    }

    long update(const void* key, const void* value, uint64_t flags, uint32_t cpu) noexcept override {
        if (long err = check_update(key, flags)) return err;
        if (is_percpu() && cpu >= ncpus()) return -EINVAL;
        write(load_index(key), is_percpu() ? cpu : 0, value, value_size());
        return 0;
    }

    long remove(const void*) noexcept override { return -EINVAL; }

    int user_lookup(const void* key, void* value_out) const override {
        uint32_t index = load_index(key);
        if (index >= max_entries()) return -ENOENT;
        const size_t size = is_percpu() ? size_t(control_->stride) * ncpus() : value_size();
        unsigned spins = 0;
        for (;;) {
            const uint32_t before = seq_[index].load(std::memory_order_acquire);
            if (before & 1) {
                // Odd for long with the journal's holder dead: that writer was killed mid-copy; finish it.
                if (journal_ && spins >= 1000 && spins % 256 == 0 && take_over_if_dead(journal_->lock)) {
                    finish_journaled_write();
                    spin_unlock(journal_->lock);
                }
                cpu_relax(spins);
                continue;
            }
            slot_load(value_out, slot(index, 0), size);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (seq_[index].load(std::memory_order_relaxed) == before) return 0;
            cpu_relax(spins);
        }
    }

    int user_update(const void* key, const void* value, uint64_t flags) override {
        if (long err = check_update(key, flags)) return static_cast<int>(err);
        // A per-CPU user buffer has the kernel's per-CPU layout; like the kernel, keep its padding bytes too.
        write(load_index(key), 0, value, is_percpu() ? size_t(control_->stride) * ncpus() : value_size());
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
    // Copies `length` bytes into element `index` from CPU slot `first_slot` on, all or nothing.
    void write(uint32_t index, uint32_t first_slot, const void* value, size_t length) noexcept {
        std::atomic<uint32_t>& seq = seq_[index];
        if (journal_ == nullptr) {
            seq_write_begin(seq);
            slot_store(slot(index, first_slot), value, length);
            seq_write_end(seq);
            return;
        }
        SpinGuard guard(journal_->lock);
        finish_journaled_write();  // a writer before us died halfway
        journal_->index = index;
        journal_->first_slot = first_slot;
        journal_->length = length;
        journal_->old_version = seq.load(std::memory_order_relaxed);  // even: writers hold the lock
        slot_store(journal_data_, value, length);
        journal_->valid.store(1, std::memory_order_release);
        apply_journal();
    }
    // With the journal lock held: copies the journal's data into its element between an odd and a new
    // even sequence word. Repeating it (a writer that died after the copy) rewrites the same bytes.
    void apply_journal() const noexcept {
        std::atomic<uint32_t>& seq = seq_[journal_->index];
        seq.store(journal_->old_version + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
        slot_store(slot(journal_->index, journal_->first_slot), journal_data_, journal_->length);
        seq.store(journal_->old_version + 2, std::memory_order_release);
        journal_->valid.store(0, std::memory_order_release);
    }
    void finish_journaled_write() const noexcept {
        if (journal_->valid.load(std::memory_order_acquire)) apply_journal();
    }
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
    ArrayJournal* journal_ = nullptr;
    uint8_t* journal_data_ = nullptr;
};

uint64_t journal_offset(const MapSpec& spec, uint32_t ncpus) {
    const uint64_t slots = uint64_t(spec.max_entries) * (spec.type == kMapPercpuArray ? ncpus : 1);
    return round_up(round_up(kControlOffset + 64 + 4ull * spec.max_entries, 64) + slots * round_up(spec.value_size, 8), 64);
}

}  // namespace

BlockLayout array_layout(const MapSpec& spec, uint32_t ncpus) {
    const uint64_t element = uint64_t(spec.type == kMapPercpuArray ? ncpus : 1) * round_up(spec.value_size, 8);
    return {journal_offset(spec, ncpus) + 64 + element, 0};
}

std::unique_ptr<Map> open_array(const MapSpec& spec, uint32_t ncpus, Storage storage, bool initialize) {
    if (initialize) {
        auto* control = storage.at<ArrayControl>(kControlOffset);
        control->seq_offset = kControlOffset + 64;
        control->values_offset = round_up(control->seq_offset + 4ull * spec.max_entries, 64);
        control->stride = static_cast<uint32_t>(round_up(spec.value_size, 8));
        control->slots_per_elem = spec.type == kMapPercpuArray ? ncpus : 1;
        control->journal_offset = journal_offset(spec, ncpus);
    }
    return std::make_unique<ArrayMap>(spec, ncpus, std::move(storage));
}

}  // namespace tcbpf::maps
