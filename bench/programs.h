// The eBPF programs the interpreter benchmarks run, with the input each one expects.
//
// Compute loops (where dispatch cost dominates) plus one short straight-line packet parse. Each
// returns a value the benchmark cross-checks between the threaded and the switch interpreter.
#pragma once

#include <cstdint>
#include <vector>

#include "tests/vm/insn_builder.h"

namespace tcbpf::bench {

using namespace tcbpf::testing;  // the instruction builders

// Internet-checksum style sum of the 750 16-bit words at r1, folded to 16 bits.
inline isa::Program checksum_1500() {
    return program({
        mov(0, 0), movx(2, 1), alu(Op::ADD64_K, 2, 1500),
        // loop (pc 3)
        ldx(Op::LDX_H, 3, 1, 0), alux(Op::ADD64_X, 0, 3), alu(Op::ADD64_K, 1, 2), jmpx(Op::JLT64_X, 1, 2, -4),
        // fold twice
        movx(3, 0), alu(Op::RSH64_K, 3, 16), alu(Op::AND64_K, 0, 0xffff), alux(Op::ADD64_X, 0, 3),
        movx(3, 0), alu(Op::RSH64_K, 3, 16), alu(Op::AND64_K, 0, 0xffff), alux(Op::ADD64_X, 0, 3),
        exit_insn(),
    });
}

// 1000 rounds of 64- and 32-bit division and modulo on a pseudo-random sequence.
inline isa::Program division_loop() {
    return program({
        mov(0, 0), mov(1, 1000), lddw(2, 0x123456789abcdef),
        // loop (pc 4)
        movx(3, 2), movx(4, 1), alu(Op::OR64_K, 4, 1), alux(Op::DIV64_X, 3, 4), alu(Op::MOD64_K, 3, 1000003),
        alux(Op::ADD64_X, 0, 3),
        alux(Op::MOV32_X, 5, 2), alu(Op::SDIV32_K, 5, -7), alux(Op::SMOD32_X, 5, 4), alux(Op::XOR64_X, 0, 5),
        alu(Op::MUL64_K, 2, 6364136), alu(Op::ADD64_K, 2, 1442695),
        alu(Op::SUB64_K, 1, 1), jmp(Op::JNE64_K, 1, 0, -14),
        exit_insn(),
    });
}

// 1000 rounds of byte swaps and a SWAR popcount, the kind of bit twiddling hashing code does.
inline isa::Program bswap_popcount_loop() {
    return program({
        mov(0, 0), mov(1, 1000), lddw(2, 0x0123456789abcdef),
        lddw(6, 0x5555555555555555), lddw(7, 0x3333333333333333), lddw(8, 0x0f0f0f0f0f0f0f0f),
        lddw(9, 0x0101010101010101),
        // loop (pc 12)
        movx(3, 2), insn(Op::BSWAP64, 3),
        movx(4, 3), alu(Op::RSH64_K, 4, 1), alux(Op::AND64_X, 4, 6), alux(Op::SUB64_X, 3, 4),
        movx(4, 3), alu(Op::RSH64_K, 4, 2), alux(Op::AND64_X, 4, 7), alux(Op::AND64_X, 3, 7), alux(Op::ADD64_X, 3, 4),
        movx(4, 3), alu(Op::RSH64_K, 4, 4), alux(Op::ADD64_X, 3, 4), alux(Op::AND64_X, 3, 8),
        alux(Op::MUL64_X, 3, 9), alu(Op::RSH64_K, 3, 56),
        alux(Op::ADD64_X, 0, 3),
        movx(5, 2), insn(Op::BE32, 5), alux(Op::XOR64_X, 2, 5), insn(Op::BSWAP16, 5), alux(Op::ADD64_X, 0, 5),
        alu(Op::MUL64_K, 2, 0x5bd1e995), alu(Op::ADD64_K, 2, 1),
        alu(Op::SUB64_K, 1, 1), jmp(Op::JNE64_K, 1, 0, -27),
        exit_insn(),
    });
}

// Ethernet / IPv4 / TCP header parse of the frame [r1, r2): returns 2 for a TCP SYN to port 80,
// 1 for other TCP/IPv4, 0 for anything else, the kind of decision a tc classifier makes.
inline isa::Program header_parse() {
    return program({
        movx(3, 1), alu(Op::ADD64_K, 3, 34), jmpx(Op::JGT64_X, 3, 2, 28),   // eth + minimal ip in bounds
        ldx(Op::LDX_H, 4, 1, 12), insn(Op::BE16, 4), jmp(Op::JNE64_K, 4, 0x0800, 25),  // IPv4 ethertype
        ldx(Op::LDX_B, 4, 1, 14), movx(5, 4), alu(Op::RSH64_K, 5, 4), jmp(Op::JNE64_K, 5, 4, 21),  // version
        alu(Op::AND64_K, 4, 0x0f), jmp(Op::JLT64_K, 4, 5, 19), alu(Op::LSH64_K, 4, 2),  // header length
        ldx(Op::LDX_B, 5, 1, 23), jmp(Op::JNE64_K, 5, 6, 16),                // protocol TCP
        movx(3, 1), alu(Op::ADD64_K, 3, 14), alux(Op::ADD64_X, 3, 4),         // TCP header
        movx(5, 3), alu(Op::ADD64_K, 5, 20), jmpx(Op::JGT64_X, 5, 2, 10),
        mov(0, 1),
        ldx(Op::LDX_H, 6, 3, 2), insn(Op::BE16, 6), jmp(Op::JNE64_K, 6, 80, 5),  // destination port
        ldx(Op::LDX_B, 7, 3, 13), alu(Op::AND64_K, 7, 0x12), jmp(Op::JNE64_K, 7, 0x02, 2),  // SYN without ACK
        mov(0, 2), exit_insn(),
        exit_insn(),  // other TCP (pc 30)
        // not ours (pc 31)
        mov(0, 0), exit_insn(),
    });
}

// A 54-byte Ethernet/IPv4/TCP SYN to port 80.
inline std::vector<uint8_t> syn_frame() {
    std::vector<uint8_t> f(54, 0);
    f[12] = 0x08; f[13] = 0x00;                  // IPv4
    f[14] = 0x45; f[23] = 6;                     // version 4, ihl 5, TCP
    f[34 + 2] = 0; f[34 + 3] = 80;               // dst port 80
    f[34 + 13] = 0x02;                           // SYN
    return f;
}

}  // namespace tcbpf::bench
