// Small builders for eBPF programs in tests and benchmarks, until an assembler exists.
//
// `program()` sends what it builds through isa::encode and isa::decode, so every program a test runs
// is one the decoder accepts, with the fields a row fixes (SDIV's off = 1, END's width in imm, CALL's
// src kind) filled in from opcodes.def rather than by hand.
#pragma once

#include <cstdint>
#include <vector>

#include "tcbpf/isa.h"

namespace tcbpf::testing {

using isa::Insn;
using isa::Op;

inline Insn insn(Op op, int dst = 0, int src = 0, int off = 0, int32_t imm = 0) {
    Insn i;
    i.op = op;
    i.dst = static_cast<uint8_t>(dst);
    i.src = static_cast<uint8_t>(src);
    i.off = static_cast<int16_t>(off);
    i.imm = imm;
    const isa::OpInfo& row = isa::info(op);
    if (row.match == isa::Match::Off) i.off = static_cast<int16_t>(row.match_value);
    if (row.match == isa::Match::Imm) i.imm = row.match_value;
    if (row.match == isa::Match::Src) i.src = static_cast<uint8_t>(row.match_value);
    return i;
}

// dst op= imm / dst op= src (ALU and ALU64, K and X rows).
inline Insn alu(Op op, int dst, int32_t imm) { return insn(op, dst, 0, 0, imm); }
inline Insn alux(Op op, int dst, int src) { return insn(op, dst, src); }
inline Insn mov(int dst, int32_t imm) { return alu(Op::MOV64_K, dst, imm); }
inline Insn movx(int dst, int src) { return alux(Op::MOV64_X, dst, src); }
inline Insn lddw(int dst, uint64_t value) {
    Insn i = insn(Op::LDDW, dst);
    i.imm = static_cast<int32_t>(static_cast<uint32_t>(value));
    i.imm64 = value;
    return i;
}
// if dst op imm/src goto +off
inline Insn jmp(Op op, int dst, int32_t imm, int off) { return insn(op, dst, 0, off, imm); }
inline Insn jmpx(Op op, int dst, int src, int off) { return insn(op, dst, src, off); }
inline Insn ja(int off) { return insn(Op::JA, 0, 0, off); }
inline Insn ja32(int32_t imm) { return insn(Op::JA32, 0, 0, 0, imm); }
// dst = *(src + off); *(dst + off) = imm; *(dst + off) = src; atomic op at dst + off with src.
inline Insn ldx(Op op, int dst, int src, int off) { return insn(op, dst, src, off); }
inline Insn st(Op op, int dst, int off, int32_t imm) { return insn(op, dst, 0, off, imm); }
inline Insn stx(Op op, int dst, int src, int off) { return insn(op, dst, src, off); }
inline Insn atomic(Op op, int dst, int src, int off) { return insn(op, dst, src, off); }
inline Insn call(int32_t helper_id) { return insn(Op::CALL_HELPER, 0, 0, 0, helper_id); }
inline Insn call_local(int32_t relative) { return insn(Op::CALL_LOCAL, 0, 0, 0, relative); }
inline Insn callx(int reg) { return insn(Op::CALLX, reg); }
inline Insn exit_insn() { return insn(Op::EXIT); }
inline Insn ld_abs(Op op, int32_t offset) { return insn(op, 0, 0, 0, offset); }
inline Insn ld_ind(Op op, int src, int32_t offset) { return insn(op, 0, src, 0, offset); }

// Lays the instructions out in slots (LDDW takes two) and validates them with the decoder.
inline isa::Program program(const std::vector<Insn>& insns) {
    isa::Program p;
    for (const Insn& i : insns) {
        p.insns.push_back(i);
        if (i.op == Op::LDDW) {
            Insn tail;
            tail.op = Op::LDDW_TAIL;
            tail.imm = static_cast<int32_t>(static_cast<uint32_t>(i.imm64 >> 32));
            p.insns.push_back(tail);
        }
    }
    return isa::decode(isa::encode(p));
}

}  // namespace tcbpf::testing
