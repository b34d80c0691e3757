start:
  r0 = 0
loop: r0 += 1
  if r0 < 10 goto loop
  call helper
  r1 = map[fd:3][0]+16 ll
  lock *(u32 *)(r10 - 4) += w1
  w0 = cmpxchg32_32(r10 - 8, w0, w2)
  exit
helper:
  r0 = *(u16 *)skb[12]
  exit
