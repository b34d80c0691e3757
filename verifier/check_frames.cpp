// bpf-to-bpf calls (verifier.md §6.7). A local call is verified inline in its caller's context, as the
// kernel does for static functions (and for every function of a program loaded without BTF function
// info): the caller's registers and stack are set aside in a CallerFrame, the callee starts with the
// caller's r1-r5 (whatever they hold: scalars, the context, pointers into the caller's stack or the
// packet), a fresh r10 and an empty stack of its own. Its `exit` hands r0 back — never a pointer to the
// dying stack — and the caller resumes after the call with r1-r5 dead and r6-r9 as it left them. Every
// calling context is explored separately, so a callee is as precise as inlined code; pruning keys on the
// whole call chain (state.h). Frame and stack limits over all call chains are checked by cfg.h's
// check_call_chains once every function's stack depth is known.
//
// callx (the `raw` conformance type only): a call through a register. A known constant id is checked as
// that helper; otherwise only the interpreter's run-time check of the target (an id of a helper it was
// given) stands between the program and the helper, so r1-r5 are clobbered and r0 is unknown.
#include <fmt/format.h>

#include "verifier/checker.h"

namespace tcbpf::verifier::detail {

void note_stack_use(Context& ctx, const State& state, uint32_t frame, size_t pc, int64_t lowest_off) {
    size_t at = frame == state.frame() ? pc : state.callers[frame].callsite;
    int& depth = ctx.stack_depth[ctx.cfg.subprog_of[at]];
    depth = std::max(depth, static_cast<int>(-lowest_off));
}

Step execute_local_call(Context& ctx, const isa::Insn& insn, State& state, size_t pc) {
    (void)ctx;
    Step step;
    if (state.frame() + 1 >= static_cast<uint32_t>(kMaxCallFrames)) {
        step.error = Rejection{fmt::format("the call stack of {} frames is too deep", state.frame() + 2), pc};
        return step;
    }
    std::array<Reg, isa::kNumRegs> callee{};
    for (int reg = 1; reg <= 5; ++reg) callee[static_cast<size_t>(reg)] = state.regs[static_cast<size_t>(reg)];
    CallerFrame caller{state.regs, std::move(state.stack), pc};
    for (int reg = 0; reg <= 5; ++reg) caller.regs[static_cast<size_t>(reg)] = Reg{};
    state.callers.push_back(std::move(caller));
    state.stack.clear();
    callee[isa::kFrameReg] = Reg::pointer(RegType::Stack);
    callee[isa::kFrameReg].frame = state.frame();
    state.regs = callee;
    step.next_pc = static_cast<size_t>(isa::branch_target(insn, pc));
    return step;
}

Step execute_exit(Context& ctx, State& state, size_t pc) {
    Step step;
    if (state.callers.empty()) {
        step.ends = true;
        step.error = check_reference_leak(state, "BPF_EXIT instruction in main prog", pc);
        if (!step.error) step.error = check_readable(state, 0, pc);
        if (!step.error && ctx.options.strict && !ctx.raw() && is_pointer(state.regs[0].type))
            step.error = Rejection{"R0 leaks addr as return value", pc};
        return step;
    }
    const Reg r0 = state.regs[0];
    if (r0.type == RegType::Stack) {
        step.error = Rejection{"cannot return stack pointer to the caller", pc};
        return step;
    }
    CallerFrame caller = std::move(state.callers.back());
    state.callers.pop_back();
    state.regs = caller.regs;
    state.regs[0] = r0;
    state.stack = std::move(caller.stack);
    step.next_pc = caller.callsite + 1;
    return step;
}

std::optional<Rejection> execute_callx(Context& ctx, const isa::Insn& insn, State& state, size_t pc) {
    if (!ctx.raw()) return not_supported("callx outside the raw program type", pc);
    if (auto e = check_readable(state, insn.dst, pc)) return e;
    const Reg& target = state.regs[insn.dst];
    ctx.need_precise(insn.dst);
    if (target.type == RegType::Scalar && target.value.is_const() && target.value.const_value() <= INT32_MAX) {
        isa::Insn call = insn;
        call.imm = static_cast<int32_t>(target.value.const_value());
        return execute_helper_call(ctx, call, state, pc);
    }
    for (int reg = 0; reg <= 5; ++reg) state.regs[static_cast<size_t>(reg)] = Reg{};
    state.regs[0] = Reg::scalar(Scalar::unknown());
    return std::nullopt;
}

}  // namespace tcbpf::verifier::detail
