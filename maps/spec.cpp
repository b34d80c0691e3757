// Creation rules, as the kernel's map_alloc_check functions apply them (values confirmed against
// Linux 6.18's BPF_MAP_CREATE where noted in tests/maps/spec_test.cpp). Every failure names the map,
// the field and the rule, and carries the errno the kernel returns for it.
#include <cerrno>

#include <fmt/format.h>

#include "maps/storage.h"
#include "tcbpf/maps.h"

namespace tcbpf::maps {

namespace {

constexpr uint32_t kAccessMask = kFRdonly | kFWronly | kFRdonlyProg | kFWronlyProg;
constexpr uint64_t kKmallocMax = 4u << 20;     // KMALLOC_MAX_SIZE on x86-64 with 4 KiB pages
constexpr uint32_t kPercpuUnitMax = 32u << 10;  // PCPU_MIN_UNIT_SIZE
constexpr uint32_t kHashElemOverhead = 48;      // sizeof(struct htab_elem) bound in the E2BIG rule

struct Checker {
    const MapSpec& spec;
    SpecCheck result;

    bool fail(int err, const std::string& rule) {
        if (result.error == 0) {
            std::string who = spec.name.empty() ? std::string("map") : fmt::format("map '{}'", spec.name);
            result.error = -err;
            result.message = fmt::format("{} ({}): {}", who, map_type_name(spec.type), rule);
        }
        return false;
    }
    bool flags_within(uint32_t allowed) {
        uint32_t extra = spec.map_flags & ~allowed;
        if (extra) return fail(EINVAL, fmt::format("map_flags 0x{:x} not supported by this map type", extra));
        return true;
    }
    bool access_ok() {
        uint32_t f = spec.map_flags;
        if ((f & kFRdonly) && (f & kFWronly))
            return fail(EINVAL, "map_flags: BPF_F_RDONLY and BPF_F_WRONLY are exclusive");
        if ((f & kFRdonlyProg) && (f & kFWronlyProg))
            return fail(EINVAL, "map_flags: BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG are exclusive");
        return true;
    }
    bool nonzero(uint32_t value, const char* field) {
        if (value == 0) return fail(EINVAL, fmt::format("{} must not be 0", field));
        return true;
    }
    bool equals(uint32_t value, uint32_t want, const char* field) {
        if (value != want) return fail(EINVAL, fmt::format("{} must be {} (got {})", field, want, value));
        return true;
    }

    void array_like(bool percpu) {
        uint32_t allowed = kFNumaNode | kAccessMask | kFInnerMap;
        if (spec.type == kMapArray) allowed |= kFMmapable;
        if (spec.type == kMapPerfEventArray) allowed |= kFPreserveElems;
        if (spec.type == kMapProgArray || spec.type == kMapPerfEventArray) {
            if (!equals(spec.value_size, 4, "value_size (a file descriptor)")) return;
            if (spec.map_flags & (kFRdonlyProg | kFWronlyProg)) {
                fail(EINVAL, "map_flags: programs cannot be restricted from a file descriptor array");
                return;
            }
        }
        if (!nonzero(spec.max_entries, "max_entries") || !equals(spec.key_size, 4, "key_size (array index)") ||
            !nonzero(spec.value_size, "value_size") || !flags_within(allowed) || !access_ok())
            return;
        if (percpu && spec.value_size > kPercpuUnitMax)
            fail(E2BIG, fmt::format("value_size {} exceeds the per-CPU limit {}", spec.value_size, kPercpuUnitMax));
        else if (spec.value_size > 0x7fffffffu)
            fail(E2BIG, fmt::format("value_size {} exceeds INT_MAX", spec.value_size));
    }

