// prepare() rejects, with the pc and the reason, programs the interpreter could not run safely even
// when they did not come from the decoder.
#include <gtest/gtest.h>

#include "tests/vm/vm_test_util.h"

namespace tcbpf::testing {
namespace {

isa::Program raw_program(std::vector<Insn> insns) {
    isa::Program p;
    p.insns = std::move(insns);
    return p;
}

TEST(Prepare, EmptyProgram) { EXPECT_EQ(prepare_error(isa::Program{}), "empty program"); }

TEST(Prepare, ProgramThatCanRunOffItsEnd) {
    EXPECT_EQ(prepare_error(program({mov(0, 0)})), "pc 0: last instruction is not an exit or jump");
    EXPECT_EQ(prepare_error(program({mov(0, 0), jmp(Op::JEQ64_K, 0, 0, -2)})),
              "pc 1: last instruction is not an exit or jump");
    EXPECT_EQ(prepare_error(program({mov(0, 0), exit_insn(), lddw(0, 1)})),
              "pc 3: last instruction is not an exit or jump");
    EXPECT_EQ(prepare_error(program({mov(0, 0), ja(-2)})), "(no error)");
}

TEST(Prepare, InvalidRegisters) {
    EXPECT_EQ(prepare_error(raw_program({movx(11, 1), exit_insn()})), "pc 0: invalid dst register r11");
    EXPECT_EQ(prepare_error(raw_program({mov(0, 0), movx(1, 12), exit_insn()})), "pc 1: invalid src register r12");
}

TEST(Prepare, ControlFlowOutsideTheProgram) {
    EXPECT_EQ(prepare_error(raw_program({ja(5), exit_insn()})), "pc 0: jump out of range: target 6 outside 0..1");
    EXPECT_EQ(prepare_error(raw_program({call_local(-2), exit_insn()})),
              "pc 0: jump out of range: target -1 outside 0..1");
}

TEST(Prepare, LddwHalves) {
    isa::Program into_middle = program({ja(2), lddw(0, 5), exit_insn()});
    into_middle.insns[0].off = 1;  // lands on slot 2, the LDDW tail
    EXPECT_EQ(prepare_error(into_middle), "pc 0: jump into the middle of a 64-bit immediate load at 2");
    EXPECT_EQ(prepare_error(raw_program({lddw(0, 5), exit_insn()})),
              "pc 0: 64-bit immediate load is missing its second slot");
    isa::Program stray_tail = program({lddw(0, 5), exit_insn()});
    stray_tail.insns.erase(stray_tail.insns.begin());
    EXPECT_EQ(prepare_error(stray_tail), "pc 0: second slot of a 64-bit immediate load without its first slot");
}

TEST(Prepare, KeepsTheSourceAndTheMode) {
    const isa::Program source = program({mov(0, 3), exit_insn()});
    auto fast = vm::Program::prepare(source, {});
    auto checked = vm::Program::prepare(source, {}, {.checked = true});
    EXPECT_EQ(fast->source().insns, source.insns);
    EXPECT_FALSE(fast->checked());
    EXPECT_TRUE(checked->checked());
}

TEST(Prepare, TailCallNeedsNoRegisteredHelper) {
    EXPECT_EQ(prepare_error(program({call(vm::kHelperTailCall), mov(0, 0), exit_insn()})), "(no error)");
}

}  // namespace
}  // namespace tcbpf::testing
