#include "cbpf/value_bounds.h"

#include <algorithm>
#include <array>
#include <bit>
#include <optional>

#include "cbpf/opcodes.h"

namespace tcbpf::cbpf {
namespace {

struct Bounds {
    uint64_t a = 0, x = 0;
    std::array<uint64_t, kMemWords> mem{};

    void join(const Bounds& other) {
        a = std::max(a, other.a);
        x = std::max(x, other.x);
        for (size_t i = 0; i < mem.size(); ++i) mem[i] = std::max(mem[i], other.mem[i]);
    }
};

uint64_t cap(uint64_t v) { return std::min(v, kUnbounded); }
// The largest value with no bit above the highest bit of `v`: what `|` or `^` of two values ≤ v can reach.
uint64_t smear(uint64_t v) { return v == 0 ? 0 : cap((uint64_t{1} << std::bit_width(v)) - 1); }

uint64_t alu_bound(uint16_t code, uint64_t a, uint64_t operand, bool operand_exact) {
    switch (op_of(code)) {
        case 0x00: return cap(a + operand);
        case 0x20: return cap(a * operand);
        case 0x30: return operand_exact ? a / operand : a;  // the checker refuses a constant zero
        case 0x90: return operand_exact ? std::min(a, operand - 1) : a;
        case 0x50: return std::min(a, operand);
        case 0x40:
        case 0xa0: return smear(std::max(a, operand));
        case 0x60: return operand_exact ? cap(a << operand) : kUnbounded;  // constant shifts are < 32
        case 0x70: return operand_exact ? a >> operand : a;
        default: return kUnbounded;  // sub wraps
    }
}

uint64_t load_bound(uint32_t size) { return size == 1 ? 0xff : size == 2 ? 0xffff : kUnbounded; }

}  // namespace

std::vector<uint64_t> x_upper_bounds(const Program& prog) {
    std::vector<std::optional<Bounds>> at(prog.size() + 1);
    std::vector<uint64_t> x_bound(prog.size(), kUnbounded);
    if (prog.empty()) return x_bound;
    at[0] = Bounds{};
    at[0]->mem.fill(kUnbounded);  // the checker proves each word is written before it is read
    auto flow = [&](size_t target, const Bounds& b) {
        if (target >= prog.size()) return;
        if (at[target]) at[target]->join(b);
        else at[target] = b;
    };
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        if (!at[pc]) continue;
        Bounds b = *at[pc];
        x_bound[pc] = b.x;
        const Insn& in = prog[pc];
        const OpcodeRow* row = find_opcode(in.code);
        if (row == nullptr) continue;
        const uint32_t word = in.k % kMemWords;
        switch (row->kind) {
            case Kind::Alu: {
                const bool by_x = in.code & kSrcX;
                b.a = alu_bound(in.code, b.a, by_x ? b.x : in.k, !by_x);
                break;
            }
            case Kind::LdAbs:
                b.a = in.k >= static_cast<uint32_t>(kAdOff) ? kUnbounded : load_bound(size_of_load(in.code));
                break;
            case Kind::LdInd: b.a = load_bound(size_of_load(in.code)); break;
            case Kind::Neg:
            case Kind::LdLen: b.a = kUnbounded; break;
            case Kind::LdImm: b.a = in.k; break;
            case Kind::LdMem: b.a = b.mem[word]; break;
            case Kind::LdxLen: b.x = kUnbounded; break;
            case Kind::LdxMsh: b.x = 4 * 0xf; break;
            case Kind::LdxImm: b.x = in.k; break;
            case Kind::LdxMem: b.x = b.mem[word]; break;
            case Kind::St: b.mem[word] = b.a; break;
            case Kind::Stx: b.mem[word] = b.x; break;
            case Kind::Tax: b.x = b.a; break;
            case Kind::Txa: b.a = b.x; break;
            case Kind::RetK:
            case Kind::RetA: continue;
            case Kind::Ja: flow(pc + 1 + in.k, b); continue;
            case Kind::Jcond:
                flow(pc + 1 + in.jt, b);
                flow(pc + 1 + in.jf, b);
                continue;
        }
        flow(pc + 1, b);
    }
    return x_bound;
}

}  // namespace tcbpf::cbpf
