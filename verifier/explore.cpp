// Depth-first exploration of every path (the kernel's do_check + is_state_visited), with pruning.
//
// One path runs at a time; a conditional jump with two live sides pushes the taken side on a LIFO stack
// of pending paths. At prune points (cfg.h) the current state is compared with checkpoints stored
// earlier at the same instruction:
//  * a checkpoint whose every continuation has been explored and found safe, and which includes the
//    current state (state.h), proves the current path safe: it stops there;
//  * a checkpoint still being explored (so it lies on the current path: exploration is LIFO) that
//    describes the same states as the current one (inclusion both ways, so scalar ids may be renamed)
//    means the path came back to where it was: "infinite loop detected".
// Checkpoints count their unfinished continuations (`branches`); a path ending (exit, dead branch,
// pruned) releases its checkpoint, and a checkpoint reaching zero releases its own parent.
// Checkpoints are added the way the kernel does — only after ≥ 2 jumps and ≥ 8 instructions processed
// since the last one — which keeps them rare on straight code but present in every loop.
//
// Stack liveness is tracked as the kernel's read marks do: a slot read on a path marks every checkpoint
// up its parent chain "live" until one below which the slot was overwritten whole (or the frame was
// created). When a checkpoint is fully explored its liveness is final, and its dead slots are forgotten:
// they compare as never written, so paths differing only in stack contents nothing reads again prune
// each other. A path pruned against a checkpoint inherits that checkpoint's live slots.
#include <chrono>
#include <deque>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>

#include "verifier/checker.h"
#include "verifier/liveness.h"
#include "verifier/log.h"
#include "verifier/precision.h"

namespace tcbpf::verifier {

using namespace detail;

namespace {

constexpr size_t kMaxPendingPaths = 8192;  // BPF_COMPLEXITY_LIMIT_JMP_SEQ
// Fully explored checkpoints kept per instruction (each prune attempt scans them). Open ones are not
// capped: a loop the budget ends must keep leaving checkpoints, or the history precision walks back
// through would grow with every iteration.
constexpr size_t kMaxCheckpointsPerInsn = 4096;
// The instructions a path runs past prune points without leaving a checkpoint, at most.
constexpr size_t kMaxHistoryBetweenCheckpoints = 256;

// Per frame (by depth), a bit per 8-byte stack slot.
using SlotMasks = std::array<uint64_t, kMaxCallFrames>;

struct Checkpoint {
    State state;
    Checkpoint* parent = nullptr;
    int branches = 1;
    std::vector<HistEntry> history;  // the instructions from the parent checkpoint to this one
    uint32_t hits = 0, misses = 0;   // prune attempts it answered / failed since it was stored
    uint64_t fingerprint = 0;        // of `state` (after forgetting dead registers)
    size_t pc = 0;
    SlotMasks live{};             // slots some continuation read before overwriting them
    SlotMasks written_before{};   // slots overwritten whole between the parent checkpoint and this one
};

// The checkpoints of one instruction: those fully explored (candidates for pruning) in a list, those
// still being explored (ancestors of the current path: candidates for the infinite-loop test) by
// fingerprint, so a long loop's many open checkpoints cost nothing to visit.
struct InsnCheckpoints {
    std::vector<std::unique_ptr<Checkpoint>> owned;
    std::vector<Checkpoint*> done;
    std::unordered_multimap<uint64_t, Checkpoint*> open;
};

struct Path {
    State state;
    size_t pc = 0;
    Checkpoint* parent = nullptr;
    std::vector<HistEntry> history;  // the instructions since the parent checkpoint
    SlotMasks written{};             // slots overwritten whole since the parent checkpoint
    size_t log_mark = 0;             // log length when the path was set aside (level 1 rewinds to it)
    size_t from_pc = 0;              // the jump that set it aside
};

uint64_t state_bytes(const State& s) {
    uint64_t bytes = sizeof(State) + s.stack.size() * sizeof(StackSlot);
    for (const CallerFrame& f : s.callers) bytes += sizeof(CallerFrame) + f.stack.size() * sizeof(StackSlot);
    return bytes;
}

class Explorer {
   public:
    Explorer(const isa::Program& prog, const Options& options, const Cfg& cfg)
        : ctx_{prog, options, cfg, std::vector<int>(cfg.subprogs.size(), 0), 0, {}, 0, std::vector<uint8_t>(prog.size(), 0), -1, 0},
          pruning_{true, !options.strict},
          cfg_(cfg),
          checkpoints_(prog.size()),
          live_(compute_liveness(prog)),
          seen_(prog.size(), false) {}

