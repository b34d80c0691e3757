// The ISA's meaning of each ALU instruction on concrete values (isa.md), written independently of the
// abstract rules so property tests compare two separate descriptions. Little-endian host.
#pragma once

#include <cstdint>

#include "tcbpf/isa.h"

namespace tcbpf::verifier::test {

inline uint64_t execute_alu(isa::Op op, uint64_t dst, uint64_t src) {
    using isa::Op;
    uint32_t d32 = static_cast<uint32_t>(dst), s32 = static_cast<uint32_t>(src);
    int64_t sd = static_cast<int64_t>(dst), ss = static_cast<int64_t>(src);
    int32_t sd32 = static_cast<int32_t>(d32), ss32 = static_cast<int32_t>(s32);
    switch (op) {
        case Op::ADD64_K: case Op::ADD64_X: return dst + src;
        case Op::SUB64_K: case Op::SUB64_X: return dst - src;
        case Op::MUL64_K: case Op::MUL64_X: return dst * src;
        case Op::DIV64_K: case Op::DIV64_X: return src ? dst / src : 0;
        case Op::SDIV64_K: case Op::SDIV64_X:
            if (ss == 0) return 0;
            if (ss == -1) return 0 - dst;
            return static_cast<uint64_t>(sd / ss);
        case Op::MOD64_K: case Op::MOD64_X: return src ? dst % src : dst;
        case Op::SMOD64_K: case Op::SMOD64_X:
            if (ss == 0) return dst;
            if (ss == -1) return 0;
            return static_cast<uint64_t>(sd % ss);
        case Op::OR64_K: case Op::OR64_X: return dst | src;
        case Op::AND64_K: case Op::AND64_X: return dst & src;
        case Op::XOR64_K: case Op::XOR64_X: return dst ^ src;
        case Op::LSH64_K: case Op::LSH64_X: return dst << (src & 63);
        case Op::RSH64_K: case Op::RSH64_X: return dst >> (src & 63);
        case Op::ARSH64_K: case Op::ARSH64_X: return static_cast<uint64_t>(sd >> (src & 63));
        case Op::MOV64_K: case Op::MOV64_X: return src;
        case Op::NEG64: return 0 - dst;
        case Op::MOVSX64_S8: return static_cast<uint64_t>(static_cast<int8_t>(src));
        case Op::MOVSX64_S16: return static_cast<uint64_t>(static_cast<int16_t>(src));
        case Op::MOVSX64_S32: return static_cast<uint64_t>(static_cast<int32_t>(src));
        case Op::ADD32_K: case Op::ADD32_X: return uint32_t(d32 + s32);
        case Op::SUB32_K: case Op::SUB32_X: return uint32_t(d32 - s32);
        case Op::MUL32_K: case Op::MUL32_X: return uint32_t(d32 * s32);
        case Op::DIV32_K: case Op::DIV32_X: return s32 ? d32 / s32 : 0;
        case Op::SDIV32_K: case Op::SDIV32_X:
            if (ss32 == 0) return 0;
            if (ss32 == -1) return uint32_t(0 - d32);
            return static_cast<uint32_t>(sd32 / ss32);
        case Op::MOD32_K: case Op::MOD32_X: return s32 ? d32 % s32 : d32;
        case Op::SMOD32_K: case Op::SMOD32_X:
            if (ss32 == 0) return d32;
            if (ss32 == -1) return 0;
            return static_cast<uint32_t>(sd32 % ss32);
        case Op::OR32_K: case Op::OR32_X: return d32 | s32;
        case Op::AND32_K: case Op::AND32_X: return d32 & s32;
        case Op::XOR32_K: case Op::XOR32_X: return d32 ^ s32;
        case Op::LSH32_K: case Op::LSH32_X: return uint32_t(d32 << (s32 & 31));
        case Op::RSH32_K: case Op::RSH32_X: return d32 >> (s32 & 31);
        case Op::ARSH32_K: case Op::ARSH32_X: return static_cast<uint32_t>(sd32 >> (s32 & 31));
        case Op::MOV32_K: case Op::MOV32_X: return s32;
        case Op::NEG32: return uint32_t(0 - d32);
        case Op::MOVSX32_S8: return static_cast<uint32_t>(static_cast<int8_t>(src));
        case Op::MOVSX32_S16: return static_cast<uint32_t>(static_cast<int16_t>(src));
        case Op::LE16: return uint16_t(dst);
        case Op::LE32: return d32;
        case Op::LE64: return dst;
        case Op::BE16: case Op::BSWAP16: return __builtin_bswap16(uint16_t(dst));
        case Op::BE32: case Op::BSWAP32: return __builtin_bswap32(d32);
        case Op::BE64: case Op::BSWAP64: return __builtin_bswap64(dst);
        default: return 0;
    }
}

}  // namespace tcbpf::verifier::test
