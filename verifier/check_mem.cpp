// Loads and stores. The base register's type picks the rules (verifier.md §4):
//  * stack: constant offsets inside [-512, 0), aligned to the access size; an aligned 8-byte store of a
//    register spills its whole state and an 8-byte load of a spill restores it (a narrower one reads the
//    spilled value's bytes); other stores record per byte "unknown data" or "known zero"; privileged
//    loads may read never-written bytes (an unknown value, as Linux 6.18 allows); atomics work on the
//    stack only;
//  * ctx (__sk_buff): the pointer must be unmoved, then skb::check_ctx_access decides; data, data_end
//    and data_meta load as packet pointers;
//  * packet: the access must lie inside the range a data_end comparison proved;
//  * map value: every offset the pointer may have must keep the access inside value_size, and the map's
//    program-side read/write flags must allow it;
//  * anything else: "invalid mem access".
#include <fmt/format.h>

#include "verifier/checker.h"

namespace tcbpf::verifier::detail {

using isa::Op;
using isa::Shape;

namespace {

constexpr int kSlot = 8;

struct Access {
    int base_reg;
    int32_t off;  // insn.off + the pointer's fixed offset
    int size;
    bool is_write;
};

int slot_index(int32_t off) { return (-off - 1) / kSlot; }
int byte_in_slot(int32_t off) { return off + kSlot * (slot_index(off) + 1); }

std::optional<Rejection> check_stack_bounds(Context& ctx, const isa::Insn& insn, const Reg& base, const Access& a,
                                            size_t pc) {
    if (a.off % a.size != 0)
        return Rejection{fmt::format("misaligned stack access off 0+{}+{} size {}", base.off, insn.off, a.size), pc};
    if (a.off < -isa::kStackSize || a.off + a.size > 0)
        return Rejection{fmt::format("invalid {} stack R{} off={} size={}", a.is_write ? "write to" : "read from",
                                     a.base_reg, a.off, a.size),
                         pc};
    ctx.stack_depth = std::max(ctx.stack_depth, -a.off);
    return std::nullopt;
}

// A partial overwrite ends a spill: its other bytes become plain unknown data.
void break_spill(StackSlot& slot) {
    if (!slot.is_spill()) return;
    for (StackByte& b : slot.bytes)
        if (b == StackByte::Spill) b = StackByte::Misc;
    slot.spilled = Reg{};
}

void stack_write(State& state, const Access& a, const std::optional<Reg>& value) {
    StackSlot& slot = state.slot(slot_index(a.off));
    bool known_zero = value && value->type == RegType::Scalar && value->value.is_const() &&
                      value->value.const_value() == 0;
    if (a.size == kSlot && value && !known_zero) {
        slot.bytes.fill(StackByte::Spill);
        slot.spilled = *value;
        return;
    }
    break_spill(slot);
    int first = byte_in_slot(a.off);
    for (int i = first; i < first + a.size; ++i)
        slot.bytes[static_cast<size_t>(i)] = known_zero ? StackByte::Zero : StackByte::Misc;
}

std::optional<Rejection> stack_read(State& state, const Access& a, Reg& out, size_t pc) {
    StackSlot& slot = state.slot(slot_index(a.off));
    if (slot.is_spill()) {
        if (a.size == kSlot) {
            out = slot.spilled;
            return std::nullopt;
        }
        if (slot.spilled.type != RegType::Scalar) return Rejection{"invalid size of register fill", pc};
        // Little-endian: the bytes at slot offset o are the spilled value shifted right by 8*o (the
        // caller truncates to the access size), so e.g. a narrow fill of a spilled constant is constant.
        int shift = 8 * byte_in_slot(a.off);
        out = Reg::scalar(shift == 0 ? slot.spilled.value
                                     : alu(isa::Op::RSH64_K, slot.spilled.value, Scalar::constant(static_cast<uint64_t>(shift))));
        return std::nullopt;
    }
    int first = byte_in_slot(a.off);
    bool all_zero = true;
    for (int i = first; i < first + a.size; ++i) {
        StackByte b = slot.bytes[static_cast<size_t>(i)];
        // Privileged loads may read never-written stack (allow_uninit_stack): the value is unknown.
        if (b != StackByte::Zero) all_zero = false;
    }
    out = Reg::scalar(all_zero ? Scalar::constant(0) : Scalar::unknown());
    return std::nullopt;
}

std::optional<Rejection> check_ctx_pointer(const Reg& base, int reg, size_t pc) {
    if (base.off < 0) return Rejection{fmt::format("negative offset ctx ptr R{} off={} disallowed", reg, base.off), pc};
    if (base.off > 0) return Rejection{fmt::format("dereference of modified ctx ptr R{} off={} disallowed", reg, base.off), pc};
    return std::nullopt;
}

// The range was proven for pointers of this id, whose variable part is the same unknown value, so
// only the fixed part needs checking (the kernel's rule); a variable part that may be negative cannot
// be trusted.
std::optional<Rejection> check_packet(const Reg& base, const Access& a, size_t pc) {
    if (base.value.smin < 0)
        return Rejection{fmt::format("R{} min value is negative, either use unsigned index or do a if (index >=0) check.",
                                     a.base_reg),
                         pc};
    if (a.off >= 0 && a.off + a.size <= base.range) return std::nullopt;
    return Rejection{fmt::format("invalid access to packet, off={} size={}, R{}(id={},off={},r={})\n"
                                 "R{} offset is outside of the packet",
                                 a.off, a.size, a.base_reg, base.id, a.off, base.range, a.base_reg),
                     pc};
}

// check_mem_region_access for a map value: both the smallest and the largest offset the variable part
// allows must keep [off, off + size) inside the value.
std::optional<Rejection> check_map_value(const Context& ctx, const Reg& base, const Access& a, size_t pc) {
    const MapInfo& map = ctx.options.maps[base.map];
    constexpr uint32_t kRdonlyProg = 0x80, kWronlyProg = 0x100;
    if (a.is_write && (map.flags & kRdonlyProg))
        return Rejection{fmt::format("write into map forbidden, value_size={} off={} size={}", map.value_size, a.off, a.size), pc};
    if (!a.is_write && (map.flags & kWronlyProg))
        return Rejection{fmt::format("read from map forbidden, value_size={} off={} size={}", map.value_size, a.off, a.size), pc};
    const Scalar& var = base.value;
    auto outside = [&](int64_t off) { return off < 0 || off + a.size > int64_t{map.value_size}; };
    auto region_error = [&](int64_t off, std::string_view which) {
        return Rejection{fmt::format("invalid access to map value, value_size={} off={} size={}\n"
                                     "R{} {} value is outside of the allowed memory range",
                                     map.value_size, off, a.size, a.base_reg, which),
                         pc};
    };
    if (var.smin < 0 && (var.smin == INT64_MIN || var.smin + a.off < INT32_MIN || var.smin + a.off < 0))
        return Rejection{fmt::format("R{} min value is negative, either use unsigned index or do a if (index >=0) check.",
                                     a.base_reg),
                         pc};
    if (outside(var.smin + a.off)) return region_error(var.smin + a.off, "min");
    if (var.umax >= (uint64_t{1} << 29))
        return Rejection{fmt::format("R{} unbounded memory access, make sure to bounds check any such access", a.base_reg), pc};
    if (outside(static_cast<int64_t>(var.umax) + a.off)) return region_error(static_cast<int64_t>(var.umax) + a.off, "max");
    return std::nullopt;
}

Rejection invalid_mem_access(const Reg& base, int reg, size_t pc) {
    return Rejection{fmt::format("R{} invalid mem access '{}'", reg, type_name(base.type)), pc};
}

Reg loaded_value(const Reg& raw, int size, bool sign_extending) {
    if (raw.type != RegType::Scalar || size == kSlot) return raw;
    Scalar v = truncate(raw.value, static_cast<unsigned>(size));
    return Reg::scalar(sign_extending ? sign_extend(v, static_cast<unsigned>(size)) : v);
}

}  // namespace

std::optional<Rejection> execute_load(Context& ctx, const isa::Insn& insn, State& state, size_t pc) {
    if (auto e = check_readable(state, insn.src, pc)) return e;
    if (auto e = check_writable(insn.dst, pc)) return e;
    const Reg base = state.regs[insn.src];
    int size = isa::mem_size(insn.op);
    bool sign_extending = isa::info(insn.op).text[0] == 's';
    Access a{insn.src, insn.off + base.off, size, false};
    Reg value;
    switch (base.type) {
        case RegType::Stack: {
            if (auto e = check_stack_bounds(ctx, insn, base, a, pc)) return e;
            Reg raw;
            if (auto e = stack_read(state, a, raw, pc)) return e;
            value = loaded_value(raw, size, sign_extending);
            break;
        }
        case RegType::Ctx: {
            if (auto e = check_ctx_pointer(base, insn.src, pc)) return e;
            if (sign_extending) return not_supported("sign-extending loads from ctx", pc);
            skb::CtxVerdict verdict = skb::check_ctx_access(ctx.options.prog_type, insn.off, static_cast<uint32_t>(size), false);
            if (!verdict.ok) return Rejection{verdict.message, pc};
            const skb::SkbField* field = skb::skb_field_at(static_cast<uint32_t>(insn.off));
            std::string_view name = field ? field->name : "";
            if (name == "data") value = Reg::pointer(RegType::Packet);
            else if (name == "data_end") value = Reg::pointer(RegType::PacketEnd);
            else if (name == "data_meta") value = Reg::pointer(RegType::PacketMeta);
            else value = loaded_value(Reg::scalar(Scalar::unknown()), size, false);
            break;
        }
        case RegType::Packet:
        case RegType::PacketMeta:
            if (auto e = check_packet(base, a, pc)) return e;
            value = loaded_value(Reg::scalar(Scalar::unknown()), size, sign_extending);
            break;
        case RegType::MapValue:
            if (auto e = check_map_value(ctx, base, a, pc)) return e;
            value = loaded_value(Reg::scalar(Scalar::unknown()), size, sign_extending);
            break;
        default: return invalid_mem_access(base, insn.src, pc);
    }
    state.regs[insn.dst] = value;
    return std::nullopt;
}

std::optional<Rejection> execute_store(Context& ctx, const isa::Insn& insn, State& state, size_t pc) {
    bool from_register = isa::info(insn.op).shape == Shape::Stx;
    if (from_register)
        if (auto e = check_readable(state, insn.src, pc)) return e;
    if (auto e = check_readable(state, insn.dst, pc)) return e;
    const Reg base = state.regs[insn.dst];
    int size = isa::mem_size(insn.op);
    Access a{insn.dst, insn.off + base.off, size, true};
    std::optional<Reg> value;
    if (from_register) value = state.regs[insn.src];
    else value = Reg::scalar(Scalar::constant(static_cast<uint64_t>(int64_t{insn.imm})));
    switch (base.type) {
        case RegType::Stack:
            if (auto e = check_stack_bounds(ctx, insn, base, a, pc)) return e;
            if (value->type != RegType::Scalar && size != kSlot) return Rejection{"invalid size of register spill", pc};
            stack_write(state, a, value);
            return std::nullopt;
        case RegType::Ctx: {
            if (auto e = check_ctx_pointer(base, insn.dst, pc)) return e;
            skb::CtxVerdict verdict = skb::check_ctx_access(ctx.options.prog_type, insn.off, static_cast<uint32_t>(size), true);
            if (!verdict.ok) return Rejection{verdict.message, pc};
            return std::nullopt;
        }
        case RegType::Packet:
        case RegType::PacketMeta: return check_packet(base, a, pc);
        case RegType::MapValue: return check_map_value(ctx, base, a, pc);
        default: return invalid_mem_access(base, insn.dst, pc);
    }
}

std::optional<Rejection> execute_atomic(Context& ctx, const isa::Insn& insn, State& state, size_t pc) {
    constexpr int32_t kFetch = 0x01, kCmpxchg = 0xf1;
    if (auto e = check_readable(state, insn.src, pc)) return e;
    if (auto e = check_readable(state, insn.dst, pc)) return e;
    if (insn.imm == kCmpxchg)
        if (auto e = check_readable(state, 0, pc)) return e;
    const Reg base = state.regs[insn.dst];
    int size = isa::mem_size(insn.op);
    Access a{insn.dst, insn.off + base.off, size, true};
    switch (base.type) {
        case RegType::Stack: break;
        case RegType::MapValue: {
            Access read = a;
            read.is_write = false;
            if (auto e = check_map_value(ctx, base, read, pc)) return e;
            if (auto e = check_map_value(ctx, base, a, pc)) return e;
            if (insn.imm & kFetch) {
                int loaded = insn.imm == kCmpxchg ? 0 : insn.src;
                if (auto e = check_writable(loaded, pc)) return e;
                state.regs[static_cast<size_t>(loaded)] = Reg::scalar(truncate(Scalar::unknown(), static_cast<unsigned>(size)));
            }
            return std::nullopt;
        }
        case RegType::Ctx:
        case RegType::Packet:
        case RegType::PacketMeta:
            return Rejection{fmt::format("BPF_ATOMIC stores into R{} {} is not allowed", insn.dst, type_name(base.type)), pc};
        default: return invalid_mem_access(base, insn.dst, pc);
    }
    if (auto e = check_stack_bounds(ctx, insn, base, a, pc)) return e;
    StackSlot& slot = state.slot(slot_index(a.off));
    if (slot.is_spill() && slot.spilled.type != RegType::Scalar)
        return not_supported("atomic operations on a spilled pointer", pc);
    // The old value is some number; the new one too (an unknown operand, or a racing update).
    stack_write(state, a, std::nullopt);
    if (insn.imm & kFetch) {
        int loaded = insn.imm == kCmpxchg ? 0 : insn.src;
        if (auto e = check_writable(loaded, pc)) return e;
        state.regs[static_cast<size_t>(loaded)] = Reg::scalar(truncate(Scalar::unknown(), static_cast<unsigned>(size)));
    }
    return std::nullopt;
}

std::optional<Rejection> check_helper_memory(Context& ctx, State& state, int reg, int size, size_t pc,
                                             bool is_write) {
    const Reg base = state.regs[static_cast<size_t>(reg)];
    Access a{reg, base.off, size, is_write};
    switch (base.type) {
        case RegType::Stack:
            if (a.off < -isa::kStackSize || a.off + a.size > 0)
                return Rejection{fmt::format("invalid {} stack R{} off={} size={}", is_write ? "write to" : "read from",
                                             reg, a.off, a.size),
                                 pc};
            ctx.stack_depth = std::max(ctx.stack_depth, -a.off);
            if (is_write) {
                for (int32_t off = a.off; off < a.off + a.size; ++off) {
                    StackSlot& slot = state.slot(slot_index(off));
                    break_spill(slot);
                    slot.bytes[static_cast<size_t>(byte_in_slot(off))] = StackByte::Misc;
                }
            }
            return std::nullopt;  // privileged: any bytes, written or not, may be read
        case RegType::Packet:
        case RegType::PacketMeta: return check_packet(base, a, pc);
        case RegType::MapValue: return check_map_value(ctx, base, a, pc);
        default: return std::nullopt;  // the caller checked the type
    }
}

}  // namespace tcbpf::verifier::detail