    std::vector<bool>& seen() { return seen_; }
    uint64_t precision_steps() const { return precision_steps_; }
    std::string& log() { return log_; }
    const Context& context() const { return ctx_; }

    std::optional<Rejection> run(Stats& stats) {
        std::vector<Path> pending;
        Path path{ctx_.raw() ? initial_raw_state(*ctx_.options.raw_memory_size) : initial_state(), 0, nullptr, {}, {}, 0, 0};
        note_peak(stats, 0, path.state);
        const int level = ctx_.options.log_level;
        if (level >= 1) log_ += fmt::format("0:{}\n", format_state(path.state, ctx_.options));
        for (;;) {
            if (++stats.insns_processed > ctx_.options.insn_budget)
                return Rejection{fmt::format("BPF program is too large. Processed {} insn", stats.insns_processed),
                                 path.pc};
            ++insns_since_checkpoint_;
            seen_[path.pc] = true;
            bool stop = false;
            if (cfg_.prune_point[path.pc]) {
                auto verdict = visit(path, stats);
                if (!verdict) return verdict.error();
                stop = *verdict;
            }
            if (stop && level >= 1) log_ += fmt::format("{}: safe\n", path.pc);
            if (!stop) {
                const uint32_t frame = path.state.frame();
                ctx_.want_precise = 0;
                ctx_.want_slot = -1;
                ctx_.want_zero_range.reset();
                ctx_.touched_spi = -1;
                ctx_.touched_bytes = 0;
                ctx_.slots_read.fill(0);
                ctx_.slots_written.fill(0);
                size_t insn_start = log_.size();
                if (level >= 1) log_ += format_insn(ctx_.prog, path.pc, ctx_.options, last_line_pc_);
                std::string before = level >= 1 ? format_state(path.state, ctx_.options) : std::string();
                Step step = execute(ctx_, path.state, path.pc);
                if (step.error) {
                    // The registers the instruction failed on, then the instruction (the kernel's order).
                    if (level >= 1) log_.insert(insn_start, fmt::format("{}:{}\n", path.pc, before));
                    return step.error;
                }
                if (level >= 2) log_ += fmt::format("{}:{}\n", path.pc, format_state(path.state, ctx_.options));
                if (ctx_.want_precise || ctx_.want_slot >= 0 || ctx_.want_zero_range) {
                    Wanted wanted;
                    wanted.regs[frame] = ctx_.want_precise;
                    wanted.want(ctx_.want_slot_frame, ctx_.want_slot, ctx_.want_slot_bytes);
                    if (ctx_.want_zero_range)
                        for (int64_t off = ctx_.want_zero_range->first; off < ctx_.want_zero_range->second; ++off) {
                            int spi = static_cast<int>((-off - 1) / 8);
                            wanted.want(ctx_.want_zero_frame, spi, static_cast<uint8_t>(1u << (off + 8 * (spi + 1))));
                        }
                    backtrack(path, wanted);
                }
                note_stack_liveness(path);
                path.history.push_back(HistEntry{static_cast<uint32_t>(path.pc), static_cast<uint8_t>(frame),
                                                 static_cast<uint8_t>(ctx_.touched_frame),
                                                 static_cast<int8_t>(ctx_.touched_spi), ctx_.touched_bytes});
                const isa::OpInfo& row = isa::info(ctx_.prog.insns[path.pc].op);
                if (isa::is_jump(row.op) || row.shape == isa::Shape::Call || row.shape == isa::Shape::Exit)
                    ++jumps_since_checkpoint_;
                if (step.branch) {
                    if (pending.size() >= kMaxPendingPaths)
                        return Rejection{fmt::format("The sequence of {} jumps is too complex.", pending.size() + 1),
                                         path.pc};
                    if (path.parent) ++path.parent->branches;
                    pending.push_back(Path{std::move(*step.branch), step.branch_pc, path.parent, path.history,
                                           path.written, log_.size(), path.pc});
                    stats.peak_pending = std::max<uint64_t>(stats.peak_pending, pending.size());
                    note_peak(stats, pending.size(), path.state);
                }
                if (!step.ends) {
                    path.pc = step.next_pc;
                    continue;
                }
            }
            release(path.parent, stats);
            if (pending.empty()) break;
            path = std::move(pending.back());
            pending.pop_back();
            if (level == 1) log_.resize(path.log_mark);
            if (level >= 1)
                log_ += fmt::format("from {} to {}:{}\n", path.from_pc, path.pc, format_state(path.state, ctx_.options));
        }
        stats.stack_depth = ctx_.stack_depth[0];
        stats.subprog_stack_depth = ctx_.stack_depth;
        return std::nullopt;
    }

