// The per-instruction dispatch (the body of the kernel's do_check loop): each instruction family goes
// to its checker (check_alu, check_mem, check_jump, check_call); 64-bit immediate loads are handled here,
// including map references — a map pointer, or for the value forms a pointer into the single value of an
// array map, which is how programs reach their global data.
#include <fmt/format.h>

#include "verifier/checker.h"

namespace tcbpf::verifier::detail {

using isa::Shape;

namespace {

Step rejected(const Rejection& why) {
    Step step;
    step.error = why;
    return step;
}

// What an ld_imm64 map reference names: the map's index, or why no map of the program is meant. The
// kernel resolves these for every instruction before exploring (resolve_pseudo_ldimm64), so a bad one is
// refused even in code no path reaches; check_map_references runs the same test up front.
struct MapTarget {
    std::optional<uint32_t> index;
    std::optional<Rejection> error;
};

MapTarget resolve_map_reference(const std::vector<MapInfo>& maps, const isa::Insn& insn, size_t pc) {
    using isa::Pseudo;
    auto pseudo = static_cast<Pseudo>(insn.src);
    bool by_fd = pseudo == Pseudo::MapFd || pseudo == Pseudo::MapValue;
    bool by_index = pseudo == Pseudo::MapIdx || pseudo == Pseudo::MapIdxValue;
    if (!by_fd && !by_index) return {std::nullopt, not_supported("64-bit loads of BTF ids and functions", pc)};
    std::optional<uint32_t> index;
    if (by_index && static_cast<uint32_t>(insn.imm) < maps.size()) index = static_cast<uint32_t>(insn.imm);
    for (size_t i = 0; by_fd && i < maps.size(); ++i)
        if (maps[i].fd >= 0 && maps[i].fd == insn.imm) index = static_cast<uint32_t>(i);  // -1: the map has no fd
    if (!index)
        return {std::nullopt, Rejection{by_fd ? fmt::format("fd {} is not pointing to valid bpf_map", insn.imm)
                                              : fmt::format("map index {} is not one of the program's {} maps",
                                                            static_cast<uint32_t>(insn.imm), maps.size()),
                                        pc}};
    if (pseudo == Pseudo::MapFd || pseudo == Pseudo::MapIdx) return {index, std::nullopt};
    const MapInfo& map = maps[*index];
    constexpr uint32_t kArrayMap = 2;
    if (map.type != kArrayMap || map.max_entries != 1)
        return {std::nullopt, not_supported("direct value addresses of maps other than one-entry arrays", pc)};
    uint32_t offset = static_cast<uint32_t>(insn.imm64 >> 32);
    if (offset >= map.value_size)
        return {std::nullopt, Rejection{fmt::format("invalid access to map value pointer, value_size={} off={}",
                                                    map.value_size, offset),
                                        pc}};
    return {index, std::nullopt};
}

bool is_map_reference(const isa::Insn& insn) {
    using isa::Pseudo;
    auto pseudo = static_cast<Pseudo>(insn.src);
    return insn.op == isa::Op::LDDW && (pseudo == Pseudo::MapFd || pseudo == Pseudo::MapValue ||
                                        pseudo == Pseudo::MapIdx || pseudo == Pseudo::MapIdxValue);
}

std::pair<std::optional<Reg>, std::optional<Rejection>> map_reference(Context& ctx, const isa::Insn& insn, size_t pc) {
    MapTarget target = resolve_map_reference(ctx.options.maps, insn, pc);
    if (!target.index) return {std::nullopt, target.error};
    Reg reg = Reg::pointer(RegType::MapPtr);
    reg.map = *target.index;
    auto pseudo = static_cast<isa::Pseudo>(insn.src);
    if (pseudo == isa::Pseudo::MapFd || pseudo == isa::Pseudo::MapIdx) return {reg, std::nullopt};
    reg.type = RegType::MapValue;
    reg.off = static_cast<int32_t>(static_cast<uint32_t>(insn.imm64 >> 32));
    return {reg, std::nullopt};
}

}  // namespace

Step execute(Context& ctx, State& state, size_t pc) {
    const isa::Insn& insn = ctx.prog.insns[pc];
    const isa::OpInfo& row = isa::info(insn.op);
    Step step;
    step.next_pc = pc + 1;
    switch (row.shape) {
        case Shape::AluK:
        case Shape::AluX:
        case Shape::Neg:
        case Shape::MovSx:
        case Shape::End: step.error = execute_alu(ctx, insn, state, pc); return step;
        case Shape::Ldx: step.error = execute_load(ctx, insn, state, pc); return step;
        case Shape::St:
        case Shape::Stx: step.error = execute_store(ctx, insn, state, pc); return step;
        case Shape::Ja:
        case Shape::Ja32: step.next_pc = static_cast<size_t>(isa::branch_target(insn, pc)); return step;
        case Shape::JccK:
        case Shape::JccX: return execute_conditional_jump(ctx, insn, state, pc);
        case Shape::Exit: return execute_exit(ctx, state, pc);
        case Shape::Lddw:
            if (auto e = check_writable(insn.dst, pc)) return rejected(*e);
            if (insn.src == 0) {
                state.regs[insn.dst] = Reg::scalar(Scalar::constant(insn.imm64));
            } else {
                auto loaded = map_reference(ctx, insn, pc);
                if (!loaded.first) return rejected(*loaded.second);
                state.regs[insn.dst] = *loaded.first;
            }
            step.next_pc = pc + 2;
            return step;
        case Shape::Call:
            if (insn.op == isa::Op::CALL_LOCAL) return execute_local_call(ctx, insn, state, pc);
            step.error = execute_helper_call(ctx, insn, state, pc);
            return step;
        case Shape::Callx: step.error = execute_callx(ctx, insn, state, pc); return step;
        case Shape::LdAbs:
        case Shape::LdInd: step.error = execute_legacy_packet_load(insn, state, pc); return step;
        case Shape::Atomic: step.error = execute_atomic(ctx, insn, state, pc); return step;
    }
    return rejected(not_supported("this instruction", pc));
}

std::optional<Rejection> check_map_references(const isa::Program& prog, const Options& options) {
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        if (!is_map_reference(prog.insns[pc])) continue;
        MapTarget target = resolve_map_reference(options.maps, prog.insns[pc], pc);
        if (!target.index) return target.error;
    }
    return std::nullopt;
}

}  // namespace tcbpf::verifier::detail
