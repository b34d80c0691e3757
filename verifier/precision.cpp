// Backtracking rules for precision (precision.h): one instruction at a time, from what was needed after
// it to what was needed before it.
#include "verifier/precision.h"

#include <bit>

namespace tcbpf::verifier::detail {

using isa::Shape;

bool Wanted::empty() const {
    for (size_t f = 0; f < regs.size(); ++f)
        if (regs[f] || slots[f]) return false;
    return true;
}

void Wanted::want(uint32_t frame, int spi, uint8_t bytes) {
    if (frame >= kMaxFrames || spi < 0 || spi >= 64 || !bytes) return;
    slot_bytes[frame][static_cast<size_t>(spi)] |= bytes;
    slots[frame] |= uint64_t{1} << spi;
}

void Wanted::drop(uint32_t frame, int spi, uint8_t bytes) {
    if (frame >= kMaxFrames || spi < 0 || spi >= 64) return;
    uint8_t& left = slot_bytes[frame][static_cast<size_t>(spi)];
    left = static_cast<uint8_t>(left & ~bytes);
    if (!left) slots[frame] &= ~(uint64_t{1} << spi);
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
            wanted.want(entry.slot_frame, entry.spi, entry.bytes);
            return;
        case Shape::St:
        case Shape::Stx: {
            if (entry.spi < 0) return;
            // The store defined the wanted bytes it wrote: their need passes to the stored register.
            uint8_t wanted_bytes = wanted.slot_bytes[entry.slot_frame][static_cast<size_t>(entry.spi)];
            if (!(wanted_bytes & entry.bytes)) return;
            wanted.drop(entry.slot_frame, entry.spi, entry.bytes);
            if (row.shape == Shape::Stx) regs |= bit(insn.src);
            return;
        }
        case Shape::Atomic: {
            constexpr int32_t kCmpxchg = 0xf1;
            int loaded = insn.imm == kCmpxchg ? 0 : insn.src;
            regs &= static_cast<uint16_t>(~bit(loaded));
            wanted.drop(entry.slot_frame, entry.spi, entry.bytes);
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
                    wanted.slot_bytes[callee] = {};
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
    for (uint32_t f = state.frame() + 1; f < kMaxFrames; ++f)
        if (wanted.regs[f] || wanted.slots[f]) wanted.regs[f] = 0, wanted.slots[f] = 0, wanted.slot_bytes[f] = {};
    for_each_frame(state, [&](uint32_t f, std::array<Reg, isa::kNumRegs>& regs, std::vector<StackSlot>& stack) {
        for (uint16_t left = wanted.regs[f]; left; left = static_cast<uint16_t>(left & (left - 1))) {
            const int r = std::countr_zero(left);
            Reg& reg = regs[static_cast<size_t>(r)];
            if (reg.type != RegType::Scalar) {
                wanted.regs[f] &= static_cast<uint16_t>(~bit(r));
            } else if (!reg.precise) {
                reg.precise = true;
                marked = true;
            }
        }
        for (uint64_t left = wanted.slots[f]; left; left &= left - 1) {
            const int i = std::countr_zero(left);
            StackSlot* slot = static_cast<size_t>(i) < stack.size() ? &stack[static_cast<size_t>(i)] : nullptr;
            const uint8_t bytes = wanted.slot_bytes[f][static_cast<size_t>(i)];
            bool zeros = false, spilled = false;
            for (int b = 0; slot && b < 8; ++b) {
                if (!(bytes >> b & 1)) continue;
                zeros = zeros || slot->bytes[static_cast<size_t>(b)] == StackByte::Zero;
                spilled = spilled || slot->bytes[static_cast<size_t>(b)] == StackByte::Spill;
            }
            spilled = spilled && slot->spilled.type == RegType::Scalar;
            if (!zeros && !spilled) wanted.drop(f, i);
            if (zeros && !slot->zero_precise) slot->zero_precise = marked = true;
            if (spilled && !slot->spilled.precise) slot->spilled.precise = marked = true;
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
        for (size_t i = 0; i < stack.size() && i < 64; ++i) {
            const int spi = static_cast<int>(i);
            if (stack[i].is_spill() && stack[i].spilled.type == RegType::Scalar && stack[i].spilled.precise)
                wanted.want(f, spi, 0xff);
            if (stack[i].zero_precise) wanted.want(f, spi, 0xff);
        }
    });
    return wanted;
}

void clear_precision(State& state) {
    for_each_reg(state, [](Reg& r) { r.precise = false; });
    for_each_frame(state, [](uint32_t, std::array<Reg, isa::kNumRegs>&, std::vector<StackSlot>& stack) {
        for (StackSlot& slot : stack) slot.zero_precise = false;
    });
}

}  // namespace tcbpf::verifier::detail
