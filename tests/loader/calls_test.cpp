// BPF-to-BPF calls and callbacks: subprograms from .text appended after each program that reaches them,
// call offsets made pc-relative to the appended copy, and line info carried along with the code.
#include <gtest/gtest.h>

#include "objects.h"

namespace tcbpf::loader::test {
namespace {

using isa::Op;

std::vector<size_t> pcs_of(const ProgramDef& p, Op op) {
    std::vector<size_t> out;
    for (size_t pc = 0; pc < p.prog.size(); ++pc)
        if (p.prog.insns[pc].op == op) out.push_back(pc);
    return out;
}

uint32_t line_at(const ProgramDef& p, int64_t pc) {
    const LineInfo* line = line_for(p, static_cast<uint32_t>(pc));
    return line == nullptr ? 0 : line->line;
}

TEST(Calls, GlobalAndStaticSubprogramsAreAppendedAndCallsMadeRelative) {
    TCBPF_REQUIRE_OBJECTS();
    const Object o = load_object(object_path("calls"));
    ASSERT_EQ(o.programs.size(), 2u) << ".text functions are subprograms, not programs";
    const ProgramDef& first = find_program(o, "first");
    // first (9 insns) + weigh (7, global in .text) + clamp (7, static in .text).
    ASSERT_EQ(first.prog.size(), 23u);
    const auto calls = pcs_of(first, Op::CALL_LOCAL);
    ASSERT_EQ(calls.size(), 2u);
    const int64_t weigh = isa::branch_target(first.prog.insns[calls[0]], calls[0]);
    const int64_t clamp = isa::branch_target(first.prog.insns[calls[1]], calls[1]);
    EXPECT_EQ(calls[0], 0u);
    EXPECT_EQ(weigh, 9);   // right after first's own exit
    EXPECT_EQ(calls[1], 11u);  // inside the appended weigh
    EXPECT_EQ(clamp, 16);  // right after weigh's exit
    EXPECT_EQ(first.prog.insns[8].op, Op::EXIT);
    EXPECT_EQ(first.prog.insns[15].op, Op::EXIT);
    EXPECT_EQ(first.prog.insns[22].op, Op::EXIT);
    // The line info at each call target is the callee's definition.
    EXPECT_EQ(line_at(first, weigh), marker_line("calls.c", "int weigh("));
    EXPECT_EQ(line_at(first, clamp), marker_line("calls.c", "int clamp("));
}

TEST(Calls, SharedSubprogramIsCopiedIntoEachProgram) {
    TCBPF_REQUIRE_OBJECTS();
    const Object o = load_object(object_path("calls"));
    const ProgramDef& first = find_program(o, "first");
    const ProgramDef& second = find_program(o, "second");
    const auto calls = pcs_of(second, Op::CALL_LOCAL);
    ASSERT_EQ(calls.size(), 1u);
    const int64_t clamp_in_second = isa::branch_target(second.prog.insns[calls[0]], calls[0]);
    EXPECT_EQ(line_at(second, clamp_in_second), marker_line("calls.c", "int clamp("));
    const std::vector<isa::Insn> copy_a(first.prog.insns.begin() + 16, first.prog.insns.end());
    const std::vector<isa::Insn> copy_b(second.prog.insns.begin() + clamp_in_second, second.prog.insns.end());
    EXPECT_EQ(copy_a, copy_b);
    EXPECT_EQ(copy_a.size(), 7u);
}

TEST(Calls, CallbackPointerBecomesPseudoFuncLoad) {
    TCBPF_REQUIRE_OBJECTS();
    const Object o = load_object(object_path("calls"));
    const ProgramDef& second = find_program(o, "second");
    const auto loads = lddws(second);
    ASSERT_EQ(loads.size(), 1u);
    const auto& [pc, insn] = loads[0];
    EXPECT_EQ(insn.src, static_cast<uint8_t>(isa::Pseudo::Func));
    EXPECT_EQ(second.prog.insns[pc + 1].imm, 0);
    const int64_t callback = isa::branch_target(insn, pc);
    EXPECT_GT(callback, static_cast<int64_t>(pcs_of(second, Op::EXIT).front()));
    EXPECT_EQ(line_at(second, callback), marker_line("calls.c", "MARK:callback"));
    EXPECT_TRUE(second.maps_used.empty());
}

TEST(Calls, EachFunctionKeepsItsBtfFuncRecord) {
    TCBPF_REQUIRE_OBJECTS();
    const Object o = load_object(object_path("calls"));
    ASSERT_FALSE(o.btf.empty());
    const ProgramDef& first = find_program(o, "first");
    ASSERT_EQ(first.funcs.size(), 3u);  // first, weigh, clamp
    EXPECT_EQ(first.funcs[0].insn, 0u);
    EXPECT_EQ(first.funcs[1].insn, 9u);
    EXPECT_EQ(first.funcs[2].insn, 16u);
    const ProgramDef& second = find_program(o, "second");
    ASSERT_EQ(second.funcs.size(), 3u);  // second, add_one (callback), clamp
    EXPECT_EQ(second.funcs.back().type_id, first.funcs.back().type_id) << "both copies are clamp";
    EXPECT_NE(first.funcs[0].type_id, second.funcs[0].type_id);
}

TEST(Calls, LineInfoNamesFileLineColumnAndSourceText) {
    TCBPF_REQUIRE_OBJECTS();
    const Object o = load_object(object_path("calls"));
    const ProgramDef& first = find_program(o, "first");
    ASSERT_FALSE(first.lines.empty());
    const LineInfo& call = first.lines.front();
    EXPECT_EQ(call.insn, 0u);
    EXPECT_EQ(call.file, std::string(TCBPF_LOADER_SRC_DIR) + "/calls.c");
    const uint32_t line = marker_line("calls.c", "MARK:first_call");
    EXPECT_EQ(call.line, line);
    EXPECT_EQ(call.column, 14u);  // the call expression `weigh(skb)`
    EXPECT_EQ(call.source_line, source_line("calls.c", line));
    for (size_t i = 1; i < first.lines.size(); ++i) EXPECT_LT(first.lines[i - 1].insn, first.lines[i].insn);
    // Line lookup picks the closest entry at or before a pc, also inside appended subprograms.
    EXPECT_EQ(line_at(first, 21), marker_line("calls.c", "MARK:clamp"));
}

}  // namespace
}  // namespace tcbpf::loader::test
