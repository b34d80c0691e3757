// Stack accesses (verifier.md §4.1). The stack is tracked per byte: never written, unknown data, known
// zero, or part of a spilled register whose whole state sits with its 8-byte slot.
//
// A constant offset names exact bytes: an aligned 8-byte store of a register (or a non-zero immediate)
// spills it, so a later 8-byte load restores pointers and scalar bounds exactly; a narrower store of a
// bounded scalar at a slot's start spills its low bytes the same way; a load of spilled bytes reads
// the spilled scalar's bytes; other stores make their bytes unknown data or known zero. A bounded
// variable offset (privileged only) names a range of bytes any of which the access may touch: a write
// makes every byte of the range unknown data (known zero stays zero when writing zero), a read gives
// an unknown value (zero if every byte is a known zero). Privileged programs may read bytes never
// written (Linux 6.x's allow_uninit_stack): they get an unknown value from their own stack, never
// anything else. `--strict` refuses such reads and variable offsets, as the kernel does unprivileged.
// The pointer names the frame whose stack it is, so callees work on their callers' stacks too.
#include <fmt/format.h>

#include "verifier/checker.h"

namespace tcbpf::verifier::detail {

namespace {

constexpr int kSlot = 8;
constexpr int64_t kMaxVarOff = int64_t{1} << 29;

int slot_index(int64_t off) { return static_cast<int>((-off - 1) / kSlot); }
int byte_in_slot(int64_t off) { return static_cast<int>(off + kSlot * (slot_index(off) + 1)); }

// A partial overwrite ends a spill: its other bytes become plain unknown data.
void break_spill(StackSlot& slot) {
    if (!slot.is_spill()) return;
    for (StackByte& b : slot.bytes)
        if (b == StackByte::Spill) b = StackByte::Misc;
    slot.spilled = Reg{};
}

// The bytes [lo, hi) below the frame's r10 the access may touch, or the rejection.
struct Range {
    int64_t lo, hi;
    bool fixed;
};

std::string tnum_text(const Tnum& t) { return fmt::format("(0x{:x}; 0x{:x})", t.value, t.mask); }

std::optional<Rejection> access_range(Context& ctx, const State& state, const Reg& base, int reg, int32_t insn_off,
                                      int size, bool is_write, size_t pc, Range& out) {
    const char* what = is_write ? " write to" : " read from";
    int64_t off = int64_t{base.off} + insn_off;
    if (base.value.is_const()) {
        off += static_cast<int64_t>(base.value.const_value());
        if (off % size != 0)
            return Rejection{fmt::format("misaligned stack access off 0+{}+{} size {}", base.off, insn_off, size), pc};
        if (off < -isa::kStackSize || off + size > 0)
            return Rejection{fmt::format("invalid{} stack R{} off={} size={}", what, reg, off, size), pc};
        out = Range{off, off + size, true};
    } else {
        if (ctx.options.strict)
            return Rejection{fmt::format("R{} variable stack access prohibited for !root, off={}", reg, off), pc};
        Tnum whole = tnum_add(base.value.var_off, Tnum::constant(static_cast<uint64_t>(off)));
        if ((whole.value | whole.mask) & static_cast<uint64_t>(size - 1))
            return Rejection{fmt::format("misaligned stack access off {}+{}+{} size {}", tnum_text(base.value.var_off),
                                         base.off, insn_off, size),
                             pc};
        if (base.value.smax >= kMaxVarOff || base.value.smin <= -kMaxVarOff)
            return Rejection{fmt::format("invalid unbounded variable-offset{} stack R{}", what, reg), pc};
        int64_t lo = base.value.smin + off, hi = base.value.smax + off + size;
        if (lo < -isa::kStackSize || hi > 0)
            return Rejection{fmt::format("invalid variable-offset{} stack R{} var_off={} off={} size={}", what, reg,
                                         tnum_text(base.value.var_off), off, size),
                             pc};
        out = Range{lo, hi, false};
    }
    note_stack_use(ctx, state, base.frame, pc, out.lo);
    if (out.fixed) {
        ctx.touched_spi = slot_index(out.lo);
        ctx.touched_frame = base.frame;
        ctx.touched_bytes = static_cast<uint8_t>(((1u << size) - 1) << byte_in_slot(out.lo));
    }
    return std::nullopt;
}

// --strict: every byte read must have been written.
std::optional<Rejection> check_initialised(State& state, uint32_t frame, const Range& r, int32_t insn_off, int reg,
                                           bool indirect, size_t pc) {
    for (int64_t off = r.lo; off < r.hi; ++off) {
        StackSlot& slot = state.slot_of(frame, slot_index(off));
        if (slot.bytes[static_cast<size_t>(byte_in_slot(off))] != StackByte::Invalid) continue;
        if (indirect)
            return Rejection{fmt::format("invalid indirect read from stack R{} off {}+{} size {}", reg, r.lo,
                                         off - r.lo, r.hi - r.lo),
                             pc};
        return Rejection{fmt::format("invalid read from stack off {}+{} size {}", insn_off, off - r.lo, r.hi - r.lo), pc};
    }
    return std::nullopt;
}

void mark_range(State& state, uint32_t frame, const Range& r, StackByte kind) {
    for (int64_t off = r.lo; off < r.hi; ++off) {
        StackSlot& slot = state.slot_of(frame, slot_index(off));
        break_spill(slot);
        StackByte& b = slot.bytes[static_cast<size_t>(byte_in_slot(off))];
        if (!(kind == StackByte::Zero && b == StackByte::Zero)) b = kind == StackByte::Zero ? StackByte::Misc : kind;
    }
}

}  // namespace

void Context::note_slots_read(uint32_t frame, int64_t lo, int64_t hi) {
    if (frame >= slots_read.size() || lo >= hi) return;
    for (int spi = slot_index(hi - 1); spi <= slot_index(lo); ++spi)
        if (spi >= 0 && spi < 64) slots_read[frame] |= uint64_t{1} << spi;
}

std::optional<Rejection> stack_load(Context& ctx, State& state, const isa::Insn& insn, const Reg& base, int size,
                                    Reg& out, size_t pc) {
    Range r{};
    if (auto e = access_range(ctx, state, base, insn.src, insn.off, size, false, pc, r)) return e;
    ctx.note_slots_read(base.frame, r.lo, r.hi);
    if (!r.fixed) {
        bool all_zero = true;
        for (int64_t off = r.lo; off < r.hi; ++off) {
            const StackSlot& slot = state.slot_of(base.frame, slot_index(off));
            if (slot.bytes[static_cast<size_t>(byte_in_slot(off))] != StackByte::Zero) all_zero = false;
        }
        out = Reg::scalar(all_zero ? Scalar::constant(0) : Scalar::unknown());
        // The zero may matter to what follows; no history entry names these bytes, so they are
        // wanted now (precision.h).
        if (all_zero) ctx.want_zero_range = {r.lo, r.hi}, ctx.want_zero_frame = base.frame;
        return std::nullopt;
    }
    StackSlot& slot = state.slot_of(base.frame, slot_index(r.lo));
    const int first = byte_in_slot(r.lo);
    bool all_spill = true, any_spill = false, all_zero = true;
    for (int i = first; i < first + size; ++i) {
        StackByte b = slot.bytes[static_cast<size_t>(i)];
        all_spill = all_spill && b == StackByte::Spill;
        any_spill = any_spill || b == StackByte::Spill;
        all_zero = all_zero && b == StackByte::Zero;
    }
    if (slot.is_spill() && all_spill) {
        if (size == kSlot) {
            out = slot.spilled;
            return std::nullopt;
        }
        if (slot.spilled.type != RegType::Scalar) return Rejection{"invalid size of register fill", pc};
        // Little-endian: the bytes at slot offset o are the spilled value shifted right by 8*o (the
        // caller truncates to the access size), so e.g. a narrow fill of a spilled constant is constant.
        int shift = 8 * first;
        out = Reg::scalar(shift == 0 ? slot.spilled.value
                                     : alu(isa::Op::RSH64_K, slot.spilled.value, Scalar::constant(static_cast<uint64_t>(shift))));
        return std::nullopt;
    }
    if (any_spill && slot.spilled.type != RegType::Scalar) return Rejection{"invalid size of register fill", pc};
    if (ctx.options.strict)
        if (auto e = check_initialised(state, base.frame, r, insn.off + base.off, insn.src, false, pc)) return e;
    out = Reg::scalar(all_zero ? Scalar::constant(0) : Scalar::unknown());
    return std::nullopt;
}

std::optional<Rejection> stack_store(Context& ctx, State& state, const isa::Insn& insn, const Reg& base, int size,
                                     const std::optional<Reg>& value, size_t pc) {
    Range r{};
    if (auto e = access_range(ctx, state, base, insn.dst, insn.off, size, true, pc, r)) return e;
    bool pointer = value && is_pointer(value->type);
    if (pointer && size != kSlot) return Rejection{"invalid size of register spill", pc};
    if (pointer && value->type == RegType::Stack && value->frame > base.frame)
        return Rejection{"cannot spill pointers to stack into stack frame of the caller", pc};
    bool known_zero = value && value->type == RegType::Scalar && value->value.is_const() && value->value.const_value() == 0;
    if (!r.fixed) {
        if (pointer) return not_supported("spilling a pointer through a variable stack offset", pc);
        mark_range(state, base.frame, r, known_zero ? StackByte::Zero : StackByte::Misc);
        return std::nullopt;
    }
    StackSlot& slot = state.slot_of(base.frame, slot_index(r.lo));
    if (size == kSlot && slot_index(r.lo) < 64) ctx.slots_written[base.frame] |= uint64_t{1} << slot_index(r.lo);
    if (size == kSlot && value && !known_zero) {
        slot.bytes.fill(StackByte::Spill);
        slot.spilled = *value;
        return std::nullopt;
    }
    break_spill(slot);
    // A bounded scalar's low bytes stored at a slot's start are spilled too (privileged), so a fill of
    // the same size gives its bounds back; the slot's other bytes become unknown data.
    bool bounded = value && value->type == RegType::Scalar && !value->value.is_unknown();
    if (!ctx.options.strict && byte_in_slot(r.lo) == 0 && bounded && !known_zero) {
        for (int i = 0; i < kSlot; ++i)
            slot.bytes[static_cast<size_t>(i)] = i < size ? StackByte::Spill : StackByte::Misc;
        slot.spilled = Reg::scalar(truncate(value->value, static_cast<unsigned>(size)));
        return std::nullopt;
    }
    for (int64_t off = r.lo; off < r.hi; ++off)
        slot.bytes[static_cast<size_t>(byte_in_slot(off))] = known_zero ? StackByte::Zero : StackByte::Misc;
    return std::nullopt;
}

std::optional<Rejection> stack_atomic(Context& ctx, State& state, const isa::Insn& insn, const Reg& base, int size,
                                      size_t pc) {
    Range r{};
    if (auto e = access_range(ctx, state, base, insn.dst, insn.off, size, true, pc, r)) return e;
    ctx.note_slots_read(base.frame, r.lo, r.hi);
    StackSlot& slot = state.slot_of(base.frame, slot_index(r.lo));
    if (r.fixed && slot.is_spill() && slot.spilled.type != RegType::Scalar)
        return not_supported("atomic operations on a spilled pointer", pc);
    if (ctx.options.strict)
        if (auto e = check_initialised(state, base.frame, r, insn.off + base.off, insn.dst, false, pc)) return e;
    // The old value is some number; the new one too (an unknown operand, or a racing update).
    mark_range(state, base.frame, r, StackByte::Misc);
    return std::nullopt;
}

std::optional<Rejection> stack_helper_access(Context& ctx, State& state, int reg, int size, bool reads, bool writes,
                                             size_t pc) {
    const Reg base = state.regs[static_cast<size_t>(reg)];
    int64_t off = base.off;
    Range r{};
    if (base.value.is_const()) {
        off += static_cast<int64_t>(base.value.const_value());
        if (off < -isa::kStackSize || off + size > 0)
            return Rejection{fmt::format("invalid {} stack R{} off={} size={}", writes && !reads ? "write to" : "read from",
                                         reg, off, size),
                             pc};
        r = Range{off, off + size, true};
        note_stack_use(ctx, state, base.frame, pc, r.lo);
    } else {
        if (writes && !reads)
            return Rejection{fmt::format("variable offset stack pointer cannot be passed into helper function; "
                                         "R{} var_off={} off={} size={}",
                                         reg, tnum_text(base.value.var_off), base.off, size),
                             pc};
        if (auto e = access_range(ctx, state, base, reg, 0, 1, false, pc, r)) return e;
        r.hi = r.hi - 1 + size;
        if (r.hi > 0)
            return Rejection{fmt::format("invalid variable-offset read from stack R{} var_off={} off={} size={}", reg,
                                         tnum_text(base.value.var_off), base.off, size),
                             pc};
    }
    if (reads) ctx.note_slots_read(base.frame, r.lo, r.hi);
    if (reads && ctx.options.strict)
        if (auto e = check_initialised(state, base.frame, r, base.off, reg, true, pc)) return e;
    // A helper reading the bytes may also have written them (the kernel's clobber), and one writing
    // them leaves unknown data.
    if (writes) mark_range(state, base.frame, r, StackByte::Misc);
    return std::nullopt;
}

}  // namespace tcbpf::verifier::detail
