// Programs reaching map values through direct addresses (`map[...][0]+off`, how global data is read),
// with the verdict and message; `{}` in the text is the map reference (fd or index form). Shared by the
// unit test and the kernel differential test, which creates the maps for real.
#pragma once

#include <cstddef>

namespace tcbpf::verifier::test {

struct MapCase {
    const char* name;
    const char* text;
    const char* message;  // empty: accepted
    size_t insn_idx;
    bool read_only_map = false;  // use the BPF_F_RDONLY_PROG map
};

// Both maps: BPF_MAP_TYPE_ARRAY, key 4, value 16 bytes, one entry.
inline constexpr MapCase kMapCases[] = {
    {"constant offset inside the value", "r1 = {}[0]+4 ll\nr0 = *(u32 *)(r1 + 0)\nexit\n", "", 0},
    {"constant offset past the value", "r1 = {}[0]+0 ll\nr0 = *(u64 *)(r1 + 12)\nexit\n",
     "invalid access to map value, value_size=16 off=12 size=8\nR1 min value is outside of the allowed memory range", 2},
    {"bounded variable offset",
     "r2 = *(u32 *)(r1 + 8)\nr2 &= 7\nr1 = {}[0]+0 ll\nr1 += r2\nr0 = *(u64 *)(r1 + 0)\nexit\n", "", 0},
    {"variable offset reaching past the value",
     "r2 = *(u32 *)(r1 + 8)\nr2 &= 15\nr1 = {}[0]+0 ll\nr1 += r2\nr0 = *(u64 *)(r1 + 0)\nexit\n",
     "invalid access to map value, value_size=16 off=15 size=8\nR1 max value is outside of the allowed memory range", 5},
    {"unbounded variable offset",
     "r2 = *(u64 *)(r10 - 8)\nr1 = {}[0]+0 ll\nr1 += r2\nr0 = 0\nexit\n",
     "math between map_value pointer and register with unbounded min value is not allowed", 3},
    {"direct address past the value", "r1 = {}[0]+16 ll\nr0 = 0\nexit\n",
     "invalid access to map value pointer, value_size=16 off=16", 0},
    {"store and atomic add into the value",
     "r1 = {}[0]+0 ll\nr2 = 1\n*(u64 *)(r1 + 0) = r2\nlock *(u64 *)(r1 + 8) += r2\nr0 = 0\nexit\n", "", 0},
    {"store into a read-only map", "r1 = {}[0]+0 ll\nr2 = 1\n*(u32 *)(r1 + 0) = w2\nr0 = 0\nexit\n",
     "write into map forbidden, value_size=16 off=0 size=4", 3, true},
    {"read from a read-only map", "r1 = {}[0]+0 ll\nr0 = *(u32 *)(r1 + 0)\nexit\n", "", 0, true},
};

}  // namespace tcbpf::verifier::test
