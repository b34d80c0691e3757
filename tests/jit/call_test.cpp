// Calls under the JIT: helpers (r1..r5 in the argument registers, the Context as the 6th argument),
// local calls (own 512-byte frame, r6..r9 restored, at most 8 frames with the interpreter's fault),
// callx (helper table, its two faults, value 12 as a tail call), tail calls through
// Context::jit_tail_call (registers and frame kept, 33 per run) and legacy packet loads.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "jit/code_memory.h"
#include "tests/jit/jit_test_util.h"

namespace tcbpf::testing {
namespace {

uint64_t jit_eval(const std::vector<Insn>& insns, uint64_t r1 = 0, uint64_t r2 = 0, const vm::HelperRegistry& helpers = {},
                  vm::Context* context = nullptr) {
    vm::Context local;
    vm::Context& cx = context ? *context : local;
    const auto compiled = jit::Program::compile(program(insns), helpers);
    return compiled->run(cx, r1, r2);
}

// ---- local calls ----

TEST(JitLocalCall, CalleeGetsItsOwnFrameAndR6ToR9AreRestored) {
    const std::vector<Insn> prog{
        mov(6, 6), mov(7, 7), mov(8, 8), mov(9, 9),
        st(Op::ST_DW, 10, -8, 100),
        movx(1, 10), alu(Op::ADD64_K, 1, -8),
        call_local(7),
        alux(Op::ADD64_X, 0, 6), alux(Op::ADD64_X, 0, 7), alux(Op::ADD64_X, 0, 8), alux(Op::ADD64_X, 0, 9),
        ldx(Op::LDX_DW, 2, 10, -8),
        alux(Op::ADD64_X, 0, 2),
        exit_insn(),
        mov(6, 1000), mov(7, 1000), mov(8, 1000), mov(9, 1000),
        st(Op::ST_DW, 10, -8, 5),
        ldx(Op::LDX_DW, 0, 1, 0),
        ldx(Op::LDX_DW, 2, 10, -8),
        alux(Op::ADD64_X, 0, 2),
        exit_insn(),
    };
    EXPECT_EQ(jit_eval(prog), 105u + 6 + 7 + 8 + 9 + 100);
}

const std::vector<Insn> kRecursion{
    mov(0, 42), call_local(1), exit_insn(), jmp(Op::JEQ64_K, 1, 0, 2), alu(Op::SUB64_K, 1, 1), call_local(-3),
    exit_insn(),
};

TEST(JitLocalCall, EightFramesIncludingMainAreAllowed) { EXPECT_EQ(jit_eval(kRecursion, 6), 42u); }

TEST(JitLocalCall, ANinthFrameFaultsLikeTheInterpreter) {
    vm::Context cx;
    EXPECT_EQ(jit_eval(kRecursion, 7, 0, {}, &cx), 0u);
    EXPECT_EQ(cx.fault, vm::Fault::CallDepth);
    EXPECT_EQ(cx.fault_pc, 5u);
    EXPECT_EQ(cx.fault_detail, "pc 5: call exceeds the limit of 8 stack frames");
    // The next run on the same context starts clean.
    EXPECT_EQ(jit_eval(kRecursion, 1, 0, {}, &cx), 42u);
    EXPECT_EQ(cx.fault, vm::Fault::None);
}

TEST(JitLocalCall, FramesAreContiguousLikeTheInterpreters) {
    // The callee reads the caller's frame at r10 + 8 (just above its own frame) as the interpreter allows.
    const std::vector<Insn> prog{st(Op::ST_DW, 10, -504, 77), call_local(1), exit_insn(),
                                 ldx(Op::LDX_DW, 0, 10, 8), exit_insn()};
    EXPECT_EQ(jit_eval(prog), 77u);
    EXPECT_EQ(expect_same(prog).r0, 77u);
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

TEST(JitHelper, ReceivesR1ToR5AndTheContextAndReturnsInR0) {
    vm::Context cx;
    cx.cpu = 3;
    EXPECT_EQ(jit_eval({mov(1, 1), mov(2, 2), mov(3, 3), mov(4, 4), mov(5, 5), call(1), exit_insn()}, 0, 0, registry(), &cx),
              1u + 4 + 9 + 16 + 25 + 3000);
}

TEST(JitHelper, CalleeSavedRegistersSurviveAndTheStackIsAlignedForTheHelper) {
    // r6..r9 live across two calls, one made from a subprogram (a different native stack depth).
    const std::vector<Insn> prog{mov(6, 6), mov(7, 7), mov(8, 8), mov(9, 9), mov(1, 1), call(1), call_local(5),
                                 alux(Op::ADD64_X, 0, 6), alux(Op::ADD64_X, 0, 7), alux(Op::ADD64_X, 0, 8),
                                 alux(Op::ADD64_X, 0, 9), exit_insn(),
                                 mov(1, 2), mov(2, 0), mov(3, 0), mov(4, 0), mov(5, 0), call(1), exit_insn()};
    EXPECT_EQ(jit_eval(prog, 0, 0, registry()), 2u + 30);
}

TEST(JitHelper, UnknownIdIsTheInterpretersLoadError) {
    try {
        jit::Program::compile(program({mov(0, 0), call(99), exit_insn()}), registry());
        FAIL() << "compiled";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "pc 1: call to unknown helper id 99");
    }
}

TEST(JitCallx, CallsTheHelperWhoseIdIsInDst) {
    EXPECT_EQ(jit_eval({mov(3, 1), mov(1, 10), mov(2, 1), callx(3), exit_insn()}, 0, 0, registry()), 15u);
}

TEST(JitCallx, UnknownIdFaults) {
    vm::Context cx;
    EXPECT_EQ(jit_eval({mov(1, 77), mov(0, 1), callx(1), exit_insn()}, 0, 0, registry(), &cx), 0u);
    EXPECT_EQ(cx.fault, vm::Fault::UnknownHelper);
    EXPECT_EQ(cx.fault_detail, "pc 2: callx to unknown helper id 77");
    EXPECT_EQ(jit_eval({mov(1, 0), mov(0, 1), callx(1), exit_insn()}, 0, 0, registry(), &cx), 0u);
    EXPECT_EQ(cx.fault_detail, "pc 2: callx to unknown helper id 0");
}

TEST(JitCallx, ValueThatIsNoHelperIdFaultsEvenFromASubprogram) {
    vm::Context cx;
    EXPECT_EQ(jit_eval({mov(0, 5), call_local(1), exit_insn(), lddw(1, 0x100000000), callx(1), exit_insn()}, 0, 0,
                       registry(), &cx),
              0u);
    EXPECT_EQ(cx.fault, vm::Fault::BadCallTarget);
    EXPECT_EQ(cx.fault_detail, "pc 5: callx target 0x100000000 is not a helper id");
}

// ---- tail calls ----

constexpr uint64_t kProgArray = 0xa77a;

struct TailCalls {
    const jit::Program* slots[4] = {};
    uint64_t calls_counted = 0;
};

const jit::Program* lookup(vm::Context* cx, uint64_t prog_array, uint64_t index) {
    auto* state = static_cast<TailCalls*>(cx->user);
    if (prog_array != kProgArray || index >= 4) return nullptr;
    return state->slots[index];
}

uint64_t count_call(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) {
    return ++static_cast<TailCalls*>(cx->user)->calls_counted;
}

const std::vector<Insn> kCaller{
    st(Op::ST_DW, 10, -8, 55), movx(3, 2), lddw(2, kProgArray), call(vm::kHelperTailCall), mov(0, 99), exit_insn(),
};
// Uses r6..r9 (which the caller does not) and the caller's stack.
const std::vector<Insn> kCallee{
    mov(6, 1), mov(7, 2), mov(8, 3), mov(9, 4),
    movx(0, 1), alu(Op::ADD64_K, 0, 1000), ldx(Op::LDX_DW, 2, 10, -8), alux(Op::ADD64_X, 0, 2), exit_insn(),
};

TEST(JitTailCall, TargetReplacesTheProgramKeepingRegistersAndStack) {
    auto caller = jit::Program::compile(program(kCaller), {});
    auto callee = jit::Program::compile(program(kCallee), {});
    TailCalls state;
    state.slots[0] = callee.get();
    vm::Context cx;
    cx.user = &state;
    cx.jit_tail_call = lookup;
    EXPECT_EQ(caller->run(cx, 5, 0), 5u + 1000 + 55);
    EXPECT_EQ(cx.tail_calls_done, 1u);
    EXPECT_EQ(caller->run(cx, 5, 1), 99u) << "empty slot falls through";
    EXPECT_EQ(cx.tail_calls_done, 0u);
    EXPECT_EQ(cx.fault, vm::Fault::None);
}

TEST(JitTailCall, WithoutAHookEveryTailCallFallsThrough) { EXPECT_EQ(jit_eval(kCaller, 5, 0), 99u); }

TEST(JitTailCall, CallxWithTwelveIsATailCall) {
    auto caller = jit::Program::compile(program({movx(3, 2), lddw(2, kProgArray), mov(4, 12), callx(4), mov(0, 99),
                                                 exit_insn()}),
                                        {});
    auto callee = jit::Program::compile(program({mov(0, 1234), exit_insn()}), {});
    TailCalls state;
    state.slots[1] = callee.get();
    vm::Context cx;
    cx.user = &state;
    cx.jit_tail_call = lookup;
    EXPECT_EQ(caller->run(cx, 0, 1), 1234u);
    EXPECT_EQ(caller->run(cx, 0, 2), 99u);
}

TEST(JitTailCall, FromASubprogramTheTargetReturnsToTheCaller) {
    // As in the interpreter, the target replaces the subprogram; its exit returns to main.
    auto caller = jit::Program::compile(program({mov(6, 7), call_local(2), alux(Op::ADD64_X, 0, 6), exit_insn(),
                                                 lddw(2, kProgArray), mov(3, 0), call(vm::kHelperTailCall), mov(0, 99),
                                                 exit_insn()}),
                                        {});
    auto callee = jit::Program::compile(program({mov(6, 1000), mov(0, 10), exit_insn()}), {});
    TailCalls state;
    state.slots[0] = callee.get();
    vm::Context cx;
    cx.user = &state;
    cx.jit_tail_call = lookup;
    EXPECT_EQ(caller->run(cx, 0), 17u) << "r6 restored after the subprogram's frame returns";
}

TEST(JitTailCall, AtMost33ChainedTailCallsPerRun) {
    auto self = jit::Program::compile(program({movx(6, 1), call(2), movx(1, 6), lddw(2, kProgArray), mov(3, 2),
                                               call(vm::kHelperTailCall), mov(0, 7), exit_insn()}),
                                      registry());
    TailCalls state;
    state.slots[2] = self.get();
    vm::Context cx;
    cx.user = &state;
    cx.jit_tail_call = lookup;
    EXPECT_EQ(self->run(cx, 1), 7u);
    EXPECT_EQ(state.calls_counted, 1u + vm::kMaxTailCalls);
    EXPECT_EQ(cx.tail_calls_done, 33u);
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

// JIT result, checked against the interpreter's.
uint64_t run_packet_program(const std::vector<Insn>& insns, bool with_hook = true) {
    vm::Context cx;
    if (with_hook) cx.load_packet = load_packet;
    const uint64_t expected = vm::Program::prepare(program(insns), {})->run(cx, kSkb);
    const uint64_t actual = jit::Program::compile(program(insns), {})->run(cx, kSkb);
    EXPECT_EQ(cx.fault, vm::Fault::None);
    EXPECT_EQ(actual, expected);
    return actual;
}

TEST(JitPacketLoad, AbsReadsNetworkOrderAtImm) {
    EXPECT_EQ(run_packet_program({movx(6, 1), ld_abs(Op::LD_ABS_B, 1), exit_insn()}), 0x34u);
    EXPECT_EQ(run_packet_program({movx(6, 1), ld_abs(Op::LD_ABS_H, 1), exit_insn()}), 0x3456u);
    EXPECT_EQ(run_packet_program({movx(6, 1), ld_abs(Op::LD_ABS_W, 2), exit_insn()}), 0x56789abcu);
}

TEST(JitPacketLoad, IndAddsSrcAndImmAsA32BitOffset) {
    EXPECT_EQ(run_packet_program({movx(6, 1), mov(7, 2), ld_ind(Op::LD_IND_B, 7, 1), exit_insn()}), 0x78u);
    EXPECT_EQ(run_packet_program({movx(6, 1), lddw(7, 0x100000002), ld_ind(Op::LD_IND_H, 7, 1), exit_insn()}), 0x789au);
    EXPECT_EQ(run_packet_program({movx(6, 1), mov(7, -1), ld_ind(Op::LD_IND_W, 7, 2), exit_insn()}), 0x3456789au);
    EXPECT_EQ(run_packet_program({movx(6, 1), mov(1, 3), ld_ind(Op::LD_IND_B, 1, 1), exit_insn()}), 0x9au)
        << "src in an argument register";
}

TEST(JitPacketLoad, ClobbersR1ToR5LikeACall) {
    EXPECT_EQ(run_packet_program({movx(6, 1), mov(1, 1), mov(2, 2), mov(3, 3), mov(4, 4), mov(5, 5), mov(7, 0),
                                  ld_ind(Op::LD_IND_B, 7, 0), alux(Op::ADD64_X, 0, 1), alux(Op::ADD64_X, 0, 2),
                                  alux(Op::ADD64_X, 0, 3), alux(Op::ADD64_X, 0, 4), alux(Op::ADD64_X, 0, 5),
                                  alux(Op::ADD64_X, 0, 6), exit_insn()}),
              0x12u + kSkb);
}

TEST(JitPacketLoad, FailureEndsTheProgramWithZero) {
    EXPECT_EQ(run_packet_program({movx(6, 1), mov(0, 5), ld_abs(Op::LD_ABS_W, 6), mov(0, 5), exit_insn()}), 0u);
    EXPECT_EQ(run_packet_program({movx(6, 1), mov(7, -3), ld_ind(Op::LD_IND_B, 7, 0), mov(0, 5), exit_insn()}), 0u);
}

TEST(JitPacketLoad, FailureInASubprogramReturnsZeroToTheCaller) {
    EXPECT_EQ(run_packet_program({movx(6, 1), mov(0, 1), call_local(2), alu(Op::ADD64_K, 0, 10), exit_insn(),
                                  ld_abs(Op::LD_ABS_B, 100), mov(0, 77), exit_insn()}),
              10u);
}

TEST(JitPacketLoad, WithoutAHookEveryLoadFails) {
    EXPECT_EQ(run_packet_program({movx(6, 1), mov(0, 5), ld_abs(Op::LD_ABS_B, 0), exit_insn()}, false), 0u);
}

// ---- concurrency ----

TEST(JitConcurrency, OneProgramRunsOnManyThreadsAtOnce) {
    // Recursion through local calls and the stack: every run's frames and depth are its own.
    const auto compiled = jit::Program::compile(
        program({st(Op::ST_DW, 10, -8, 0), stx(Op::STX_DW, 10, 1, -8), call_local(2), ldx(Op::LDX_DW, 1, 10, -8),
                 exit_insn(),
                 // f: r0 = 3 * r1
                 movx(0, 1), alux(Op::ADD64_X, 0, 1), alux(Op::ADD64_X, 0, 1), exit_insn()}),
        {});
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            vm::Context cx;
            for (uint64_t i = 0; i < 20000; ++i)
                if (compiled->run(cx, i * 4 + t) != (i * 4 + t) * 3) ++failures[t];
        });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(failures, std::vector<int>(4, 0));
}

// ---- code memory ----

TEST(JitCodeMemory, GeneratedCodeIsNeverWritable) {
    const auto compiled = jit::Program::compile(program({mov(0, 1), exit_insn()}), {});
    vm::Context cx;
    ASSERT_EQ(compiled->run(cx, 0), 1u);
    // The mapping holding the code is r-x (W^X), as /proc/self/maps shows.
    const auto address = reinterpret_cast<uintptr_t>(compiled->code_address());
    std::ifstream maps("/proc/self/maps");
    std::string line;
    std::string permissions;
    while (std::getline(maps, line)) {
        uintptr_t begin = 0, end = 0;
        char perms[5] = {};
        if (std::sscanf(line.c_str(), "%lx-%lx %4s", &begin, &end, perms) == 3 && address >= begin && address < end)
            permissions = perms;
    }
    EXPECT_EQ(permissions, "r-xp");
}

// A mapping the kernel refuses is an Error naming the size and errno, never an abort, and never
// jit::Unsupported: callers must not quietly fall back to the interpreter when memory runs out.
TEST(JitCodeMemory, AFailedMappingIsAnErrorNotAFallback) {
    const size_t impossible = size_t{1} << 62;
    try {
        jit::detail::CodeMemory::create(impossible, [](std::span<uint8_t>) { FAIL() << "nothing to fill"; });
        FAIL() << "a 4 EiB mapping succeeded";
    } catch (const jit::Unsupported& e) {
        FAIL() << "reported as a JIT refusal: " << e.what();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "JIT: cannot map 4611686018427387904 bytes for code: Cannot allocate memory");
    }
}

