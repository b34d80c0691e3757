// Text forms of eBPF programs: two assemblers and a disassembler, all driven by opcodes.def.
//
// assemble() reads what llvm-objdump and the kernel verifier log print (isa.md §7), so a program can be
// pasted from either tool; disassemble() prints llvm-objdump syntax (decimal, `--no-print-imm-hex`) that
// assemble() reads back to the identical bits for every encoding decode() accepts.
//
// Syntax accepted by assemble(), one instruction per line:
//   ALU        r1 += r2   w1 s%= 3   r1 = -r1   r1 = (s8)r2   w1 = (s16)w2   r1 = le16 r1   r1 = bswap64 r1
//              (r registers select ALU64, w registers ALU32; both operands must agree)
//   64-bit imm r1 = 0x1234 ll     (decimal, negative, or hex up to 64 bits; a kernel-log line whose prefix
//              says opcode (18) may omit `ll`)
//   pseudo ll  r1 = map[fd:5] ll            src 1, imm = map fd
//              r1 = map[fd:5][0]+8 ll       src 2, next_imm = value offset
//              r1 = btf_id[7] ll            src 3
//              r1 = func[pc+3] ll           src 4, imm = pc-relative function start (or func[label])
//              r1 = map[idx:0] ll           src 5, imm = fd_array index
//              r1 = map[idx:0][0]+8 ll      src 6
//              Forms without a value offset print a non-zero second-slot imm as a `next_imm N` suffix.
//              `ll` is optional after a pseudo form. Ids, fds, indexes and offsets print as unsigned 32-bit.
//   loads      r0 = *(u32 *)(r1 + 4)   w0 = *(u8 *)(r10 - 1)   r0 = *(s16 *)(r1 +2)
//   stores     *(u64 *)(r10 - 8) = r1  *(u16 *)(r1 + 2) = w2  *(u32 *)(r10 -8) = 5
//   atomics    lock *(u32 *)(r1 + 0) += w2
//              r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)   r0 = atomic64_fetch_add((u64 *)(r1 +0), r0)
//              r0 = xchg_64(r1 + 0, r0)   w0 = xchg32_32(r1 + 0, w0)   r0 = atomic64_xchg((u64 *)(r1 +0), r0)
//              r0 = cmpxchg_64(r1 + 0, r0, r2)   w0 = cmpxchg32_32(r1 + 0, w0, w2)   atomic_cmpxchg(...)
//   packet     r0 = *(u16 *)skb[12]   r0 = *(u8 *)skb[r1]   r0 = *(u8 *)skb[r1 + 4]
//   jumps      goto +3   goto pc+3   gotol +70000   if r1 s> r2 goto -2   if w1 & 4 goto +1   goto LABEL
//   calls      call 1   call bpf_map_lookup_elem#1 (helper)   call pc+5   call pc+5#name (bpftool)
//              call LABEL (local)   callx r1
//   exit
// Registers are r0..r10 (w0..w10 for 32-bit). Narrow (u8/u16/u32) loads, stores and 32-bit atomics accept r
// or w registers; sign-extending loads, 64-bit forms and memory bases take r registers.
// Immediates: signed decimal in the int32 range, or 0x hex up to 32 bits stored bit for bit
// (`if w1 != 0xffffffff` compares with -1). Offsets and jump distances: signed decimal or hex that fits
// int16 (gotol, call and func distances: int32); `goto +3`, `goto pc+3` and `goto 3` are the same.
// Comments: `;` and `//` anywhere, `#` at the start of a line or after whitespace (so `call name#1`
// keeps its helper number). Labels: `name:` on its own line or before an instruction.
// Tool prefixes are stripped: `12: ` (disassemble()), llvm-objdump's `  3:\t85 00 00 00 01 00 00 00\t`,
// the verifier log's `3: (85) ` (whose opcode must match the instruction) and its "Live regs before insn:"
// form `3: .12....78. (85) `. llvm-objdump's symbol lines
// `0000000000000000 <name>:` define label `name`; a trailing `<sym>` after a jump target is ignored, and so
// are its `FILE:\tfile format ...` and `Disassembly of section ...` header lines. In llvm-objdump lines of a
// relocatable object, a `call N` whose bytes say src 1 is the local call it encodes.
//
// Every error is a tcbpf::Error "FILE:LINE:COL: message". The assembled Program is exactly what decode()
// returns for its encoding, and jump/call targets are checked the same way (inside the program, never
// into the second slot of an `ll` load).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "tcbpf/isa.h"

namespace tcbpf::isa {

// llvm-objdump / kernel-verifier-log syntax, with labels. Throws tcbpf::Error "FILE:LINE:COL: message".
Program assemble(std::string_view text, std::string_view file_name = "<input>");

// The bpf_conformance suite's assembly language (../shared/conformance/README.md), incl. labels, the
// implicit `exit` label, `+N/-N` targets, `call local label`, `call %rN` (callx). Same error style.
// `call runtime N` (kfunc, src 2) is rejected: decode() does not accept that encoding either.
Program assemble_conformance(std::string_view text, std::string_view file_name = "<input>");

// One instruction in llvm-objdump syntax (decimal immediates and offsets, like `--no-print-imm-hex`),
// e.g. "r0 = *(u32 *)(r1 + 4)", "if r1 > 5 goto +3", "lock *(u64 *)(r1 + 0) += r2", "r1 = 0x1234 ll".
// Registers follow llvm-objdump's alu32 decoding: w for ALU32, JMP32, u8/u16/u32 loads and stores and
// 32-bit atomics; r everywhere else. Local calls print as `call pc+N` to tell them from helper calls.
// `pc` is the instruction's index; targets print relative, so it only matters for the second slot of
// an `ll` load, which prints as a `;` comment (assembles to nothing).
std::string disassemble(const Insn& insn, size_t pc);

// Whole program, one line per instruction "PC: TEXT\n" (pc right-aligned, LDDW tails skipped).
std::string disassemble(const Program& prog);

}  // namespace tcbpf::isa
