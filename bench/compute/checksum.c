/* The Internet checksum (RFC 1071) of the first 1500 bytes: 750 16-bit loads and adds, folded. */
#include "compute.h"

COMPUTE(checksum)
{
    u32 sum = 0;
    for (int i = 0; i < 750; i++) {
        const u8 *p = data + 2 * i;
        if (p + 2 > end)
            break;
        sum += *(const u16 *)p;
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return ~sum & 0xffff;
}
