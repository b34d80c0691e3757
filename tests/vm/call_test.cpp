// Local calls, helper calls, callx, tail calls and legacy packet loads (isa.md §3-4).
#include <gtest/gtest.h>

#include "tests/vm/vm_test_util.h"

namespace tcbpf::testing {
namespace {

// ---- BPF-to-BPF calls ----

TEST(LocalCall, CalleeGetsItsOwnFrameAndR6ToR9AreRestored) {
    const std::vector<Insn> prog{
        mov(6, 6), mov(7, 7), mov(8, 8), mov(9, 9),
        st(Op::ST_DW, 10, -8, 100),                   // main's frame
        movx(1, 10), alu(Op::ADD64_K, 1, -8),         // pointer into main's frame for the callee
        call_local(7),                                // pc 7 → pc 15
        alux(Op::ADD64_X, 0, 6), alux(Op::ADD64_X, 0, 7), alux(Op::ADD64_X, 0, 8), alux(Op::ADD64_X, 0, 9),
        ldx(Op::LDX_DW, 2, 10, -8),                   // still 100: r10 is main's again
        alux(Op::ADD64_X, 0, 2),
        exit_insn(),
        // callee (pc 15)
        mov(6, 1000), mov(7, 1000), mov(8, 1000), mov(9, 1000),
        st(Op::ST_DW, 10, -8, 5),                     // its own frame, not main's
        ldx(Op::LDX_DW, 0, 1, 0),                     // reads the caller's frame: 100
        ldx(Op::LDX_DW, 2, 10, -8),
        alux(Op::ADD64_X, 0, 2),                      // 105
        exit_insn(),
    };
    EXPECT_EQ(eval(prog), 105u + 6 + 7 + 8 + 9 + 100);
}

// r0 = 42; call f; exit; f: if r1 == 0 goto out; r1 -= 1; call f; out: exit. With r1 = k the deepest
// point has main plus k + 1 frames of f.
const std::vector<Insn> kRecursion{
    mov(0, 42), call_local(1), exit_insn(), jmp(Op::JEQ64_K, 1, 0, 2), alu(Op::SUB64_K, 1, 1), call_local(-3),
    exit_insn(),
};

TEST(LocalCall, EightFramesIncludingMainAreAllowed) { EXPECT_EQ(eval(kRecursion, 6), 42u); }

TEST(LocalCall, ANinthFrameFaultsInBothModes) {
    for (const bool checked : {false, true}) {
        vm::Context cx;
        const FaultReport r = run_faulting(kRecursion, cx, 7, {}, checked);
        EXPECT_EQ(r.result, 0u);
        EXPECT_EQ(r.fault, vm::Fault::CallDepth);
        EXPECT_EQ(r.pc, 5u);
        EXPECT_EQ(r.detail, "pc 5: call exceeds the limit of 8 stack frames");
    }
}

// ---- helpers ----

uint64_t weighted_sum(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, vm::Context* cx) {
    return r1 + 2 * r2 + 3 * r3 + 4 * r4 + 5 * r5 + 1000 * cx->cpu;
}
uint64_t count_call(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx);

vm::HelperRegistry registry() {
    vm::HelperRegistry helpers;
    helpers.add(1, "weighted_sum", weighted_sum);
    helpers.add(2, "count_call", count_call);
    return helpers;
}

TEST(Helper, ReceivesR1ToR5AndTheContextAndReturnsInR0) {
    auto prog = vm::Program::prepare(
        program({mov(1, 1), mov(2, 2), mov(3, 3), mov(4, 4), mov(5, 5), call(1), exit_insn()}), registry());
    vm::Context cx;
    cx.cpu = 3;
    EXPECT_EQ(prog->run(cx, 0), 1u + 4 + 9 + 16 + 25 + 3000);
}

TEST(Helper, UnknownIdIsAPrepareError) {
    EXPECT_EQ(prepare_error(program({mov(0, 0), call(99), exit_insn()}), registry()),
              "pc 1: call to unknown helper id 99");
}

TEST(Helper, RegisteringAnIdTwiceIsAnError) {
    vm::HelperRegistry helpers = registry();
    try {
        helpers.add(1, "another", weighted_sum);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "helper id 1 registered twice (weighted_sum and another)");
    }
}

TEST(Callx, CallsTheHelperWhoseIdIsInDst) {
    const auto helpers = registry();
    // r3 is both the target (helper 1) and the third argument: 10 + 2*1 + 3*1.
    EXPECT_EQ(eval({mov(3, 1), mov(1, 10), mov(2, 1), callx(3), exit_insn()}, 0, 0, {}, helpers), 15u);
}

TEST(Callx, UnknownIdFaults) {
    vm::Context cx;
    const FaultReport r = run_faulting({mov(1, 77), mov(0, 1), callx(1), exit_insn()}, cx, 0, registry(), false);
    EXPECT_EQ(r.result, 0u);
    EXPECT_EQ(r.fault, vm::Fault::UnknownHelper);
    EXPECT_EQ(r.detail, "pc 2: callx to unknown helper id 77");
}

TEST(Callx, ValueThatIsNoHelperIdFaults) {
    vm::Context cx;
    const FaultReport r = run_faulting({lddw(1, 0x100000000), callx(1), exit_insn()}, cx, 0, registry(), true);
    EXPECT_EQ(r.fault, vm::Fault::BadCallTarget);
    EXPECT_EQ(r.pc, 2u);
    EXPECT_EQ(r.detail, "pc 2: callx target 0x100000000 is not a helper id");
}

// ---- tail calls ----

constexpr uint64_t kProgArray = 0xa77a;

struct TailCalls {
    const vm::Program* slots[4] = {};
    uint64_t calls_counted = 0;
};

const vm::Program* lookup(vm::Context* cx, uint64_t prog_array, uint64_t index) {
    auto* state = static_cast<TailCalls*>(cx->user);
    if (prog_array != kProgArray || index >= 4) return nullptr;
    return state->slots[index];
}

uint64_t count_call(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    return ++static_cast<TailCalls*>(cx->user)->calls_counted;
}

// Stores 55 on the stack, tail-calls slot r2 with ctx r1; returns 99 if the tail call falls through.
const std::vector<Insn> kCaller{
    st(Op::ST_DW, 10, -8, 55), movx(3, 2), lddw(2, kProgArray), call(vm::kHelperTailCall), mov(0, 99), exit_insn(),
};
// Returns ctx + 1000 + the value the caller left on the (shared) stack.
const std::vector<Insn> kCallee{
    movx(0, 1), alu(Op::ADD64_K, 0, 1000), ldx(Op::LDX_DW, 2, 10, -8), alux(Op::ADD64_X, 0, 2), exit_insn(),
};

TEST(TailCall, TargetReplacesTheProgramKeepingRegistersAndStack) {
    for (const bool checked : {false, true}) {
        auto caller = vm::Program::prepare(program(kCaller), {}, {.checked = checked});
        auto callee = vm::Program::prepare(program(kCallee), {}, {.checked = checked});
        TailCalls state;
        state.slots[0] = callee.get();
        vm::Context cx;
        cx.user = &state;
        cx.tail_call = lookup;
        EXPECT_EQ(caller->run(cx, 5, 0), 5u + 1000 + 55);
        EXPECT_EQ(cx.tail_calls_done, 1u);
        EXPECT_EQ(caller->run(cx, 5, 1), 99u) << "empty slot falls through";
        EXPECT_EQ(cx.tail_calls_done, 0u);
        EXPECT_EQ(cx.fault, vm::Fault::None);
    }
}

TEST(TailCall, WithoutAHookEveryTailCallFallsThrough) { EXPECT_EQ(eval(kCaller, 5, 0), 99u); }

TEST(TailCall, AProgramOfTheOtherModeIsNotEntered) {
    auto caller = vm::Program::prepare(program(kCaller), {}, {.checked = true});
    auto callee = vm::Program::prepare(program(kCallee), {});
    TailCalls state;
    state.slots[0] = callee.get();
    vm::Context cx;
    cx.user = &state;
    cx.tail_call = lookup;
    EXPECT_EQ(caller->run(cx, 5, 0), 99u);
}

TEST(TailCall, AtMost33ChainedTailCallsPerRun) {
    // Counts itself, then tail-calls itself (slot 2); once the limit stops it, returns 7.
    auto self = vm::Program::prepare(program({movx(6, 1), call(2), movx(1, 6), lddw(2, kProgArray), mov(3, 2),
                                              call(vm::kHelperTailCall), mov(0, 7), exit_insn()}),
                                     registry());
    TailCalls state;
    state.slots[2] = self.get();
    vm::Context cx;
    cx.user = &state;
    cx.tail_call = lookup;
    EXPECT_EQ(self->run(cx, 1), 7u);
    EXPECT_EQ(state.calls_counted, 1u + vm::kMaxTailCalls);
    EXPECT_EQ(cx.tail_calls_done, 33u);
    // The count is per run.
    state.calls_counted = 0;
    EXPECT_EQ(self->run(cx, 1), 7u);
    EXPECT_EQ(state.calls_counted, 34u);
}

// ---- legacy packet loads ----

constexpr uint64_t kSkb = 0x5cb;
const uint8_t kPacket[] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0};

