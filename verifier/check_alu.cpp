// ALU instructions: operand checks in the kernel's order (source readable, destination readable,
// immediate divisor and shift amount valid, destination writable), then scalar transfer (scalar.h) or the
// pointer rules: a pointer may only move by a constant with 64-bit add/sub, privileged pointer
// differences become unknown scalars, and every other operation on a pointer is refused with the
// kernel's message.
#include <fmt/format.h>

#include "verifier/checker.h"

namespace tcbpf::verifier::detail {

using isa::Op;
using isa::Shape;

std::optional<Rejection> check_readable(const State& state, int reg, size_t pc) {
    if (state.regs[static_cast<size_t>(reg)].type == RegType::NotInit)
        return Rejection{fmt::format("R{} !read_ok", reg), pc};
    return std::nullopt;
}

std::optional<Rejection> check_writable(int reg, size_t pc) {
    if (reg == isa::kFrameReg) return Rejection{"frame pointer is read only", pc};
    return std::nullopt;
}

std::optional<Rejection> check_ctx_var_off(const Reg& ctx_reg, size_t pc) {
    const Scalar& v = ctx_reg.value;
    if (v.is_const() && v.const_value() == 0) return std::nullopt;
    return Rejection{fmt::format("variable ctx access var_off=(0x{:x}; 0x{:x}) disallowed", v.var_off.value, v.var_off.mask), pc};
}

Rejection not_supported(std::string_view what, size_t pc) {
    return Rejection{fmt::format("not supported yet: {} (insn {})", what, pc), pc};
}

namespace {

constexpr int64_t kMaxVarOff = int64_t{1} << 29;

bool is_op(std::string_view text, Op op) { return isa::info(op).text == text; }

// The kernel names operators by opcode, so signed division prints as "/=".
std::string_view operator_text(Op op) {
    std::string_view t = isa::info(op).text;
    if (t == "s/=") return "/=";
    if (t == "s%=") return "%=";
    return t;
}

// `packet + variable` / `map value + variable`: the variable part joins the pointer's var_off; a packet
// result gets a fresh id, as ranges proven for the old pointer say nothing about the new one.
std::optional<Rejection> variable_packet_offset(Context& ctx, const isa::Insn& insn, State& state, size_t pc,
                                                const Reg& ptr, const Scalar& offset) {
    std::string_view type = type_name(ptr.type);
    if (offset.smin == INT64_MIN)
        return Rejection{fmt::format("math between {} pointer and register with unbounded min value is not allowed", type), pc};
    // Like the kernel's check_reg_sane_offset, only the minimum is bounded here; accesses check the maximum.
    if (offset.smin <= -kMaxVarOff || offset.smin >= kMaxVarOff)
        return Rejection{fmt::format("value {} makes {} pointer be out of bounds", offset.smin, type), pc};
    Reg moved = ptr;
    moved.value = alu(Op::ADD64_X, ptr.value, offset);
    if (moved.value.smin <= -kMaxVarOff || moved.value.smin >= kMaxVarOff)
        return Rejection{fmt::format("value {} makes {} pointer be out of bounds", moved.value.smin, type), pc};
    if (ptr.type == RegType::Packet || ptr.type == RegType::PacketMeta) {
        moved.id = ++ctx.last_id;
        moved.range = 0;
    }
    state.regs[insn.dst] = moved;
    return std::nullopt;
}

std::optional<Rejection> pointer_arithmetic(Context& ctx, const isa::Insn& insn, State& state, size_t pc,
                                            const Reg& ptr, const Scalar& offset, bool scalar_is_dst) {
    int dst = insn.dst;
    bool is64 = !isa::is_32bit(insn.op);
    bool add = is_op("+=", insn.op), sub = is_op("-=", insn.op);
    if (!is64) {
        if (sub && !ctx.options.strict) {
            state.regs[dst] = Reg::scalar(zero_extend_32(Scalar::unknown()));
            return std::nullopt;
        }
        return Rejection{fmt::format("R{} 32-bit pointer arithmetic prohibited", dst), pc};
    }
    if (ptr.type == RegType::PacketEnd)
        return Rejection{fmt::format("R{} pointer arithmetic on pkt_end prohibited", dst), pc};
    if (ptr.type == RegType::MapValueOrNull || ptr.type == RegType::RingbufMemOrNull)
        return Rejection{fmt::format("R{} pointer arithmetic on {} prohibited, null-check it first", dst,
                                     type_name(ptr.type)),
                         pc};
    if (ptr.type == RegType::MapPtr) {
        // Only `+ 0` keeps a map pointer a map pointer.
        if (add && offset.is_const() && offset.const_value() == 0) {
            state.regs[dst] = ptr;
            return std::nullopt;
        }
        return Rejection{fmt::format("R{} pointer arithmetic on map_ptr prohibited", dst), pc};
    }
    if (!add && !sub) {
        std::string_view text = operator_text(insn.op);
        if (text == "&=" || text == "|=" || text == "^=")
            return Rejection{fmt::format("R{} bitwise operator {} on pointer prohibited", dst, text), pc};
        return Rejection{fmt::format("R{} pointer arithmetic with {} operator prohibited", dst, text), pc};
    }
    if (sub && scalar_is_dst) return Rejection{fmt::format("R{} tried to subtract pointer from scalar", dst), pc};
    if (!offset.is_const()) {
        bool packet = ptr.type == RegType::Packet || ptr.type == RegType::PacketMeta;
        if (ptr.type == RegType::Stack && ctx.options.strict)
            return Rejection{fmt::format("R{} variable stack access prohibited for !root, off={}", dst, ptr.off), pc};
        bool movable = packet || ptr.type == RegType::MapValue || ptr.type == RegType::Stack || ptr.type == RegType::Mem ||
                       ptr.type == RegType::RingbufMem || ptr.type == RegType::Ctx;
        if (movable && add) return variable_packet_offset(ctx, insn, state, pc, ptr, offset);
        return not_supported(fmt::format("{} pointer arithmetic with a variable offset", packet ? "subtracting from a packet" : type_name(ptr.type)), pc);
    }
    int64_t value = static_cast<int64_t>(offset.const_value());
    if (value >= kMaxVarOff || value <= -kMaxVarOff)
        return Rejection{fmt::format("math between {} pointer and {} is not allowed", type_name(ptr.type), value), pc};
    int64_t off = sub ? int64_t{ptr.off} - value : int64_t{ptr.off} + value;
    if (off >= kMaxVarOff || off <= -kMaxVarOff)
        return Rejection{fmt::format("{} pointer offset {} is not allowed", type_name(ptr.type), off), pc};
    Reg moved = ptr;
    moved.off = static_cast<int32_t>(off);
    state.regs[dst] = moved;
    return std::nullopt;
}

}  // namespace

std::optional<Rejection> execute_alu(Context& ctx, const isa::Insn& insn, State& state, size_t pc) {
    const isa::OpInfo& row = isa::info(insn.op);
    bool is64 = !isa::is_32bit(insn.op);
    bool uses_src = row.shape == Shape::AluX || row.shape == Shape::MovSx;
    bool is_mov = row.shape == Shape::MovSx || is_op("=", insn.op);
    if (uses_src)
        if (auto e = check_readable(state, insn.src, pc)) return e;
    if (!is_mov)
        if (auto e = check_readable(state, insn.dst, pc)) return e;
    if (row.shape == Shape::AluK) {
        unsigned width = is64 ? 64 : 32;
        std::string_view t = row.text;
        if ((t == "/=" || t == "%=" || t == "s/=" || t == "s%=") && insn.imm == 0) return Rejection{"div by zero", pc};
        if ((t == "<<=" || t == ">>=" || t == "s>>=") && static_cast<uint32_t>(insn.imm) >= width && !ctx.raw())
            return Rejection{fmt::format("invalid shift {}", insn.imm), pc};
    }
    if (auto e = check_writable(insn.dst, pc)) return e;

    Reg& dst = state.regs[insn.dst];
    Scalar imm = Scalar::constant(static_cast<uint64_t>(int64_t{insn.imm}));
    std::string_view text = row.text;
    if (ctx.raw() && row.shape == Shape::AluK && (text == "<<=" || text == ">>=" || text == "s>>="))
        imm = Scalar::constant(static_cast<uint64_t>(insn.imm) & (is64 ? 63 : 31));  // the raw type masks shifts
    const Reg src_reg = uses_src ? state.regs[insn.src] : Reg::scalar(imm);

    if (is_mov) {
        if (row.shape == Shape::AluK) {
            dst = Reg::scalar(alu(insn.op, dst.value, imm));
        } else if (src_reg.type == RegType::Scalar && row.shape == Shape::AluX && is64) {
            // A full copy: both now hold the same value, which later branches can learn about together.
            Reg& src = state.regs[insn.src];
            if (src.id == 0 && !src.value.is_const()) src.id = ++ctx.last_id;
            dst = src;
        } else if (src_reg.type == RegType::Scalar) {
            dst = Reg::scalar(alu(insn.op, Scalar::unknown(), src_reg.value));
        } else if (row.shape == Shape::AluX && is64) {
            dst = src_reg;  // a full copy keeps the pointer
        } else if (ctx.options.strict) {
            return Rejection{fmt::format("R{} partial copy of pointer", insn.src), pc};
        } else {
            // Privileged: a partial or sign-extended copy of a pointer is just some number.
            dst = Reg::scalar(is64 ? Scalar::unknown() : zero_extend_32(Scalar::unknown()));
        }
        return std::nullopt;
    }
    if (row.shape == Shape::Neg || row.shape == Shape::End) {
        // Privileged programs may turn pointers into numbers this way; the result is unknown.
        if (ctx.options.strict && is_pointer(dst.type))
            return Rejection{fmt::format("R{} pointer arithmetic prohibited", insn.dst), pc};
        dst = Reg::scalar(dst.type == RegType::Scalar ? alu(insn.op, dst.value, Scalar{}) : Scalar::unknown());
        return std::nullopt;
    }
    bool dst_ptr = is_pointer(dst.type), src_ptr = is_pointer(src_reg.type);
    if (dst_ptr && src_ptr) {
        if (is_op("-=", insn.op) && !ctx.options.strict) {
            dst = Reg::scalar(is64 ? Scalar::unknown() : zero_extend_32(Scalar::unknown()));
            return std::nullopt;
        }
        return Rejection{fmt::format("R{} pointer {} pointer prohibited", insn.dst, operator_text(insn.op)), pc};
    }
    // The scalar's exact range becomes part of the pointer, which pruning compares exactly.
    if (dst_ptr && uses_src) ctx.need_precise(insn.src);
    if (src_ptr) ctx.need_precise(insn.dst);
    if (dst_ptr) return pointer_arithmetic(ctx, insn, state, pc, dst, src_reg.value, false);
    if (src_ptr) return pointer_arithmetic(ctx, insn, state, pc, src_reg, dst.value, true);
    dst = Reg::scalar(alu(insn.op, dst.value, src_reg.value));
    return std::nullopt;
}

}  // namespace tcbpf::verifier::detail
