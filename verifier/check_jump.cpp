// Conditional jumps. Scalar operands (an immediate is a constant scalar) are decided or refined with
// scalar.h's rules, each branch getting its own narrowed copy. A 64-bit comparison of a packet pointer
// with data_end (or of data_meta with data) proves, in the branch where the pointer is not beyond the
// end, that the bytes before it are readable: every packet pointer with the same id (the same variable
// part) learns that range. Other pointer
// comparisons teach nothing and follow both branches, as in the kernel.
#include <fmt/format.h>

#include "verifier/checker.h"

namespace tcbpf::verifier::detail {

using isa::Op;
using isa::Shape;

namespace {

Step rejected(const Rejection& why) {
    Step step;
    step.error = why;
    return step;
}

constexpr int32_t kMaxPacketOff = 0xffff;

void give_range(State& state, RegType type, uint32_t id, int32_t range) {
    auto widen = [&](Reg& r) {
        if (r.type == type && r.id == id) r.range = std::max(r.range, range);
    };
    for_each_reg(state, widen);
}

// For `pointer cmp end`: which branch proves pointer <= end (or < end, "strict"), if any.
struct PacketProof {
    bool in_taken_branch;
    bool strict;
};

std::optional<PacketProof> packet_proof(Cmp cmp, bool pointer_on_left) {
    // Written for the pointer on the left; with the end on the left the relation flips.
    if (!pointer_on_left) {
        switch (cmp) {
            case Cmp::Gt: cmp = Cmp::Lt; break;
            case Cmp::Ge: cmp = Cmp::Le; break;
            case Cmp::Lt: cmp = Cmp::Gt; break;
            case Cmp::Le: cmp = Cmp::Ge; break;
            default: return std::nullopt;
        }
    }
    switch (cmp) {
        case Cmp::Gt: return PacketProof{false, false};  // fall-through: p <= end
        case Cmp::Ge: return PacketProof{false, true};   // fall-through: p < end
        case Cmp::Lt: return PacketProof{true, true};
        case Cmp::Le: return PacketProof{true, false};
        default: return std::nullopt;
    }
}

}  // namespace

void sync_linked(State& state, const Reg& reg) {
    if (reg.type != RegType::Scalar || reg.id == 0) return;
    const Reg learned = reg;
    for_each_reg(state, [&learned](Reg& r) {
        if (r.type == RegType::Scalar && r.id == learned.id) r.value = learned.value;
    });
}

Step execute_conditional_jump(Context& ctx, const isa::Insn& insn, State& state, size_t pc) {
    Step step;
    bool register_source = isa::info(insn.op).shape == Shape::JccX;
    if (register_source)
        if (auto e = check_readable(state, insn.src, pc)) return rejected(*e);
    if (auto e = check_readable(state, insn.dst, pc)) return rejected(*e);
    size_t target = static_cast<size_t>(isa::branch_target(insn, pc));
    Condition cond = condition_of(insn.op);
    Reg& dst = state.regs[insn.dst];
    Reg src = register_source ? state.regs[insn.src] : Reg::scalar(Scalar::constant(static_cast<uint64_t>(int64_t{insn.imm})));

    bool maybe_null = dst.type == RegType::MapValueOrNull || dst.type == RegType::RingbufMemOrNull;
    if (maybe_null && !register_source && insn.imm == 0 && !cond.is32 && (cond.cmp == Cmp::Eq || cond.cmp == Cmp::Ne)) {
        // The null check: one side holds null (the number 0), the other a usable pointer, for every copy
        // of this lookup result or reservation. A null reservation holds no reference.
        State taken = state;
        const uint32_t id = dst.id;
        const RegType type = dst.type;
        auto settle = [id, type](State& s, bool is_null) {
            for_each_reg(s, [&](Reg& r) {
                if (r.type != type || r.id != id) return;
                if (is_null) {
                    r = Reg::scalar(Scalar::constant(0));
                } else if (type == RegType::MapValueOrNull) {
                    r.type = RegType::MapValue;
                    r.id = 0;
                } else {
                    r.type = RegType::RingbufMem;  // the id stays: it names the reference
                }
            });
            if (is_null && type == RegType::RingbufMemOrNull)
                std::erase_if(s.refs, [id](const Reference& ref) { return ref.id == id; });
        };
        settle(taken, cond.cmp == Cmp::Eq);
        settle(state, cond.cmp == Cmp::Ne);
        step.branch = std::move(taken);
        step.branch_pc = target;
        step.next_pc = pc + 1;
        return step;
    }

    if (dst.type == RegType::Scalar && src.type == RegType::Scalar) {
        // Only one side runs when the values decide the branch: they must be compared exactly when
        // pruning, or a state taking the other side could be pruned (precision.h).
        auto need_values = [&] {
            ctx.need_precise(insn.dst);
            if (register_source) ctx.need_precise(insn.src);
        };
        if (std::optional<bool> decided = branch_outcome(cond, dst.value, src.value)) {
            need_values();
            step.next_pc = *decided ? target : pc + 1;
            return step;
        }
        State taken = state;
        Reg& taken_dst = taken.regs[insn.dst];
        Scalar taken_src = src.value;
        bool taken_ok = refine(cond, true, taken_dst.value, taken_src);
        if (register_source) taken.regs[insn.src].value = taken_src;
        Scalar fall_src = src.value;
        bool fall_ok = refine(cond, false, dst.value, fall_src);
        if (register_source) state.regs[insn.src].value = fall_src;
        for (State* side : {&taken, &state}) {
            sync_linked(*side, side->regs[insn.dst]);
            if (register_source) sync_linked(*side, side->regs[insn.src]);
        }
        if (!taken_ok || !fall_ok) need_values();
        if (taken_ok) step.branch = std::move(taken), step.branch_pc = target;
        if (fall_ok) {
            step.next_pc = pc + 1;
        } else if (step.branch) {
            state = std::move(*step.branch);
            step.branch.reset();
            step.next_pc = target;
        } else {
            step.ends = true;  // both sides contradict the facts: this path cannot run
        }
        return step;
    }

    // A pointer that is never null (a checked map value, a reservation, the raw memory) against 0: the
    // comparison is decided, as the kernel decides it (is_branch_taken with reg_not_null). 64-bit only:
    // a pointer's low 32 bits may be zero.
    auto never_null = [](RegType t) { return t == RegType::MapValue || t == RegType::RingbufMem || t == RegType::Mem; };
    auto is_zero = [](const Reg& r) { return r.type == RegType::Scalar && r.value.is_const() && r.value.const_value() == 0; };
    const bool pointer_vs_zero = (never_null(dst.type) && is_zero(src)) || (register_source && never_null(src.type) && is_zero(dst));
    if (pointer_vs_zero && !cond.is32 && (cond.cmp == Cmp::Eq || cond.cmp == Cmp::Ne)) {
        if (is_zero(dst)) ctx.need_precise(insn.dst);
        if (register_source && is_zero(src)) ctx.need_precise(insn.src);
        step.next_pc = cond.cmp == Cmp::Ne ? target : pc + 1;
        return step;
    }

    // --strict: comparing pointers leaks their bits; only packet bounds checks stay allowed.
    auto packet_family = [](RegType t) { return t == RegType::Packet || t == RegType::PacketEnd || t == RegType::PacketMeta; };
    if (ctx.options.strict && !(packet_family(dst.type) && packet_family(src.type))) {
        int pointer = register_source && is_pointer(src.type) ? insn.src : insn.dst;
        return rejected(Rejection{fmt::format("R{} pointer comparison prohibited", pointer), pc});
    }
    step.branch = state;
    step.branch_pc = target;
    step.next_pc = pc + 1;
    if (register_source && !cond.is32) {
        auto prove = [&](RegType pointer, RegType end) {
            bool left = dst.type == pointer && src.type == end;
            bool right = dst.type == end && src.type == pointer;
            if (!left && !right) return;
            const Reg& p = left ? dst : src;
            const Reg& end_reg = left ? src : dst;
            // data_meta is bounded by data itself, not by data plus something not yet proven to exist.
            bool end_unmoved = end_reg.off == 0 && end_reg.id == 0 && end_reg.value.is_const() &&
                               end_reg.value.const_value() == 0;
            if (!end_unmoved) return;
            std::optional<PacketProof> proof = packet_proof(cond.cmp, left);
            if (!proof || p.off < 0 || (p.off == 0 && proof->strict) || p.value.umax > uint64_t{kMaxPacketOff} ||
                p.value.umax + static_cast<uint64_t>(p.off) > uint64_t{kMaxPacketOff})
                return;
            int32_t range = p.off + (proof->strict ? 1 : 0);
            give_range(proof->in_taken_branch ? *step.branch : state, pointer, p.id, range);
        };
        prove(RegType::Packet, RegType::PacketEnd);
        prove(RegType::PacketMeta, RegType::Packet);
    }
    return step;
}

}  // namespace tcbpf::verifier::detail
