// The bpf_conformance suite's assembly language (../shared/conformance/README.md, "Assembly language").
//
// A line is a label (`name:`) or `mnemonic operands...`, operands separated by commas and/or spaces.
// The mnemonic is looked up in the table's CONFORMANCE column (multi-word for `lock [fetch] op` and
// `call local`); when a mnemonic has a K and an X row, the second operand decides which. The only words
// spelled here are the suite's syntax (`lock`, `fetch`, `call local|helper|runtime`, the `swapN` aliases
// of `bswapN`), never an opcode.
#include <fmt/format.h>

#include "isa/asm_support.h"
#include "tcbpf/asm.h"

namespace tcbpf::isa {
namespace {

using asm_detail::Cursor;
using asm_detail::find_row;
using asm_detail::Number;
using asm_detail::Pos;
using asm_detail::ProgramBuilder;

std::optional<uint8_t> try_register(Cursor& c) {
    if (c.peek() != '%') return std::nullopt;
    const Pos pos = c.pos();
    c.advance();
    const std::string_view word = c.identifier();
    bool digits = word.size() >= 2 && word.size() <= 3 && word[0] == 'r';
    for (size_t i = 1; digits && i < word.size(); ++i) digits = word[i] >= '0' && word[i] <= '9';
    if (!digits || std::stoi(std::string(word.substr(1))) >= kNumRegs)
        c.fail_at(pos, fmt::format("invalid register '%{}' (registers are %r0..%r10)", word));
    return static_cast<uint8_t>(std::stoi(std::string(word.substr(1))));
}

uint8_t expect_register(Cursor& c) {
    if (auto r = try_register(c)) return *r;
    c.fail(fmt::format("expected register %rN, found {}", c.found()));
}

// Operands are separated by a comma, whitespace, or both.
void separator(Cursor& c) { c.accept(","); }

struct Mem {
    uint8_t base;
    int16_t off;
};

// `[%r1]`, `[%r1+4]`, `[%r10-8]`, `[%r1+0x2]`.
Mem expect_mem(Cursor& c) {
    c.expect("[");
    Mem m{expect_register(c), 0};
    const char sign = c.peek();
    if (sign == '+' || sign == '-') {
        c.advance();
        Number n = c.expect_number(false, "memory offset");
        n.negative = sign == '-';
        m.off = asm_detail::to_off16(c, n, true);
    }
    c.expect("]");
    return m;
}

int32_t expect_imm(Cursor& c) { return asm_detail::to_imm32(c, c.expect_number(true, "immediate")); }

class ConformanceAssembler {
   public:
    explicit ConformanceAssembler(std::string_view file) : b_(file) , file_(file) {}

    void line(size_t line_no, std::string_view text) {
        Cursor c(file_, line_no, text);
        if (const size_t hash = text.find('#'); hash != std::string_view::npos) c.truncate(hash);
        if (c.at_end()) return;
        const Pos start = c.pos();
        std::string mnemonic(c.identifier());
        if (mnemonic.empty()) c.fail(fmt::format("expected a mnemonic or label, found {}", c.found()));
        if (c.peek_raw() == ':') {
            c.advance();
            b_.define_label(mnemonic, start);
            if (!c.at_end()) c.fail(fmt::format("a label stands alone on its line; found {} after it", c.found()));
            return;
        }
        if (mnemonic == "lock") {
            mnemonic += c.accept_word("fetch") ? " fetch " : " ";
            const std::string_view op = c.identifier();
            if (op.empty()) c.fail(fmt::format("expected an atomic operation after '{}', found {}", mnemonic, c.found()));
            mnemonic += op;
        }
        if (mnemonic == info(Op::CALL_HELPER).conformance) {
            call(c, start);
        } else {
            if (mnemonic.starts_with("swap")) mnemonic = "b" + mnemonic;
            instruction(c, mnemonic, start);
        }
        c.accept(",");
        c.expect_end();
    }

    Program finish() { return b_.finish(); }

   private:
    // `call N`, `call helper N`, `call local label`, `call %rN` (callx), `call runtime N`.
    void call(Cursor& c, Pos start) {
        if (auto r = try_register(c)) return b_.emit(Insn{.op = Op::CALLX, .dst = *r}, start);
        const Pos kind_pos = c.pos();
        const std::string_view kind = c.identifier();
        if (kind.empty()) return b_.emit(Insn{.op = Op::CALL_HELPER, .imm = expect_imm(c)}, start);
        if (kind == "helper") return b_.emit(Insn{.op = Op::CALL_HELPER, .imm = expect_imm(c)}, start);
        if ("call " + std::string(kind) == info(Op::CALL_LOCAL).conformance) {
            b_.emit(Insn{.op = Op::CALL_LOCAL}, start);
            return target(c);
        }
        if (kind == "runtime")
            c.fail_at(kind_pos, "'call runtime' (kfunc, src_reg 2) is not an instruction tcbpf decodes");
        c.fail_at(kind_pos, fmt::format("expected a helper number, 'local', 'helper' or a register after 'call', found '{}'", kind));
    }

