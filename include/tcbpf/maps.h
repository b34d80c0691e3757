// BPF maps with the Linux kernel's semantics, shared by programs (the data path) and user space.
//
// One `Map` object serves two audiences through two interfaces:
//  - the data path (helpers called by running programs): `lookup`, `update`, `remove`, `push`, `pop`,
//    `peek`. These never throw and never allocate; they return what the kernel's helpers return
//    (a value pointer or NULL, 0 or a negative errno). `lookup` hands out a pointer into the map's own
//    storage that stays valid memory for the map's lifetime: elements are preallocated at creation and
//    recycled, never freed, exactly like the kernel's default preallocated maps (so, as in the kernel,
//    a pointer to a deleted element may later show another key's value, but never freed memory).
//  - user space (CLI, control plane, another process): `lookup_user`, `update_user`, `delete_user`,
//    `get_next_key`, `lookup_and_delete`. These copy, return what the bpf() syscall returns (0 or a
//    negative errno), and never expose a half-written value.
//
// Every map keeps all its state (spec header, buckets, elements, free lists, lock words, LRU list, ring
// positions) in ONE contiguous block addressed by offsets, never pointers, with process-shared lock words
// (std::atomic integers inside the block). The block lives in a `Storage` (maps/storage.h): anonymous
// shared memory today, or a file that a second process maps (`create_pinned_map` / `open_pinned_map`).
//
// Per-CPU maps: the data path passes the CPU index it runs on and sees that CPU's value; user space
// reads and writes all CPUs at once as `ncpus × round_up(value_size, 8)` bytes, CPU 0 first, exactly as
// the kernel presents them (`Map::user_value_size()` gives that size).
//
// Thread safety: every member function may be called concurrently from any number of threads. Data-path
// lookups in hashes, arrays and LPM tries take no lock; everything else locks one bucket, one element's
// sequence word, or (LRU allocation, LPM updates, queue, ring buffer producer) one lock of that map —
// there is no lock shared between maps.
//
// Known differences from the kernel:
//  - BPF_F_NO_PREALLOC hashes are preallocated anyway (same capacity and error codes); LPM tries,
//    which the kernel requires to be NO_PREALLOC, are preallocated too (2 × max_entries + 1 nodes).
//  - BPF_F_NO_COMMON_LRU is accepted but all CPUs share one LRU list (the kernel splits max_entries
//    between per-CPU lists, so it may evict earlier); eviction is second-chance, approximate as the
//    kernel's is. BPF_F_LOCK is rejected with -EINVAL (no bpf_spin_lock in values: no BTF).
//  - Map names are cut to 15 characters but their characters are not checked.
//  - A process that dies mid-operation (kill -9): spin locks record their holder's pid, and a waiter
//    that finds the holder dead takes the lock over; a hash bucket left mid-relink is repaired by the
//    next holder (a duplicated key drops its older copy), so hashes stay consistent and usable. Array
//    and per-CPU array updates go through a journal the next holder finishes (all or nothing); an LPM
//    trie's next lock holder rebuilds its free list and entry count from the reachable nodes, and an LRU
//    list's next holder relinks it from its forward chain. Still not covered: a hash or LRU element the
//    dead writer had taken but not linked (or an LRU element it had unlinked to move) is lost to the
//    map's capacity, and a plain hash's entry count can end one off.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tcbpf/error.h"

