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

// Calls `to` with each instruction control may reach from `pc` (all forward; a target past the end is
// impossible in a checked program).
template <typename F>
void for_each_successor(const Program& prog, size_t pc, Kind kind, F&& to) {
    const Insn& in = prog[pc];
    switch (kind) {
        case Kind::RetK:
        case Kind::RetA: break;
        case Kind::Ja: to(pc + 1 + in.k); break;
        case Kind::Jcond:
            to(pc + 1 + in.jt);
            to(pc + 1 + in.jf);
            break;
        default: to(pc + 1); break;
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
            default: break;  // returns and jumps change nothing
        }
        for_each_successor(prog, pc, row->kind, [&](size_t target) { flow(target, b); });
    }
    return x_bound;
}

InitialReads initial_reads(const Program& prog) {
    struct Written {
        bool a = false, x = false;
    };
    std::vector<std::optional<Written>> at(prog.size() + 1);
    InitialReads reads;
    if (prog.empty()) return reads;
    at[0] = Written{};
    auto flow = [&](size_t target, Written w) {
        if (target >= prog.size()) return;
        if (at[target]) at[target] = Written{at[target]->a && w.a, at[target]->x && w.x};
        else at[target] = w;
    };
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        if (!at[pc]) continue;
        Written w = *at[pc];
        const Insn& in = prog[pc];
        const OpcodeRow* row = find_opcode(in.code);
        if (row == nullptr) continue;
        auto read = [&](bool a, bool x) {
            reads.a |= a && !w.a;
            reads.x |= x && !w.x;
        };
        switch (row->kind) {
            case Kind::Alu:
                read(true, in.code & kSrcX);
                break;
            case Kind::Neg: read(true, false); break;
            case Kind::LdAbs:
                // Every ancillary load may read both: ALU_XOR_X and the helper calls use them, IFINDEX
                // and HATYPE may end the program returning A.
                if (in.k >= static_cast<uint32_t>(kAdOff)) read(true, true);
                break;
            case Kind::LdInd: read(false, true); break;
            case Kind::LdxMsh: read(in.k >= kMaxDirectEnd, false); break;  // the LD_ABS fallback saves A
            case Kind::St:
            case Kind::Tax:
            case Kind::RetA:
            case Kind::Jcond: read(true, row->kind == Kind::Jcond && (in.code & kSrcX)); break;
            case Kind::Stx:
            case Kind::Txa: read(false, true); break;
            default: break;
        }
        switch (row->kind) {
            case Kind::Alu: case Kind::Neg: case Kind::LdAbs: case Kind::LdInd: case Kind::LdLen: case Kind::LdImm:
            case Kind::LdMem: case Kind::Txa: w.a = true; break;
            case Kind::LdxLen: case Kind::LdxMsh: case Kind::LdxImm: case Kind::LdxMem: case Kind::Tax: w.x = true; break;
            default: break;
        }
        for_each_successor(prog, pc, row->kind, [&](size_t target) { flow(target, w); });
    }
    return reads;
}

}  // namespace tcbpf::cbpf
