; Verifies an IPv4 header checksum: r1 points to a 20-byte header, r2 holds its length.
; Returns 0 when the checksum is valid (the ones'-complement sum over the whole header folds to 0xffff),
; otherwise the value the checksum field is off by.
        r0 = 0
        r3 = 0
loop:
        if r3 >= 20 goto fold
        r4 = r1
        r4 += r3
        r5 = *(u16 *)(r4 + 0)
        r5 = be16 r5
        r0 += r5
        r3 += 2
        goto loop
fold:
        r4 = r0
        r4 >>= 16
        r0 &= 65535
        r0 += r4
        r4 = r0
        r4 >>= 16
        r0 += r4
        r0 &= 65535
        r0 ^= 65535
        exit