bool load_packet(vm::Context*, uint64_t ctx, int64_t offset, int size, uint64_t* out) {
    if (ctx != kSkb || offset < 0 || offset + size > static_cast<int64_t>(sizeof kPacket)) return false;
    uint64_t value = 0;
    for (int i = 0; i < size; ++i) value = (value << 8) | kPacket[offset + i];
    *out = value;
    return true;
}

uint64_t run_packet_program(const std::vector<Insn>& insns, bool with_hook = true) {
    uint64_t result[2];
    for (const bool checked : {false, true}) {
        auto prog = vm::Program::prepare(program(insns), {}, {.checked = checked});
        vm::Context cx;
        if (with_hook) cx.load_packet = load_packet;
        result[checked] = prog->run(cx, kSkb);
        EXPECT_EQ(cx.fault, vm::Fault::None);
    }
    EXPECT_EQ(result[0], result[1]);
    return result[0];
}

TEST(PacketLoad, AbsReadsNetworkOrderAtImm) {
    EXPECT_EQ(run_packet_program({movx(6, 1), ld_abs(Op::LD_ABS_B, 1), exit_insn()}), 0x34u);
    EXPECT_EQ(run_packet_program({movx(6, 1), ld_abs(Op::LD_ABS_H, 1), exit_insn()}), 0x3456u);
    EXPECT_EQ(run_packet_program({movx(6, 1), ld_abs(Op::LD_ABS_W, 2), exit_insn()}), 0x56789abcu);
}

