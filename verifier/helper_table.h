// Internal: the helper prototypes the verifier checks calls against (the kernel's struct bpf_func_proto
// for tc programs, helpers.md), as data. Each argument has a kind saying which register types it
// accepts and what the helper does with memory behind it; the return kind says what r0 becomes.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace tcbpf::verifier::detail {

enum class ArgKind : uint8_t {
    None,          // unused slot
    Any,           // any initialised value (unprivileged: no pointer)
    Ctx,           // the unmoved context pointer
    MapPtr,        // a map pointer from ld_imm64
    MapKey,        // key_size bytes the helper reads
    MapValue,      // value_size bytes the helper reads
    MapValueOut,   // value_size bytes the helper writes (may be uninitialised)
    Mem,           // readable memory, sized by the next argument
    MemOrNull,     // Mem, or the number 0 with a zero size
    MemInOut,      // memory the helper reads and writes, sized by the next argument
    UninitMem,     // writable memory the helper fills, sized by the next argument
    Size,          // the previous argument's size: bounded, > 0
    SizeOrZero,    // the same, ≥ 0
    FixedMem,      // `fixed_size` bytes the helper reads and writes
    FixedOut,      // `fixed_size` bytes the helper writes (may be uninitialised)
    AllocSize,     // the size of memory the helper returns: a known constant
    ReleaseRingbuf,  // a ring buffer reservation, unmoved and null-checked; its reference is released
};

// RingbufMemOrNull: AllocSize bytes of a ring buffer, or null; an acquired reference either way.
enum class RetKind : uint8_t { Integer, Void, MapValueOrNull, RingbufMemOrNull };

struct HelperProto {
    int32_t id;
    std::array<ArgKind, 5> args;
    RetKind ret = RetKind::Integer;
    bool changes_packet_data = false;  // every packet pointer is invalid after the call
    bool packet_access = false;        // memory arguments may point into the packet
    bool gpl_only = false;
    uint8_t fixed_size = 0;            // for FixedMem/FixedOut arguments
    // The map types a MapPtr argument must have (0 ends the list; all zero: any map type the map
    // types' own restrictions allow).
    std::array<uint32_t, 3> map_types{};
};

const HelperProto* find_helper(int32_t id);
std::span<const HelperProto> all_helpers();
// "map_lookup_elem"; "" for ids without a name.
std::string_view helper_name_of(int32_t id);
// The kernel refuses these for tc programs ("unknown func"), as opposed to ones tcbpf cannot check yet.
bool unavailable_to_tc(int32_t id);
// Map types only some helpers may take (prog arrays only tail_call, ring buffers only ringbuf_*, ...):
// whether `helper` may take a map of `map_type`.
bool map_type_allows(uint32_t map_type, int32_t helper);
// Map types whose helper use needs sockets or other objects out of scope here.
bool map_type_out_of_scope(uint32_t map_type);

}  // namespace tcbpf::verifier::detail
