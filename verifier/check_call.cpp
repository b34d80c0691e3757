// Helper calls, checked against the helper's prototype (helper_table.h) as the kernel's
// check_helper_call does: the id must name a helper tc programs may call and tcbpf knows the prototype
// of; each argument register must be readable and of a type its kind accepts — the unmoved context, a
// map pointer (of a type the helper may take), memory of the map's key or value size, memory sized by
// the next argument (which must be a bounded scalar, > 0 unless zero is allowed), fixed-size memory, or
// any value. Memory arguments are checked like loads/stores of that many bytes (stack, packet if the
// helper may touch it, map value, raw memory); bytes a helper writes into the stack become unknown data.
// Then r1-r5 are clobbered, r0 takes the return kind (a lookup result gets a fresh id so one null check
// settles its copies), and helpers that may move packet data turn every packet pointer into a number, so
// the program must re-load data/data_end and check again. bpf_tail_call and LD_ABS/LD_IND are here too.
//
// Ring buffer reservations are references, as in the kernel: bpf_ringbuf_reserve acquires one (r0 is
// memory of the constant size asked for, or null; the null branch of its check drops the reference),
// bpf_ringbuf_submit/discard release it and every copy of the pointer stops being one. A path may not
// end (exit, a tail call, LD_ABS/LD_IND's implicit exit) while it holds a reference.
#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "verifier/checker.h"
#include "verifier/helper_table.h"

