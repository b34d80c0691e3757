// Small helpers for the map tests: typed keys/values as byte buffers.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "tcbpf/maps.h"

namespace tcbpf::maps::test {

inline std::unique_ptr<Map> make(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                                 uint32_t flags = 0, uint32_t ncpus = 4) {
    return create_map(MapSpec{type, key_size, value_size, max_entries, flags, "test"}, ncpus);
}

inline uint32_t u32_at(const void* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
inline uint64_t u64_at(const void* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

}  // namespace tcbpf::maps::test