// Options::code_limit (bpf_jit_limit's analogue) refuses larger programs as jit::Unsupported.
TEST(JitCodeMemory, CodeAboveTheLimitIsUnsupported) {
    const isa::Program prog = program({mov(0, 1), exit_insn()});
    const size_t size = jit::Program::compile(prog, {})->code_size();
    EXPECT_NE(jit::Program::compile(prog, {}, {.code_limit = size}), nullptr);
    try {
        jit::Program::compile(prog, {}, {.code_limit = size - 1});
        FAIL() << "compiled above the limit";
    } catch (const jit::Unsupported& e) {
        EXPECT_EQ(std::string(e.what()), fmt::format("JIT: the program needs {} bytes of code, above the limit of {}",
                                                     size, size - 1));
    }
}

}  // namespace
}  // namespace tcbpf::testing

namespace tcbpf::testing {
namespace {

// ---- the direct entry (programs that call nothing) ----

TEST(JitDirectEntry, AProgramThatCallsNothingRunsWithoutAContextAndGivesRunsResult) {
    // r0 = memory[0] + r2 + r6..r9 + a stack round trip: callee-saved registers and the frame in use,
    // still nothing called.
    const std::vector<Insn> prog{ldx(Op::LDX_B, 0, 1, 0), alux(Op::ADD64_X, 0, 2),  mov(6, 6),
                                 mov(7, 7),               mov(8, 8),                mov(9, 9),
                                 alux(Op::ADD64_X, 0, 6), alux(Op::ADD64_X, 0, 7),  alux(Op::ADD64_X, 0, 8),
                                 alux(Op::ADD64_X, 0, 9), stx(Op::STX_DW, 10, 0, -8), ldx(Op::LDX_DW, 0, 10, -8),
                                 exit_insn()};
    const auto compiled = jit::Program::compile(program(prog), {});
    ASSERT_NE(compiled->direct_entry(), nullptr);
    uint8_t memory[1] = {100};
    const auto r1 = reinterpret_cast<uint64_t>(memory);
    vm::Context cx;
    EXPECT_EQ(compiled->direct_entry()(r1, 5), 100u + 5 + 6 + 7 + 8 + 9);
    EXPECT_EQ(compiled->run(cx, r1, 5), compiled->direct_entry()(r1, 5));
}

TEST(JitEntry, RegistersWrittenBeforeTheyAreReadAreNotZeroedFirst) {
    // r3 = 5; r0 = r3: r3's zero could never be seen, so the entry leaves it; r0 = r3; r3 = 5 reads it.
    const auto written_first = jit::Program::compile(program({mov(3, 5), movx(0, 3), exit_insn()}), {});
    const auto read_first = jit::Program::compile(program({movx(0, 3), mov(3, 5), exit_insn()}), {});
    EXPECT_LT(written_first->insn_offsets()[0], read_first->insn_offsets()[0]);
    vm::Context cx;
    EXPECT_EQ(written_first->run(cx, 0), 5u);
    EXPECT_EQ(read_first->run(cx, 0), 0u);
    // After a jump target nothing is known: r3 is read there on one path before the other writes it.
    const auto joined = jit::Program::compile(
        program({jmp(Op::JEQ64_K, 1, 0, 1), mov(3, 5), movx(0, 3), exit_insn()}), {});
    EXPECT_EQ(joined->run(cx, 0), 0u);
    EXPECT_EQ(joined->run(cx, 1), 5u);
}

TEST(JitDirectEntry, ProgramsThatCallHaveNone) {
    const vm::HelperRegistry helpers = registry();
    const std::vector<Insn> calling[] = {
        {mov(1, 1), call(1), exit_insn()},                         // a helper
        {call_local(1), exit_insn(), mov(0, 1), exit_insn()},      // a subprogram
        {movx(6, 1), ld_abs(Op::LD_ABS_B, 0), exit_insn()},        // a legacy packet load
        {mov(1, 1), callx(1), exit_insn()},                        // callx
    };
    for (const auto& prog : calling) EXPECT_EQ(jit::Program::compile(program(prog), helpers)->direct_entry(), nullptr);
}

}  // namespace
}  // namespace tcbpf::testing
