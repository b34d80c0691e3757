// Subprogram discovery, per-subprogram jump checks and the depth-first reachability walk. The walk is
// iterative (programs have up to a million instructions) and colours each pc: white (not seen), grey
// (on the current path), black (all successors done). An edge to a grey pc closes a loop.
#include "verifier/cfg.h"

#include <algorithm>

#include <fmt/format.h>

namespace tcbpf::verifier {

using isa::Op;

std::optional<size_t> Cfg::subprog_starting_at(size_t pc) const {
    auto it = std::lower_bound(subprogs.begin(), subprogs.end(), pc,
                               [](const Subprog& s, size_t value) { return s.start < value; });
    if (it == subprogs.end() || it->start != pc) return std::nullopt;
    return static_cast<size_t>(it - subprogs.begin());
}

namespace {

constexpr int32_t kTailCallHelper = 12;

bool is_function_load(const isa::Insn& insn) {
    return insn.op == Op::LDDW && insn.src == static_cast<uint8_t>(isa::Pseudo::Func);
}

bool is_ld_abs_or_ind(Op op) {
    switch (isa::info(op).shape) {
        case isa::Shape::LdAbs:
        case isa::Shape::LdInd: return true;
        default: return false;
    }
}

bool ends_subprog(Op op) { return op == Op::EXIT || op == Op::JA || op == Op::JA32; }

std::optional<Rejection> find_subprogs(const isa::Program& prog, Cfg& cfg) {
    std::vector<size_t> starts{0};
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        const isa::Insn& insn = prog.insns[pc];
        if (insn.op == Op::CALL_LOCAL || is_function_load(insn)) {
            int64_t target = isa::branch_target(insn, pc);
            if (target < 0 || static_cast<size_t>(target) >= prog.size())  // decode() rejects these already
                return Rejection{fmt::format("call to invalid destination from insn {} to {}", pc, target), pc};
            starts.push_back(static_cast<size_t>(target));
        }
    }
    std::sort(starts.begin(), starts.end());
    starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
    cfg.subprog_of.assign(prog.size(), 0);
    for (size_t i = 0; i < starts.size(); ++i) {
        Subprog sub;
        sub.start = starts[i];
        sub.end = i + 1 < starts.size() ? starts[i + 1] : prog.size();
        for (size_t pc = sub.start; pc < sub.end; ++pc) cfg.subprog_of[pc] = static_cast<uint32_t>(i);
        cfg.subprogs.push_back(std::move(sub));
    }
    return std::nullopt;
}

std::optional<Rejection> check_subprogs(const isa::Program& prog, Cfg& cfg) {
    for (size_t index = 0; index < cfg.subprogs.size(); ++index) {
        Subprog& sub = cfg.subprogs[index];
        for (size_t pc = sub.start; pc < sub.end; ++pc) {
            const isa::Insn& insn = prog.insns[pc];
            if (isa::is_jump(insn.op)) {
                int64_t target = isa::branch_target(insn, pc);
                if (target < static_cast<int64_t>(sub.start) || target >= static_cast<int64_t>(sub.end))
                    return Rejection{fmt::format("jump out of range from insn {} to {}", pc, target), pc};
            }
            if (insn.op == Op::CALL_LOCAL)
                sub.calls.emplace_back(pc, *cfg.subprog_starting_at(static_cast<size_t>(isa::branch_target(insn, pc))));
            if (is_function_load(insn))
                sub.function_refs.emplace_back(
                    pc, *cfg.subprog_starting_at(static_cast<size_t>(isa::branch_target(insn, pc))));
            if (insn.op == Op::CALL_HELPER && insn.imm == kTailCallHelper) sub.has_tail_call = true;
            if (is_ld_abs_or_ind(insn.op)) sub.has_ld_abs = true;
        }
        size_t last = sub.end - 1;
        if (!ends_subprog(prog.insns[last].op)) return Rejection{"last insn is not an exit or jmp", last};
    }
    return std::nullopt;
}

// Successors of `pc` in walk order (fall-through first, as the kernel pushes them).
void successors(const isa::Program& prog, size_t pc, std::vector<size_t>& out) {
    out.clear();
    const isa::Insn& insn = prog.insns[pc];
    switch (insn.op) {
        case Op::EXIT: return;
        case Op::JA:
        case Op::JA32: out.push_back(static_cast<size_t>(isa::branch_target(insn, pc))); return;
        case Op::LDDW:
            out.push_back(pc + 2);
            if (is_function_load(insn)) out.push_back(static_cast<size_t>(isa::branch_target(insn, pc)));
            return;
        case Op::CALL_LOCAL:
            out.push_back(pc + 1);
            out.push_back(static_cast<size_t>(isa::branch_target(insn, pc)));
            return;
        default:
            out.push_back(pc + 1);
            if (isa::is_conditional_jump(insn.op)) out.push_back(static_cast<size_t>(isa::branch_target(insn, pc)));
    }
}

void mark_prune_points(const isa::Program& prog, Cfg& cfg) {
    cfg.prune_point.assign(prog.size(), false);
    auto mark = [&](size_t pc) {
        if (pc < prog.size()) cfg.prune_point[pc] = true;
    };
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        const isa::Insn& insn = prog.insns[pc];
        if (isa::is_conditional_jump(insn.op)) {
            mark(pc);
            mark(static_cast<size_t>(isa::branch_target(insn, pc)));
        } else if (insn.op == Op::JA || insn.op == Op::JA32) {
            mark(static_cast<size_t>(isa::branch_target(insn, pc)));
            mark(pc + 1);
        } else if (insn.op == Op::CALL_LOCAL) {
            mark(pc);
            mark(pc + 1);
        } else if (insn.op == Op::CALL_HELPER || insn.op == Op::CALLX) {
            mark(pc + 1);
        }
    }
}

