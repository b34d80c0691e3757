// The llvm-objdump / kernel-verifier-log assembler (syntax summary in tcbpf/asm.h).
//
// Each line is read by recursive descent with a column-aware cursor: first the tool prefixes and labels
// are peeled off, then the statement is recognised by its first word (`if`, `goto`, `call`, `lock`,
// `exit`, a store's `*(`, or a destination register). Which instruction a statement means is never
// listed here: the parser collects the shape and the operator/word it read and asks the table for the
// row with that TEXT, shape and width.
#include <fmt/format.h>

#include <cctype>
#include <optional>
#include <string>

#include "isa/asm_support.h"
#include "isa/llvm_operands.h"
#include "tcbpf/asm.h"

namespace tcbpf::isa {
namespace {

using asm_detail::Cursor;
using asm_detail::find_row;
using asm_detail::Number;
using asm_detail::Pos;
using asm_detail::ProgramBuilder;
using namespace asm_detail::llvm;

// What the line prefix of a tool told us about the instruction.
struct Prefix {
    std::optional<uint8_t> kernel_opcode;  // verifier log `3: (85) ...`
    bool objdump_local_call = false;       // llvm-objdump bytes of a call with src 1 (printed `call -1`)
};

class LlvmAssembler {
   public:
    explicit LlvmAssembler(std::string_view file) : file_(file), b_(file) {}

    void line(size_t line_no, std::string_view text) {
        // llvm-objdump's header lines carry no instruction.
        if (text.starts_with("Disassembly of section ") || text.find(":\tfile format ") != std::string_view::npos) return;
        Cursor c(file_, line_no, text);
        strip_comment(c, text);
        const Prefix prefix = strip_prefix(c);
        while (auto word = c.peek_identifier()) {
            const size_t saved = c.offset();
            c.skip_space();
            const Pos pos = c.pos();
            c.identifier();
            if (c.peek_raw() != ':') {
                c.seek(saved);
                break;
            }
            c.advance();
            b_.define_label(*word, pos);
        }
        if (c.at_end()) {
            if (prefix.kernel_opcode) c.fail("expected an instruction after the opcode prefix");
            return;
        }
        c.skip_space();
        const Pos start = c.pos();
        const size_t pc = b_.pc();
        statement(c, prefix, start);
        c.expect_end();
        if (prefix.kernel_opcode && b_.pc() > pc && info(b_.last().op).opcode != *prefix.kernel_opcode)
            c.fail_at(start, fmt::format("the line says opcode ({:02x}) but the instruction is opcode ({:02x})",
                                         *prefix.kernel_opcode, info(b_.last().op).opcode));
    }

    Program finish() { return b_.finish(); }

   private:
    static void strip_comment(Cursor& c, std::string_view text) {
        for (size_t i = 0; i < text.size(); ++i) {
            const char ch = text[i];
            const bool hash_comment = ch == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t');
            if (ch == ';' || hash_comment || (ch == '/' && i + 1 < text.size() && text[i + 1] == '/')) {
                c.truncate(i);
                return;
            }
        }
    }

