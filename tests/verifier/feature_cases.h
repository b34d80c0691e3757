// Programs exercising the helper prototype table, variable stack offsets, bpf-to-bpf calls, precision,
// the raw program type and --strict, each with the mode it is verified in, the verdict and the exact
// message. Cases marked `kernel` are privileged classifier programs without maps, which the kernel
// differential test (feature_kernel_test.cpp) also loads: the kernel must agree and its log contain our
// message. Map references use map[idx:N] with the maps of feature_maps() in feature_test.cpp.
#pragma once

#include <cstddef>

namespace tcbpf::verifier::test {

enum class Mode { Privileged, Strict, Raw, NonGpl, Btf };

struct FeatureCase {
    const char* name;
    Mode mode;
    const char* text;
    const char* message;  // empty: accepted
    size_t insn_idx;
    bool kernel;
};

constexpr Mode P = Mode::Privileged, S = Mode::Strict, R = Mode::Raw, N = Mode::NonGpl, B = Mode::Btf;

// maps: 0 array (key 4, value 16, 1 entry), 1 prog array, 2 perf event array, 3 ring buffer,
// 4 per-CPU array (key 4, value 8), 5 queue (value 8), 6 array (key 4, value 8, 8 entries).
inline constexpr FeatureCase kFeatureCases[] = {
    // Helper prototypes: sized memory.
    {"trace_printk of a stack string", P,
     "r1 = 0x0a6968\n*(u32 *)(r10 - 4) = r1\nr1 = r10\nr1 += -4\nr2 = 4\ncall 6\nr0 = 0\nexit\n", "", 0, true},
    {"trace_printk size past the frame", P,
     "r1 = r10\nr1 += -4\nr2 = 8\ncall 6\nr0 = 0\nexit\n", "invalid read from stack R1 off=-4 size=8", 3, false},
    {"trace_printk needs a GPL license", N,
     "r1 = r10\nr1 += -4\nr2 = 4\ncall 6\nr0 = 0\nexit\n",
     "cannot call GPL-restricted function from non-GPL compatible program", 3, false},
    {"trace_printk of a number", P, "r1 = 0\nr2 = 4\ncall 6\nr0 = 0\nexit\n",
     "R1 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_", 2, true},
    {"csum_diff with a variable bounded size", P,
     "r2 = *(u32 *)(r1 + 0)\nr2 &= 0xc\nr1 = r10\nr1 += -16\nr3 = 0\nr4 = 0\nr5 = 0\ncall 28\nexit\n", "", 0, true},
    {"csum_diff with a null pointer and a size", P,
     "r1 = 0\nr2 = 4\nr3 = 0\nr4 = 0\nr5 = 0\ncall 28\nexit\n",
     "R1 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_", 5, false},
    {"skb_get_tunnel_key fills uninitialised stack", P,
     "r2 = r10\nr2 += -32\nr3 = 32\nr4 = 0\ncall 20\nr0 = *(u64 *)(r10 - 32)\nexit\n", "", 0, true},
    {"fib_lookup reads and writes its parameter block", P,
     "r2 = r10\nr2 += -64\nr3 = 64\nr4 = 0\ncall 69\nexit\n", "", 0, true},
    {"check_mtu's fixed 4-byte length", P,
     "r2 = 0\n*(u32 *)(r10 - 4) = r2\nr3 = r10\nr3 += -4\nr4 = 0\nr5 = 0\ncall 163\nexit\n", "", 0, true},
    {"check_mtu's length past the frame", P,
     "r2 = 0\nr3 = r10\nr3 += -2\nr4 = 0\nr5 = 0\ncall 163\nexit\n", "invalid read from stack R3 off=-2 size=4", 5, false},
    {"helper with a moved context", P, "r1 += 4\ncall 34\nexit\n", "dereference of modified ctx ptr R1 off=4 disallowed", 1, true},
    {"helper not offered to tc", P, "call 4\nexit\n", "program of this type cannot use helper bpf_probe_read#4", 0, true},
    {"helper id past the last", P, "call 300\nexit\n", "invalid func unknown#300", 0, true},
    {"cBPF conversion helper", P, "r2 = 0\nr3 = 0\ncall 0x7cbf0001\nexit\n", "", 0, false},
    {"skb_set_tunnel_opt may not read the packet", P,
     "r6 = r1\nr2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\nr4 += 8\nif r4 > r3 goto +4\n"
     "r1 = r6\nr3 = 8\ncall 30\nexit\nr0 = 0\nexit\n",
     "helper access to the packet is not allowed", 8, false},
    // Map helpers and map-type compatibility.
    {"map_lookup_percpu_elem on a per-CPU array", P,
     "r2 = 0\n*(u32 *)(r10 - 4) = r2\nr2 = r10\nr2 += -4\nr1 = map[idx:4]\nr3 = 0\ncall 195\nif r0 == 0 goto +1\n"
     "r0 = *(u64 *)(r0 + 0)\nexit\n", "", 0, false},
    {"map_lookup_percpu_elem on a plain array", P,
     "r2 = r10\nr2 += -4\nr1 = map[idx:0]\nr3 = 0\ncall 195\nr0 = 0\nexit\n",
     "cannot pass map_type 2 into func bpf_map_lookup_percpu_elem#195", 5, false},
    {"lookup in a ring buffer", P, "r2 = r10\nr2 += -4\nr1 = map[idx:3]\ncall 1\nr0 = 0\nexit\n",
     "cannot pass map_type 27 into func bpf_map_lookup_elem#1", 4, false},
    {"ringbuf_output of stack bytes", P,
     "r2 = r10\nr2 += -8\nr1 = map[idx:3]\nr3 = 8\nr4 = 0\ncall 130\nexit\n", "", 0, false},
    {"perf_event_output into a perf event array", P,
     "r4 = r10\nr4 += -8\nr2 = map[idx:2]\nr3 = 0xffffffff ll\nr5 = 8\ncall 25\nexit\n", "", 0, false},
    {"perf_event_output into an array", P,
     "r4 = r10\nr4 += -8\nr2 = map[idx:0]\nr3 = 0\nr5 = 8\ncall 25\nexit\n",
     "cannot pass map_type 2 into func bpf_perf_event_output#25", 6, false},
    {"map_pop_elem writes the whole value", P,
     "r2 = r10\nr2 += -8\nr1 = map[idx:5]\ncall 88\nr0 = *(u64 *)(r10 - 8)\nexit\n", "", 0, false},
    // Variable stack offsets (privileged).
    {"bounded variable stack write and read", P,
     "r2 = *(u32 *)(r1 + 0)\nr2 &= 8\nr3 = r10\nr3 += -16\nr3 += r2\nr4 = 0\n*(u64 *)(r3 + 0) = r4\n"
     "r0 = *(u64 *)(r3 + 0)\nexit\n", "", 0, true},
    {"variable stack write reaching r10", P,
     "r2 = *(u32 *)(r1 + 0)\nr2 &= 15\nr3 = r10\nr3 += -8\nr3 += r2\nr4 = 0\n*(u8 *)(r3 + 0) = r4\nr0 = 0\nexit\n",
     "invalid variable-offset write to stack R3 var_off=(0x0; 0xf) off=-8 size=1", 6, true},
    {"variable stack access not aligned", P,
     "r2 = *(u32 *)(r1 + 0)\nr2 &= 4\nr3 = r10\nr3 += -16\nr3 += r2\nr0 = *(u64 *)(r3 + 0)\nexit\n",
     "misaligned stack access off (0x0; 0x4)+-16+0 size 8", 5, true},
    {"unbounded variable stack access", P,
     "r2 = *(u32 *)(r1 + 0)\nr3 = r10\nr3 += -16\nr3 += r2\nr0 = *(u8 *)(r3 + 0)\nexit\n",
     "invalid unbounded variable-offset read from stack R3", 4, true},
    {"variable stack pointer passed to a helper", P,
     "r2 = *(u32 *)(r1 + 0)\nr2 &= 8\nr1 = r10\nr1 += -16\nr1 += r2\nr2 = 8\ncall 6\nr0 = 0\nexit\n", "", 0, true},
    // Narrow spills: a bounded scalar's low bytes at a slot's start fill back with their bounds.
    {"narrow spill keeps the bounds", P,
     "r2 = *(u32 *)(r1 + 0)\nr2 &= 7\n*(u32 *)(r10 - 8) = w2\nr3 = *(u32 *)(r10 - 8)\nr4 = r10\nr4 += -16\n"
     "r4 += r3\nr0 = *(u8 *)(r4 + 0)\nexit\n", "", 0, true},
    {"narrow store off a slot's start is plain data", P,
     "r2 = *(u32 *)(r1 + 0)\nr2 &= 7\n*(u32 *)(r10 - 4) = w2\nr3 = *(u32 *)(r10 - 4)\nr4 = r10\nr4 += -16\n"
     "r4 += r3\nr0 = *(u8 *)(r4 + 0)\nexit\n", "invalid unbounded variable-offset read from stack R4", 7, true},
    {"narrow fill of a narrow spill's low byte", P,
     "r2 = 0x1234\n*(u16 *)(r10 - 8) = w2\nr3 = *(u8 *)(r10 - 8)\nr0 = 0\nif r3 == 0x34 goto +1\n*(u8 *)(r10 + 4) = r0\nexit\n",
     "", 0, true},
    // A ctx pointer moved by a variable cannot be used.
    {"ctx moved by a variable", P, "r2 = *(u32 *)(r1 + 8)\nr2 &= 4\nr1 += r2\nr0 = *(u32 *)(r1 + 0)\nexit\n",
     "variable ctx access var_off=(0x0; 0x4) disallowed", 3, true},
    {"tail call through a hash map", P, "r2 = map[idx:0]\nr3 = 0\ncall 12\nr0 = 0\nexit\n",
     "expected prog array map for tail call", 3, false},
    // bpf-to-bpf calls.
    {"local call returns a value", P, "r1 = 5\ncall f\nexit\nf:\nr0 = r1\nr0 += 1\nexit\n", "", 0, true},
    {"callee writes the caller's stack", P,
     "r1 = r10\nr1 += -8\ncall f\nr0 = *(u64 *)(r10 - 8)\nexit\nf:\nr2 = 7\n*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit\n",
     "", 0, true},
    {"callee's r6 starts uninitialised", P, "r6 = 1\ncall f\nexit\nf:\nr0 = r6\nexit\n", "R6 !read_ok", 3, true},
    {"caller's r1 is dead after the call", P, "r1 = 1\ncall f\nr0 = r1\nexit\nf:\nr0 = 0\nexit\n", "R1 !read_ok", 2, true},
    {"caller's r6 survives the call", P, "r6 = 1\ncall f\nr0 = r6\nexit\nf:\nr6 = 2\nr0 = 0\nexit\n", "", 0, true},
    {"callee returns its stack", P, "call f\nexit\nf:\nr0 = r10\nexit\n", "cannot return stack pointer to the caller", 3, true},
    {"callee's constant decides the caller's branch", P,
     "call f\nif r0 == 3 goto +1\n*(u8 *)(r10 + 4) = r0\nr0 = 0\nexit\nf:\nr0 = 3\nexit\n", "", 0, true},
    {"callee stores its own stack pointer into the caller's frame", P,
     "r1 = r10\nr1 += -8\ncall f\nr0 = 0\nexit\nf:\nr2 = r10\n*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit\n",
     "cannot spill pointers to stack into stack frame of the caller", 6, true},
    {"tail call in a subprogram without BTF", P,
     "call f\nexit\nf:\nr2 = map[idx:1]\nr3 = 0\ncall 12\nr0 = 0\nexit\n",
     "tail_call is not allowed in subprogs without BTF", 5, false},
    {"tail call in a subprogram with BTF function info", B,
     "call f\nexit\nf:\nr2 = map[idx:1]\nr3 = 0\ncall 12\nr0 = 0\nexit\n", "", 0, false},
    {"LD_ABS in a subprogram without BTF", P, "call f\nexit\nf:\nr6 = r1\nr0 = *(u8 *)skb[0]\nexit\n",
     "LD_ABS is not allowed in subprogs without BTF", 3, false},
    {"frames over 512 bytes together", P,
     "r0 = 0\n*(u64 *)(r10 - 512) = r0\ncall f\nexit\nf:\nr0 = 0\n*(u64 *)(r10 - 8) = r0\nexit\n",
     "combined stack size of 2 calls is 528. Too large", 2, true},
    // Precision: the branch at 13 is decided by r3, so the checkpoint the r3 = 0 path leaves at 12 must
    // compare r3 exactly and the second path (r3 = 100) may not be pruned there.
    {"a decided branch keeps its value precise", P,
     "r2 = *(u32 *)(r1 + 0)\nr3 = 100\nif r2 > 5 goto +9\nr3 = 0\ngoto +0\ngoto +0\nr5 = 0\nr5 = 0\nr5 = 0\nr5 = 0\n"
     "r5 = 0\nr5 = 0\nr4 = 1\nif r3 > 50 goto +2\nr0 = 0\nexit\nr0 = *(u64 *)(r3 + 0)\nexit\n",
     "R3 invalid mem access 'scalar'", 16, true},
    // The key decides whether the lookup can return null, so the spill it came from stays exact: the
    // path with key 9 (out of range) is not pruned at the checkpoint the key-1 path left at 12.
    {"a constant map key keeps its value precise", P,
     "r3 = *(u32 *)(r1 + 0)\nr2 = 9\nif r3 > 5 goto +9\nr2 = 1\ngoto +0\ngoto +0\nr5 = 0\nr5 = 0\nr5 = 0\nr5 = 0\n"
     "r5 = 0\nr5 = 0\n*(u32 *)(r10 - 8) = w2\nr2 = r10\nr2 += -8\nr1 = map[idx:6]\ncall 1\nr0 = *(u64 *)(r0 + 0)\nexit\n",
     "R0 invalid mem access 'map_value_or_null'", 18, false},
    {"a loop counter that bounds nothing does not split states", P,
     "r6 = 0\nr7 = 0\nloop:\nr0 = *(u32 *)(r1 + 0)\nif r0 > 7 goto +1\nr6 += 1\nr7 += 1\nif r7 < 200 goto loop\nr0 = r6\nexit\n",
     "", 0, true},
    // One load/store instruction serves ctx or other pointers, never both (ctx accesses are rewritten).
    {"one load reached with ctx and stack bases", P,
     "r2 = *(u32 *)(r1 + 0)\nr3 = r1\nif r2 > 5 goto +2\nr3 = r10\nr3 += -8\nr0 = *(u32 *)(r3 + 0)\nexit\n",
     "same insn cannot be used with different pointers", 5, true},
    // Linux 6.18 follows both sides of a stack pointer compared with 0, though it is never null.
    {"a stack pointer compared with 0 is not decided", P,
     "r2 = r10\nif r2 != 0 goto +1\nexit\nr0 = 0\nexit\n", "R0 !read_ok", 2, true},
    // The raw program type (conformance): r1 = memory, r2 = its size.
    {"raw memory read", R, "r0 = *(u32 *)(r1 + 4)\nexit\n", "", 0, false},
    {"raw memory read past the end", R, "r0 = *(u64 *)(r1 + 12)\nexit\n",
     "invalid access to memory, mem_size=16 off=12 size=8\nR1 min value is outside of the allowed memory range", 0, false},
    {"raw shift immediates are masked", R, "r0 = 1\nr0 <<= 65\nexit\n", "", 0, false},
    {"raw callx to a helper", R, "r1 = -1\nr2 = 5\ncallx r2\nr0 = 2\nexit\n", "", 0, false},
    {"callx outside the raw type", P, "r2 = 5\ncallx r2\nr0 = 2\nexit\n",
     "not supported yet: callx outside the raw program type (insn 1)", 1, false},
    // --strict: the unprivileged rules.
    {"strict: returning a pointer", S, "r0 = r1\nexit\n", "R0 leaks addr as return value", 1, false},
    {"strict: reading unwritten stack", S, "r0 = *(u64 *)(r10 - 8)\nexit\n", "invalid read from stack off -8+0 size 8", 0, false},
    {"strict: reading written stack", S, "r0 = 1\n*(u64 *)(r10 - 8) = r0\nr0 = *(u32 *)(r10 - 8)\nexit\n", "", 0, false},
    {"strict: pointer as a helper value", S, "r1 = 0\nr2 = r10\ncall 23\nexit\n", "R2 leaks addr into helper function", 2, false},
    {"strict: helper reads unwritten stack", S, "r1 = r10\nr1 += -8\nr2 = 8\ncall 6\nr0 = 0\nexit\n",
     "invalid indirect read from stack R1 off -8+0 size 8", 3, false},
    {"strict: variable stack offset", S, "r2 = *(u32 *)(r1 + 0)\nr2 &= 8\nr3 = r10\nr3 += r2\nr0 = 0\nexit\n",
     "R3 variable stack access prohibited for !root, off=0", 3, false},
    {"strict: pointer stored into a map value", S,
     "r1 = map[idx:0][0]+0\n*(u64 *)(r1 + 0) = r10\nr0 = 0\nexit\n", "R10 leaks addr into map", 2, false},
    {"strict: comparing a pointer with a number", S, "r0 = 0\nif r1 > 5 goto +1\nexit\nexit\n",
     "R1 pointer comparison prohibited", 1, false},
    {"strict: packet bounds checks stay allowed", S,
     "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\nr4 += 1\nr0 = 0\nif r4 > r3 goto +1\nr0 = *(u8 *)(r2 + 0)\nexit\n",
     "", 0, false},
    {"strict: partial copy of a pointer", S, "w0 = w1\nexit\n", "R1 partial copy of pointer", 0, false},
};

}  // namespace tcbpf::verifier::test
