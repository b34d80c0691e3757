// Structural sanity of map definitions: sizes the kernel could never accept for the map's type (a hash
// with a 0-byte key, an array keyed by anything but u32, values beyond the kernel's allocation limit).
// The exact creation rules of each map type belong to the maps library; this catches corrupt or
// mistyped definitions at load time, where the message can still name the object and the map.
#include <fmt/format.h>

#include "loader/context.h"

namespace tcbpf::loader::detail {
namespace {

constexpr uint32_t kMaxMapType = 33;              // BPF_MAP_TYPE_ARENA, the newest in kernel 6.18
constexpr uint32_t kMaxKeySize = 512;             // MAX_BPF_STACK: keys are passed from the stack
constexpr uint32_t kMaxValueSize = 4u << 20;      // KMALLOC_MAX_SIZE on x86-64 (4 KiB pages)
constexpr uint32_t kLpmMaxKeySize = 4 + 256;      // prefixlen + LPM_DATA_SIZE_MAX

enum class Key { Any, U32, None };

struct Rule {
    const char* kind;
    Key key;
    uint32_t min_key = 0, max_key = 0;  // for Key::Any
    bool value_is_fd = false;           // value is a 4-byte fd
    bool value_none = false;
};

const Rule* rule_for(uint32_t type) {
    static const Rule hash{"hash", Key::Any, 1, kMaxKeySize};
    static const Rule array{"array", Key::U32};
    static const Rule fd_array{"fd array", Key::U32, 0, 0, true};
    static const Rule fd_hash{"hash of maps", Key::Any, 1, kMaxKeySize, true};
    static const Rule lpm{"LPM trie", Key::Any, 5, kLpmMaxKeySize};
    static const Rule queue{"queue/stack/bloom filter", Key::None};
    static const Rule ringbuf{"ring buffer", Key::None, 0, 0, false, true};
    switch (type) {
        case 1: case 5: case 9: case 10: return &hash;        // hash, percpu hash, LRU hash, LRU percpu hash
        case 2: case 6: return &array;                         // array, percpu array
        case 3: case 4: case 8: case 12: return &fd_array;     // prog, perf event, cgroup, array of maps
        case 13: return &fd_hash;
        case 11: return &lpm;
        case 22: case 23: case 30: return &queue;
        case 27: return &ringbuf;
        default: return nullptr;
    }
}

}  // namespace

void check_map(const ElfFile& elf, const MapDef& map) {
    auto bad = [&](const std::string& why) { elf.fail(map.section, fmt::format("map {}: {}", map.name, why)); };
    if (map.type == 0 || map.type > kMaxMapType) bad(fmt::format("unknown map type {}", map.type));
    if (map.value_size > kMaxValueSize)
        bad(fmt::format("value_size {} is larger than the kernel's limit of {} bytes", map.value_size, kMaxValueSize));
    const Rule* rule = rule_for(map.type);
    if (rule == nullptr) return;  // types whose sizes the kernel fixes itself (sockmap, storage, ...)
    // Perf event arrays may leave max_entries 0: libbpf sizes them to the number of CPUs.
    if (map.max_entries == 0 && map.type != 4) bad(fmt::format("max_entries 0 is invalid for a {} map", rule->kind));
    switch (rule->key) {
        case Key::U32:
            if (map.key_size != 4) bad(fmt::format("key_size {} is invalid for a {} map (must be 4)", map.key_size, rule->kind));
            break;
        case Key::None:
            if (map.key_size != 0) bad(fmt::format("key_size {} is invalid for a {} map (must be 0)", map.key_size, rule->kind));
            break;
        case Key::Any:
            if (map.key_size < rule->min_key || map.key_size > rule->max_key)
                bad(fmt::format("key_size {} is invalid for a {} map (must be {}..{})", map.key_size, rule->kind,
                                rule->min_key, rule->max_key));
            break;
    }
    if (rule->value_is_fd && map.value_size != 4)
        bad(fmt::format("value_size {} is invalid for a {} map (must be 4)", map.value_size, rule->kind));
    if (rule->value_none) {
        if (map.value_size != 0) bad(fmt::format("value_size {} is invalid for a {} map (must be 0)", map.value_size, rule->kind));
        if ((map.max_entries & (map.max_entries - 1)) != 0 || map.max_entries % 4096 != 0)
            bad(fmt::format("ring buffer size {} is not a power of two multiple of the page size", map.max_entries));
    } else if (map.value_size == 0) {
        bad(fmt::format("value_size 0 is invalid for a {} map", rule->kind));
    }
}

}  // namespace tcbpf::loader::detail
