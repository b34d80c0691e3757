/* Bit twiddling as hashing code does it: each 64-bit word of the frame byte-swapped, its bits counted
 * (no popcount instruction on either side: clang expands it to shifts and masks for BPF and for the
 * baseline x86-64) and mixed into an accumulator. */
#include "compute.h"

COMPUTE(bswap_popcount)
{
    u64 acc = 0;
    for (int i = 0; i < 187; i++) {
        const u8 *p = data + 8 * i;
        if (p + 8 > end)
            break;
        u64 w = __builtin_bswap64(*(const u64 *)p);
        acc = acc * 31 + (u64)__builtin_popcountll(w) + (w >> 56);
        acc ^= __builtin_bswap32((u32)acc);
    }
    return (u32)(acc ^ (acc >> 32));
}
