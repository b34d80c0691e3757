// The program-shape pass: subprogram boundaries, jumps that leave a function, functions that fall off
// their end, unreachable code, loops, prune points, and the call-chain stack limits.
#include "verifier/cfg.h"

#include <gtest/gtest.h>

#include "tcbpf/asm.h"
#include "tests/support/random_program.h"

namespace tcbpf::verifier {
namespace {

CfgResult cfg_of(std::string_view text) { return build_cfg(isa::assemble(text)); }

void expect_rejected(std::string_view text, std::string_view message, size_t insn_idx) {
    CfgResult r = cfg_of(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error->message, message);
    EXPECT_EQ(r.error->insn_idx, insn_idx);
}

TEST(Cfg, StraightLineProgramIsOneSubprogram) {
    CfgResult r = cfg_of("r0 = 0\nexit\n");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.cfg.subprogs.size(), 1u);
    EXPECT_EQ(r.cfg.subprogs[0].start, 0u);
    EXPECT_EQ(r.cfg.subprogs[0].end, 2u);
    EXPECT_TRUE(r.cfg.back_edges.empty());
}

TEST(Cfg, LocalCallsAndFunctionLoadsStartSubprograms) {
    CfgResult r = cfg_of(R"(
        call sub
        r1 = func[cb] ll
        r0 = 0
        exit
    sub:
        r0 = 1
        exit
    cb:
        r0 = 0
        exit
    )");
    ASSERT_TRUE(r.ok()) << r.error->message;
    ASSERT_EQ(r.cfg.subprogs.size(), 3u);
    EXPECT_EQ(r.cfg.subprogs[1].start, 5u);
    EXPECT_EQ(r.cfg.subprogs[2].start, 7u);
    EXPECT_EQ(r.cfg.subprogs[0].calls, (std::vector<std::pair<size_t, size_t>>{{0, 1}}));
    EXPECT_EQ(r.cfg.subprogs[0].function_refs, (std::vector<std::pair<size_t, size_t>>{{1, 2}}));
    EXPECT_EQ(r.cfg.subprog_of[6], 1u);
    EXPECT_EQ(r.cfg.subprog_starting_at(7), std::optional<size_t>{2});
    EXPECT_EQ(r.cfg.subprog_starting_at(6), std::nullopt);
}

TEST(Cfg, JumpIntoAnotherSubprogramIsOutOfRange) {
    expect_rejected(R"(
        call sub
        if r0 == 0 goto inside
        exit
    sub:
        r0 = 1
    inside:
        exit
    )", "jump out of range from insn 1 to 4", 1);
}

TEST(Cfg, SubprogramMustEndWithExitOrJump) {
    expect_rejected(R"(
        call sub
        exit
    sub:
        r0 = 1
    )", "last insn is not an exit or jmp", 2);
    expect_rejected("r0 = 0\n", "last insn is not an exit or jmp", 0);
    // The main program may end in a backward goto (a loop whose exit is inside).
    EXPECT_TRUE(cfg_of("r0 = 0\nloop:\nr0 += 1\nif r0 > 9 goto out\ngoto loop\nout:\nexit\n").ok());
}

TEST(Cfg, UnreachableCodeIsRejected) {
    expect_rejected("r0 = 0\nexit\nr0 = 1\nexit\n", "unreachable insn 2", 2);
    expect_rejected("r0 = 0\ngoto +1\nr0 = 1\nexit\n", "unreachable insn 2", 2);
    // A subprogram nothing calls is unreachable too.
    expect_rejected(R"(
        r1 = func[cb] ll
        r0 = 0
        exit
        r0 = 2
        exit
    cb:
        r0 = 0
        exit
    )", "unreachable insn 4", 4);
}

TEST(Cfg, LoopsAreRecordedAsBackEdges) {
    CfgResult r = cfg_of(R"(
        r0 = 0
    loop:
        r0 += 1
        if r0 < 10 goto loop
        exit
    )");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.cfg.back_edges, (std::vector<std::pair<size_t, size_t>>{{2, 1}}));
    // Prune points: the jump and its target.
    EXPECT_TRUE(r.cfg.prune_point[1]);
    EXPECT_TRUE(r.cfg.prune_point[2]);
    EXPECT_FALSE(r.cfg.prune_point[0]);
    EXPECT_FALSE(r.cfg.prune_point[3]);
}

TEST(Cfg, RecursionIsABackEdgeThroughTheCall) {
    CfgResult r = cfg_of(R"(
        call f
        exit
    f:
        call f
        exit
    )");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.cfg.back_edges, (std::vector<std::pair<size_t, size_t>>{{2, 2}}));
}

TEST(Cfg, CallChainsFitTheStack) {
    CfgResult r = cfg_of(R"(
        call a
        exit
    a:
        call b
        exit
    b:
        r0 = 0
        exit
    )");
    ASSERT_TRUE(r.ok());
    // Frames round up to 16 bytes (the kernel's rounding for JIT-compiled programs): 200 → 208,
    // 100 → 112, 192 → 192: 512 fits, one byte more does not.
    std::vector<int> fits{200, 100, 192};
    EXPECT_EQ(check_call_chains(r.cfg, fits), std::nullopt);
    std::vector<int> too_big{200, 100, 193};
    auto e = check_call_chains(r.cfg, too_big);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->message, "combined stack size of 3 calls is 528. Too large");
    EXPECT_EQ(e->insn_idx, 2u);
}

TEST(Cfg, RecursionRunsOutOfFrames) {
    CfgResult r = cfg_of("call f\nexit\nf:\ncall f\nexit\n");
    ASSERT_TRUE(r.ok());
    std::vector<int> depths{8, 8};
    auto e = check_call_chains(r.cfg, depths);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->message, "the call stack of 8 frames is too deep !");
}

TEST(Cfg, TailCallsNeedRoomLeftOnTheStack) {
    CfgResult r = cfg_of(R"(
        call f
        exit
    f:
        call 12
        r0 = 0
        exit
    )");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.cfg.subprogs[1].has_tail_call);
    std::vector<int> small{64, 8};
    EXPECT_EQ(check_call_chains(r.cfg, small), std::nullopt);
    std::vector<int> deep{256, 8};
    auto e = check_call_chains(r.cfg, deep);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->message, "tail_calls are not allowed when call stack of previous frames is 256 bytes. Too large");
}

}  // namespace
}  // namespace tcbpf::verifier

namespace tcbpf::verifier {
namespace {

TEST(Cfg, RandomKernelAcceptedProgramsPass) {
    // tests/support's generator only emits programs the kernel verifier accepts.
    for (uint64_t seed = 1; seed <= 300; ++seed) {
        test::RandomProgram program = test::generate_random_program(seed);
        CfgResult kernel_variant = build_cfg(program.kernel);
        ASSERT_TRUE(kernel_variant.ok()) << "seed " << seed << ": " << kernel_variant.error->message;
        EXPECT_TRUE(build_cfg(program.memory).ok()) << "seed " << seed;
    }
}

}  // namespace
}  // namespace tcbpf::verifier
