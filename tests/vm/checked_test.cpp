// Checked mode: every access validated against regions, live stack frames and extra_region; faults
// stop the program, return 0 and say what and where. Also the instruction budget.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <vector>

#include "tests/vm/vm_test_util.h"

namespace tcbpf::testing {
namespace {

// A fake address range: checked mode rejects or accepts it before anything is dereferenced.
constexpr uint64_t kBase = 0x10000;

FaultReport checked_run(const std::vector<Insn>& insns, std::vector<vm::Region> regions, uint64_t r1 = 0) {
    vm::Context cx;
    cx.regions = std::move(regions);
    return run_faulting(insns, cx, r1);
}

TEST(Checked, LoadPastTheEndOfARegionFaults) {
    const FaultReport r = checked_run({lddw(1, kBase + 0x40), mov(0, 1), ldx(Op::LDX_W, 0, 1, 0), exit_insn()},
                                      {{kBase, 0x40, true, "packet"}});
    EXPECT_EQ(r.result, 0u);
    EXPECT_EQ(r.fault, vm::Fault::OutOfBounds);
    EXPECT_EQ(r.pc, 3u);
    EXPECT_EQ(r.detail, "pc 3: 4-byte load at 0x10040 is outside every region (nearest: \"packet\" [0x10000, 0x10040))");
}

TEST(Checked, AccessStraddlingTheEndOfARegionFaults) {
    const FaultReport r = checked_run({lddw(1, kBase), ldx(Op::LDX_DW, 0, 1, 0x3c), exit_insn()},
                                      {{kBase, 0x40, false, "packet"}});
    EXPECT_EQ(r.fault, vm::Fault::OutOfBounds);
    EXPECT_EQ(r.detail, "pc 2: 8-byte load at 0x1003c is outside every region (nearest: \"packet\" [0x10000, 0x10040))");
}

TEST(Checked, StoreBelowARegionNamesTheNearestOne) {
    const FaultReport r = checked_run({lddw(1, kBase), st(Op::ST_B, 1, -16, 1), mov(0, 1), exit_insn()},
                                      {{kBase, 0x40, true, "packet"}, {0x90000, 0x10, true, "far"}});
    EXPECT_EQ(r.fault, vm::Fault::OutOfBounds);
    EXPECT_EQ(r.detail, "pc 2: 1-byte store at 0xfff0 is outside every region (nearest: \"packet\" [0x10000, 0x10040))");
}

TEST(Checked, StoreIntoAReadOnlyRegionFaults) {
    const FaultReport r = checked_run({lddw(1, kBase), st(Op::ST_B, 1, 0, 1), mov(0, 1), exit_insn()},
                                      {{kBase, 0x40, false, "ctx"}});
    EXPECT_EQ(r.result, 0u);
    EXPECT_EQ(r.fault, vm::Fault::ReadOnly);
    EXPECT_EQ(r.pc, 2u);
    EXPECT_EQ(r.detail, "pc 2: 1-byte store at 0x10000 writes read-only region \"ctx\" [0x10000, 0x10040)");
}

TEST(Checked, AtomicIntoAReadOnlyRegionFaults) {
    const FaultReport r = checked_run({lddw(1, kBase), mov(2, 1), atomic(Op::ATOMIC64_ADD, 1, 2, 8), exit_insn()},
                                      {{kBase, 0x40, false, "ctx"}});
    EXPECT_EQ(r.fault, vm::Fault::ReadOnly);
    EXPECT_EQ(r.detail, "pc 3: 8-byte atomic at 0x10008 writes read-only region \"ctx\" [0x10000, 0x10040)");
}

TEST(Checked, ReadsOfReadOnlyRegionsAndWritesOfWritableOnesPass) {
    std::vector<uint64_t> ro{41}, rw{0};
    EXPECT_EQ(eval({ldx(Op::LDX_DW, 0, 1, 0), alu(Op::ADD64_K, 0, 1), stx(Op::STX_DW, 2, 0, 0), exit_insn()},
                   reinterpret_cast<uint64_t>(ro.data()), reinterpret_cast<uint64_t>(rw.data()),
                   {region_of(ro.data(), 8, false, "ro"), region_of(rw.data(), 8, true, "rw")}),
              42u);
    EXPECT_EQ(rw[0], 42u);
}

// The program leaves r10 in caller memory, then touches 8 bytes just outside its frame.
void expect_stack_fault(int off, const char* kind_and_size) {
    std::vector<uint64_t> out(1);
    const FaultReport r =
        checked_run({stx(Op::STX_DW, 1, 10, 0), ldx(Op::LDX_DW, 0, 10, off), exit_insn()},
                    {region_of(out.data(), 8, true, "out")}, reinterpret_cast<uint64_t>(out.data()));
    const uint64_t fp = out[0];
    EXPECT_EQ(r.fault, vm::Fault::OutOfBounds);
    EXPECT_EQ(r.detail,
              fmt::format("pc 1: {} at 0x{:x} is outside every region (nearest: \"stack\" [0x{:x}, 0x{:x}))",
                          kind_and_size, fp + off, fp - 512, fp));
}

TEST(Checked, StackAccessBelowTheFrameFaults) { expect_stack_fault(-520, "8-byte load"); }
TEST(Checked, StackAccessAboveTheFrameFaults) { expect_stack_fault(0, "8-byte load"); }

TEST(Checked, CalleeFrameIsGoneAfterReturn) {
    // The callee writes its frame; back in main, the same address (r10 - 512 - 8) is dead.
    const FaultReport r = checked_run({call_local(2), ldx(Op::LDX_DW, 0, 10, -520), exit_insn(),
                                       st(Op::ST_DW, 10, -8, 1), exit_insn()},
                                      {});
    EXPECT_EQ(r.fault, vm::Fault::OutOfBounds);
    EXPECT_EQ(r.pc, 1u);
}

std::vector<uint8_t>* g_extra_memory;
bool allow_reads_of_extra(vm::Context*, uint64_t addr, uint64_t size, bool write) {
    const auto begin = reinterpret_cast<uint64_t>(g_extra_memory->data());
    return !write && addr >= begin && addr + size <= begin + g_extra_memory->size();
}

TEST(Checked, ExtraRegionHookDecidesAboutUnregisteredMemory) {
    std::vector<uint8_t> memory(16, 7);
    g_extra_memory = &memory;
    auto prog = vm::Program::prepare(program({ldx(Op::LDX_B, 0, 1, 15), exit_insn()}), {}, {.checked = true});
    vm::Context cx;
    cx.extra_region = allow_reads_of_extra;
    EXPECT_EQ(prog->run(cx, reinterpret_cast<uint64_t>(memory.data())), 7u);
    EXPECT_EQ(cx.fault, vm::Fault::None);
    EXPECT_EQ(prog->run(cx, reinterpret_cast<uint64_t>(memory.data()) + 1), 0u);
    EXPECT_EQ(cx.fault, vm::Fault::OutOfBounds);

    auto store = vm::Program::prepare(program({st(Op::ST_B, 1, 0, 1), mov(0, 1), exit_insn()}), {}, {.checked = true});
    EXPECT_EQ(store->run(cx, reinterpret_cast<uint64_t>(memory.data())), 0u);
    EXPECT_EQ(cx.fault, vm::Fault::OutOfBounds);
    EXPECT_EQ(memory[0], 7);
}

TEST(Checked, ANewRunClearsThePreviousFault) {
    auto prog = vm::Program::prepare(program({ldx(Op::LDX_B, 0, 1, 0), exit_insn()}), {}, {.checked = true});
    vm::Context cx;
    uint8_t byte = 9;
    EXPECT_EQ(prog->run(cx, 0), 0u);
    EXPECT_EQ(cx.fault, vm::Fault::OutOfBounds);
    cx.regions = {region_of(&byte, 1, false, "byte")};
    EXPECT_EQ(prog->run(cx, reinterpret_cast<uint64_t>(&byte)), 9u);
    EXPECT_EQ(cx.fault, vm::Fault::None);
    EXPECT_EQ(cx.fault_detail, "");
}

// ---- instruction budget ----

TEST(Budget, InfiniteLoopStopsAfterTheBudget) {
    vm::Context cx;
    cx.insn_budget = 100;
    const FaultReport r = run_faulting({mov(0, 1), ja(-1), exit_insn()}, cx);
    EXPECT_EQ(r.result, 0u);
    EXPECT_EQ(r.fault, vm::Fault::InstructionBudget);
    EXPECT_EQ(r.pc, 1u);
    EXPECT_EQ(r.detail, "pc 1: instruction budget of 100 exhausted");
    EXPECT_EQ(cx.insns_executed, 100u);
}

TEST(Budget, ExactlyEnoughBudgetSucceeds) {
    const std::vector<Insn> three{mov(0, 1), alu(Op::ADD64_K, 0, 1), exit_insn()};
    vm::Context cx;
    cx.insn_budget = 3;
    EXPECT_EQ(run_faulting(three, cx).result, 2u);
    EXPECT_EQ(cx.fault, vm::Fault::None);
    EXPECT_EQ(cx.insns_executed, 3u);
    cx.insn_budget = 2;
    const FaultReport r = run_faulting(three, cx);
    EXPECT_EQ(r.fault, vm::Fault::InstructionBudget);
    EXPECT_EQ(r.detail, "pc 2: instruction budget of 2 exhausted");
}

TEST(Budget, CountsEveryExecutedInstructionIncludingCalleesAndLddw) {
    // main: lddw, call, exit; callee: mov, exit → 5 instructions.
    vm::Context cx;
    run_faulting({lddw(0, 1), call_local(1), exit_insn(), mov(0, 3), exit_insn()}, cx);
    EXPECT_EQ(cx.fault, vm::Fault::None);
    EXPECT_EQ(cx.insns_executed, 5u);
}

TEST(Budget, UncheckedModeIgnoresIt) {
    vm::Context cx;
    cx.insn_budget = 1;
    EXPECT_EQ(run_faulting({mov(0, 1), alu(Op::ADD64_K, 0, 1), exit_insn()}, cx, 0, {}, false).result, 2u);
    EXPECT_EQ(cx.fault, vm::Fault::None);
}

TEST(Faults, HaveNames) {
    EXPECT_STREQ(vm::fault_name(vm::Fault::None), "none");
    EXPECT_STREQ(vm::fault_name(vm::Fault::OutOfBounds), "out of bounds");
    EXPECT_STREQ(vm::fault_name(vm::Fault::ReadOnly), "read-only");
    EXPECT_STREQ(vm::fault_name(vm::Fault::CallDepth), "call depth");
    EXPECT_STREQ(vm::fault_name(vm::Fault::UnknownHelper), "unknown helper");
    EXPECT_STREQ(vm::fault_name(vm::Fault::InstructionBudget), "instruction budget");
    EXPECT_STREQ(vm::fault_name(vm::Fault::BadCallTarget), "bad call target");
}

}  // namespace
}  // namespace tcbpf::testing