    // `12: `, `   3:\t85 00 00 00 01 00 00 00\t`, `3: (85) `, and `0000000000000000 <name>:`.
    Prefix strip_prefix(Cursor& c) {
        Prefix prefix;
        c.skip_space();
        const std::string_view rest = c.rest();
        size_t digits = 0;
        while (digits < rest.size() && std::isxdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
        if (digits > 0 && digits < rest.size() && rest[digits] == ' ' && rest.substr(digits + 1).starts_with("<")) {
            const size_t close = rest.find(">:", digits);
            if (close == std::string_view::npos || close == digits + 2) return prefix;
            c.advance(digits + 1);
            const Pos pos = c.pos();
            const std::string_view name = rest.substr(digits + 2, close - digits - 2);
            c.advance(close + 2 - digits - 1);
            b_.define_label(name, pos);
            return prefix;
        }
        digits = 0;
        while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
        if (digits == 0 || digits >= rest.size() || rest[digits] != ':') return prefix;
        c.advance(digits + 1);
        c.skip_space();
        std::string_view after = c.rest();
        // The verifier's "Live regs before insn:" listing puts one column per register r0..r9 before
        // the opcode: `5: ..2....78. (18) r1 = ...`.
        const size_t live_end = after.find_first_not_of(".0123456789");
        if (live_end == static_cast<size_t>(kNumRegs - 1)) {
            const size_t next = after.find_first_not_of(" \t", live_end);
            if (next != std::string_view::npos && next > live_end && after[next] == '(') {
                c.advance(next);
                after = c.rest();
            }
        }
        if (after.size() >= 4 && after[0] == '(' && after[3] == ')' && std::isxdigit(static_cast<unsigned char>(after[1])) &&
            std::isxdigit(static_cast<unsigned char>(after[2]))) {
            prefix.kernel_opcode = static_cast<uint8_t>(std::stoi(std::string(after.substr(1, 2)), nullptr, 16));
            c.advance(4);
            return prefix;
        }
        // llvm-objdump raw bytes: 8 or 16 two-digit hex pairs separated by single spaces.
        size_t pairs = 0, i = 0;
        uint8_t first_bytes[2] = {0, 0};
        while (i + 2 <= after.size() && std::isxdigit(static_cast<unsigned char>(after[i])) &&
               std::isxdigit(static_cast<unsigned char>(after[i + 1])) &&
               (i + 2 == after.size() || after[i + 2] == ' ' || after[i + 2] == '\t')) {
            if (pairs < 2) first_bytes[pairs] = static_cast<uint8_t>(std::stoi(std::string(after.substr(i, 2)), nullptr, 16));
            ++pairs;
            i += 3;
            if (i > after.size() || after[i - 1] == '\t') break;
        }
        if (pairs == 8 || pairs == 16) {
            c.advance(std::min(i, after.size()));
            prefix.objdump_local_call = first_bytes[0] == info(Op::CALL_LOCAL).opcode && (first_bytes[1] >> 4) == 1;
        }
        return prefix;
    }

    void emit(Insn insn, Pos pos) { b_.emit(insn, pos); }

    void statement(Cursor& c, const Prefix& prefix, Pos start) {
        if (c.peek() == '*') return store(c, start);
        const std::string_view word = c.identifier();
        if (word.empty()) c.fail(fmt::format("expected an instruction, found {}", c.found()));
        if (is_register_name(word)) {
            c.seek(c.offset() - word.size());
            return assignment(c, prefix, start);
        }
        if (word == info(Op::EXIT).text) return emit(Insn{.op = Op::EXIT}, start);
        if (word == info(Op::JA).text || word == info(Op::JA32).text) {
            emit(Insn{.op = word == info(Op::JA32).text ? Op::JA32 : Op::JA}, start);
            return parse_target(c, b_);
        }
        if (word == "if") return conditional(c, start);
        if (word == info(Op::CALLX).text) return emit(Insn{.op = Op::CALLX, .dst = expect_reg64(c, "callx target").num}, start);
        if (word == info(Op::CALL_HELPER).text) return call(c, prefix, start);
        if (word == "lock") return lock(c, start);
        c.fail_at(start, fmt::format("unknown instruction '{}'", word));
    }

    void call(Cursor& c, const Prefix& prefix, Pos start) {
        if (auto n = c.number(true)) {
            const int32_t imm = asm_detail::to_imm32(c, *n);
            return emit(Insn{.op = prefix.objdump_local_call ? Op::CALL_LOCAL : Op::CALL_HELPER, .imm = imm}, start);
        }
        const std::string_view word = c.identifier();
        if (word.empty()) c.fail(fmt::format("expected a helper number, pc+N or a label after 'call', found {}", c.found()));
        if (c.peek_raw() == '#') {  // verifier log: `call bpf_map_lookup_elem#1`
            c.advance();
            const Number n = c.expect_number(true, "helper number after '#'");
            return emit(Insn{.op = Op::CALL_HELPER, .imm = asm_detail::to_imm32(c, n)}, start);
        }
        c.seek(c.offset() - word.size());
        emit(Insn{.op = Op::CALL_LOCAL}, start);
        parse_target(c, b_);
        // bpftool names the callee after the distance: `call pc+5#bpf_prog_e0952f3ef8ab7df9_sub`.
        if (c.peek_raw() == '#') {
            c.advance();
            c.identifier();
        }
    }

    // `if r1 s> r2 goto +3`, `if w1 & 4 goto +1`, `if r1 != 0xffffffff goto pc+2`.
    void conditional(Cursor& c, Pos start) {
        const Reg dst = expect_register(c);
        c.skip_space();
        const Pos op_pos = c.pos();
        std::string op;
        if (c.peek_raw() == 's' && (c.rest().substr(1, 1) == "<" || c.rest().substr(1, 1) == ">")) {
            op += 's';
            c.advance();
        }
        while (c.peek_raw() != '\0' && std::string_view("=!<>&").find(c.peek_raw()) != std::string_view::npos) {
            op += c.peek_raw();
            c.advance();
        }
        if (!find_row([&](const OpInfo& r) { return r.shape == Shape::JccK && r.text == op; }))
            c.fail_at(op_pos, fmt::format("expected a comparison (== != > >= < <= s> s>= s< s<= &), found {}",
                                          op.empty() ? c.found() : "'" + op + "'"));
        Insn insn{.dst = dst.num};
        Shape shape = Shape::JccK;
        if (auto src = try_register(c)) {
            expect_same_width(c, dst, *src);
            shape = Shape::JccX;
            insn.src = src->num;
        } else {
            insn.imm = asm_detail::to_imm32(c, c.expect_number(true, "register or immediate to compare with"));
        }
        insn.op = find_row([&](const OpInfo& r) { return r.shape == shape && r.text == op && is_32bit(r.op) == dst.w; })->op;
        if (!c.accept_word("goto")) c.fail(fmt::format("expected 'goto', found {}", c.found()));
        emit(insn, start);
        parse_target(c, b_);
    }

    // `*(u32 *)(r10 - 8) = 5` (ST) or `= r1` / `= w1` (STX).
    void store(Cursor& c, Pos start) {
        c.expect("*");
        const std::string_view size = parse_size_cast(c);
        const Address a = parse_paren_address(c);
        c.expect("=");
        if (auto src = try_register(c)) {
            const OpInfo* row = find_row([&](const OpInfo& r) { return r.shape == Shape::Stx && r.text == size; });
            if (!row) c.fail_at(start, fmt::format("no store of size {}", size));
            if (src->w && mem_size(row->op) > 4) c.fail_at(src->pos, fmt::format("a u64 store needs an r register, found '{}'", src->name()));
            return emit(Insn{.op = row->op, .dst = a.base.num, .src = src->num, .off = a.off}, start);
        }
        const Number n = c.expect_number(true, "register or immediate to store");
        const OpInfo* row = find_row([&](const OpInfo& r) { return r.shape == Shape::St && r.text == size; });
        if (!row) c.fail_at(start, fmt::format("no store of size {}", size));
        emit(Insn{.op = row->op, .dst = a.base.num, .off = a.off, .imm = asm_detail::to_imm32(c, n)}, start);
    }

    // `lock *(u64 *)(r1 + 0) += r2`: the operator is that of the ALU64 X row named like the atomic op.
    void lock(Cursor& c, Pos start) {
        c.expect("*");
        const std::string_view size = parse_size_cast(c);
        const Address a = parse_paren_address(c);
        c.skip_space();
        const Pos op_pos = c.pos();
        std::string op;
        while (c.peek_raw() != '\0' && std::string_view("+-*/%|&<>^=").find(c.peek_raw()) != std::string_view::npos) {
            op += c.peek_raw();
            c.advance();
        }
        const int width = mem_size_of_word(size);
        const OpInfo* row = find_row([&](const OpInfo& r) {
            if (r.shape != Shape::Atomic || mem_size(r.op) != width) return false;
            const OpInfo* alu = find_row([&](const OpInfo& x) { return x.shape == Shape::AluX && x.conformance == r.text; });
            return alu != nullptr && alu->text == op;
        });
        if (!row) {
            if (!find_row([&](const OpInfo& r) { return r.shape == Shape::Atomic && mem_size(r.op) == width; }))
                c.fail_at(start, fmt::format("no atomic operation on {} (atomics are u32 or u64)", size));
            c.fail_at(op_pos, fmt::format("expected an atomic operator (+= |= &= ^=), found '{}'", op));
        }
        const Reg src = expect_narrow_or_64(c, width <= 4, "atomic operand");
        emit(Insn{.op = row->op, .dst = a.base.num, .src = src.num, .off = a.off}, start);
    }

    std::string assignment_operator(Cursor& c) {
        c.skip_space();
        const Pos pos = c.pos();
        std::string op;
        if (c.peek_raw() == 's' && c.rest().size() > 1 && std::string_view("/%>").find(c.rest()[1]) != std::string_view::npos) {
            op += 's';
            c.advance();
        }
        while (op.size() < 5) {
            const char ch = c.peek_raw();
            if (ch == '\0' || std::string_view("+-*/%|&<>^=").find(ch) == std::string_view::npos) break;
            op += ch;
            c.advance();
            if (ch == '=') return op;
        }
        c.fail_at(pos, fmt::format("expected an assignment operator (= += -= ...), found {}", op.empty() ? c.found() : "'" + op + "'"));
    }

    void assignment(Cursor& c, const Prefix& prefix, Pos start) {
        const Reg dst = expect_register(c);
        c.skip_space();
        const Pos op_pos = c.pos();
        const std::string op = assignment_operator(c);
        if (op != "=") return compound(c, dst, op, op_pos, start);
        const char next = c.peek();
        if (next == '*') return load(c, dst, start);
        if (next == '(') return sign_extending_move(c, dst, start);
        if (next == '-') {
            const size_t saved = c.offset();
            c.advance();
            if (auto r = try_register(c)) {
                if (r->num != dst.num || r->w != dst.w)
                    c.fail_at(r->pos, fmt::format("negation works in place: expected '-{}', found '-{}'", dst.name(), r->name()));
                return emit(Insn{.op = find_row([&](const OpInfo& row) { return row.shape == Shape::Neg && is_32bit(row.op) == dst.w; })->op,
                                 .dst = dst.num},
                            start);
            }
            c.seek(saved);
        }
        if (auto n = c.number(true)) return constant(c, dst, *n, prefix, start);
        if (auto src = try_register(c)) return compound(c, dst, "=", op_pos, start, src);
        const Pos word_pos = c.pos();
        const std::string_view word = c.identifier();
        if (word.empty()) c.fail(fmt::format("expected a value, register or expression, found {}", c.found()));
        if (const OpInfo* end = find_row([&](const OpInfo& r) { return r.shape == Shape::End && r.text == word; })) {
            if (dst.w) c.fail_at(dst.pos, fmt::format("byte swaps write a 64-bit register, found '{}'", dst.name()));
            const Reg again = expect_register(c);
            if (again.num != dst.num || again.w)
                c.fail_at(again.pos, fmt::format("byte swaps work in place: expected '{} {}', found '{}'", word, dst.name(), again.name()));
            return emit(Insn{.op = end->op, .dst = dst.num}, start);
        }
        if (word == "map" || word == "btf_id" || word == "func") return pseudo_load(c, dst, word, start);
        return atomic_call(c, dst, word, word_pos, start);
    }

    // `r1 += r2`, `w1 s%= 3`, and `r1 = r2` (src already read).
    void compound(Cursor& c, const Reg& dst, const std::string& op, Pos op_pos, Pos start, std::optional<Reg> src = std::nullopt) {
        if (!find_row([&](const OpInfo& r) { return r.shape == Shape::AluK && r.text == op; }))
            c.fail_at(op_pos, fmt::format("unknown operator '{}'", op));
        if (!src) src = try_register(c);
        if (src) {
            expect_same_width(c, dst, *src);
            const OpInfo* row = find_row([&](const OpInfo& r) { return r.shape == Shape::AluX && r.text == op && is_32bit(r.op) == dst.w; });
            return emit(Insn{.op = row->op, .dst = dst.num, .src = src->num}, start);
        }
        const Number n = c.expect_number(true, "register or immediate");
        const OpInfo* row = find_row([&](const OpInfo& r) { return r.shape == Shape::AluK && r.text == op && is_32bit(r.op) == dst.w; });
        emit(Insn{.op = row->op, .dst = dst.num, .imm = asm_detail::to_imm32(c, n)}, start);
    }

    // `r1 = 5` (MOV K), `r1 = 0x1234 ll` (LDDW), or a verifier-log `(18) r1 = 0x1234`.
    void constant(Cursor& c, const Reg& dst, const Number& n, const Prefix& prefix, Pos start) {
        const bool wide = c.accept_word("ll") || prefix.kernel_opcode == info(Op::LDDW).opcode;
        if (!wide) return compound_constant(c, dst, n, start);
        if (dst.w) c.fail_at(dst.pos, fmt::format("a 64-bit immediate load needs an r register, found '{}'", dst.name()));
        const uint64_t value = asm_detail::to_imm64(c, n);
        emit(Insn{.op = Op::LDDW, .dst = dst.num, .imm = static_cast<int32_t>(static_cast<uint32_t>(value)), .imm64 = value}, start);
    }

    void compound_constant(Cursor& c, const Reg& dst, const Number& n, Pos start) {
        const OpInfo* row = find_row([&](const OpInfo& r) { return r.shape == Shape::AluK && r.text == "=" && is_32bit(r.op) == dst.w; });
        emit(Insn{.op = row->op, .dst = dst.num, .imm = asm_detail::to_imm32(c, n)}, start);
    }

    // `map[fd:5]`, `map[fd:5][0]+8`, `map[idx:0]`, `map[idx:0][0]+8`, `btf_id[7]`, `func[pc+3]`, `func[label]`.
    void pseudo_load(Cursor& c, const Reg& dst, std::string_view word, Pos start) {
        if (dst.w) c.fail_at(dst.pos, fmt::format("a 64-bit immediate load needs an r register, found '{}'", dst.name()));
        c.expect("[");
        Pseudo kind = Pseudo::BtfId;
        uint32_t imm = 0, next_imm = 0;
        bool func_label = false;
        std::string label;
        Pos label_pos;
        if (word == "map") {
            c.skip_space();
            const Pos key_pos = c.pos();
            const std::string found = c.found();
            const std::string_view key = c.identifier();
            if (key != "fd" && key != "idx") c.fail_at(key_pos, fmt::format("expected 'fd:' or 'idx:' in map[...], found {}", found));
            c.expect(":");
            imm = asm_detail::to_u32(c, c.expect_number(true, "map fd or index"));
            c.expect("]");
            const bool value = c.accept("[");
            if (value) {
                const Number zero = c.expect_number(false, "0 (map value index)");
                if (zero.magnitude != 0) c.fail_at(zero.pos, "only map value [0] can be addressed");
                c.expect("]");
                c.expect("+");
                next_imm = asm_detail::to_u32(c, c.expect_number(false, "value offset"));
            }
            kind = key == "fd" ? (value ? Pseudo::MapValue : Pseudo::MapFd) : (value ? Pseudo::MapIdxValue : Pseudo::MapIdx);
        } else if (word == "btf_id") {
            imm = asm_detail::to_u32(c, c.expect_number(true, "BTF id"));
            c.expect("]");
        } else {
            kind = Pseudo::Func;
            c.skip_space();
            label_pos = c.pos();
            const std::string_view name = c.identifier();
            if (name == "pc" && (c.peek_raw() == '+' || c.peek_raw() == '-')) {
                imm = static_cast<uint32_t>(asm_detail::to_signed(c, c.expect_number(true, "distance"), INT32_MIN, INT32_MAX, "function distance"));
            } else if (!name.empty()) {
                func_label = true;
                label = name;
            } else {
                c.fail(fmt::format("expected pc+N or a label in func[...], found {}", c.found()));
            }
            c.expect("]");
        }
        c.accept_word("ll");
        if (kind != Pseudo::MapValue && kind != Pseudo::MapIdxValue && c.accept_word("next_imm"))
            next_imm = asm_detail::to_u32(c, c.expect_number(true, "next_imm value"));
        const uint64_t value = imm | (static_cast<uint64_t>(next_imm) << 32);
        emit(Insn{.op = Op::LDDW, .dst = dst.num, .src = static_cast<uint8_t>(kind), .imm = static_cast<int32_t>(imm), .imm64 = value}, start);
        if (func_label)
            b_.target_label(label, label_pos);
        else if (kind == Pseudo::Func)
            b_.target_written_at(label_pos);
    }

    // `r0 = *(u32 *)(r1 + 4)` (LDX), `r0 = *(u16 *)skb[12]` / `skb[r1 + 4]` (legacy packet loads).
    void load(Cursor& c, const Reg& dst, Pos start) {
        c.expect("*");
        const std::string_view size = parse_size_cast(c);
        if (c.accept_word(info(Op::LD_ABS_W).text)) return packet_load(c, dst, size, start);
        const Address a = parse_paren_address(c);
        const OpInfo* row = find_row([&](const OpInfo& r) { return r.shape == Shape::Ldx && r.text == size; });
        const bool zero_extending = size.front() == 'u';
        if (dst.w && (!zero_extending || mem_size(row->op) > 4))
            c.fail_at(dst.pos, fmt::format("{} loads write a 64-bit register (rN), found '{}'", size, dst.name()));
        emit(Insn{.op = row->op, .dst = dst.num, .src = a.base.num, .off = a.off}, start);
    }

    void packet_load(Cursor& c, const Reg& dst, std::string_view size, Pos start) {
        if (dst.num != 0 || dst.w) c.fail_at(dst.pos, fmt::format("legacy packet loads write r0, found '{}'", dst.name()));
        const int width = mem_size_of_word(size);
        c.expect("[");
        Shape shape = Shape::LdAbs;
        Insn insn;
        if (auto index = try_register(c)) {
            if (index->w) c.fail_at(index->pos, fmt::format("packet index must be an r register, found '{}'", index->name()));
            shape = Shape::LdInd;
            insn.src = index->num;
            const char sign = c.peek();
            if (sign == '+' || sign == '-') {
                c.advance();
                Number n = c.expect_number(sign == '+', "packet offset");
                if (sign == '-') n.negative = !n.negative;
                insn.imm = asm_detail::to_imm32(c, n);
            }
        } else {
            insn.imm = asm_detail::to_imm32(c, c.expect_number(true, "packet offset or index register"));
        }
        c.expect("]");
        const OpInfo* row = find_row([&](const OpInfo& r) { return r.shape == shape && mem_size(r.op) == width && size.front() == 'u'; });
        if (!row) c.fail_at(start, fmt::format("no legacy packet load of size {} (u8, u16 or u32)", size));
        insn.op = row->op;
        emit(insn, start);
    }

    // `r1 = (s8)r2`, `w1 = (s16)w2`.
    void sign_extending_move(Cursor& c, const Reg& dst, Pos start) {
        c.expect("(");
        c.skip_space();
        const Pos pos = c.pos();
        const std::string found = c.found();
        const std::string_view word = c.identifier();
        if (!find_row([&](const OpInfo& r) { return r.shape == Shape::MovSx && r.text == word; }))
            c.fail_at(pos, fmt::format("expected a sign-extending cast like (s8), found {}", found));
        c.expect(")");
        const Reg src = expect_register(c);
        expect_same_width(c, dst, src);
        const OpInfo* row = find_row([&](const OpInfo& r) { return r.shape == Shape::MovSx && r.text == word && is_32bit(r.op) == dst.w; });
        if (!row) c.fail_at(pos, fmt::format("no sign-extending move from '{}' to a {}-bit register", word, dst.w ? 32 : 64));
        emit(Insn{.op = row->op, .dst = dst.num, .src = src.num}, start);
    }

    // Fetching atomics, in llvm (`atomic_fetch_add`, `xchg_64`, `cmpxchg32_32`) and kernel
    // (`atomic64_fetch_add`, `atomic_xchg`, `atomic64_cmpxchg`) spelling. The table TEXT is the part
    // after the `atomic_` / `atomic64_` prefix or before the `_64` / `32_32` suffix.
    void atomic_call(Cursor& c, const Reg& dst, std::string_view word, Pos word_pos, Pos start) {
        std::string_view name = word;
        int width = 0;             // 0: given by the (uN *) cast
        bool cast = true;          // kernel/atomic_* forms carry a cast; xchg_64 etc. do not
        if (name.starts_with("atomic64_")) {
            name.remove_prefix(9);
            width = 8;
        } else if (name.starts_with("atomic_")) {
            name.remove_prefix(7);
        } else if (name.ends_with("32_32")) {
            name.remove_suffix(5);
            width = 4;
            cast = false;
        } else if (name.ends_with("_64")) {
            name.remove_suffix(3);
            width = 8;
            cast = false;
        } else {
            c.fail_at(word_pos, fmt::format("unknown expression '{}'", word));
        }
        const OpInfo* any = find_row([&](const OpInfo& r) { return r.shape == Shape::Atomic && r.text == name && (r.match_value & 1) != 0; });
        if (!any) c.fail_at(word_pos, fmt::format("unknown atomic operation '{}'", word));
        c.expect("(");
        Address a;
        if (cast) {
            c.skip_space();
            const Pos size_pos = c.pos();
            const std::string_view size = parse_size_cast(c);
            const int size_width = mem_size_of_word(size);
            if ((size_width != 4 && size_width != 8) || size.front() != 'u' || (width != 0 && size_width != width))
                c.fail_at(size_pos, fmt::format("'{}' does not work on {}", word, size));
            width = size_width;
            a = parse_paren_address(c);
        } else {
            a = parse_address(c);
        }
        const OpInfo* row = find_row([&](const OpInfo& r) { return r.shape == Shape::Atomic && r.text == name && mem_size(r.op) == width; });
        const bool narrow = width <= 4;
        c.expect(",");
        const bool is_cmpxchg = row->op == Op::ATOMIC32_CMPXCHG || row->op == Op::ATOMIC64_CMPXCHG;
        if (is_cmpxchg) {
            if (dst.num != 0) c.fail_at(dst.pos, fmt::format("cmpxchg always writes r0, found '{}'", dst.name()));
            const Reg expected = expect_narrow_or_64(c, narrow, "compared value");
            if (expected.num != 0) c.fail_at(expected.pos, fmt::format("cmpxchg compares with r0, found '{}'", expected.name()));
            c.expect(",");
        }
        const Reg src = expect_narrow_or_64(c, narrow, "atomic operand");
        if (dst.w && !narrow) c.fail_at(dst.pos, fmt::format("a 64-bit atomic writes an r register, found '{}'", dst.name()));
        if (!is_cmpxchg && src.num != dst.num)
            c.fail_at(src.pos, fmt::format("'{}' writes the old value back to its operand: expected '{}', found '{}'", word,
                                           dst.name(), src.name()));
        c.expect(")");
        emit(Insn{.op = row->op, .dst = a.base.num, .src = src.num, .off = a.off}, start);
    }

    std::string_view file_;
    ProgramBuilder b_;
};

}  // namespace

Program assemble(std::string_view text, std::string_view file_name) {
    LlvmAssembler assembler(file_name);
    asm_detail::for_each_line(text, [&](size_t line_no, std::string_view line) { assembler.line(line_no, line); });
    return assembler.finish();
}

}  // namespace tcbpf::isa
