/* What a classifier does first: Ethernet (one VLAN tag allowed), IPv4 with options, TCP or UDP; returns
 * a class from the protocol, the ports and the TCP flags, 0 for anything else. */
#include "compute.h"

static inline u16 load_be16(const u8 *p) { return (u16)(p[0] << 8 | p[1]); }

COMPUTE(header_parse)
{
    const u8 *p = data;
    if (p + 14 > end)
        return 0;
    u16 proto = load_be16(p + 12);
    p += 14;
    if (proto == 0x8100) {
        if (p + 4 > end)
            return 0;
        proto = load_be16(p + 2);
        p += 4;
    }
    if (proto != 0x0800 || p + 20 > end)
        return 0;
    u32 ihl = (p[0] & 0x0f) * 4;
    if ((p[0] >> 4) != 4 || ihl < 20)
        return 0;
    u8 l4 = p[9];
    u32 frag = load_be16(p + 6) & 0x3fff;
    if (frag != 0)
        return 1;
    p += ihl;
    if (p + 20 > end)
        return 0;
    u16 sport = load_be16(p), dport = load_be16(p + 2);
    if (l4 == 6) {
        u8 flags = p[13];
        if ((flags & 0x12) == 0x02)
            return dport == 80 || dport == 443 ? 2 : 3;
        return 4 + (sport < 1024);
    }
    if (l4 == 17)
        return dport == 53 ? 6 : 7;
    return 8;
}
