/* CRC-32 (IEEE 802.3, reflected, bit by bit: no table) of the first 256 bytes. The polynomial is applied
 * as `(crc & 1) * POLY`: written as `POLY & -(crc & 1)` the kernel 6.18 verifier gives up on the loop
 * (1,000,000 instructions processed), though both compile branch-free. */
#include "compute.h"

COMPUTE(crc32)
{
    u32 crc = 0xffffffff;
    for (int i = 0; i < 256; i++) {
        const u8 *p = data + i;
        if (p + 1 > end)
            break;
        crc ^= *p;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ ((crc & 1) * 0xedb88320u);
    }
    return ~crc;
}
