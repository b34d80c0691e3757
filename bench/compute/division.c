/* Division-heavy: 500 rounds of 64- and 32-bit division and modulo by divisors only known at run time,
 * on a sequence seeded from the frame. */
#include "compute.h"

COMPUTE(division)
{
    if (data + 8 > end)
        return 0;
    u64 x = *(const u64 *)data | 1;
    u64 acc = 0;
    for (u32 i = 1; i <= 500; i++) {
        acc += x / i;
        acc ^= x % (i + 7);
        acc += (u32)x / (i | 3);
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    }
    return (u32)(acc ^ (acc >> 32));
}
