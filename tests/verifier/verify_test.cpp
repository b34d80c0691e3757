// The verifier end to end on small programs: each case states the program, the verdict and the exact
// message (tests/verifier/verify_cases.h, also checked against the kernel by verify_kernel_test.cpp).
#include "tcbpf/verifier.h"

#include <gtest/gtest.h>

#include <random>

#include "tcbpf/asm.h"
#include "tests/support/random_program.h"
#include "tests/verifier/expect_verdict.h"
#include "tests/verifier/verify_cases.h"

namespace tcbpf::verifier {
namespace {

TEST(Verify, CasesGiveTheStatedVerdictAndMessage) {
    for (const test::VerifyCase& c : test::kVerifyCases) {
        SCOPED_TRACE(c.name);
        test::expect_verdict(verify(isa::assemble(c.text)), c.message, c.insn_idx);
    }
}

TEST(Verify, ShapeErrorsComeFromTheCfgPass) {
    Result r = verify(isa::assemble("r0 = 0\nexit\nr0 = 1\nexit\n"));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.message, "unreachable insn 2");
}

TEST(Verify, BudgetStopsNonConvergingExploration) {
    // A loop whose counter the verifier cannot bound by state equality: each iteration differs.
    Options options;
    options.insn_budget = 1000;
    Result r = verify(isa::assemble("r0 = 0\nloop:\nr0 += 1\nif r0 != 0 goto loop\nexit\n"), options);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.message, "BPF program is too large. Processed 1001 insn");
}

TEST(Verify, PruningKeepsBranchyProgramsCheap) {
    // 40 independent two-way branches that rejoin in equal states: 2^40 paths without pruning.
    std::string text = "r0 = 0\n";
    for (int i = 0; i < 40; ++i) text += "r6 = *(u32 *)(r1 + 8)\nif r6 > 5 goto +1\nr7 = 1\nr7 = 2\n";
    text += "exit\n";
    Result r = verify(isa::assemble(text));
    EXPECT_TRUE(r.ok) << r.message;
    EXPECT_GT(r.stats.paths_pruned, 0u);
    EXPECT_LT(r.stats.insns_processed, 10000u);
}

TEST(Verify, InstructionsOnImpossiblePathsAreNotSeen) {
    Result r = verify(isa::assemble("r0 = 0\nr2 = 5\nif r2 > 10 goto +1\nexit\nr0 = 1\nexit\n"));
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.insn_seen, (std::vector<bool>{true, true, true, true, false, false}));
}

TEST(Verify, StatsReportStackDepth) {
    Result r = verify(isa::assemble("r0 = 0\n*(u64 *)(r10 - 24) = r0\nexit\n"));
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.stats.stack_depth, 24);
    EXPECT_EQ(r.stats.insns_processed, 3u);
}

}  // namespace
}  // namespace tcbpf::verifier

namespace tcbpf::verifier {
namespace {

TEST(Verify, RandomKernelAcceptedProgramsAreAccepted) {
    // tests/support's generator emits only programs the Linux verifier accepts (scalar ALU, stack,
    // stack atomics, forward branches, a data_end-checked packet copy); we must accept them all.
    for (uint64_t seed = 1; seed <= 300; ++seed) {
        ::tcbpf::test::RandomProgram program = ::tcbpf::test::generate_random_program(seed);
        Result r = verify(program.kernel);
        ASSERT_TRUE(r.ok) << "seed " << seed << ": " << r.message << " at insn " << r.insn_idx << "\n"
                          << isa::disassemble(program.kernel);
    }
}

}  // namespace
}  // namespace tcbpf::verifier

namespace tcbpf::verifier {
namespace {

TEST(Verify, ArbitraryProgramsGetAVerdictNeverACrash) {
    // Random programs with several random fields rewritten: whatever decode() accepts, verify() must
    // answer with a verdict and, for rejections, a message naming an instruction of the program.
    std::mt19937_64 rng(77);
    int verdicts = 0;
    for (uint64_t seed = 1; seed <= 200; ++seed) {
        ::tcbpf::test::RandomProgram base = ::tcbpf::test::generate_random_program(seed, {4, 24});
        for (int round = 0; round < 30; ++round) {
            std::vector<isa::RawInsn> raw = isa::encode(base.kernel);
            for (int m = 0, n = 1 + static_cast<int>(rng() % 4); m < n; ++m) {
                isa::RawInsn& slot = raw[rng() % raw.size()];
                switch (rng() % 4) {
                    case 0: slot.regs = static_cast<uint8_t>(rng()); break;
                    case 1: slot.off = static_cast<int16_t>(rng() % 2 ? rng() % 64 - 32 : rng()); break;
                    case 2: slot.imm = static_cast<int32_t>(rng() % 2 ? rng() % 128 - 64 : rng()); break;
                    default: slot.opcode = static_cast<uint8_t>(rng()); break;
                }
            }
            isa::Program prog;
            try {
                prog = isa::decode(raw);
            } catch (const Error&) {
                continue;
            }
            Options options;
            options.insn_budget = 20000;
            Result r = verify(prog, options);
            ++verdicts;
            if (!r.ok) {
                ASSERT_FALSE(r.message.empty());
                ASSERT_LT(r.insn_idx, prog.size());
            }
        }
    }
    EXPECT_GT(verdicts, 500);
}

}  // namespace
}  // namespace tcbpf::verifier