    void hash(bool percpu, bool lru) {
        uint32_t allowed = kFNoPrealloc | kFNoCommonLru | kFNumaNode | kAccessMask | kFZeroSeed;
        if (!flags_within(allowed) || !access_ok()) return;
        if (!lru && (spec.map_flags & kFNoCommonLru)) {
            fail(EINVAL, "map_flags: BPF_F_NO_COMMON_LRU needs an LRU map");
            return;
        }
        if (lru && (spec.map_flags & kFNoPrealloc)) {
            fail(kENOTSUPP, "map_flags: LRU maps must be preallocated (BPF_F_NO_PREALLOC not supported)");
            return;
        }
        if (!nonzero(spec.max_entries, "max_entries") || !nonzero(spec.key_size, "key_size") ||
            !nonzero(spec.value_size, "value_size"))
            return;
        if (uint64_t(spec.key_size) + spec.value_size >= kKmallocMax - kHashElemOverhead)
            fail(E2BIG, fmt::format("key_size + value_size = {} is too big for one element",
                                    uint64_t(spec.key_size) + spec.value_size));
        else if (percpu && round_up(spec.value_size, 8) > kPercpuUnitMax)
            fail(E2BIG, fmt::format("value_size {} exceeds the per-CPU limit {}", spec.value_size, kPercpuUnitMax));
        else if (spec.max_entries > (1u << 31))
            fail(E2BIG, fmt::format("max_entries {} needs more than 2^31 buckets", spec.max_entries));
    }

    void lpm() {
        if (!nonzero(spec.max_entries, "max_entries")) return;
        if (!(spec.map_flags & kFNoPrealloc)) {
            fail(EINVAL, "map_flags must include BPF_F_NO_PREALLOC (0x1) for an LPM trie");
            return;
        }
        if (!flags_within(kFNoPrealloc | kFNumaNode | kAccessMask) || !access_ok()) return;
        if (spec.key_size < 5 || spec.key_size > 260)
            fail(EINVAL, fmt::format("key_size {} must be 4 (prefixlen) + 1..256 data bytes", spec.key_size));
        else if (spec.value_size == 0)
            fail(EINVAL, "value_size must not be 0");
        else if (spec.value_size > kKmallocMax - 256 - 64)
            fail(EINVAL, fmt::format("value_size {} is too big for a trie node", spec.value_size));
    }

    void queue_stack() {
        if (!nonzero(spec.max_entries, "max_entries") || !equals(spec.key_size, 0, "key_size") ||
            !nonzero(spec.value_size, "value_size") || !flags_within(kFNumaNode | kAccessMask) || !access_ok())
            return;
        if (spec.value_size > kKmallocMax)
            fail(E2BIG, fmt::format("value_size {} exceeds {}", spec.value_size, kKmallocMax));
    }

    void ringbuf() {
        if (!flags_within(kFNumaNode)) return;
        if (!equals(spec.key_size, 0, "key_size") || !equals(spec.value_size, 0, "value_size")) return;
        uint32_t n = spec.max_entries;
        if (n == 0 || (n & (n - 1)) != 0 || n % kPageSize != 0)
            fail(EINVAL, fmt::format("max_entries {} must be a power of 2 and a multiple of the page size {}", n,
                                     kPageSize));
    }
};

}  // namespace

const char* map_type_name(uint32_t type) {
    switch (type) {
        case kMapHash: return "hash";
        case kMapArray: return "array";
        case kMapProgArray: return "prog_array";
        case kMapPerfEventArray: return "perf_event_array";
        case kMapPercpuHash: return "percpu_hash";
        case kMapPercpuArray: return "percpu_array";
        case kMapLruHash: return "lru_hash";
        case kMapLruPercpuHash: return "lru_percpu_hash";
        case kMapLpmTrie: return "lpm_trie";
        case kMapQueue: return "queue";
        case kMapStack: return "stack";
        case kMapRingbuf: return "ringbuf";
        default: return "unknown";
    }
}

SpecCheck validate_spec(const MapSpec& spec) {
    Checker check{spec, {}};
    switch (spec.type) {
        case kMapArray:
        case kMapProgArray:
        case kMapPerfEventArray: check.array_like(false); break;
        case kMapPercpuArray: check.array_like(true); break;
        case kMapHash: check.hash(false, false); break;
        case kMapPercpuHash: check.hash(true, false); break;
        case kMapLruHash: check.hash(false, true); break;
        case kMapLruPercpuHash: check.hash(true, true); break;
        case kMapLpmTrie: check.lpm(); break;
        case kMapQueue:
        case kMapStack: check.queue_stack(); break;
        case kMapRingbuf: check.ringbuf(); break;
        default:
            check.fail(EINVAL, fmt::format("map type {} is not supported", spec.type));
            break;
    }
    return check.result;
}

}  // namespace tcbpf::maps
