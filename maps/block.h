// The block every map lives in starts with this header: what the map is (so another process can open
// the block knowing only its path) and how big the block is. The type-specific control structure
// follows at kControlOffset; after it, each type lays out its regions at offsets it records there.
//
// Each map type provides two functions, registered in factory.cpp:
//   layout(spec, ncpus) → the block size (and the mirrored tail, for the ring buffer);
//   open(spec, ncpus, storage, initialize) → the Map object over the block; `initialize` is true only
//   for the creator, which builds free lists etc. in the zero-filled block before anyone else sees it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "maps/storage.h"
#include "tcbpf/maps.h"

namespace tcbpf::maps {

inline constexpr char kBlockMagic[8] = {'t', 'c', 'b', 'p', 'f', 'm', 'a', 'p'};
inline constexpr uint32_t kLayoutVersion = 1;
inline constexpr uint64_t kControlOffset = 256;
inline constexpr uint32_t kNil = 0xffffffffu;  // "no element" in offset-linked lists

struct BlockHeader {
    char magic[8];
    uint32_t layout_version;
    uint32_t type, key_size, value_size, max_entries, map_flags, ncpus;
    char name[16];
    uint64_t block_size;
    uint64_t mirror_offset;
    std::atomic<uint32_t> ready;  // set last by the creator: the block is initialized
};
static_assert(sizeof(BlockHeader) <= kControlOffset);

struct BlockLayout {
    uint64_t size = 0;
    uint64_t mirror_offset = 0;
};

using LayoutFn = BlockLayout (*)(const MapSpec& spec, uint32_t ncpus);
using OpenFn = std::unique_ptr<Map> (*)(const MapSpec& spec, uint32_t ncpus, Storage storage, bool initialize);

// Per type (defined in the type's .cpp).
BlockLayout array_layout(const MapSpec&, uint32_t);
std::unique_ptr<Map> open_array(const MapSpec&, uint32_t, Storage, bool);
BlockLayout hash_layout(const MapSpec&, uint32_t);
std::unique_ptr<Map> open_hash(const MapSpec&, uint32_t, Storage, bool);
BlockLayout lpm_layout(const MapSpec&, uint32_t);
std::unique_ptr<Map> open_lpm(const MapSpec&, uint32_t, Storage, bool);
BlockLayout queue_layout(const MapSpec&, uint32_t);
std::unique_ptr<Map> open_queue(const MapSpec&, uint32_t, Storage, bool);
BlockLayout ringbuf_layout(const MapSpec&, uint32_t);
std::unique_ptr<Map> open_ringbuf(const MapSpec&, uint32_t, Storage, bool);
BlockLayout slot_array_layout(const MapSpec&, uint32_t);  // prog and perf event arrays
std::unique_ptr<Map> open_prog_array(const MapSpec&, uint32_t, Storage, bool);
std::unique_ptr<Map> open_perf_event_array(const MapSpec&, uint32_t, Storage, bool);

// Exposes Map's protected constructor to the implementations.
class MapBase : public Map {
   protected:
    MapBase(const MapSpec& spec, uint32_t ncpus, Storage storage)
        : Map(spec, ncpus), storage_(std::move(storage)) {}
   public:
    std::span<uint8_t> memory() const override { return {storage_.base(), storage_.mapped_size()}; }

   protected:
    template <typename T>
    T* at(uint64_t offset) const {
        return storage_.at<T>(offset);
    }
    Storage storage_;
};

}  // namespace tcbpf::maps
