mov %r1, 1
lddw %r0, 0x1122334455667788
stxdw [%r10-8], %r0
lock fetch add [%r10-8], %r1
jne %r1, 0x1, skip
call local fn
skip:
ja32 +0
exit
fn:
movsx1632 %r0, %r1
exit
