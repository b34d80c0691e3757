// Loads and stores. The base register's type picks the rules (verifier.md §4):
//  * stack: check_stack.cpp;
//  * ctx (__sk_buff): the pointer must be unmoved, then skb::check_ctx_access decides; data, data_end
//    and data_meta load as packet pointers;
//  * packet: the access must lie inside the range a data_end comparison proved;
//  * map value: every offset the pointer may have must keep the access inside value_size, and the map's
//    program-side read/write flags must allow it;
//  * the raw program type's memory: like a map value of raw_memory_size bytes; a ring buffer
//    reservation likewise, of the size reserved;
//  * anything else: "invalid mem access".
// `--strict` also refuses storing a pointer anywhere but the stack (it would leak to user space).
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

std::optional<Rejection> check_ctx_pointer(const Reg& base, int reg, size_t pc) {
    if (base.off < 0) return Rejection{fmt::format("negative offset ctx ptr R{} off={} disallowed", reg, base.off), pc};
    if (base.off > 0) return Rejection{fmt::format("dereference of modified ctx ptr R{} off={} disallowed", reg, base.off), pc};
    return check_ctx_var_off(base, pc);
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
    bool raw_memory = base.type == RegType::Mem || base.type == RegType::RingbufMem;
    uint32_t value_size = base.type == RegType::RingbufMem ? static_cast<uint32_t>(base.range)
                          : raw_memory                     ? *ctx.options.raw_memory_size
                                                           : ctx.options.maps[base.map].value_size;
    if (!raw_memory) {
        const MapInfo& map = ctx.options.maps[base.map];
        constexpr uint32_t kRdonlyProg = 0x80, kWronlyProg = 0x100;
        if (a.is_write && (map.flags & kRdonlyProg))
            return Rejection{fmt::format("write into map forbidden, value_size={} off={} size={}", map.value_size, a.off, a.size), pc};
        if (!a.is_write && (map.flags & kWronlyProg))
            return Rejection{fmt::format("read from map forbidden, value_size={} off={} size={}", map.value_size, a.off, a.size), pc};
    }
    const Scalar& var = base.value;
    auto outside = [&](int64_t off) { return off < 0 || off + a.size > int64_t{value_size}; };
    auto region_error = [&](int64_t off, std::string_view which) {
        return Rejection{fmt::format("invalid access to {}, {}={} off={} size={}\n"
                                     "R{} {} value is outside of the allowed memory range",
                                     raw_memory ? "memory" : "map value", raw_memory ? "mem_size" : "value_size",
                                     value_size, off, a.size, a.base_reg, which),
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

std::optional<Rejection> check_same_base_kind(Context& ctx, const Reg& base, size_t pc) {
    uint8_t kind = base.type == RegType::Ctx ? 1 : 2;
    uint8_t& seen = ctx.base_kind[pc];
    if (seen != 0 && seen != kind) return Rejection{"same insn cannot be used with different pointers", pc};
    seen = kind;
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
            Reg raw;
            if (auto e = stack_load(ctx, state, insn, base, size, raw, pc)) return e;
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
        case RegType::Mem:
        case RegType::RingbufMem:
            if (auto e = check_map_value(ctx, base, a, pc)) return e;
            value = loaded_value(Reg::scalar(Scalar::unknown()), size, sign_extending);
            break;
        default: return invalid_mem_access(base, insn.src, pc);
    }
    if (auto e = check_same_base_kind(ctx, base, pc)) return e;
    state.regs[insn.dst] = value;
    return std::nullopt;
}

namespace {

std::optional<Rejection> store(Context& ctx, const isa::Insn& insn, State& state, size_t pc) {
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
    if (ctx.options.strict && is_pointer(value->type) && base.type != RegType::Stack) {
        std::string_view into = base.type == RegType::MapValue ? "map"
                                : base.type == RegType::Ctx    ? "ctx"
                                : base.type == RegType::Mem || base.type == RegType::RingbufMem ? "mem"
                                                               : "packet";
        return Rejection{fmt::format("R{} leaks addr into {}", insn.src, into), pc};
    }
    switch (base.type) {
        case RegType::Stack: return stack_store(ctx, state, insn, base, size, value, pc);
        case RegType::Ctx: {
            if (auto e = check_ctx_pointer(base, insn.dst, pc)) return e;
            skb::CtxVerdict verdict = skb::check_ctx_access(ctx.options.prog_type, insn.off, static_cast<uint32_t>(size), true);
            if (!verdict.ok) return Rejection{verdict.message, pc};
            return std::nullopt;
        }
        case RegType::Packet:
        case RegType::PacketMeta:
            ctx.direct_packet_write = true;
            return check_packet(base, a, pc);
        case RegType::MapValue:
        case RegType::Mem:
        case RegType::RingbufMem: return check_map_value(ctx, base, a, pc);
        default: return invalid_mem_access(base, insn.dst, pc);
    }
}

}  // namespace

std::optional<Rejection> execute_store(Context& ctx, const isa::Insn& insn, State& state, size_t pc) {
    if (auto e = store(ctx, insn, state, pc)) return e;
    return check_same_base_kind(ctx, state.regs[insn.dst], pc);
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
        case RegType::Stack:
            if (auto e = stack_atomic(ctx, state, insn, base, size, pc)) return e;
            break;
        case RegType::MapValue:
        case RegType::Mem:
        case RegType::RingbufMem: {
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
    if (insn.imm & kFetch) {
        int loaded = insn.imm == kCmpxchg ? 0 : insn.src;
        if (auto e = check_writable(loaded, pc)) return e;
        state.regs[static_cast<size_t>(loaded)] = Reg::scalar(truncate(Scalar::unknown(), static_cast<unsigned>(size)));
    }
    return std::nullopt;
}

std::optional<Rejection> check_helper_memory(Context& ctx, State& state, int reg, int size, size_t pc,
                                             bool is_write, bool reads) {
    const Reg base = state.regs[static_cast<size_t>(reg)];
    Access a{reg, base.off, size, is_write};
    switch (base.type) {
        case RegType::Stack: return stack_helper_access(ctx, state, reg, size, reads, is_write, pc);
        case RegType::Packet:
        case RegType::PacketMeta:
            if (is_write) ctx.direct_packet_write = true;
            return check_packet(base, a, pc);
        case RegType::MapValue:
        case RegType::Mem:
        case RegType::RingbufMem:
            if (reads && is_write) {
                Access read = a;
                read.is_write = false;
                if (auto e = check_map_value(ctx, base, read, pc)) return e;
            }
            return check_map_value(ctx, base, a, pc);
        default: return std::nullopt;  // the caller checked the type
    }
}

}  // namespace tcbpf::verifier::detail