namespace tcbpf::maps {

// enum bpf_map_type (uapi linux/bpf.h): the types tcbpf implements.
inline constexpr uint32_t kMapHash = 1;
inline constexpr uint32_t kMapArray = 2;
inline constexpr uint32_t kMapProgArray = 3;
inline constexpr uint32_t kMapPerfEventArray = 4;
inline constexpr uint32_t kMapPercpuHash = 5;
inline constexpr uint32_t kMapPercpuArray = 6;
inline constexpr uint32_t kMapLruHash = 9;
inline constexpr uint32_t kMapLruPercpuHash = 10;
inline constexpr uint32_t kMapLpmTrie = 11;
inline constexpr uint32_t kMapQueue = 22;
inline constexpr uint32_t kMapStack = 23;
inline constexpr uint32_t kMapRingbuf = 27;

// Update flags (map_update_elem / map_push_elem).
inline constexpr uint64_t kBpfAny = 0;
inline constexpr uint64_t kBpfNoExist = 1;
inline constexpr uint64_t kBpfExist = 2;
inline constexpr uint64_t kBpfFLock = 4;  // needs a bpf_spin_lock in the value: not supported → -EINVAL

// map_flags at creation.
inline constexpr uint32_t kFNoPrealloc = 0x1;
inline constexpr uint32_t kFNoCommonLru = 0x2;
inline constexpr uint32_t kFNumaNode = 0x4;
inline constexpr uint32_t kFRdonly = 0x8;
inline constexpr uint32_t kFWronly = 0x10;
inline constexpr uint32_t kFZeroSeed = 0x40;
inline constexpr uint32_t kFRdonlyProg = 0x80;
inline constexpr uint32_t kFWronlyProg = 0x100;
inline constexpr uint32_t kFMmapable = 0x400;
inline constexpr uint32_t kFPreserveElems = 0x800;
inline constexpr uint32_t kFInnerMap = 0x1000;

// The kernel-internal ENOTSUPP (524) that bpf() leaks to user space for unsupported map operations.
inline constexpr int kENOTSUPP = 524;

const char* map_type_name(uint32_t type);  // "hash", "lru_percpu_hash", ... or "unknown"

struct MapSpec {
    uint32_t type = 0;
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t map_flags = 0;
    std::string name;  // at most 15 characters kept (BPF_OBJ_NAME_LEN)
};

// The outcome of checking a spec against the kernel's creation rules: `error` is 0 or the negative errno
// BPF_MAP_CREATE would return; `message` names the map, the field and the rule.
struct SpecCheck {
    int error = 0;
    std::string message;
    explicit operator bool() const { return error == 0; }
};
SpecCheck validate_spec(const MapSpec& spec);

// Thrown by the factories for an invalid spec or a storage failure; carries the kernel's errno.
class MapError : public Error {
   public:
    MapError(int error, const std::string& message) : Error(message), error_(error) {}
    int error() const { return error_; }  // negative errno

   private:
    int error_;
};

class RingBuffer;
class PerfEventArray;
class ProgArray;

class Map {
   public:
    virtual ~Map() = default;
    Map(const Map&) = delete;
    Map& operator=(const Map&) = delete;

    const MapSpec& spec() const { return spec_; }
    uint32_t type() const { return spec_.type; }
    uint32_t key_size() const { return spec_.key_size; }
    uint32_t value_size() const { return spec_.value_size; }
    uint32_t max_entries() const { return spec_.max_entries; }
    uint32_t ncpus() const { return ncpus_; }
    bool is_percpu() const;
    // Bytes user-space value buffers hold: value_size, or ncpus × round_up(value_size, 8) if per-CPU.
    uint32_t user_value_size() const;

    // ---- data path: never throws, never allocates ----
    // Pointer to the value for `key` (this CPU's slot for per-CPU maps) or nullptr. For maps programs
    // cannot look up (queue, stack, ringbuf, prog/perf arrays) always nullptr, as the kernel's ops do.
    virtual void* lookup(const void* key, uint32_t cpu) noexcept;
    // Helper map_update_elem; `value` is value_size bytes; per-CPU maps write only `cpu`'s slot.
    virtual long update(const void* key, const void* value, uint64_t flags, uint32_t cpu) noexcept;
    virtual long remove(const void* key) noexcept;  // helper map_delete_elem
    virtual long push(const void* value, uint64_t flags) noexcept;  // queue/stack only
    virtual long pop(void* value_out) noexcept;
    virtual long peek(void* value_out) noexcept;

