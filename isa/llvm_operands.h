// Operands of the llvm-objdump / kernel-log syntax: registers (r/w), memory addresses `(rB + off)`,
// size casts `(u32 *)` and jump targets. Sizes are recognised through the table's load rows, so the
// list of sizes lives in opcodes.def only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "isa/asm_support.h"

namespace tcbpf::isa::asm_detail::llvm {

struct Reg {
    uint8_t num = 0;
    bool w = false;
    Pos pos;
    std::string name() const;
};

bool is_register_name(std::string_view word);
std::optional<Reg> try_register(Cursor& c);
Reg expect_register(Cursor& c);
Reg expect_reg64(Cursor& c, std::string_view role);
// The source register of a narrow memory form: llvm prints w, the kernel r; both mean the same bits.
Reg expect_narrow_or_64(Cursor& c, bool narrow, std::string_view role);
void expect_same_width(Cursor& c, const Reg& dst, const Reg& src);

struct Address {
    Reg base;
    int16_t off = 0;
};
// `rB + off`, `rB - off`, `rB +off` (verifier log), `rB`.
Address parse_address(Cursor& c);
Address parse_paren_address(Cursor& c);
// `(u32 *)` -> "u32".
std::string_view parse_size_cast(Cursor& c);
// 1, 2, 4, 8 for a size word ("u16" -> 2), 0 if unknown.
int mem_size_of_word(std::string_view size);

// The target of the instruction just emitted: `+3`, `-1`, `pc+3`, `0x10`, or a label; an llvm-objdump
// `<sym>` annotation after it is skipped.
void parse_target(Cursor& c, ProgramBuilder& b);

}  // namespace tcbpf::isa::asm_detail::llvm
