#include "isa/asm_support.h"

#include <cctype>
#include <limits>

#include <fmt/format.h>

namespace tcbpf::isa::asm_detail {
namespace {

bool is_ident_start(char ch) { return std::isalpha(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.'; }
bool is_ident_char(char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.'; }

int hex_digit(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

std::string written(const Number& n) {
    return n.hex ? fmt::format("{}0x{:x}", n.negative ? "-" : "", n.magnitude)
                 : fmt::format("{}{}", n.negative ? "-" : "", n.magnitude);
}

// Signed value of a number, or nullopt if it cannot be an int64.
std::optional<int64_t> signed_value(const Number& n) {
    constexpr uint64_t kMinMagnitude = uint64_t{1} << 63;
    if (n.negative) {
        if (n.magnitude > kMinMagnitude) return std::nullopt;
        return static_cast<int64_t>(0 - n.magnitude);
    }
    if (n.magnitude >= kMinMagnitude) return std::nullopt;
    return static_cast<int64_t>(n.magnitude);
}

}  // namespace

void throw_at(std::string_view file, Pos pos, std::string_view message) {
    throw Error(fmt::format("{}:{}:{}: {}", file, pos.line, pos.col, message));
}

void Cursor::skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
}

bool Cursor::at_end() {
    skip_space();
    return pos_ >= text_.size();
}

char Cursor::peek() {
    skip_space();
    return peek_raw();
}

bool Cursor::accept(std::string_view literal) {
    skip_space();
    if (rest().substr(0, literal.size()) != literal) return false;
    pos_ += literal.size();
    return true;
}

void Cursor::expect(std::string_view literal) {
    if (!accept(literal)) fail(fmt::format("expected '{}', found {}", literal, found()));
}

bool Cursor::accept_word(std::string_view word) {
    const size_t saved = pos_;
    if (identifier() == word) return true;
    pos_ = saved;
    return false;
}

std::string_view Cursor::identifier() {
    skip_space();
    if (pos_ >= text_.size() || !is_ident_start(text_[pos_])) return {};
    const size_t start = pos_;
    while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
}

std::optional<std::string_view> Cursor::peek_identifier() {
    const size_t saved = pos_;
    const std::string_view word = identifier();
    pos_ = saved;
    if (word.empty()) return std::nullopt;
    return word;
}

std::optional<Number> Cursor::number(bool allow_sign) {
    skip_space();
    const size_t start = pos_;
    Number n;
    n.pos = pos();
    if (allow_sign && (peek_raw() == '-' || peek_raw() == '+')) {
        n.negative = peek_raw() == '-';
        ++pos_;
    }
    if (!std::isdigit(static_cast<unsigned char>(peek_raw()))) {
        pos_ = start;
        return std::nullopt;
    }
    const bool hex = rest().size() >= 2 && text_[pos_] == '0' && (text_[pos_ + 1] == 'x' || text_[pos_ + 1] == 'X');
    n.hex = hex;
    const uint64_t base = hex ? 16 : 10;
    if (hex) pos_ += 2;
    const size_t digits_start = pos_;
    bool overflow = false;
    while (pos_ < text_.size()) {
        const int digit = hex ? hex_digit(text_[pos_]) : (std::isdigit(static_cast<unsigned char>(text_[pos_])) ? text_[pos_] - '0' : -1);
        if (digit < 0) break;
        if (n.magnitude > (std::numeric_limits<uint64_t>::max() - static_cast<uint64_t>(digit)) / base) overflow = true;
        n.magnitude = n.magnitude * base + static_cast<uint64_t>(digit);
        ++pos_;
    }
    if (pos_ == digits_start || (pos_ < text_.size() && is_ident_char(text_[pos_]))) {
        size_t end = pos_;
        while (end < text_.size() && is_ident_char(text_[end])) ++end;
        fail_at(n.pos, fmt::format("invalid number '{}'", text_.substr(start, end - start)));
    }
    if (overflow) fail_at(n.pos, fmt::format("number '{}' does not fit in 64 bits", text_.substr(start, pos_ - start)));
    return n;
}

Number Cursor::expect_number(bool allow_sign, std::string_view what) {
    const auto n = number(allow_sign);
    if (!n) fail(fmt::format("expected {}, found {}", what, found()));
    return *n;
}

void Cursor::expect_end() {
    if (!at_end()) fail(fmt::format("unexpected {} after the instruction", found()));
}

std::string Cursor::found() {
    skip_space();
    if (pos_ >= text_.size()) return "end of line";
    size_t end = pos_;
    if (is_ident_char(text_[end])) {
        while (end < text_.size() && is_ident_char(text_[end])) ++end;
    } else {
        while (end < text_.size() && end - pos_ < 16 && text_[end] != ' ' && text_[end] != '\t') ++end;
    }
    return fmt::format("'{}'", text_.substr(pos_, end - pos_));
}

int32_t to_imm32(Cursor& c, const Number& n) {
    if (n.hex && !n.negative) {
        if (n.magnitude > std::numeric_limits<uint32_t>::max())
            c.fail_at(n.pos, fmt::format("immediate {} does not fit in 32 bits", written(n)));
        return static_cast<int32_t>(static_cast<uint32_t>(n.magnitude));
    }
    const auto v = signed_value(n);
    if (!v || *v < std::numeric_limits<int32_t>::min() || *v > std::numeric_limits<int32_t>::max())
        c.fail_at(n.pos, fmt::format("immediate {} out of range (-2147483648..2147483647, or hex up to 0xffffffff)", written(n)));
    return static_cast<int32_t>(*v);
}

int16_t to_off16(Cursor& c, const Number& n, bool hex_is_bit_pattern) {
    if (hex_is_bit_pattern && n.hex && !n.negative) {
        if (n.magnitude > std::numeric_limits<uint16_t>::max())
            c.fail_at(n.pos, fmt::format("offset {} does not fit in 16 bits", written(n)));
        return static_cast<int16_t>(static_cast<uint16_t>(n.magnitude));
    }
    return static_cast<int16_t>(to_signed(c, n, std::numeric_limits<int16_t>::min(), std::numeric_limits<int16_t>::max(), "offset"));
}

uint64_t to_imm64(Cursor& c, const Number& n) {
    if (!n.negative) return n.magnitude;  // hex bit pattern, or unsigned decimal up to 2^64-1
    const auto v = signed_value(n);
    if (!v) c.fail_at(n.pos, fmt::format("immediate {} out of range for a 64-bit value", written(n)));
    return static_cast<uint64_t>(*v);
}

uint32_t to_u32(Cursor& c, const Number& n) {
    if (!n.negative && n.magnitude <= std::numeric_limits<uint32_t>::max()) return static_cast<uint32_t>(n.magnitude);
    return static_cast<uint32_t>(to_imm32(c, n));
}

int64_t to_signed(Cursor& c, const Number& n, int64_t lo, int64_t hi, std::string_view what) {
    const auto v = signed_value(n);
    if (!v || *v < lo || *v > hi) c.fail_at(n.pos, fmt::format("{} {} out of range ({}..{})", what, written(n), lo, hi));
    return *v;
}

void ProgramBuilder::define_label(std::string_view name, Pos pos) {
    const auto [it, inserted] = labels_.try_emplace(std::string(name), pc(), pos);
    if (!inserted)
        throw_at(file_, pos, fmt::format("duplicate label '{}' (first defined at line {})", name, it->second.second.line));
}

void ProgramBuilder::define_fallback_label(std::string_view name) { fallback_labels_.try_emplace(std::string(name), pc()); }

void ProgramBuilder::emit(const Insn& insn, Pos pos) {
    std::vector<RawInsn> raw;
    encode_insn(insn, raw);
    Insn canonical;
    try {
        canonical = decode_insn(raw[0], raw.size() > 1 ? &raw[1] : nullptr, pc());
    } catch (const Error& e) {
        // decode_insn says "pc N: why"; the line and column say where better.
        std::string_view why = e.what();
        if (const size_t colon = why.find(": "); why.substr(0, 3) == "pc " && colon != std::string_view::npos)
            why.remove_prefix(colon + 2);
        throw_at(file_, pos, why);
    }
    last_pc_ = pc();
    prog_.insns.push_back(canonical);
    target_pos_.push_back(pos);
    if (raw.size() > 1) {
        Insn tail;
        tail.op = Op::LDDW_TAIL;
        tail.imm = raw[1].imm;
        prog_.insns.push_back(tail);
        target_pos_.push_back(pos);
    }
}

void ProgramBuilder::target_label(std::string_view label, Pos pos) {
    fixups_.push_back({last_pc_, std::string(label), pos});
    target_written_at(pos);
}

void ProgramBuilder::target_written_at(Pos pos) { target_pos_[last_pc_] = pos; }

void ProgramBuilder::target_distance(int64_t distance, Pos pos) {
    Insn& insn = prog_.insns[last_pc_];
    if (distance_in_imm(insn.op)) {
        if (distance < std::numeric_limits<int32_t>::min() || distance > std::numeric_limits<int32_t>::max())
            throw_at(file_, pos, fmt::format("jump distance {} out of range (-2147483648..2147483647)", distance));
        insn.imm = static_cast<int32_t>(distance);
        if (insn.op == Op::LDDW) insn.imm64 = (insn.imm64 & 0xffffffff00000000ull) | static_cast<uint32_t>(insn.imm);
    } else {
        if (distance < std::numeric_limits<int16_t>::min() || distance > std::numeric_limits<int16_t>::max())
            throw_at(file_, pos, fmt::format("jump distance {} out of range (-32768..32767)", distance));
        insn.off = static_cast<int16_t>(distance);
    }
    target_written_at(pos);
}

Program ProgramBuilder::finish() {
    if (prog_.insns.empty()) throw_at(file_, {1, 1}, "empty program: expected at least one instruction");
    const auto size = static_cast<int64_t>(prog_.size());
    for (const Fixup& fix : fixups_) {
        int64_t target = 0;
        if (const auto it = labels_.find(fix.label); it != labels_.end()) {
            target = static_cast<int64_t>(it->second.first);
        } else if (const auto fb = fallback_labels_.find(fix.label); fb != fallback_labels_.end()) {
            target = static_cast<int64_t>(fb->second);
        } else {
            throw_at(file_, fix.pos, fmt::format("undefined label '{}'", fix.label));
        }
        Insn& insn = prog_.insns[fix.pc];
        const int64_t distance = target - static_cast<int64_t>(fix.pc) - 1;
        if (distance_in_imm(insn.op)) {
            if (distance < std::numeric_limits<int32_t>::min() || distance > std::numeric_limits<int32_t>::max())
                throw_at(file_, fix.pos, fmt::format("label '{}' is {} instructions away, beyond a 32-bit distance", fix.label, distance));
            insn.imm = static_cast<int32_t>(distance);
            if (insn.op == Op::LDDW) insn.imm64 = (insn.imm64 & 0xffffffff00000000ull) | static_cast<uint32_t>(insn.imm);
        } else {
            if (distance < std::numeric_limits<int16_t>::min() || distance > std::numeric_limits<int16_t>::max())
                throw_at(file_, fix.pos,
                        fmt::format("jump target out of range: label '{}' is {} instructions away, beyond a 16-bit offset "
                                    "(-32768..32767; use gotol for long unconditional jumps)",
                                    fix.label, distance));
            insn.off = static_cast<int16_t>(distance);
        }
    }
    for (size_t pc = 0; pc < prog_.size(); ++pc) {
        const Insn& insn = prog_.insns[pc];
        const bool has_target = is_jump(insn.op) || insn.op == Op::CALL_LOCAL ||
                                (insn.op == Op::LDDW && insn.src == static_cast<uint8_t>(Pseudo::Func));
        if (!has_target) continue;
        const int64_t target = branch_target(insn, pc);
        if (target < 0 || target >= size)
            throw_at(file_, target_pos_[pc],
                    fmt::format("jump target out of range: pc {} is outside the program (0..{})", target, size - 1));
        if (prog_.insns[static_cast<size_t>(target)].op == Op::LDDW_TAIL)
            throw_at(file_, target_pos_[pc],
                    fmt::format("jump target pc {} is the second slot of a 64-bit immediate load", target));
    }
    return std::move(prog_);
}

}  // namespace tcbpf::isa::asm_detail