namespace tcbpf::verifier::detail {

namespace {

bool is_packet_family(RegType type) {
    return type == RegType::Packet || type == RegType::PacketEnd || type == RegType::PacketMeta;
}

constexpr std::string_view kMemTypes = "fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_";
constexpr std::string_view kKeyTypes = "fp, pkt, pkt_meta, map_key, map_value";

void clobber_caller_saved(State& state) {
    for (int reg = 0; reg <= 5; ++reg) state.regs[static_cast<size_t>(reg)] = Reg{};
}

void invalidate_packet_pointers(State& state) {
    for_each_reg(state, [](Reg& r) {
        if (is_packet_family(r.type)) r = Reg::scalar(Scalar::unknown());
    });
}

}  // namespace

std::optional<Rejection> check_reference_leak(const State& state, std::string_view what, size_t pc) {
    if (state.refs.empty()) return std::nullopt;
    const Reference& ref = state.refs.front();
    return Rejection{fmt::format("Unreleased reference id={} alloc_insn={}\n{} would lead to reference leak", ref.id,
                                 ref.insn, what),
                     pc};
}

std::optional<Rejection> check_ctx_arg(const State& state, int reg, size_t pc) {
    if (auto e = check_readable(state, reg, pc)) return e;
    const Reg& r = state.regs[static_cast<size_t>(reg)];
    if (r.type != RegType::Ctx) return Rejection{fmt::format("R{} type={} expected=ctx", reg, type_name(r.type)), pc};
    if (r.off != 0) return Rejection{fmt::format("dereference of modified ctx ptr R{} off={} disallowed", reg, r.off), pc};
    return check_ctx_var_off(r, pc);
}

// bpf_tail_call(ctx, prog_array, index): returns only when the slot is empty; r0 is not set then.
std::optional<Rejection> execute_tail_call(Context& ctx, const isa::Insn&, State& state, size_t pc) {
    constexpr uint32_t kProgArray = 3;
    if (auto e = check_ctx_arg(state, 1, pc)) return e;
    if (auto e = check_readable(state, 2, pc)) return e;
    const Reg& map_reg = state.regs[2];
    if (map_reg.type != RegType::MapPtr)
        return Rejection{fmt::format("R2 type={} expected=map_ptr", type_name(map_reg.type)), pc};
    uint32_t type = ctx.options.maps[map_reg.map].type;
    if (type != kProgArray)
        return Rejection{"expected prog array map for tail call", pc};
    if (auto e = check_readable(state, 3, pc)) return e;
    if (ctx.options.strict && is_pointer(state.regs[3].type)) return Rejection{"R3 leaks addr into helper function", pc};
    if (auto e = check_reference_leak(state, "tail_call", pc)) return e;
    clobber_caller_saved(state);
    return std::nullopt;
}

namespace {

// One call's argument walk: what earlier arguments said that later ones need.
struct CallArgs {
    std::optional<uint32_t> map;  // the map argument's index in Options::maps
    std::optional<uint64_t> constant_key;  // a key known exactly (on the stack)
    int mem_reg = 0;              // the memory argument the next size argument sizes
    ArgKind mem_kind = ArgKind::None;
    uint32_t alloc_size = 0;      // AllocSize
    uint32_t released = 0;        // ReleaseRingbuf: the reference id
};

void release_reference(Context& ctx, State& state, uint32_t id) {
    std::erase_if(state.refs, [id](const Reference& ref) { return ref.id == id; });
    // Every copy stops being a pointer: privileged, a number (the address may leak); --strict, unreadable.
    for_each_reg(state, [&](Reg& r) {
        if ((r.type == RegType::RingbufMem || r.type == RegType::RingbufMemOrNull) && r.id == id)
            r = ctx.options.strict ? Reg{} : Reg::scalar(Scalar::unknown());
    });
}

std::optional<Rejection> check_memory_type(const HelperProto& proto, const State& state, int reg, std::string_view expected,
                                           bool null_ok, size_t pc) {
    const Reg& r = state.regs[static_cast<size_t>(reg)];
    if (null_ok && r.type == RegType::Scalar && r.value.is_const() && r.value.const_value() == 0) return std::nullopt;
    bool packet = r.type == RegType::Packet || r.type == RegType::PacketMeta;
    bool usable = packet || r.type == RegType::Stack || r.type == RegType::MapValue || r.type == RegType::Mem ||
                  r.type == RegType::RingbufMem;
    if (!usable) return Rejection{fmt::format("R{} type={} expected={}", reg, type_name(r.type), expected), pc};
    if (packet && !proto.packet_access) return Rejection{"helper access to the packet is not allowed", pc};
    return std::nullopt;
}

std::optional<Rejection> check_size_arg(Context& ctx, State& state, const CallArgs& args, int reg, bool zero_ok,
                                        size_t pc) {
    const Reg& size = state.regs[static_cast<size_t>(reg)];
    ctx.need_precise(reg);
    if (state.regs[static_cast<size_t>(args.mem_reg)].type == RegType::Scalar) ctx.need_precise(args.mem_reg);
    if (size.type != RegType::Scalar)
        return Rejection{fmt::format("R{} type={} expected=scalar", reg, type_name(size.type)), pc};
    if (size.value.smin < 0)
        return Rejection{fmt::format("R{} min value is negative, either use unsigned or 'var &= const'", reg), pc};
    if (size.value.umin == 0 && !zero_ok) return Rejection{fmt::format("R{} invalid zero-sized read", reg), pc};
    if (size.value.umax >= (uint64_t{1} << 29))
        return Rejection{fmt::format("R{} unbounded memory access, use 'var &= const' or 'if (var < const)'", reg), pc};
    const Reg& mem = state.regs[static_cast<size_t>(args.mem_reg)];
    if (mem.type == RegType::Scalar) {  // a null MemOrNull: only a zero size goes with it
        if (size.value.umax == 0) return std::nullopt;
        return Rejection{fmt::format("R{} type=scalar expected={}", args.mem_reg, kMemTypes), pc};
    }
    if (size.value.umax == 0) return std::nullopt;
    bool writes = args.mem_kind == ArgKind::UninitMem || args.mem_kind == ArgKind::MemInOut;
    bool reads = args.mem_kind != ArgKind::UninitMem;
    return check_helper_memory(ctx, state, args.mem_reg, static_cast<int>(size.value.umax), pc, writes, reads);
}

// A 4-byte key at a constant stack offset whose bytes are known: a spilled constant of that size at the
// slot's start, or known zeros (Linux 6.18's get_constant_map_key). The spill's value must then stay
// exact in checkpoints.
std::optional<uint64_t> constant_stack_key(Context& ctx, State& state, const Reg& key, uint32_t size) {
    if (key.type != RegType::Stack || !key.value.is_const() || size != 4) return std::nullopt;
    int64_t off = key.off + static_cast<int64_t>(key.value.const_value());
    if (off >= 0 || off < -isa::kStackSize) return std::nullopt;
    int spi = static_cast<int>((-off - 1) / 8);
    int first = static_cast<int>(off + 8 * (spi + 1));
    std::vector<StackSlot>& stack = state.stack_of(key.frame);
    if (static_cast<size_t>(spi) >= stack.size() || first + 4 > 8) return std::nullopt;
    const StackSlot& slot = stack[static_cast<size_t>(spi)];
    // The lookup's answer (never null) now rests on the key's value: the key's bytes become precise, so
    // a path with another key is not pruned against this one — known zero bytes as much as a spill.
    const auto rely_on_key = [&] {
        ctx.want_slot = spi;
        ctx.want_slot_frame = key.frame;
        ctx.want_slot_bytes = static_cast<uint8_t>(0xfu << first);
    };
    bool zeros = true;
    for (int i = first; i < first + 4; ++i) zeros = zeros && slot.bytes[static_cast<size_t>(i)] == StackByte::Zero;
    if (zeros) {
        rely_on_key();
        return 0;
    }
    if (first != 0) return std::nullopt;
    bool spilled4 = slot.is_spill() && slot.bytes[3] == StackByte::Spill && slot.bytes[4] != StackByte::Spill;
    if (!spilled4 || slot.spilled.type != RegType::Scalar || !slot.spilled.value.is_const()) return std::nullopt;
    rely_on_key();
    return slot.spilled.value.const_value() & 0xffffffff;
}

std::optional<Rejection> check_map_arg(Context& ctx, const HelperProto& proto, const State& state, CallArgs& args,
                                       int reg, size_t pc) {
    const Reg& r = state.regs[static_cast<size_t>(reg)];
    if (r.type != RegType::MapPtr) return Rejection{fmt::format("R{} type={} expected=map_ptr", reg, type_name(r.type)), pc};
    const MapInfo& map = ctx.options.maps[r.map];
    std::string_view name = helper_name_of(proto.id);
    if (map_type_out_of_scope(map.type))
        return not_supported(fmt::format("map_type {} with helper bpf_{}#{}", map.type, name, proto.id), pc);
    bool listed = proto.map_types[0] == 0 || std::ranges::find(proto.map_types, map.type) != proto.map_types.end();
    if (!listed || !map_type_allows(map.type, proto.id))
        return Rejection{fmt::format("cannot pass map_type {} into func bpf_{}#{}", map.type, name, proto.id), pc};
    constexpr uint32_t kRdonlyProg = 0x80;
    bool writes_map = proto.id == 2 || proto.id == 3 || proto.id == 87 || proto.id == 88;
    if (writes_map && (map.flags & kRdonlyProg))
        return Rejection{fmt::format("write into map forbidden, value_size={} off=0 size={}", map.value_size, map.value_size), pc};
    args.map = r.map;
    return std::nullopt;
}

std::optional<Rejection> check_arg(Context& ctx, const HelperProto& proto, State& state, CallArgs& args, int reg,
                                   size_t pc) {
    ArgKind kind = proto.args[static_cast<size_t>(reg - 1)];
    if (auto e = check_readable(state, reg, pc)) return e;
    const Reg& r = state.regs[static_cast<size_t>(reg)];
    switch (kind) {
        case ArgKind::None: return std::nullopt;
        case ArgKind::Any:
            if (ctx.options.strict && is_pointer(r.type))
                return Rejection{fmt::format("R{} leaks addr into helper function", reg), pc};
            return std::nullopt;
        case ArgKind::Ctx: return check_ctx_arg(state, reg, pc);
        case ArgKind::MapPtr: return check_map_arg(ctx, proto, state, args, reg, pc);
        case ArgKind::MapKey:
        case ArgKind::MapValue:
        case ArgKind::MapValueOut: {
            if (!args.map) return Rejection{fmt::format("invalid map_ptr to access map->{}", kind == ArgKind::MapKey ? "key" : "value"), pc};
            if (auto e = check_memory_type(proto, state, reg, kKeyTypes, false, pc)) return e;
            const MapInfo& map = ctx.options.maps[*args.map];
            uint32_t size = kind == ArgKind::MapKey ? map.key_size : map.value_size;
            if (kind == ArgKind::MapKey) args.constant_key = constant_stack_key(ctx, state, r, size);
            bool out = kind == ArgKind::MapValueOut;
            return check_helper_memory(ctx, state, reg, static_cast<int>(size), pc, out, !out);
        }
        case ArgKind::Mem:
        case ArgKind::MemOrNull:
        case ArgKind::MemInOut:
        case ArgKind::UninitMem:
            args.mem_reg = reg;
            args.mem_kind = kind;
            return check_memory_type(proto, state, reg, kMemTypes, kind == ArgKind::MemOrNull, pc);
        case ArgKind::Size:
        case ArgKind::SizeOrZero: return check_size_arg(ctx, state, args, reg, kind == ArgKind::SizeOrZero, pc);
        case ArgKind::AllocSize:
            ctx.need_precise(reg);
            if (r.type != RegType::Scalar)
                return Rejection{fmt::format("R{} type={} expected=scalar", reg, type_name(r.type)), pc};
            if (!r.value.is_const()) return Rejection{fmt::format("R{} is not a known constant'", reg), pc};
            if (r.value.const_value() > INT32_MAX)
                return Rejection{fmt::format("R{} is not a known constant'", reg), pc};
            args.alloc_size = static_cast<uint32_t>(r.value.const_value());
            return std::nullopt;
        case ArgKind::ReleaseRingbuf:
            if (r.type != RegType::RingbufMem)
                return Rejection{fmt::format("R{} type={} expected=ringbuf_mem", reg, type_name(r.type)), pc};
            if (r.off != 0 || !r.value.is_const() || r.value.const_value() != 0)
                return Rejection{
                    fmt::format("R{} must have zero offset when passed to release func or trusted arg to kfunc", reg), pc};
            args.released = r.id;
            return std::nullopt;
        case ArgKind::FixedMem:
        case ArgKind::FixedOut: {
            if (auto e = check_memory_type(proto, state, reg, kMemTypes, false, pc)) return e;
            bool reads = kind == ArgKind::FixedMem;
            return check_helper_memory(ctx, state, reg, proto.fixed_size, pc, true, reads);
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<Rejection> execute_helper_call(Context& ctx, const isa::Insn& insn, State& state, size_t pc) {
    const HelperProto* proto = find_helper(insn.imm);
    std::string_view name = helper_name_of(insn.imm);
    if (!proto) {
        if (name.empty()) return Rejection{fmt::format("invalid func unknown#{}", insn.imm), pc};
        if (unavailable_to_tc(insn.imm)) return Rejection{fmt::format("program of this type cannot use helper bpf_{}#{}", name, insn.imm), pc};
        return not_supported(fmt::format("helper bpf_{}#{}", name, insn.imm), pc);
    }
    ctx.helpers_called.insert(insn.imm);
    if (proto->gpl_only && !ctx.options.gpl_compatible)
        return Rejection{"cannot call GPL-restricted function from non-GPL compatible program", pc};
    if (insn.imm == 12) return execute_tail_call(ctx, insn, state, pc);
    CallArgs args;
    for (int reg = 1; reg <= 5 && proto->args[static_cast<size_t>(reg - 1)] != ArgKind::None; ++reg)
        if (auto e = check_arg(ctx, *proto, state, args, reg, pc)) return e;
    // bpf_trace_printk reads as many of r3-r5 as its format asks for, which the kernel does not check;
    // --strict promises no read of an uninitialised value, so all three must hold one.
    constexpr int32_t kTracePrintk = 6;
    if (insn.imm == kTracePrintk && ctx.options.strict)
        for (int reg = 3; reg <= 5; ++reg)
            if (auto e = check_readable(state, reg, pc)) return e;
    clobber_caller_saved(state);
    if (args.released) release_reference(ctx, state, args.released);
    if (proto->changes_packet_data) invalidate_packet_pointers(state);
    switch (proto->ret) {
        case RetKind::Integer: state.regs[0] = Reg::scalar(Scalar::unknown()); break;
        case RetKind::Void: break;
        case RetKind::MapValueOrNull: {
            // An array's element at a key known to be in range always exists.
            const MapInfo& map = ctx.options.maps[*args.map];
            constexpr uint32_t kArray = 2, kPercpuArray = 6;
            bool array = map.type == kArray || map.type == kPercpuArray;
            bool present = insn.imm == 1 && array && args.constant_key && *args.constant_key < map.max_entries;
            Reg value = Reg::pointer(present ? RegType::MapValue : RegType::MapValueOrNull);
            value.map = *args.map;
            if (!present) value.id = ++ctx.last_id;
            state.regs[0] = value;
            break;
        }
        case RetKind::RingbufMemOrNull: {
            // Ids as the kernel hands them out: one for the null check, then the reference's own.
            ++ctx.last_id;
            Reg mem = Reg::pointer(RegType::RingbufMemOrNull);
            mem.id = ++ctx.last_id;
            mem.range = static_cast<int32_t>(args.alloc_size);
            state.regs[0] = mem;
            state.refs.push_back(Reference{mem.id, static_cast<uint32_t>(pc)});
            break;
        }
    }
    return std::nullopt;
}


std::optional<Rejection> execute_legacy_packet_load(const isa::Insn& insn, State& state, size_t pc) {
    // LD_ABS/LD_IND: an implicit call reading the skb through r6; out-of-bounds reads end the program at
    // run time (returning 0), so only r6 and the index register need checking.
    constexpr int kCtxReg = 6;
    if (auto e = check_readable(state, kCtxReg, pc)) return e;
    const Reg& ctx_reg = state.regs[kCtxReg];
    if (ctx_reg.type != RegType::Ctx) return Rejection{"at the time of BPF_LD_ABS|IND R6 != pointer to skb", pc};
    if (isa::info(insn.op).shape == isa::Shape::LdInd)
        if (auto e = check_readable(state, insn.src, pc)) return e;
    if (ctx_reg.off != 0)
        return Rejection{fmt::format("dereference of modified ctx ptr R{} off={} disallowed", kCtxReg, ctx_reg.off), pc};
    if (auto e = check_reference_leak(state, "BPF_LD_[ABS|IND]", pc)) return e;
    for (int reg = 0; reg <= 5; ++reg) state.regs[static_cast<size_t>(reg)] = Reg{};
    state.regs[0] = Reg::scalar(truncate(Scalar::unknown(), static_cast<unsigned>(isa::mem_size(insn.op))));
    return std::nullopt;
}

}  // namespace tcbpf::verifier::detail
