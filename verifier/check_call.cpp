// Helper calls, for the helpers whose arguments are only the context or plain values and whose result
// is a number (helpers.md). For those the kernel's check_helper_call reduces to: each argument register
// readable, context arguments the unmoved ctx pointer, then r1-r5 clobbered, r0 an unknown scalar, and —
// for helpers that may move or resize packet data — every packet pointer in the state turned into a
// number, so the program must re-load data/data_end and check again. Where it is unsure whether a helper
// moves packet data, this table says it does (stricter, never unsafe). The three basic map helpers,
// bpf_tail_call and bpf_skb_store_bytes/load_bytes are handled too; helpers with other memory, socket or callback arguments are "not supported yet".
// LD_ABS/LD_IND behave like such a call too.
#include <array>

#include <fmt/format.h>

#include "verifier/checker.h"

namespace tcbpf::verifier::detail {

namespace {

enum class Arg : uint8_t { Ctx, Any };

struct Prototype {
    int32_t id;
    std::string_view name;
    std::array<Arg, 5> args;
    int arg_count;
    bool changes_packet_data;
};

constexpr Arg C = Arg::Ctx, A = Arg::Any;

constexpr Prototype kPrototypes[] = {
    {5, "ktime_get_ns", {}, 0, false},
    {7, "get_prandom_u32", {}, 0, false},
    {8, "get_smp_processor_id", {}, 0, false},
    {10, "l3_csum_replace", {C, A, A, A, A}, 5, true},
    {11, "l4_csum_replace", {C, A, A, A, A}, 5, true},
    {13, "clone_redirect", {C, A, A}, 3, true},
    {14, "get_current_pid_tgid", {}, 0, false},
    {17, "get_cgroup_classid", {C}, 1, false},
    {18, "skb_vlan_push", {C, A, A}, 3, true},
    {19, "skb_vlan_pop", {C}, 1, true},
    {23, "redirect", {A, A}, 2, false},
    {24, "get_route_realm", {C}, 1, false},
    {31, "skb_change_proto", {C, A, A}, 3, true},
    {32, "skb_change_type", {C, A}, 2, true},
    {34, "get_hash_recalc", {C}, 1, false},
    {38, "skb_change_tail", {C, A, A}, 3, true},
    {39, "skb_pull_data", {C, A}, 2, true},
    {40, "csum_update", {C, A}, 2, true},
    {41, "set_hash_invalid", {C}, 1, false},
    {42, "get_numa_node_id", {}, 0, false},
    {43, "skb_change_head", {C, A, A}, 3, true},
    {46, "get_socket_cookie", {C}, 1, false},
    {48, "set_hash", {C, A}, 2, false},
    {50, "skb_adjust_room", {C, A, A, A}, 4, true},
    {79, "skb_cgroup_id", {C}, 1, false},
    {125, "ktime_get_boot_ns", {}, 0, false},
    {135, "csum_level", {C, A}, 2, true},
    {151, "skb_cgroup_classid", {C}, 1, false},
    {155, "redirect_peer", {A, A}, 2, false},
    {208, "ktime_get_tai_ns", {}, 0, false},
};

const Prototype* find_prototype(int32_t id) {
    for (const Prototype& p : kPrototypes)
        if (p.id == id) return &p;
    return nullptr;
}

bool is_packet_family(RegType type) {
    return type == RegType::Packet || type == RegType::PacketEnd || type == RegType::PacketMeta;
}

}  // namespace

// map_lookup_elem (1), map_update_elem (2), map_delete_elem (3): a map pointer, then a key (and for
// update a value) the helper reads in full from the stack, the packet or a map value. A lookup returns
// a map value pointer that may be null, with a fresh id so one null check settles all its copies.
std::optional<Rejection> execute_map_helper(Context& ctx, const isa::Insn& insn, State& state, size_t pc) {
    constexpr int32_t kLookup = 1, kUpdate = 2;
    constexpr uint32_t kProgArray = 3, kRdonlyProg = 0x80;
    std::string_view name = insn.imm == kLookup ? "map_lookup_elem" : insn.imm == kUpdate ? "map_update_elem" : "map_delete_elem";
    int arg_count = insn.imm == kUpdate ? 4 : 2;
    for (int reg = 1; reg <= arg_count; ++reg)
        if (auto e = check_readable(state, reg, pc)) return e;
    const Reg map_reg = state.regs[1];  // a copy: the call clobbers r1 before r0 is set
    if (map_reg.type != RegType::MapPtr)
        return Rejection{fmt::format("R1 type={} expected=map_ptr", type_name(map_reg.type)), pc};
    const MapInfo& map = ctx.options.maps[map_reg.map];
    if (map.type == kProgArray)
        return Rejection{fmt::format("cannot pass map_type {} into func bpf_{}#{}", map.type, name, insn.imm), pc};
    if (insn.imm != kLookup && (map.flags & kRdonlyProg))
        return Rejection{fmt::format("write into map forbidden, value_size={} off=0 size={}", map.value_size, map.value_size), pc};
    auto memory_arg = [&](int reg, uint32_t size) -> std::optional<Rejection> {
        const Reg& r = state.regs[static_cast<size_t>(reg)];
        bool usable = r.type == RegType::Stack || r.type == RegType::Packet || r.type == RegType::PacketMeta ||
                      r.type == RegType::MapValue;
        if (!usable)
            return Rejection{fmt::format("R{} type={} expected=fp, pkt, pkt_meta, map_key, map_value", reg, type_name(r.type)), pc};
        return check_helper_memory(ctx, state, reg, static_cast<int>(size), pc);
    };
    if (auto e = memory_arg(2, map.key_size)) return e;
    if (insn.imm == kUpdate)
        if (auto e = memory_arg(3, map.value_size)) return e;
    for (int reg = 0; reg <= 5; ++reg) state.regs[static_cast<size_t>(reg)] = Reg{};
    if (insn.imm == kLookup) {
        Reg value = Reg::pointer(RegType::MapValueOrNull);
        value.map = map_reg.map;
        value.id = ++ctx.last_id;
        state.regs[0] = value;
    } else {
        state.regs[0] = Reg::scalar(Scalar::unknown());
    }
    return std::nullopt;
}

std::optional<Rejection> check_ctx_arg(const State& state, int reg, size_t pc) {
    if (auto e = check_readable(state, reg, pc)) return e;
    const Reg& r = state.regs[static_cast<size_t>(reg)];
    if (r.type != RegType::Ctx) return Rejection{fmt::format("R{} type={} expected=ctx", reg, type_name(r.type)), pc};
    if (r.off != 0) return Rejection{fmt::format("dereference of modified ctx ptr R{} off={} disallowed", reg, r.off), pc};
    return std::nullopt;
}

// bpf_tail_call(ctx, prog_array, index): returns only when the slot is empty; r0 is not set then.
std::optional<Rejection> execute_tail_call(Context& ctx, const isa::Insn& insn, State& state, size_t pc) {
    constexpr uint32_t kProgArray = 3;
    if (auto e = check_ctx_arg(state, 1, pc)) return e;
    if (auto e = check_readable(state, 2, pc)) return e;
    const Reg& map_reg = state.regs[2];
    if (map_reg.type != RegType::MapPtr)
        return Rejection{fmt::format("R2 type={} expected=map_ptr", type_name(map_reg.type)), pc};
    uint32_t type = ctx.options.maps[map_reg.map].type;
    if (type != kProgArray)
        return Rejection{fmt::format("cannot pass map_type {} into func bpf_tail_call#{}", type, insn.imm), pc};
    if (auto e = check_readable(state, 3, pc)) return e;
    for (int reg = 0; reg <= 5; ++reg) state.regs[static_cast<size_t>(reg)] = Reg{};
    return std::nullopt;
}

// bpf_skb_store_bytes(ctx, offset, from, len, flags) and bpf_skb_load_bytes(ctx, offset, to, len): a
// memory argument whose size is the next register, which must be a bounded, non-zero scalar.
std::optional<Rejection> execute_skb_bytes(Context& ctx, const isa::Insn& insn, State& state, size_t pc) {
    constexpr int32_t kStoreBytes = 9;
    bool store = insn.imm == kStoreBytes;
    if (auto e = check_ctx_arg(state, 1, pc)) return e;
    for (int reg = 2; reg <= (store ? 5 : 4); ++reg)
        if (auto e = check_readable(state, reg, pc)) return e;
    const Reg& mem = state.regs[3];
    bool usable = mem.type == RegType::Stack || mem.type == RegType::Packet || mem.type == RegType::PacketMeta ||
                  mem.type == RegType::MapValue;
    if (!usable)
        return Rejection{fmt::format("R3 type={} expected=fp, pkt, pkt_meta, map_key, map_value", type_name(mem.type)), pc};
    const Reg& size = state.regs[4];
    if (size.type != RegType::Scalar) return Rejection{fmt::format("R4 type={} expected=scalar", type_name(size.type)), pc};
    if (size.value.smin < 0)
        return Rejection{"R4 min value is negative, either use unsigned or 'var &= const'", pc};
    if (size.value.umax >= (uint64_t{1} << 29))
        return Rejection{"R4 unbounded memory access, use 'var &= const' or 'if (var < const)'", pc};
    if (size.value.umin == 0) return Rejection{"invalid zero-sized read", pc};
    if (auto e = check_helper_memory(ctx, state, 3, static_cast<int>(size.value.umax), pc, !store)) return e;
    for (int reg = 0; reg <= 5; ++reg) state.regs[static_cast<size_t>(reg)] = Reg{};
    if (store) {
        for_each_reg(state, [](Reg& r) {
            if (is_packet_family(r.type)) r = Reg::scalar(Scalar::unknown());
        });
    }
    state.regs[0] = Reg::scalar(Scalar::unknown());
    return std::nullopt;
}

std::optional<Rejection> execute_helper_call(Context& ctx, const isa::Insn& insn, State& state, size_t pc) {
    if (insn.imm >= 1 && insn.imm <= 3) return execute_map_helper(ctx, insn, state, pc);
    if (insn.imm == 12) return execute_tail_call(ctx, insn, state, pc);
    if (insn.imm == 9 || insn.imm == 26) return execute_skb_bytes(ctx, insn, state, pc);
    const Prototype* proto = find_prototype(insn.imm);
    if (!proto) return not_supported(fmt::format("helper #{} (memory, socket or callback arguments)", insn.imm), pc);
    for (int i = 0; i < proto->arg_count; ++i) {
        int reg = i + 1;
        if (auto e = check_readable(state, reg, pc)) return e;
        const Reg& r = state.regs[static_cast<size_t>(reg)];
        if (proto->args[static_cast<size_t>(i)] != Arg::Ctx) continue;
        if (r.type != RegType::Ctx)
            return Rejection{fmt::format("R{} type={} expected=ctx", reg, type_name(r.type)), pc};
        if (r.off != 0)
            return Rejection{fmt::format("dereference of modified ctx ptr R{} off={} disallowed", reg, r.off), pc};
    }
    for (int reg = 0; reg <= 5; ++reg) state.regs[static_cast<size_t>(reg)] = Reg{};
    if (proto->changes_packet_data) {
        for_each_reg(state, [](Reg& r) {
            if (is_packet_family(r.type)) r = Reg::scalar(Scalar::unknown());
        });
    }
    state.regs[0] = Reg::scalar(Scalar::unknown());
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
    for (int reg = 0; reg <= 5; ++reg) state.regs[static_cast<size_t>(reg)] = Reg{};
    state.regs[0] = Reg::scalar(truncate(Scalar::unknown(), static_cast<unsigned>(isa::mem_size(insn.op))));
    return std::nullopt;
}

}  // namespace tcbpf::verifier::detail
