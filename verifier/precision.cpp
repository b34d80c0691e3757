// Backtracking rules for precision (precision.h): one instruction at a time, from what was needed after
// it to what was needed before it.
#include "verifier/precision.h"

namespace tcbpf::verifier::detail {

using isa::Shape;

bool Wanted::empty() const {
    for (size_t f = 0; f < regs.size(); ++f)
        if (regs[f] || slots[f]) return false;
    return true;
}

namespace {

uint16_t bit(int reg) { return static_cast<uint16_t>(1u << reg); }

}  // namespace

void step_back(const isa::Program& prog, const HistEntry& entry, Wanted& wanted) {
    const isa::Insn& insn = prog.insns[entry.pc];
    const isa::OpInfo& row = isa::info(insn.op);
    uint16_t& regs = wanted.regs[entry.frame];
    const bool dst_wanted = regs & bit(insn.dst);
    switch (row.shape) {
        case Shape::AluK:
            if (row.text == "=") regs &= static_cast<uint16_t>(~bit(insn.dst));
            return;
        case Shape::AluX:
        case Shape::MovSx:
            if (!dst_wanted) return;
            if (row.text == "=" || row.shape == Shape::MovSx) regs &= static_cast<uint16_t>(~bit(insn.dst));
            regs |= bit(insn.src);
            return;
        case Shape::Neg:
        case Shape::End:
        case Shape::Ja:
        case Shape::Ja32:
        case Shape::JccK: return;
        case Shape::JccX:
            if (dst_wanted || (regs & bit(insn.src))) regs |= static_cast<uint16_t>(bit(insn.dst) | bit(insn.src));
            return;
        case Shape::Lddw:
            regs &= static_cast<uint16_t>(~bit(insn.dst));
            return;
        case Shape::Ldx:
            if (!dst_wanted) return;
            regs &= static_cast<uint16_t>(~bit(insn.dst));
            if (entry.spi >= 0 && entry.spi < 64) wanted.slots[entry.slot_frame] |= uint64_t{1} << entry.spi;
            return;
        case Shape::St:
        case Shape::Stx: {
            if (entry.spi < 0 || entry.spi >= 64) return;
            uint64_t& slots = wanted.slots[entry.slot_frame];
            uint64_t slot_bit = uint64_t{1} << entry.spi;
            if (!(slots & slot_bit)) return;
            slots &= ~slot_bit;
            if (row.shape == Shape::Stx) regs |= bit(insn.src);
            return;
        }
        case Shape::Atomic: {
            constexpr int32_t kCmpxchg = 0xf1;
            int loaded = insn.imm == kCmpxchg ? 0 : insn.src;
            regs &= static_cast<uint16_t>(~bit(loaded));
            if (entry.spi >= 0 && entry.spi < 64) wanted.slots[entry.slot_frame] &= ~(uint64_t{1} << entry.spi);
            return;
        }
        case Shape::Call:
            if (insn.op == isa::Op::CALL_LOCAL) {
                // Entering the callee: its r1-r5 were the caller's; its stack started empty.
                size_t callee = entry.frame + 1u;
                if (callee < wanted.regs.size()) {
                    regs |= static_cast<uint16_t>(wanted.regs[callee] & 0x3e);
                    wanted.regs[callee] = 0;
                    wanted.slots[callee] = 0;
                }
                return;
            }
            regs &= static_cast<uint16_t>(~0x3f);  // r0 is the helper's; r1-r5 died
            return;
        case Shape::Callx:
        case Shape::LdAbs:
        case Shape::LdInd: regs &= static_cast<uint16_t>(~0x3f); return;
        case Shape::Exit:
            // Returning from frame `entry.frame` to its caller: the caller's r0 is the callee's.
            if (entry.frame > 0) {
                uint16_t& caller = wanted.regs[entry.frame - 1u];
                if (caller & 1) regs |= 1;
                caller &= static_cast<uint16_t>(~1u);
            }
            return;
    }
}

namespace {

template <typename F>
void for_each_frame(State& state, F&& f) {
    for (uint32_t k = 0; k < state.callers.size(); ++k) f(k, state.callers[k].regs, state.callers[k].stack);
    f(state.frame(), state.regs, state.stack);
}

}  // namespace

bool mark_precise(State& state, Wanted& wanted) {
    bool marked = false;
    for (uint32_t f = state.frame() + 1; f < kMaxFrames; ++f) wanted.regs[f] = 0, wanted.slots[f] = 0;
    for_each_frame(state, [&](uint32_t f, std::array<Reg, isa::kNumRegs>& regs, std::vector<StackSlot>& stack) {
        for (int r = 0; r < isa::kNumRegs; ++r) {
            if (!(wanted.regs[f] & bit(r))) continue;
            Reg& reg = regs[static_cast<size_t>(r)];
            if (reg.type != RegType::Scalar) {
                wanted.regs[f] &= static_cast<uint16_t>(~bit(r));
            } else if (!reg.precise) {
                reg.precise = true;
                marked = true;
            }
        }
        for (int i = 0; i < 64; ++i) {
            uint64_t slot_bit = uint64_t{1} << i;
            if (!(wanted.slots[f] & slot_bit)) continue;
            StackSlot* slot = static_cast<size_t>(i) < stack.size() ? &stack[static_cast<size_t>(i)] : nullptr;
            if (!slot || !slot->is_spill() || slot->spilled.type != RegType::Scalar) {
                wanted.slots[f] &= ~slot_bit;
            } else if (!slot->spilled.precise) {
                slot->spilled.precise = true;
                marked = true;
            }
        }
    });
    return marked;
}

Wanted precise_values(State& state) {
    Wanted wanted;
    for_each_frame(state, [&](uint32_t f, std::array<Reg, isa::kNumRegs>& regs, std::vector<StackSlot>& stack) {
        for (int r = 0; r < isa::kNumRegs; ++r) {
            const Reg& reg = regs[static_cast<size_t>(r)];
            if (reg.type == RegType::Scalar && reg.precise) wanted.regs[f] |= bit(r);
        }
        for (size_t i = 0; i < stack.size() && i < 64; ++i)
            if (stack[i].is_spill() && stack[i].spilled.type == RegType::Scalar && stack[i].spilled.precise)
                wanted.slots[f] |= uint64_t{1} << i;
    });
    return wanted;
}

void clear_precision(State& state) {
    for_each_reg(state, [](Reg& r) { r.precise = false; });
}

}  // namespace tcbpf::verifier::detail