std::optional<Rejection> walk(const isa::Program& prog, Cfg& cfg) {
    enum Colour : uint8_t { White, Grey, Black };
    std::vector<Colour> colour(prog.size(), White);
    // Each frame: pc and how many of its successors were already followed.
    std::vector<std::pair<size_t, size_t>> stack;
    std::vector<size_t> next;
    colour[0] = Grey;
    stack.emplace_back(0, 0);
    while (!stack.empty()) {
        auto& [pc, followed] = stack.back();
        successors(prog, pc, next);
        if (followed == next.size()) {
            colour[pc] = Black;
            stack.pop_back();
            continue;
        }
        size_t to = next[followed++];
        if (to >= prog.size())  // only reachable through malformed programs; the subprog check stops them
            return Rejection{fmt::format("jump out of range from insn {} to {}", pc, to), pc};
        if (colour[to] == Grey) {
            cfg.back_edges.emplace_back(pc, to);
        } else if (colour[to] == White) {
            colour[to] = Grey;
            stack.emplace_back(to, 0);
        }
    }
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        if (prog.insns[pc].op == Op::LDDW_TAIL) continue;
        if (colour[pc] != Black) return Rejection{fmt::format("unreachable insn {}", pc), pc};
    }
    return std::nullopt;
}

}  // namespace

CfgResult build_cfg(const isa::Program& prog) {
    CfgResult result;
    if (prog.size() == 0) {
        result.error = Rejection{"empty program", 0};
        return result;
    }
    if (auto e = find_subprogs(prog, result.cfg)) {
        result.error = e;
        return result;
    }
    if (auto e = check_subprogs(prog, result.cfg)) {
        result.error = e;
        return result;
    }
    if (auto e = walk(prog, result.cfg)) {
        result.error = e;
        return result;
    }
    mark_prune_points(prog, result.cfg);
    return result;
}

std::optional<Rejection> check_call_chains(const Cfg& cfg, std::span<const int> stack_depth) {
    // Depth-first over the call graph; a chain is at most kMaxCallFrames long, so recursion ends there.
    struct Frame {
        size_t subprog;
        size_t next_call;  // index into subprogs[subprog].calls
        int depth_before;  // bytes used by the callers
    };
    // Each frame rounds up to 16 bytes: the kernel's rounding for programs it JIT-compiles, which is
    // every program on Linux 6.18 with the JIT on (measured: 512 + 8 bytes is "528. Too large").
    auto frame_size = [&](size_t subprog) {
        int bytes = subprog < stack_depth.size() ? stack_depth[subprog] : 0;
        return (bytes + 15) / 16 * 16;
    };
    std::vector<Frame> chain{{0, 0, 0}};
    if (frame_size(0) > kMaxStackBytes)
        return Rejection{fmt::format("combined stack size of 1 calls is {}. Too large", frame_size(0)), 0};
    while (!chain.empty()) {
        Frame& frame = chain.back();
        const Subprog& sub = cfg.subprogs[frame.subprog];
        if (frame.next_call == sub.calls.size()) {
            chain.pop_back();
            continue;
        }
        auto [call_pc, callee] = sub.calls[frame.next_call++];
        int depth_here = frame.depth_before + frame_size(frame.subprog);
        if (chain.size() >= static_cast<size_t>(kMaxCallFrames))
            return Rejection{fmt::format("the call stack of {} frames is too deep !", chain.size()), call_pc};
        if (cfg.subprogs[callee].has_tail_call && depth_here >= 256)
            return Rejection{fmt::format("tail_calls are not allowed when call stack of previous frames is {} "
                                         "bytes. Too large",
                                         depth_here),
                             call_pc};
        int total = depth_here + frame_size(callee);
        if (total > kMaxStackBytes)
            return Rejection{
                fmt::format("combined stack size of {} calls is {}. Too large", chain.size() + 1, total), call_pc};
        chain.push_back({callee, 0, depth_here});
    }
    return std::nullopt;
}

}  // namespace tcbpf::verifier
