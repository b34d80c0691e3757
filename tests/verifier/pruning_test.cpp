// Pruning keeps exploration linear where values no continuation depends on differ between paths: each
// test is a chain of 40 two-way branches that rejoin (2^40 paths unpruned), differing only in something
// the rest of the program never relies on.
#include "tcbpf/verifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "tcbpf/asm.h"

namespace tcbpf::verifier {
namespace {

std::string diamonds(const std::string& one_side, const std::string& other_side) {
    auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
    std::string text = "r6 = r1\nr0 = 0\n";
    for (int i = 0; i < 40; ++i)
        text += "r2 = *(u32 *)(r6 + 8)\nif r2 > 5 goto +" + std::to_string(lines(one_side) + 1) + "\n" + one_side +
                "goto +" + std::to_string(lines(other_side)) + "\n" + other_side;
    return text;
}

void expect_linear(const std::string& text, const Options& options = {}) {
    Result r = verify(isa::assemble(text), options);
    ASSERT_TRUE(r.ok) << r.message << " at insn " << r.insn_idx;
    EXPECT_GT(r.stats.paths_pruned, 30u);
    EXPECT_LT(r.stats.insns_processed, 2000u);
}

TEST(Pruning, StackSlotsNoContinuationReadsDoNotSplitStates) {
    // fp-8 holds the context pointer on one side and a number on the other, and is never read again.
    std::string text = diamonds("*(u64 *)(r10 - 8) = r6\n", "*(u64 *)(r10 - 8) = r2\n") + "exit\n";
    expect_linear(text);
    Options strict;
    strict.strict = true;
    expect_linear(text, strict);
}

TEST(Pruning, KnownZerosReadOnlyAsNumbersDoNotSplitStates) {
    // fp-8 is zero on one side and an unknown number on the other; the sum of what is read back decides
    // nothing.
    std::string text = diamonds("r3 = 0\n*(u64 *)(r10 - 8) = r3\n", "*(u64 *)(r10 - 8) = r2\n") +
                       "r3 = *(u64 *)(r10 - 8)\nr0 = r3\nexit\n";
    expect_linear(text);
}

TEST(Pruning, PrivilegedUnknownStackBytesIncludeASpilledPointer) {
    // fp-8 is read back whole: some number on the side explored first, the context pointer on the other.
    std::string text = diamonds("*(u32 *)(r10 - 4) = r2\n", "*(u64 *)(r10 - 8) = r6\n") +
                       "r3 = *(u64 *)(r10 - 8)\nr0 = 0\nexit\n";
    expect_linear(text);
    // --strict refuses the read of fp-8..fp-5, never written on the first side.
    Options strict;
    strict.strict = true;
    EXPECT_FALSE(verify(isa::assemble(text), strict).ok);
}

TEST(Pruning, PrecisionWalksStayShortInALoopWhoseExitsLeaveCheckpoints) {
    // Every iteration's exit path decides its second compare (precision walks back) and leaves a
    // checkpoint, which resets the counters that space a loop's checkpoints; the loop path must still
    // leave some, or each walk goes back over the whole loop so far. The loop never ends for the verifier
    // (the bound is an unknown skb->mark): the program is too large, as the kernel says.
    Options options;
    options.insn_budget = 50'000;
    Result r = verify(isa::assemble("w2 = *(u32 *)(r1 + 8)\nr0 = 0\nr0 += 1\nif r0 < r2 goto -2\n"
                                    "if r0 < r2 goto -2\nexit\n"),
                      options);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.message, "BPF program is too large. Processed 50001 insn");
    EXPECT_LT(r.stats.precision_steps, 300 * r.stats.insns_processed);
}

}  // namespace
}  // namespace tcbpf::verifier
