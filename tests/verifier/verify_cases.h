// Programs with the verdict and message the verifier must give, shared by the unit test (our verifier)
// and the kernel differential test (the running kernel must agree: same verdict, and its log contains
// our message). `kernel` is false for cases whose message is tcbpf's own ("not supported yet").
#pragma once

#include <cstddef>

namespace tcbpf::verifier::test {

struct VerifyCase {
    const char* name;
    const char* text;
    const char* message;  // empty: accepted
    size_t insn_idx;      // for rejections
    bool kernel = true;
};

inline constexpr VerifyCase kVerifyCases[] = {
    // Registers.
    {"return a constant", "r0 = 2\nexit\n", "", 0},
    {"r0 never written", "exit\n", "R0 !read_ok", 0},
    {"read of an uninitialised register", "r0 = r2\nexit\n", "R2 !read_ok", 0},
    {"alu reads its destination", "r3 += 1\nr0 = 0\nexit\n", "R3 !read_ok", 0},
    {"r10 cannot be written", "r10 = 0\nr0 = 0\nexit\n", "frame pointer is read only", 0},
    {"division by immediate zero", "r0 = 1\nr0 /= 0\nexit\n", "div by zero", 1},
    {"shift out of range", "r0 = 1\nr0 <<= 64\nexit\n", "invalid shift 64", 1},
    {"32-bit shift out of range", "w0 = 1\nw0 >>= 32\nexit\n", "invalid shift 32", 1},
    {"division by a register is defined at run time", "r0 = 1\nr1 = 0\nr0 /= r1\nexit\n", "", 0},
    {"every ALU form on scalars",
     "r0 = 7\nr1 = 3\nr0 *= r1\nr0 s/= r1\nr0 s%= 5\nr0 = -r0\nr0 = be16 r0\nr0 = bswap64 r0\nw0 = (s8)w0\n"
     "r0 = (s32)r0\nr0 s>>= 3\nw0 ^= 0xff\nexit\n",
     "", 0},
    // The return value path: a branch that leaves r0 unset only on one side.
    {"r0 unset on one branch",
     "r2 = *(u32 *)(r1 + 0)\nif r2 > 10 goto +1\nr0 = 0\nexit\n", "R0 !read_ok", 3},
    {"decided branch skips the unset side",
     "r2 = 5\nif r2 > 10 goto +1\nr0 = 0\nexit\n", "", 0},
    {"refined range decides a later branch",
     "r2 = *(u32 *)(r1 + 0)\nif r2 > 10 goto +4\nif r2 < 11 goto +1\nexit\nr0 = 0\nexit\nr0 = 1\nexit\n", "", 0},
    // Copies are linked: what the branch learns about r3 holds for r2, so the store at 5 is dead.
    {"branch refines every copy of a scalar",
     "r2 = *(u32 *)(r1 + 0)\nr3 = r2\nr0 = 0\nif r3 > 10 goto +2\nif r2 < 11 goto +1\n*(u8 *)(r10 + 4) = r0\nexit\n",
     "", 0},
    // (Linux 6.11+ keeps `r3 += K` linked with a delta; tcbpf does not yet. A multiply ends the link in both.)
    {"a copy overwritten is no longer linked",
     "r2 = *(u32 *)(r1 + 0)\nr3 = r2\nr3 *= 1\nr0 = 0\nif r3 > 10 goto +2\nif r2 < 11 goto +1\n"
     "*(u8 *)(r10 + 4) = r0\nexit\n",
     "invalid write to stack R10 off=4 size=1", 6},
    // Loops.
    {"bounded loop", "r0 = 0\nr1 = 0\nloop:\nr1 += 1\nr0 += r1\nif r1 < 100 goto loop\nexit\n", "", 0},
    {"infinite loop", "r0 = 0\nloop:\nr1 = 0\nif r0 == 0 goto loop\nexit\n", "infinite loop detected at insn 1", 1},
    // Stack.
    // Accepted only because the fill restores the constant: the exit at 4 with r0 unset is dead.
    {"spill and fill keep the value",
     "r2 = 5\n*(u64 *)(r10 - 8) = r2\nr3 = *(u64 *)(r10 - 8)\nif r3 == 5 goto +1\nexit\nr0 = 0\nexit\n",
     "", 0},
    {"spilled ctx pointer fills back as ctx",
     "*(u64 *)(r10 - 8) = r1\nr2 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r2 + 0)\nexit\n", "", 0},
    // A narrow fill of a spilled constant is the constant's low bytes: the branch is decided, the bad
    // store dead.
    {"narrow fill of a spilled constant",
     "r2 = 0x500000007 ll\n*(u64 *)(r10 - 8) = r2\nr3 = *(u32 *)(r10 - 8)\nr0 = 0\nif r3 == 7 goto +1\n"
     "*(u8 *)(r10 + 4) = r0\nexit\n",
     "", 0},
    // tcbpf also reads the high half (5); Linux 6.18 makes it unknown there and rejects the dead store.
    {"narrow fill of a spilled constant's high half",
     "r2 = 0x500000007 ll\n*(u64 *)(r10 - 8) = r2\nr3 = *(u32 *)(r10 - 4)\nr0 = 0\nif r3 == 5 goto +1\n"
     "*(u8 *)(r10 + 4) = r0\nexit\n",
     "", 0, false},
    {"narrow read of a pointer spill",
     "*(u64 *)(r10 - 8) = r1\nr2 = *(u32 *)(r10 - 8)\nr0 = 0\nexit\n", "invalid size of register fill", 1},
    {"narrow spill of a pointer",
     "*(u32 *)(r10 - 8) = r1\nr0 = 0\nexit\n", "invalid size of register spill", 0},
    {"stack write below the frame",
     "r0 = 0\n*(u64 *)(r10 - 520) = r0\nexit\n", "invalid write to stack R10 off=-520 size=8", 1},
    {"stack write above the frame",
     "r0 = 0\n*(u64 *)(r10 + 0) = r0\nexit\n", "invalid write to stack R10 off=0 size=8", 1},
    {"misaligned stack access",
     "r0 = 0\n*(u64 *)(r10 - 4) = r0\nexit\n", "misaligned stack access off 0+0+-4 size 8", 1},
    {"stack through a moved frame pointer",
     "r2 = r10\nr2 += -16\nr0 = 0\n*(u64 *)(r2 + 8) = r0\nr0 = *(u64 *)(r10 - 8)\nexit\n", "", 0},
    {"bytes written as zero read back as zero",
     "r2 = 0\n*(u32 *)(r10 - 4) = r2\nr0 = *(u8 *)(r10 - 2)\nif r0 == 0 goto +1\nr0 /= r7\nexit\n", "", 0},
    // Pointer arithmetic.
    {"32-bit arithmetic on a pointer", "w1 += 4\nr0 = 0\nexit\n", "R1 32-bit pointer arithmetic prohibited", 0},
    {"bitwise operator on a pointer", "r1 &= 4\nr0 = 0\nexit\n", "R1 bitwise operator &= on pointer prohibited", 0},
    {"multiplying a pointer", "r1 *= 4\nr0 = 0\nexit\n", "R1 pointer arithmetic with *= operator prohibited", 0},
    {"adding two pointers", "r1 += r10\nr0 = 0\nexit\n", "R1 pointer += pointer prohibited", 0},
    {"subtracting a pointer from a scalar", "r2 = 0\nr2 -= r1\nr0 = 0\nexit\n",
     "R2 tried to subtract pointer from scalar", 1},
    {"pointer difference is a scalar", "r2 = r10\nr2 -= r1\nr0 = r2\nexit\n", "", 0},
    // Context.
    {"ctx load of mark", "r0 = *(u32 *)(r1 + 8)\nexit\n", "", 0},
    {"ctx load past the end", "r0 = *(u32 *)(r1 + 192)\nexit\n", "invalid bpf_context access off=192 size=4", 0},
    {"ctx through a moved pointer", "r1 += 8\nr0 = *(u32 *)(r1 + 0)\nexit\n",
     "dereference of modified ctx ptr R1 off=8 disallowed", 1},
    // Linux 6.18 accepts immediate stores into ctx (older kernels refused "BPF_ST stores into R1 ctx").
    {"immediate store into ctx", "*(u32 *)(r1 + 8) = 1\nr0 = 0\nexit\n", "", 0},
    {"immediate store into a read-only ctx field", "*(u32 *)(r1 + 0) = 1\nr0 = 0\nexit\n",
     "invalid bpf_context access off=0 size=4", 0},
    {"store into mark", "r2 = 7\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit\n", "", 0},
    {"scalar is not memory", "r2 = 0\nr0 = *(u32 *)(r2 + 0)\nexit\n", "R2 invalid mem access 'scalar'", 1},
    // Packet.
    {"packet read after a data_end check",
     "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\nr4 += 14\nif r4 > r3 goto +2\n"
     "r0 = *(u16 *)(r2 + 12)\nexit\nr0 = 0\nexit\n",
     "", 0},
    {"packet read without a check",
     "r2 = *(u32 *)(r1 + 76)\nr0 = *(u8 *)(r2 + 0)\nexit\n",
     "invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)\nR2 offset is outside of the packet", 1},
    {"packet read past the checked range",
     "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\nr4 += 14\nif r4 > r3 goto +2\n"
     "r0 = *(u32 *)(r2 + 12)\nexit\nr0 = 0\nexit\n",
     "invalid access to packet, off=12 size=4, R2(id=0,off=12,r=14)\nR2 offset is outside of the packet", 5},
    {"data_end is not memory", "r2 = *(u32 *)(r1 + 80)\nr0 = *(u8 *)(r2 + 0)\nexit\n",
     "R2 invalid mem access 'pkt_end'", 1},
    {"arithmetic on data_end", "r2 = *(u32 *)(r1 + 80)\nr2 += 1\nr0 = 0\nexit\n",
     "R2 pointer arithmetic on pkt_end prohibited", 1},
    {"data_end on the left of the check",
     "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\nr4 += 14\nif r3 >= r4 goto +2\nr0 = 0\nexit\n"
     "r0 = *(u16 *)(r2 + 12)\n*(u8 *)(r2 + 13) = w0\nexit\n",
     "", 0},
    {"a strict check proves one byte more",
     "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\nr4 += 14\nif r4 < r3 goto +2\nr0 = 0\nexit\n"
     "r0 = *(u8 *)(r2 + 14)\nexit\n",
     "", 0},
    // Packet pointers with a variable part: the check must be made on a pointer with the same variable part.
    {"variable packet offset checked",
     "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = *(u32 *)(r1 + 8)\nr4 &= 60\nr2 += r4\nr5 = r2\n"
     "r5 += 4\nr0 = 0\nif r5 > r3 goto +1\nr0 = *(u32 *)(r2 + 0)\nexit\n",
     "", 0},
    {"variable packet offset read past the check",
     "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = *(u32 *)(r1 + 8)\nr4 &= 60\nr2 += r4\nr5 = r2\n"
     "r5 += 4\nr0 = 0\nif r5 > r3 goto +1\nr0 = *(u32 *)(r2 + 2)\nexit\n",
     "invalid access to packet, off=2 size=4, R2(id=1,off=2,r=4)\nR2 offset is outside of the packet", 9},
    {"check on the packet start does not cover a variable pointer",
     "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = *(u32 *)(r1 + 8)\nr4 &= 60\nr5 = r2\nr5 += 64\n"
     "r0 = 0\nif r5 > r3 goto +2\nr2 += r4\nr0 = *(u8 *)(r2 + 0)\nexit\n",
     "invalid access to packet, off=0 size=1, R2(id=1,off=0,r=0)\nR2 offset is outside of the packet", 9},
    {"unbounded packet offset",
     "r2 = *(u32 *)(r1 + 76)\nr4 = *(u64 *)(r10 - 8)\nr2 += r4\nr0 = 0\nexit\n",
     "math between pkt pointer and register with unbounded min value is not allowed", 2},
    {"possibly negative packet offset",
     "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = *(s8 *)(r10 - 8)\nr2 += r4\nr5 = r2\nr5 += 4\n"
     "r0 = 0\nif r5 > r3 goto +1\nr0 = *(u8 *)(r2 + 0)\nexit\n",
     "R2 min value is negative, either use unsigned index or do a if (index >=0) check.", 8},
    {"data_meta checked against data",
     "r2 = *(u32 *)(r1 + 140)\nr3 = *(u32 *)(r1 + 76)\nr4 = r2\nr4 += 4\nr0 = 0\nif r4 > r3 goto +1\n"
     "r0 = *(u32 *)(r2 + 0)\nexit\n",
     "", 0},
    {"data_meta checked against a moved data pointer proves nothing",
     "r2 = *(u32 *)(r1 + 140)\nr3 = *(u32 *)(r1 + 76)\nr3 += 14\nr4 = r2\nr4 += 4\nr0 = 0\nif r4 > r3 goto +1\n"
     "r0 = *(u32 *)(r2 + 0)\nexit\n",
     "invalid access to packet, off=0 size=4, R2(id=0,off=0,r=0)\nR2 offset is outside of the packet", 7},
    // LD_ABS/LD_IND: r6 must be the context; they clobber r1-r5 and load a value of their size.
    {"ld_abs through r6", "r6 = r1\nr0 = *(u16 *)skb[12]\nexit\n", "", 0},
    // tcbpf knows a 2-byte load is below 65536 (Linux 6.18 makes r0 fully unknown and rejects the dead store).
    {"ld_abs result fits its size",
     "r6 = r1\nr0 = *(u16 *)skb[12]\nif r0 > 65535 goto +1\nexit\n*(u8 *)(r10 + 4) = r0\nexit\n", "", 0, false},
    {"ld_abs without ctx in r6", "r6 = 0\nr0 = *(u8 *)skb[0]\nexit\n", "at the time of BPF_LD_ABS|IND R6 != pointer to skb", 1},
    {"ld_ind index must be set", "r6 = r1\nr0 = *(u8 *)skb[r7]\nexit\n", "R7 !read_ok", 1},
    {"ld_abs clobbers r1-r5", "r6 = r1\nr2 = 1\nr0 = *(u8 *)skb[0]\nr0 = r2\nexit\n", "R2 !read_ok", 3},
    // Atomics.
    {"atomic add on the stack",
     "r2 = 0\n*(u64 *)(r10 - 8) = r2\nr3 = 1\nlock *(u64 *)(r10 - 8) += r3\nr0 = *(u64 *)(r10 - 8)\nexit\n", "", 0},
    {"atomic fetch returns the old value",
     "r2 = 0\n*(u64 *)(r10 - 8) = r2\nr3 = 1\nr3 = atomic_fetch_add((u64 *)(r10 - 8), r3)\nr0 = r3\nexit\n", "", 0},
    {"cmpxchg reads r0", "r2 = 0\n*(u64 *)(r10 - 8) = r2\nr0 = cmpxchg_64(r10 - 8, r0, r2)\nexit\n", "R0 !read_ok", 2},
    {"atomic on ctx", "r2 = 1\nlock *(u32 *)(r1 + 8) += w2\nr0 = 0\nexit\n",
     "BPF_ATOMIC stores into R1 ctx is not allowed", 1},
    // Privileged loads may read stack never written (allow_uninit_stack).
    {"uninitialised stack read", "r0 = *(u64 *)(r10 - 8)\nexit\n", "", 0},
    // Not explored yet: refused, never accepted unchecked.
    // Helpers: arguments checked, r1-r5 clobbered, r0 a number; packet-moving helpers invalidate pointers.
    {"helper result is a number", "call 7\nr0 &= 1\nexit\n", "", 0},
    {"arguments are clobbered by a call", "r2 = 1\ncall 7\nr0 = r2\nexit\n", "R2 !read_ok", 2},
    {"ctx argument", "call 34\nexit\n", "", 0},
    {"ctx argument must be ctx", "r1 = 0\ncall 34\nexit\n", "R1 type=scalar expected=ctx", 1},
    {"uninitialised argument", "r1 = 0\ncall 23\nexit\n", "R2 !read_ok", 1},
    {"packet pointers die at skb_pull_data",
     "r6 = r1\nr2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr7 = r2\nr7 += 1\nif r7 > r3 goto +5\n"
     "r1 = r6\nr2 = 0\ncall 39\nr0 = *(u8 *)(r7 - 1)\nexit\nr0 = 0\nexit\n",
     "R7 invalid mem access 'scalar'", 9},
    {"packet pointers survive a helper that does not move data",
     "r6 = r1\nr2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr7 = r2\nr7 += 1\nif r7 > r3 goto +4\n"
     "r1 = r6\ncall 34\nr0 = *(u8 *)(r7 - 1)\nexit\nr0 = 0\nexit\n",
     "", 0},
    {"csum_diff of nothing (null pointers, zero sizes)",
     "r1 = 0\nr2 = 0\nr3 = 0\nr4 = 0\nr5 = 0\ncall 28\nexit\n", "", 0},
    {"socket helper", "r1 = 0\ncall 84\nr0 = 0\nexit\n",
     "not supported yet: helper bpf_sk_lookup_tcp#84 (insn 1)", 1, false},
    // bpf_skb_load_bytes(ctx, offset, to, len): the buffer must hold len bytes; they become written.
    {"skb_load_bytes into the stack",
     "r2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\ncall 26\nr0 = *(u64 *)(r10 - 8)\nexit\n", "", 0},
    {"skb_load_bytes of zero bytes", "r2 = 0\nr3 = r10\nr3 += -8\nr4 = 0\ncall 26\nr0 = 0\nexit\n",
     "R4 invalid zero-sized read", 4},
    {"skb_load_bytes past the frame", "r2 = 0\nr3 = r10\nr3 += -8\nr4 = 16\ncall 26\nr0 = 0\nexit\n",
     "invalid write to stack R3 off=-8 size=16", 4},
    {"skb_load_bytes with an unchecked length",
     "r2 = 0\nr3 = r10\nr3 += -8\nr4 = *(u64 *)(r10 - 16)\ncall 26\nr0 = 0\nexit\n",
     "R4 min value is negative, either use unsigned or 'var &= const'", 4},
    {"skb_load_bytes with a masked length",
     "r2 = 0\nr3 = r10\nr3 += -64\nr4 = *(u32 *)(r1 + 8)\nr4 &= 63\nr4 += 1\ncall 26\nr0 = 0\nexit\n", "", 0},
    {"variable stack pointer offset", "r2 = *(u32 *)(r1 + 0)\nr3 = r10\nr3 += r2\nr0 = 0\nexit\n", "", 0},
};

}  // namespace tcbpf::verifier::test
