// The classic BPF opcodes Linux accepts for socket filters and tc (chk_code_allowed), one row each:
// the checker, the interpreter and the disassembler all read this table.
#pragma once

#include <cstdint>
#include <string_view>

namespace tcbpf::cbpf {

enum class Kind : uint8_t {
    Alu,      // A = A op (k | X)
    Neg,      // A = -A
    LdAbs,    // A = P[k:size]
    LdInd,    // A = P[X+k:size]
    LdLen,    // A = len
    LdImm,    // A = k
    LdMem,    // A = M[k]
    LdxLen,   // X = len
    LdxMsh,   // X = 4 * (P[k:1] & 0xf)
    LdxImm,   // X = k
    LdxMem,   // X = M[k]
    St,       // M[k] = A
    Stx,      // M[k] = X
    Tax,
    Txa,
    RetK,
    RetA,
    Ja,
    Jcond,
};

struct OpcodeRow {
    uint16_t code;
    Kind kind;
    std::string_view mnemonic;  // tcpdump -d spelling
};

inline constexpr OpcodeRow kOpcodes[] = {
    {0x04, Kind::Alu, "add"},   {0x0c, Kind::Alu, "add"},  {0x14, Kind::Alu, "sub"},  {0x1c, Kind::Alu, "sub"},
    {0x24, Kind::Alu, "mul"},   {0x2c, Kind::Alu, "mul"},  {0x34, Kind::Alu, "div"},  {0x3c, Kind::Alu, "div"},
    {0x94, Kind::Alu, "mod"},   {0x9c, Kind::Alu, "mod"},  {0x54, Kind::Alu, "and"},  {0x5c, Kind::Alu, "and"},
    {0x44, Kind::Alu, "or"},    {0x4c, Kind::Alu, "or"},   {0xa4, Kind::Alu, "xor"},  {0xac, Kind::Alu, "xor"},
    {0x64, Kind::Alu, "lsh"},   {0x6c, Kind::Alu, "lsh"},  {0x74, Kind::Alu, "rsh"},  {0x7c, Kind::Alu, "rsh"},
    {0x84, Kind::Neg, "neg"},
    {0x20, Kind::LdAbs, "ld"},  {0x28, Kind::LdAbs, "ldh"}, {0x30, Kind::LdAbs, "ldb"},
    {0x40, Kind::LdInd, "ld"},  {0x48, Kind::LdInd, "ldh"}, {0x50, Kind::LdInd, "ldb"},
    {0x80, Kind::LdLen, "ld"},  {0x00, Kind::LdImm, "ld"},  {0x60, Kind::LdMem, "ld"},
    {0x81, Kind::LdxLen, "ldx"}, {0xb1, Kind::LdxMsh, "ldxb"}, {0x01, Kind::LdxImm, "ldx"}, {0x61, Kind::LdxMem, "ldx"},
    {0x02, Kind::St, "st"},     {0x03, Kind::Stx, "stx"},
    {0x07, Kind::Tax, "tax"},   {0x87, Kind::Txa, "txa"},
    {0x06, Kind::RetK, "ret"},  {0x16, Kind::RetA, "ret"},
    {0x05, Kind::Ja, "ja"},
    {0x15, Kind::Jcond, "jeq"}, {0x1d, Kind::Jcond, "jeq"}, {0x25, Kind::Jcond, "jgt"}, {0x2d, Kind::Jcond, "jgt"},
    {0x35, Kind::Jcond, "jge"}, {0x3d, Kind::Jcond, "jge"}, {0x45, Kind::Jcond, "jset"}, {0x4d, Kind::Jcond, "jset"},
};

// The row for `code`, or nullptr if Linux does not allow it.
inline const OpcodeRow* find_opcode(uint16_t code) {
    for (const OpcodeRow& row : kOpcodes)
        if (row.code == code) return &row;
    return nullptr;
}

inline constexpr uint16_t kSrcX = 0x08;
inline constexpr uint16_t op_of(uint16_t code) { return code & 0xf0; }
inline constexpr uint32_t size_of_load(uint16_t code) {
    return (code & 0x18) == 0x00 ? 4 : (code & 0x18) == 0x08 ? 2 : 1;
}

}  // namespace tcbpf::cbpf
