/* One C source per compute benchmark, compiled twice: `clang -O2 -target bpf` gives a tc program (section
 * "tc", named after the benchmark) that the kernel's JIT, tcbpf's JIT and tcbpf's interpreter run on a
 * frame through BPF_PROG_TEST_RUN; plain `clang -O2` gives `uint32_t compute_NAME(data, end)`, which the
 * benchmark calls directly. The body sees the frame as [data, end) either way, so both builds run the same
 * code on the same bytes and must return the same value. Bodies are written as a tc program must be:
 * every access checked against `end` (the kernel's verifier loads them). */
#ifndef TCBPF_BENCH_COMPUTE_H
#define TCBPF_BENCH_COMPUTE_H

#if defined(__bpf__)
#include <linux/bpf.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#define COMPUTE(name)                                                                          \
    static __attribute__((always_inline)) inline u32 name##_body(const u8 *data, const u8 *end); \
    __attribute__((section("tc"), used)) int name(struct __sk_buff *skb)                      \
    {                                                                                          \
        return name##_body((const u8 *)(long)skb->data, (const u8 *)(long)skb->data_end);      \
    }                                                                                          \
    char _license[] __attribute__((section("license"), used)) = "GPL";                        \
    static __attribute__((always_inline)) inline u32 name##_body(const u8 *data, const u8 *end)
#else
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define COMPUTE(name) u32 compute_##name(const u8 *data, const u8 *end)
#endif

#endif