    // ---- user space (the bpf() syscall's view): copies, 0 or negative errno ----
    // A map created with BPF_F_RDONLY refuses writes (update, delete, lookup_and_delete) and one with
    // BPF_F_WRONLY refuses reads (lookup, get_next_key, lookup_and_delete) with -EPERM, before any other
    // check, as the kernel does for the file descriptor it returns from BPF_MAP_CREATE.
    int lookup_user(const void* key, void* value_out) const;
    int update_user(const void* key, const void* value, uint64_t flags);
    int delete_user(const void* key);
    // key_or_null == nullptr (or a missing key, for hashes) yields the first key; -ENOENT after the last.
    int get_next_key(const void* key_or_null, void* next_key_out) const;
    int lookup_and_delete(const void* key, void* value_out);

    // Iteration helpers built on get_next_key + lookup_user (entries changed meanwhile may be missed
    // or seen twice, as with bpftool). Keys/values are raw bytes of key_size / user_value_size().
    std::vector<std::vector<uint8_t>> keys() const;
    void for_each(const std::function<void(std::span<const uint8_t> key, std::span<const uint8_t> value)>& fn) const;

    // The memory holding the map's block (for a ring buffer, including the data area's second
    // mapping). Every pointer the data path hands out (values, ring buffer samples) lies inside it, so
    // a checked-mode interpreter can accept exactly these addresses.
    virtual std::span<uint8_t> memory() const = 0;

    // Typed access for the special maps, without RTTI (nullptr for other types).
    virtual RingBuffer* as_ringbuf() { return nullptr; }
    virtual PerfEventArray* as_perf_event_array() { return nullptr; }
    virtual ProgArray* as_prog_array() { return nullptr; }

   protected:
    Map(const MapSpec& spec, uint32_t ncpus) : spec_(spec), ncpus_(ncpus) {}

    // What each map type implements for the user-space calls above (defaults: the kernel's ENOTSUPP).
    virtual int user_lookup(const void* key, void* value_out) const;
    virtual int user_update(const void* key, const void* value, uint64_t flags);
    virtual int user_delete(const void* key);
    virtual int user_next_key(const void* key_or_null, void* next_key_out) const;
    virtual int user_lookup_and_delete(const void* key, void* value_out);

   private:
    MapSpec spec_;
    uint32_t ncpus_;
};

// Default CPU count for a new map set: std::thread::hardware_concurrency() (at least 1).
uint32_t default_ncpus();

// Creates a map in anonymous shared memory. Throws MapError (with the kernel's errno) on a bad spec.
std::unique_ptr<Map> create_map(const MapSpec& spec, uint32_t ncpus = default_ncpus());

// Creates a map whose block is the file at `path` (which must not exist: -EEXIST), so that another
// process can `open_pinned_map` it and both share one map. The file appears at `path` only once the
// block is complete (it is built unnamed and linked into place), so nobody opens a half-made map. Prog
// and perf event arrays keep their slots per process (as kernel fds are), so only their ids/occupancy
// are shared.
std::unique_ptr<Map> create_pinned_map(const MapSpec& spec, uint32_t ncpus, const std::string& path);
// Opens a map block created by create_pinned_map (in this or another process). Throws MapError naming
// the path when the file is missing or is not a tcbpf map.
std::unique_ptr<Map> open_pinned_map(const std::string& path);

// A loader's pinning (maps/pin.cpp): opens the map pinned at `path` if it matches `spec` (type, key and
// value sizes, max_entries, flags, and the CPU count of a per-CPU map), else throws MapError(-EINVAL)
// naming the path and each field that differs; creates and pins it if the path is free.
std::unique_ptr<Map> pin_map(const MapSpec& spec, uint32_t ncpus, const std::string& path);
// "key_size 4 here, 8 pinned, ..." for each field in which `pinned` differs from `wanted`; "" if none.
std::string spec_difference(const Map& pinned, const MapSpec& wanted, uint32_t ncpus);

}  // namespace tcbpf::maps

#include "tcbpf/map_channels.h"
