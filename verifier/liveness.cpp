// Backward dataflow over the instructions: live-in = uses ∪ (live-out − defs), live-out = the union of
// the successors' live-in, iterated to a fixed point. Calls are single instructions here: a helper reads
// its declared arguments, a local call r1-r5 (what the callee may read), and both leave r0-r5 written
// (r1-r5 die, r0 is the result). `exit` reads r0. Unsure cases read more, which only keeps more alive.
#include "verifier/liveness.h"

#include "verifier/helper_table.h"

namespace tcbpf::verifier::detail {

using isa::Shape;

namespace {

uint16_t bit(int reg) { return static_cast<uint16_t>(1u << reg); }
constexpr uint16_t kArgs = 0x3e, kCallerSaved = 0x3f;

struct Effect {
    uint16_t uses = 0, defs = 0;
};

Effect effect_of(const isa::Insn& insn) {
    const isa::OpInfo& row = isa::info(insn.op);
    Effect e;
    switch (row.shape) {
        case Shape::AluK:
            if (row.text != "=") e.uses = bit(insn.dst);
            e.defs = bit(insn.dst);
            break;
        case Shape::AluX:
        case Shape::MovSx:
            e.uses = bit(insn.src);
            if (row.text != "=" && row.shape != Shape::MovSx) e.uses |= bit(insn.dst);
            e.defs = bit(insn.dst);
            break;
        case Shape::Neg:
        case Shape::End: e.uses = e.defs = bit(insn.dst); break;
        case Shape::Ldx: e.uses = bit(insn.src), e.defs = bit(insn.dst); break;
        case Shape::St: e.uses = bit(insn.dst); break;
        case Shape::Stx: e.uses = static_cast<uint16_t>(bit(insn.dst) | bit(insn.src)); break;
        case Shape::Atomic: {
            constexpr int32_t kFetch = 0x01, kCmpxchg = 0xf1;
            e.uses = static_cast<uint16_t>(bit(insn.dst) | bit(insn.src));
            if (insn.imm == kCmpxchg) e.uses |= 1, e.defs = 1;
            else if (insn.imm & kFetch) e.defs = bit(insn.src);
            break;
        }
        case Shape::Lddw: e.defs = bit(insn.dst); break;
        case Shape::JccK: e.uses = bit(insn.dst); break;
        case Shape::JccX: e.uses = static_cast<uint16_t>(bit(insn.dst) | bit(insn.src)); break;
        case Shape::Ja:
        case Shape::Ja32: break;
        case Shape::Exit: e.uses = 1; break;
        case Shape::Call: {
            e.uses = kArgs;
            if (insn.op == isa::Op::CALL_HELPER) {
                if (const HelperProto* proto = find_helper(insn.imm)) {
                    e.uses = 0;
                    for (int i = 0; i < 5 && proto->args[static_cast<size_t>(i)] != ArgKind::None; ++i) e.uses |= bit(i + 1);
                }
            }
            e.defs = kCallerSaved;
            break;
        }
        case Shape::Callx: e.uses = static_cast<uint16_t>(kArgs | bit(insn.dst)), e.defs = kCallerSaved; break;
        case Shape::LdAbs: e.uses = bit(6), e.defs = kCallerSaved; break;
        case Shape::LdInd: e.uses = static_cast<uint16_t>(bit(6) | bit(insn.src)), e.defs = kCallerSaved; break;
    }
    return e;
}

}  // namespace

std::vector<uint16_t> compute_liveness(const isa::Program& prog) {
    const size_t n = prog.size();
    std::vector<uint16_t> live(n, 0);
    std::vector<Effect> effects(n);
    for (size_t pc = 0; pc < n; ++pc) effects[pc] = effect_of(prog.insns[pc]);
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t pc = n; pc-- > 0;) {
            const isa::Insn& insn = prog.insns[pc];
            if (insn.op == isa::Op::LDDW_TAIL) continue;
            const isa::OpInfo& row = isa::info(insn.op);
            uint16_t out = 0;
            auto add = [&](int64_t to) {
                if (to >= 0 && static_cast<size_t>(to) < n) out |= live[static_cast<size_t>(to)];
            };
            if (row.shape == Shape::Exit) {
                // no successor
            } else if (row.shape == Shape::Ja || row.shape == Shape::Ja32) {
                add(isa::branch_target(insn, pc));
            } else if (row.shape == Shape::JccK || row.shape == Shape::JccX) {
                add(isa::branch_target(insn, pc));
                add(static_cast<int64_t>(pc) + 1);
            } else {
                add(static_cast<int64_t>(pc) + (row.shape == Shape::Lddw ? 2 : 1));
            }
            uint16_t in = static_cast<uint16_t>(effects[pc].uses | (out & ~effects[pc].defs));
            if (in != live[pc]) live[pc] = in, changed = true;
        }
    }
    return live;
}

void forget_dead_registers(State& state, size_t pc, const std::vector<uint16_t>& live) {
    auto forget = [](std::array<Reg, isa::kNumRegs>& regs, uint16_t alive) {
        for (int r = 0; r < isa::kFrameReg; ++r)
            if (!(alive & bit(r))) regs[static_cast<size_t>(r)] = Reg{};
    };
    forget(state.regs, live[pc]);
    for (CallerFrame& caller : state.callers) forget(caller.regs, live[caller.callsite + 1]);
}

}  // namespace tcbpf::verifier::detail
