#include "isa/llvm_operands.h"

#include <fmt/format.h>

namespace tcbpf::isa::asm_detail::llvm {

std::string Reg::name() const { return fmt::format("{}{}", w ? 'w' : 'r', num); }

bool is_register_name(std::string_view word) {
    if (word.size() < 2 || (word[0] != 'r' && word[0] != 'w')) return false;
    for (char ch : word.substr(1))
        if (ch < '0' || ch > '9') return false;
    return true;
}

std::optional<Reg> try_register(Cursor& c) {
    const size_t saved = c.offset();
    c.skip_space();
    const Pos pos = c.pos();
    const std::string_view word = c.identifier();
    if (!is_register_name(word)) {
        c.seek(saved);
        return std::nullopt;
    }
    if (word.size() > 3 || std::stoi(std::string(word.substr(1))) >= kNumRegs)
        c.fail_at(pos, fmt::format("invalid register '{}' (registers are r0..r10, w0..w10)", word));
    return Reg{static_cast<uint8_t>(std::stoi(std::string(word.substr(1)))), word[0] == 'w', pos};
}

Reg expect_register(Cursor& c) {
    if (auto r = try_register(c)) return *r;
    c.fail(fmt::format("expected register, found {}", c.found()));
}

Reg expect_reg64(Cursor& c, std::string_view role) {
    const Reg r = expect_register(c);
    if (r.w) c.fail_at(r.pos, fmt::format("{} must be a 64-bit register, found '{}'", role, r.name()));
    return r;
}

Reg expect_narrow_or_64(Cursor& c, bool narrow, std::string_view role) {
    const Reg r = expect_register(c);
    if (r.w && !narrow) c.fail_at(r.pos, fmt::format("{} of a 64-bit access must be an r register, found '{}'", role, r.name()));
    return r;
}

void expect_same_width(Cursor& c, const Reg& dst, const Reg& src) {
    if (dst.w != src.w)
        c.fail_at(src.pos, fmt::format("expected {} register to match '{}', found '{}'", dst.w ? "a w" : "an r", dst.name(), src.name()));
}

Address parse_address(Cursor& c) {
    Address a{expect_reg64(c, "memory base"), 0};
    const char sign = c.peek();
    if (sign != '+' && sign != '-') return a;
    c.advance();
    const Number magnitude = c.expect_number(false, "memory offset");
    Number n = magnitude;
    n.negative = sign == '-';
    a.off = to_off16(c, n, false);
    return a;
}

Address parse_paren_address(Cursor& c) {
    c.expect("(");
    const Address a = parse_address(c);
    c.expect(")");
    return a;
}

std::string_view parse_size_cast(Cursor& c) {
    c.expect("(");
    const Pos pos = c.pos();
    const std::string_view word = c.identifier();
    if (word.empty()) c.fail(fmt::format("expected a size such as u32, found {}", c.found()));
    c.expect("*");
    c.expect(")");
    if (!find_row([&](const OpInfo& r) { return r.shape == Shape::Ldx && r.text == word; }))
        c.fail_at(pos, fmt::format("unknown size '{}' (expected u8, u16, u32, u64, s8, s16 or s32)", word));
    return word;
}

int mem_size_of_word(std::string_view size) {
    const OpInfo* row = find_row([&](const OpInfo& r) { return r.shape == Shape::Ldx && r.text == size; });
    return row ? mem_size(row->op) : 0;
}

void parse_target(Cursor& c, ProgramBuilder& b) {
    c.skip_space();
    const Pos pos = c.pos();
    std::optional<Number> n = c.number(true);
    if (!n) {
        const std::string_view word = c.identifier();
        if (word.empty()) c.fail(fmt::format("expected a jump target (+N, -N, pc+N or a label), found {}", c.found()));
        if (word == "pc" && (c.peek_raw() == '+' || c.peek_raw() == '-')) {
            n = c.number(true);
            if (!n) c.fail(fmt::format("expected a distance after 'pc', found {}", c.found()));
        } else {
            b.target_label(word, pos);
        }
    }
    if (n) b.target_distance(to_signed(c, *n, INT32_MIN, INT32_MAX, "jump distance"), pos);
    if (c.peek() == '<') {
        const size_t close = c.rest().find('>');
        if (close == std::string_view::npos) c.fail("unterminated '<symbol>' annotation");
        c.advance(close + 1);
    }
}

}  // namespace tcbpf::isa::asm_detail::llvm