   private:
    // A tiny expected<bool, Rejection>: true = the path is proven safe here.
    struct Verdict {
        std::optional<Rejection> rejection;
        bool pruned = false;
        explicit operator bool() const { return !rejection; }
        bool operator*() const { return pruned; }
        Rejection error() const { return *rejection; }
    };

    Verdict visit(Path& path, Stats& stats) {
        InsnCheckpoints& here = checkpoints_[path.pc];
        for (Checkpoint* cp : here.done) {
            if (includes(cp->state, path.state, pruning_)) {
                // The path's own checkpoints now rely on the values and slots the checkpoint needed.
                backtrack(path, precise_values(cp->state));
                for (uint32_t f = 0; f <= cp->state.frame(); ++f) mark_slots_read(path, f, cp->live[f]);
                ++cp->hits;
                ++stats.paths_pruned;
                return Verdict{std::nullopt, true};
            }
            ++cp->misses;
        }
        // An open checkpoint is on this path: back in the same state means no progress.
        const bool looping = !here.open.empty();
        if (looping) {
            // The registers forget_dead_registers keeps (r10 always).
            constexpr uint16_t kFp = 1u << isa::kFrameReg;
            std::array<uint16_t, kMaxCallFrames + 1> live_regs{};
            for (size_t f = 0; f < path.state.callers.size() && f < kMaxCallFrames; ++f)
                live_regs[f] = live_[path.state.callers[f].callsite + 1] | kFp;
            live_regs[std::min<size_t>(path.state.callers.size(), kMaxCallFrames)] = live_[path.pc] | kFp;
            auto [from, to] = here.open.equal_range(
                fingerprint(path.state, std::span(live_regs).first(path.state.callers.size() + 1)));
            if (from != to) {
                State live_state = path.state;
                forget_dead_registers(live_state, path.pc, live_);
                for (auto it = from; it != to; ++it)
                    if (includes(it->second->state, live_state) && includes(live_state, it->second->state))
                        return Verdict{Rejection{fmt::format("infinite loop detected at insn {}", path.pc), path.pc}};
            }
        }
        // The kernel's heuristics: a checkpoint after ≥ 2 jumps and ≥ 8 instructions, but inside a loop
        // still being explored only after ≥ 20 jumps or ≥ 100 instructions (each iteration would
        // otherwise leave one that only ever matches itself).
        // The counters are shared by all paths, so short side paths that keep leaving checkpoints (a
        // loop's exit, each iteration) would starve the path they branch from: its history since its
        // own last checkpoint would grow without end, and every precision walk and branch copy with it —
        // quadratic in the loop's length. A long enough history is due whatever the counters say.
        bool due = looping ? (jumps_since_checkpoint_ >= 20 || insns_since_checkpoint_ >= 100)
                           : (jumps_since_checkpoint_ >= 2 && insns_since_checkpoint_ >= 8);
        due = due || path.history.size() >= kMaxHistoryBetweenCheckpoints;
        if (due && here.done.size() < kMaxCheckpointsPerInsn) {
            // Fully explored checkpoints that keep missing are dropped (misses > 3 * hits + 3); they
            // stay allocated, as finished descendants still name them as parents.
            std::erase_if(here.done, [](Checkpoint* cp) { return cp->misses > 3 * cp->hits + 3; });
            auto cp = std::make_unique<Checkpoint>(
                Checkpoint{path.state, path.parent, 1, std::move(path.history), 0, 0, 0, path.pc, {}, path.written});
            clear_precision(cp->state);
            forget_dead_registers(cp->state, path.pc, live_);
            cp->fingerprint = fingerprint(cp->state);
            path.history.clear();
            path.written = {};
            path.parent = cp.get();
            jumps_since_checkpoint_ = 0;
            insns_since_checkpoint_ = 0;
            stored_bytes_ += state_bytes(cp->state);
            here.open.emplace(cp->fingerprint, cp.get());
            here.owned.push_back(std::move(cp));
            ++stats.states_stored;
            note_peak(stats, 0, path.state);
        }
        return Verdict{};
    }

