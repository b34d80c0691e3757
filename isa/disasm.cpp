// llvm-objdump syntax (as with --no-print-imm-hex), one shape at a time; the words and operators come
// from the table's TEXT column. Register letters follow llvm-objdump's alu32 decoding: `w` for 32-bit
// ALU/JMP32, u8/u16/u32 loads and stores and 32-bit atomics. Forms llvm-objdump cannot show distinctly
// (local calls, LDDW pseudo sources) use the kernel log / bpftool spelling documented in asm.h.
#include <fmt/format.h>

#include "tcbpf/asm.h"

namespace tcbpf::isa {
namespace {

std::string reg(bool w, uint8_t n) { return fmt::format("{}{}", w ? 'w' : 'r', n); }

// `+3`, `-1`, `+0`: jump distances always carry a sign.
std::string distance(int64_t d) { return fmt::format("{:+d}", d); }

// `(r1 + 4)`, `(r10 - 8)`, `(r1 + 0)`.
std::string address(uint8_t base, int16_t off) {
    const int32_t wide = off;
    return wide < 0 ? fmt::format("r{} - {}", base, -wide) : fmt::format("r{} + {}", base, wide);
}

// `u32` for a W load/store: the table's TEXT of the matching MEM load (sizes are a table fact too).
std::string_view size_word(Op op) {
    const int size = mem_size(op);
    for (const OpInfo& row : all_ops())
        if (row.shape == Shape::Ldx && mem_size(row.op) == size && row.text.front() == 'u') return row.text;
    return "u64";
}

// The operator llvm prints for a non-fetching atomic is the ALU64 X operator with the same name.
std::string_view atomic_operator(const OpInfo& atomic) {
    for (const OpInfo& row : all_ops())
        if (row.shape == Shape::AluX && row.conformance == atomic.text) return row.text;
    return atomic.text;
}

bool narrow_w(Op op) { return mem_size(op) <= 4; }

std::string lddw(const Insn& insn) {
    const auto lo = static_cast<uint32_t>(insn.imm64);
    const auto hi = static_cast<uint32_t>(insn.imm64 >> 32);
    const std::string dst = reg(false, insn.dst);
    std::string value;
    bool uses_next_imm = false;
    switch (static_cast<Pseudo>(insn.src)) {
        case Pseudo::None: return fmt::format("{} = {:#x} ll", dst, insn.imm64);
        case Pseudo::MapFd: value = fmt::format("map[fd:{}]", lo); break;
        case Pseudo::MapValue: value = fmt::format("map[fd:{}][0]+{}", lo, hi), uses_next_imm = true; break;
        case Pseudo::BtfId: value = fmt::format("btf_id[{}]", lo); break;
        case Pseudo::Func: value = fmt::format("func[pc{}]", distance(static_cast<int32_t>(lo))); break;
        case Pseudo::MapIdx: value = fmt::format("map[idx:{}]", lo); break;
        case Pseudo::MapIdxValue: value = fmt::format("map[idx:{}][0]+{}", lo, hi), uses_next_imm = true; break;
    }
    if (!uses_next_imm && hi != 0) return fmt::format("{} = {} ll next_imm {}", dst, value, hi);
    return fmt::format("{} = {} ll", dst, value);
}

}  // namespace

std::string disassemble(const Insn& insn, size_t pc) {
    if (insn.op == Op::LDDW_TAIL)
        return pc == 0 ? "; second slot of a 64-bit load" : fmt::format("; second slot of the 64-bit load at {}", pc - 1);
    const OpInfo& row = info(insn.op);
    const bool w = is_32bit(insn.op);
    const std::string dst = reg(w, insn.dst);
    switch (row.shape) {
        case Shape::AluK: return fmt::format("{} {} {}", dst, row.text, insn.imm);
        case Shape::AluX: return fmt::format("{} {} {}", dst, row.text, reg(w, insn.src));
        case Shape::Neg: return fmt::format("{} = {}{}", dst, row.text, dst);
        case Shape::MovSx: return fmt::format("{} = ({}){}", dst, row.text, reg(w, insn.src));
        case Shape::End: return fmt::format("r{0} = {1} r{0}", insn.dst, row.text);
        case Shape::Ja: return fmt::format("{} {}", row.text, distance(insn.off));
        case Shape::Ja32: return fmt::format("{} {}", row.text, distance(insn.imm));
        case Shape::JccK: return fmt::format("if {} {} {} goto {}", dst, row.text, insn.imm, distance(insn.off));
        case Shape::JccX:
            return fmt::format("if {} {} {} goto {}", dst, row.text, reg(w, insn.src), distance(insn.off));
        case Shape::Call:
            if (insn.op == Op::CALL_LOCAL) return fmt::format("{} pc{}", row.text, distance(insn.imm));
            return fmt::format("{} {}", row.text, insn.imm);
        case Shape::Callx: return fmt::format("{} r{}", row.text, insn.dst);
        case Shape::Exit: return std::string(row.text);
        case Shape::Lddw: return lddw(insn);
        case Shape::LdAbs: return fmt::format("r0 = *({} *){}[{}]", size_word(insn.op), row.text, insn.imm);
        case Shape::LdInd: {
            const int64_t imm = insn.imm;
            const std::string index = imm == 0  ? fmt::format("r{}", insn.src)
                                      : imm < 0 ? fmt::format("r{} - {}", insn.src, -imm)
                                                : fmt::format("r{} + {}", insn.src, imm);
            return fmt::format("r0 = *({} *){}[{}]", size_word(insn.op), row.text, index);
        }
        case Shape::Ldx: {
            const bool zero_extending = row.text.front() == 'u';
            return fmt::format("{} = *({} *)({})", reg(zero_extending && narrow_w(insn.op), insn.dst), row.text,
                               address(insn.src, insn.off));
        }
        case Shape::St: return fmt::format("*({} *)({}) = {}", row.text, address(insn.dst, insn.off), insn.imm);
        case Shape::Stx:
            return fmt::format("*({} *)({}) = {}", row.text, address(insn.dst, insn.off), reg(narrow_w(insn.op), insn.src));
        case Shape::Atomic: {
            const std::string src = reg(w, insn.src);
            const std::string addr = address(insn.dst, insn.off);
            const std::string_view size = size_word(insn.op);
            if (row.text == "xchg") return fmt::format("{0} = xchg{1}_{2}({3}, {0})", src, w ? "32" : "", w ? 32 : 64, addr);
            if (row.text == "cmpxchg")
                return fmt::format("{0} = cmpxchg{1}_{2}({3}, {0}, {4})", reg(w, 0), w ? "32" : "", w ? 32 : 64, addr, src);
            if (row.text.starts_with("fetch_"))
                return fmt::format("{0} = atomic_{1}(({2} *)({3}), {0})", src, row.text, size, addr);
            return fmt::format("lock *({} *)({}) {} {}", size, addr, atomic_operator(row), src);
        }
    }
    return fmt::format("; unprintable {}", row.id);
}

std::string disassemble(const Program& prog) {
    const size_t width = fmt::formatted_size("{}", prog.size() == 0 ? 0 : prog.size() - 1);
    std::string out;
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        if (prog.insns[pc].op == Op::LDDW_TAIL) continue;
        out += fmt::format("{:>{}}: {}\n", pc, width, disassemble(prog.insns[pc], pc));
    }
    return out;
}

}  // namespace tcbpf::isa