    // `+N`, `-N` (relative to the next instruction) or a label.
    void target(Cursor& c) {
        c.skip_space();
        const Pos pos = c.pos();
        const char sign = c.peek_raw();
        if (sign == '+' || sign == '-') {
            const Number n = c.expect_number(true, "jump distance");
            return b_.target_distance(asm_detail::to_signed(c, n, INT32_MIN, INT32_MAX, "jump distance"), pos);
        }
        const std::string_view label = c.identifier();
        if (label.empty()) c.fail(fmt::format("expected a jump target (+N, -N or a label), found {}", c.found()));
        b_.target_label(label, pos);
    }

    void instruction(Cursor& c, const std::string& mnemonic, Pos start) {
        const OpInfo* first = find_row([&](const OpInfo& r) { return r.conformance == mnemonic; });
        if (!first) c.fail_at(start, fmt::format("unknown mnemonic '{}'", mnemonic));
        // The K/X pair of a mnemonic: the row of the other shape, when the operand is a register.
        auto with_shape = [&](Shape shape) { return find_row([&](const OpInfo& r) { return r.conformance == mnemonic && r.shape == shape; }); };
        Insn insn{.op = first->op};
        switch (first->shape) {
            case Shape::AluK:
            case Shape::AluX:
            case Shape::JccK:
            case Shape::JccX: {
                const bool jump = first->shape == Shape::JccK || first->shape == Shape::JccX;
                insn.dst = expect_register(c);
                separator(c);
                c.skip_space();
                const Pos operand_pos = c.pos();
                const auto src = try_register(c);
                const OpInfo* row = with_shape(src ? (jump ? Shape::JccX : Shape::AluX) : (jump ? Shape::JccK : Shape::AluK));
                if (!row) c.fail_at(operand_pos, fmt::format("'{}' takes no {} operand", mnemonic, src ? "register" : "immediate"));
                insn.op = row->op;
                if (src)
                    insn.src = *src;
                else
                    insn.imm = expect_imm(c);
                if (!jump) return b_.emit(insn, start);
                separator(c);
                b_.emit(insn, start);
                return target(c);
            }
            case Shape::Neg:
            case Shape::End:
            case Shape::Callx: insn.dst = expect_register(c); break;
            case Shape::MovSx:
                insn.dst = expect_register(c);
                separator(c);
                insn.src = expect_register(c);
                break;
            case Shape::Ja:
            case Shape::Ja32:
                b_.emit(insn, start);
                return target(c);
            case Shape::Call: insn.imm = expect_imm(c); break;
            case Shape::Exit: b_.define_fallback_label("exit"); break;
            case Shape::Lddw: {
                insn.dst = expect_register(c);
                separator(c);
                insn.imm64 = asm_detail::to_imm64(c, c.expect_number(true, "64-bit immediate"));
                insn.imm = static_cast<int32_t>(static_cast<uint32_t>(insn.imm64));
                break;
            }
            case Shape::LdAbs: insn.imm = expect_imm(c); break;
            case Shape::LdInd:
                insn.src = expect_register(c);
                separator(c);
                insn.imm = expect_imm(c);
                break;
            case Shape::Ldx: {
                insn.dst = expect_register(c);
                separator(c);
                const Mem m = expect_mem(c);
                insn.src = m.base;
                insn.off = m.off;
                break;
            }
            case Shape::St:
            case Shape::Stx:
            case Shape::Atomic: {
                const Mem m = expect_mem(c);
                insn.dst = m.base;
                insn.off = m.off;
                separator(c);
                if (first->shape == Shape::St)
                    insn.imm = expect_imm(c);
                else
                    insn.src = expect_register(c);
                break;
            }
        }
        b_.emit(insn, start);
    }

    ProgramBuilder b_;
    std::string_view file_;
};

}  // namespace

Program assemble_conformance(std::string_view text, std::string_view file_name) {
    ConformanceAssembler assembler(file_name);
    asm_detail::for_each_line(text, [&](size_t line_no, std::string_view line) { assembler.line(line_no, line); });
    return assembler.finish();
}

}  // namespace tcbpf::isa