    // A path ended below `cp`: checkpoints whose every continuation is now explored become pruning
    // candidates.
    void release(Checkpoint* cp, Stats&) {
        while (cp && --cp->branches == 0) {
            InsnCheckpoints& at = checkpoints_[cp->pc];
            auto [from, to] = at.open.equal_range(cp->fingerprint);
            for (auto it = from; it != to; ++it) {
                if (it->second != cp) continue;
                at.open.erase(it);
                break;
            }
            // Its liveness is final now: slots no continuation read compare as never written.
            forget_dead_slots(*cp);
            at.done.push_back(cp);
            cp = cp->parent;
        }
    }

    // Stack liveness, the kernel's read marks: a slot read on the path is live in every checkpoint up
    // the parent chain until one below which the slot was overwritten whole. A call starts the callee's
    // frame afresh, so nothing before it can be read through that frame.
    void note_stack_liveness(Path& path) {
        for (uint32_t f = 0; f < ctx_.slots_read.size(); ++f)
            if (ctx_.slots_read[f]) mark_slots_read(path, f, ctx_.slots_read[f]);
        for (uint32_t f = 0; f < ctx_.slots_written.size(); ++f) path.written[f] |= ctx_.slots_written[f];
        if (ctx_.prog.insns[path.pc].op == isa::Op::CALL_LOCAL) {
            uint32_t callee = path.state.frame();
            if (callee < path.written.size()) path.written[callee] = ~uint64_t{0};
        }
    }

    void mark_slots_read(const Path& path, uint32_t frame, uint64_t slots) {
        slots &= ~path.written[frame];
        for (Checkpoint* cp = path.parent; cp && slots && frame <= cp->state.frame(); cp = cp->parent) {
            slots &= ~cp->live[frame];  // marked before: as far up as the mark can go
            cp->live[frame] |= slots;
            slots &= ~cp->written_before[frame];
        }
    }

    static void forget_dead_slots(Checkpoint& cp) {
        for (uint32_t f = 0; f <= cp.state.frame(); ++f) {
            std::vector<StackSlot>& stack = cp.state.stack_of(f);
            for (size_t i = 0; i < stack.size(); ++i)
                if (i >= 64 || !(cp.live[f] >> i & 1)) stack[i] = StackSlot{};
            while (!stack.empty() && stack.back() == StackSlot{}) stack.pop_back();
        }
    }

    // Walks the path's history back through its checkpoints, marking what `wanted` names precise.
    void backtrack(const Path& path, Wanted wanted) {
        const std::vector<HistEntry>* history = &path.history;
        Checkpoint* cp = path.parent;
        for (;;) {
            for (auto it = history->rbegin(); it != history->rend() && !wanted.empty(); ++it) {
                step_back(ctx_.prog, *it, wanted);
                ++precision_steps_;
            }
            if (wanted.empty() || !cp) return;
            if (!mark_precise(cp->state, wanted)) return;
            history = &cp->history;
            cp = cp->parent;
        }
    }