TEST(PacketLoad, IndAddsSrcAndImmAsA32BitOffset) {
    EXPECT_EQ(run_packet_program({movx(6, 1), mov(7, 2), ld_ind(Op::LD_IND_B, 7, 1), exit_insn()}), 0x78u);
    EXPECT_EQ(run_packet_program({movx(6, 1), lddw(7, 0x100000002), ld_ind(Op::LD_IND_H, 7, 1), exit_insn()}),
              0x789au);
    EXPECT_EQ(run_packet_program({movx(6, 1), mov(7, -1), ld_ind(Op::LD_IND_W, 7, 2), exit_insn()}), 0x3456789au);
}

TEST(PacketLoad, ClobbersR1ToR5LikeACall) {
    EXPECT_EQ(run_packet_program({movx(6, 1), mov(1, 1), mov(2, 2), mov(3, 3), mov(4, 4), mov(5, 5), mov(7, 0),
                                  ld_ind(Op::LD_IND_B, 7, 0), alux(Op::ADD64_X, 0, 1), alux(Op::ADD64_X, 0, 2),
                                  alux(Op::ADD64_X, 0, 3), alux(Op::ADD64_X, 0, 4), alux(Op::ADD64_X, 0, 5),
                                  alux(Op::ADD64_X, 0, 6), exit_insn()}),
              0x12u + kSkb);
}

TEST(PacketLoad, FailureEndsTheProgramWithZero) {
    EXPECT_EQ(run_packet_program({movx(6, 1), mov(0, 5), ld_abs(Op::LD_ABS_W, 6), mov(0, 5), exit_insn()}), 0u);
    EXPECT_EQ(run_packet_program({movx(6, 1), mov(7, -3), ld_ind(Op::LD_IND_B, 7, 0), mov(0, 5), exit_insn()}),
              0u);
}

TEST(PacketLoad, FailureInASubprogramReturnsZeroToTheCaller) {
    EXPECT_EQ(run_packet_program({movx(6, 1), mov(0, 1), call_local(2), alu(Op::ADD64_K, 0, 10), exit_insn(),
                                  ld_abs(Op::LD_ABS_B, 100), mov(0, 77), exit_insn()}),
              10u);
}

TEST(PacketLoad, WithoutAHookEveryLoadFails) {
    EXPECT_EQ(run_packet_program({movx(6, 1), mov(0, 5), ld_abs(Op::LD_ABS_B, 0), exit_insn()}, false), 0u);
}

}  // namespace
}  // namespace tcbpf::testing
