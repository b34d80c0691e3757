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
    // Map helpers with a key on the stack; lookups must be null-checked.
    {"lookup, null check, read",
     "r2 = 0\n*(u32 *)(r10 - 4) = r2\nr2 = r10\nr2 += -4\nr1 = {} ll\ncall 1\nif r0 == 0 goto +2\n"
     "r0 = *(u64 *)(r0 + 8)\nexit\nr0 = 0\nexit\n",
     "", 0},
    // (A key not known to be in range: Linux 6.18 knows an array lookup with a constant in-range key is
    // never null, which tcbpf does not track yet.)
    {"lookup result used without a null check",
     "r2 = *(u32 *)(r1 + 8)\n*(u32 *)(r10 - 4) = r2\nr2 = r10\nr2 += -4\nr1 = {} ll\ncall 1\nr0 = *(u64 *)(r0 + 0)\nexit\n",
     "R0 invalid mem access 'map_value_or_null'", 7},
    {"lookup result read past the value",
     "r2 = 0\n*(u32 *)(r10 - 4) = r2\nr2 = r10\nr2 += -4\nr1 = {} ll\ncall 1\nif r0 == 0 goto +2\n"
     "r0 = *(u64 *)(r0 + 12)\nexit\nr0 = 0\nexit\n",
     "invalid access to map value, value_size=16 off=12 size=8\nR0 min value is outside of the allowed memory range", 8},
    {"a null check settles every copy",
     "r2 = 0\n*(u32 *)(r10 - 4) = r2\nr2 = r10\nr2 += -4\nr1 = {} ll\ncall 1\nr6 = r0\nif r0 != 0 goto +2\n"
     "r0 = 0\nexit\nr0 = *(u64 *)(r6 + 8)\nexit\n",
     "", 0},
    // Linux 6.18: an array's element at a constant key in range always exists.
    {"array lookup at a constant in-range key needs no null check",
     "r2 = 0\n*(u32 *)(r10 - 4) = r2\nr2 = r10\nr2 += -4\nr1 = {} ll\ncall 1\nr0 = *(u64 *)(r0 + 8)\nexit\n", "", 0},
    {"array lookup at a constant key out of range",
     "r2 = 1\n*(u32 *)(r10 - 8) = w2\nr2 = r10\nr2 += -8\nr1 = {} ll\ncall 1\nr0 = *(u64 *)(r0 + 8)\nexit\n",
     "R0 invalid mem access 'map_value_or_null'", 7},
    {"key outside the stack", "r2 = r10\nr1 = {} ll\ncall 1\nr0 = 0\nexit\n",
     "invalid read from stack R2 off=0 size=4", 3},
    // Privileged helpers may read never-written stack bytes too (allow_uninit_stack).
    {"uninitialised key", "r2 = r10\nr2 += -4\nr1 = {} ll\ncall 1\nr0 = 0\nexit\n", "", 0},
    {"map argument must be a map", "r2 = r10\nr2 += -4\nr1 = 0\ncall 1\nr0 = 0\nexit\n",
     "R1 type=scalar expected=map_ptr", 3},
    {"update with key and value on the stack",
     "r2 = 0\n*(u32 *)(r10 - 4) = r2\n*(u64 *)(r10 - 24) = r2\n*(u64 *)(r10 - 16) = r2\nr2 = r10\nr2 += -4\n"
     "r3 = r10\nr3 += -24\nr4 = 0\nr1 = {} ll\ncall 2\nexit\n",
     "", 0},
};

}  // namespace tcbpf::verifier::test