    void note_peak(Stats& stats, size_t pending, const State& sample) {
        uint64_t states = stats.states_stored + pending + 1;
        if (states <= stats.peak_states) return;
        stats.peak_states = states;
        stats.peak_bytes = stored_bytes_ + (pending + 1) * state_bytes(sample);
    }

    Context ctx_;
    const Inclusion pruning_;
    const Cfg& cfg_;
    uint64_t stored_bytes_ = 0;
    uint64_t precision_steps_ = 0;
    std::string log_;
    size_t last_line_pc_ = SIZE_MAX;
    std::vector<InsnCheckpoints> checkpoints_;
    std::vector<uint16_t> live_;  // per pc: registers some continuation reads (liveness.h)
    // Counted over all paths, like the kernel's insn_processed/jmps_processed since the last checkpoint;
    // the instruction being visited counts already, and every jump, call and exit executed counts as a jump.
    int insns_since_checkpoint_ = 0;
    int jumps_since_checkpoint_ = 0;
    std::vector<bool> seen_;
};

}  // namespace

Result verify(const isa::Program& prog, const Options& options) {
    auto started = std::chrono::steady_clock::now();
    Result result;
    CfgResult shape = build_cfg(prog);
    if (!shape.ok()) {
        result.message = shape.error->message;
        result.insn_idx = shape.error->insn_idx;
        if (options.log_level >= 1) result.log = result.message + "\n";
        return result;
    }
    if (!options.btf_func_info) {
        for (size_t i = 1; i < shape.cfg.subprogs.size(); ++i) {
            const Subprog& sub = shape.cfg.subprogs[i];
            if (!sub.has_tail_call && !sub.has_ld_abs) continue;
            for (size_t pc = sub.start; pc < sub.end; ++pc) {
                const isa::Insn& insn = prog.insns[pc];
                bool tail_call = insn.op == isa::Op::CALL_HELPER && insn.imm == 12;
                isa::Shape shape_of = isa::info(insn.op).shape;
                bool ld_abs = shape_of == isa::Shape::LdAbs || shape_of == isa::Shape::LdInd;
                if (!tail_call && !ld_abs) continue;
                result.message = tail_call ? "tail_call is not allowed in subprogs without BTF"
                                           : "LD_ABS is not allowed in subprogs without BTF";
                result.insn_idx = pc;
                if (options.log_level >= 1) result.log = result.message + "\n";
                return result;
            }
        }
    }
    Explorer explorer(prog, options, shape.cfg);
    std::optional<Rejection> rejection = check_map_references(prog, options);
    if (!rejection) rejection = explorer.run(result.stats);
    result.stats.subprog_stack_depth = explorer.context().stack_depth;
    result.stats.precision_steps = explorer.precision_steps();
    result.stats.stack_depth = result.stats.subprog_stack_depth[0];
    if (!rejection) rejection = check_call_chains(shape.cfg, result.stats.subprog_stack_depth);
    const auto& called = explorer.context().helpers_called;
    result.helpers_called.assign(called.begin(), called.end());
    result.stats.verification_usec = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
    if (options.log_level >= 1) {
        result.log = std::move(explorer.log());
        if (rejection) result.log += rejection->message + "\n";
        result.log += format_stats(result.stats);
    }
    if (rejection) {
        result.message = rejection->message;
        result.insn_idx = rejection->insn_idx;
        return result;
    }
    result.ok = true;
    result.insn_seen = std::move(explorer.seen());
    result.direct_packet_write = explorer.context().direct_packet_write;
    const std::vector<uint8_t>& base_kind = explorer.context().base_kind;
    result.insn_ctx_access.resize(prog.size());
    for (size_t pc = 0; pc < prog.size() && pc < base_kind.size(); ++pc) result.insn_ctx_access[pc] = base_kind[pc] == 1;
    return result;
}

}  // namespace tcbpf::verifier
