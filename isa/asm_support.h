// What the two assemblers share: a cursor over one source line that knows its column, number parsing
// with the range rules both syntaxes use, and a ProgramBuilder that owns labels.
//
// The builder validates each instruction by encoding it and decoding it back with decode_insn, so an
// assembled Program is exactly what decode() would produce, and a field decode() rejects becomes an
// error at the line that wrote it. Labels may be used before they are defined; finish() patches every
// use and then checks all jump and call targets the way decode() does, reporting the target's column.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcbpf/isa.h"

namespace tcbpf::isa::asm_detail {

struct Pos {
    size_t line = 1;
    size_t col = 1;
};

[[noreturn]] void throw_at(std::string_view file, Pos pos, std::string_view message);

// A number as written: the sign and base matter for the range rules (hex is a bit pattern).
struct Number {
    bool negative = false;
    bool hex = false;
    uint64_t magnitude = 0;
    Pos pos;
};

class Cursor {
   public:
    Cursor(std::string_view file, size_t line_no, std::string_view line) : file_(file), line_no_(line_no), text_(line) {}

    Pos pos() const { return {line_no_, pos_ + 1}; }
    size_t offset() const { return pos_; }
    void seek(size_t offset) { pos_ = offset; }
    // Everything from `offset` on is ignored (comments).
    void truncate(size_t offset) { text_ = text_.substr(0, offset); }
    std::string_view rest() const { return text_.substr(pos_); }

    void skip_space();
    bool at_end();                          // after skipping whitespace
    char peek();                            // next non-space character, '\0' at the end
    char peek_raw() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    void advance(size_t n = 1) { pos_ += n; }
    bool accept(std::string_view literal);  // skips whitespace, then matches exactly
    void expect(std::string_view literal);  // like accept, or "expected 'X', found ..."
    bool accept_word(std::string_view word);  // a whole identifier equal to `word`
    std::string_view identifier();          // [A-Za-z_.][A-Za-z0-9_.]*, or empty
    std::optional<std::string_view> peek_identifier();
    // [+-]?(0x hex | decimal); the sign only when allow_sign. Nothing consumed if there is no number.
    std::optional<Number> number(bool allow_sign);
    Number expect_number(bool allow_sign, std::string_view what);
    void expect_end();

    std::string found();  // "'tok'" or "end of line", for messages
    [[noreturn]] void fail(std::string_view message) { throw_at(file_, pos(), message); }
    [[noreturn]] void fail_at(Pos at, std::string_view message) { throw_at(file_, at, message); }

   private:
    std::string_view file_;
    size_t line_no_;
    std::string_view text_;
    size_t pos_ = 0;
};

// Range rules shared by both syntaxes. Hex is a bit pattern of the field width; decimal is signed.
int32_t to_imm32(Cursor& c, const Number& n);
int16_t to_off16(Cursor& c, const Number& n, bool hex_is_bit_pattern);
uint64_t to_imm64(Cursor& c, const Number& n);
// An id, fd, index or offset: any 32-bit value, written signed, unsigned or hex.
uint32_t to_u32(Cursor& c, const Number& n);
// A signed distance (jumps, calls): the numeric value must fit [lo, hi].
int64_t to_signed(Cursor& c, const Number& n, int64_t lo, int64_t hi, std::string_view what);

// The table row satisfying `pred`, or nullptr. All mnemonics and operators are looked up this way.
template <typename Pred>
const OpInfo* find_row(Pred pred) {
    for (const OpInfo& row : all_ops())
        if (pred(row)) return &row;
    return nullptr;
}

// Splits text into lines (without '\n' or a trailing '\r'); calls fn(line_no, line).
template <typename Fn>
void for_each_line(std::string_view text, Fn fn) {
    size_t line_no = 1;
    while (true) {
        const size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        fn(line_no, line);
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
        ++line_no;
    }
}

class ProgramBuilder {
   public:
    explicit ProgramBuilder(std::string_view file) : file_(file) {}

    size_t pc() const { return prog_.insns.size(); }
    const Insn& last() const { return prog_.insns[last_pc_]; }
    // For instructions with a target: whether the distance lives in imm (else off).
    static bool distance_in_imm(Op op) { return op == Op::JA32 || op == Op::CALL_LOCAL || op == Op::LDDW; }

    void define_label(std::string_view name, Pos pos);
    // A label that applies only if the text never defines `name` itself (the suite's implicit `exit`).
    void define_fallback_label(std::string_view name);

    // Validates and appends; LDDW also appends its tail slot.
    void emit(const Insn& insn, Pos pos);
    // The jump/call field of the instruction just emitted takes the distance to `label`.
    void target_label(std::string_view label, Pos pos);
    // ... or a distance written as a number at `pos` (off for jumps, imm for gotol, calls and func loads).
    void target_distance(int64_t distance, Pos pos);
    // Where the numeric target of the instruction just emitted was written (for range errors).
    void target_written_at(Pos pos);

    // Resolves labels and checks every target; throws on an empty program.
    Program finish();

   private:
    struct Fixup {
        size_t pc;
        std::string label;
        Pos pos;
    };
    std::string_view file_;
    Program prog_;
    size_t last_pc_ = 0;
    std::vector<Pos> target_pos_;  // per slot: where its target (or the instruction) was written
    std::map<std::string, std::pair<size_t, Pos>, std::less<>> labels_;
    std::map<std::string, size_t, std::less<>> fallback_labels_;
    std::vector<Fixup> fixups_;
};

}  // namespace tcbpf::isa::asm_detail
