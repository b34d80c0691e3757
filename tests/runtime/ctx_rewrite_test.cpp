// The context rewrite: which accesses go through the context pointer, what each becomes in
// skb::SkbContext, what the kernel rejects, and that jumps still land where they did.
#include <cstddef>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tcbpf/asm.h"
#include "tcbpf/runtime.h"

namespace tcbpf::runtime {
namespace {

// The internal offsets the expected sequences below spell out.
static_assert(offsetof(skb::SkbContext, data) == 0);
static_assert(offsetof(skb::SkbContext, data_end) == 8);
static_assert(offsetof(skb::SkbContext, cb) == 48);
static_assert(offsetof(skb::SkbContext, len) == 68);
static_assert(offsetof(skb::SkbContext, mark) == 72);
static_assert(offsetof(skb::SkbContext, protocol) == 100);
static_assert(offsetof(skb::SkbContext, queue_mapping) == 106);
static_assert(offsetof(skb::SkbContext, tc_classid) == 110);

std::vector<std::string> rewrite(const std::string& source, skb::ProgType type = skb::ProgType::Classifier) {
    const isa::Program out = rewrite_ctx_accesses(isa::assemble(source), type);
    std::vector<std::string> lines;
    for (size_t pc = 0; pc < out.size(); ++pc)
        if (out.insns[pc].op != isa::Op::LDDW_TAIL) lines.push_back(isa::disassemble(out.insns[pc], pc));
    return lines;
}

std::string rejection(const std::string& source, skb::ProgType type = skb::ProgType::Classifier) {
    try {
        rewrite_ctx_accesses(isa::assemble(source), type);
    } catch (const Error& e) {
        return e.what();
    }
    return "accepted";
}

using Lines = std::vector<std::string>;

TEST(CtxRewrite, PacketPointersBecome64BitLoads) {
    EXPECT_EQ(rewrite("r2 = *(u32 *)(r1 + 76)\n r3 = *(u32 *)(r1 + 80)\n r4 = *(u32 *)(r1 + 140)\n r0 = 0\n exit"),
              (Lines{"r2 = *(u64 *)(r1 + 0)", "r3 = *(u64 *)(r1 + 8)", "r4 = *(u64 *)(r1 + 16)", "r0 = 0", "exit"}));
}

TEST(CtxRewrite, FullWidthFieldLoadKeepsOneInstruction) {
    EXPECT_EQ(rewrite("r0 = *(u32 *)(r1 + 8)\n exit"), (Lines{"w0 = *(u32 *)(r1 + 72)", "exit"}));
    EXPECT_EQ(rewrite("r0 = *(u32 *)(r1 + 0)\n exit"), (Lines{"w0 = *(u32 *)(r1 + 68)", "exit"}));
}

TEST(CtxRewrite, NarrowLoadsShiftAndMask) {
    EXPECT_EQ(rewrite("r0 = *(u8 *)(r1 + 9)\n exit"),
              (Lines{"w0 = *(u32 *)(r1 + 72)", "r0 >>= 8", "r0 &= 255", "exit"}));
    EXPECT_EQ(rewrite("r0 = *(u8 *)(r1 + 8)\n exit"), (Lines{"w0 = *(u32 *)(r1 + 72)", "r0 &= 255", "exit"}));
    EXPECT_EQ(rewrite("r0 = *(u16 *)(r1 + 10)\n exit"),
              (Lines{"w0 = *(u32 *)(r1 + 72)", "r0 >>= 16", "r0 &= 65535", "exit"}));
}

TEST(CtxRewrite, SignExtendingLoadsEndWithASignExtendingMove) {
    EXPECT_EQ(rewrite("r0 = *(s8 *)(r1 + 9)\n exit"),
              (Lines{"w0 = *(u32 *)(r1 + 72)", "r0 >>= 8", "r0 &= 255", "r0 = (s8)r0", "exit"}));
    EXPECT_EQ(rewrite("r0 = *(s32 *)(r1 + 8)\n exit"), (Lines{"w0 = *(u32 *)(r1 + 72)", "r0 = (s32)r0", "exit"}));
    EXPECT_EQ(rejection("r0 = *(s32 *)(r1 + 76)\n exit"), "pc 0: invalid bpf_context access off=76 size=4");
}

TEST(CtxRewrite, SixteenBitFieldsLoadAtTheirKernelWidth) {
    // protocol is a 16-bit skb field: a 2-byte read needs no mask, a 1-byte read of its high byte does.
    EXPECT_EQ(rewrite("r0 = *(u16 *)(r1 + 16)\n exit"), (Lines{"w0 = *(u16 *)(r1 + 100)", "exit"}));
    EXPECT_EQ(rewrite("r0 = *(u8 *)(r1 + 17)\n exit"),
              (Lines{"w0 = *(u16 *)(r1 + 100)", "r0 >>= 8", "r0 &= 255", "exit"}));
    EXPECT_EQ(rewrite("r0 = *(u32 *)(r1 + 16)\n exit"), (Lines{"w0 = *(u16 *)(r1 + 100)", "exit"}));
}

TEST(CtxRewrite, StoresToSixteenBitFieldsTruncate) {
    EXPECT_EQ(rewrite("*(u32 *)(r1 + 72) = r2\n r0 = 0\n exit"),
              (Lines{"*(u16 *)(r1 + 110) = w2", "r0 = 0", "exit"}));
    EXPECT_EQ(rewrite("*(u32 *)(r1 + 8) = r2\n r0 = 0\n exit"), (Lines{"*(u32 *)(r1 + 72) = w2", "r0 = 0", "exit"}));
}

TEST(CtxRewrite, CbKeepsTheAccessSize) {
    EXPECT_EQ(rewrite("*(u64 *)(r1 + 56) = r2\n r0 = *(u8 *)(r1 + 49)\n exit"),
              (Lines{"*(u64 *)(r1 + 56) = r2", "w0 = *(u8 *)(r1 + 49)", "exit"}));
}

TEST(CtxRewrite, QueueMappingStoreIsSkippedFromNoQueueMappingUp) {
    EXPECT_EQ(rewrite("*(u32 *)(r1 + 12) = r2\n r0 = 0\n exit"),
              (Lines{"if r2 >= 65535 goto +1", "*(u16 *)(r1 + 106) = w2", "r0 = 0", "exit"}));
    EXPECT_EQ(rewrite("*(u32 *)(r1 + 12) = 7\n r0 = 0\n exit"), (Lines{"*(u16 *)(r1 + 106) = 7", "r0 = 0", "exit"}));
    // An immediate at or above 0xffff drops the store: a no-op keeps one slot.
    EXPECT_EQ(rewrite("*(u32 *)(r1 + 12) = 65535\n r0 = 0\n exit"), (Lines{"goto +0", "r0 = 0", "exit"}));
}

TEST(CtxRewrite, RejectsWhatTheVerifierRejects) {
    EXPECT_EQ(rejection("r0 = *(u32 *)(r1 + 88)\n exit"), "pc 0: invalid bpf_context access off=88 size=4");
    EXPECT_EQ(rejection("r0 = 0\n *(u32 *)(r1 + 0) = r0\n exit"), "pc 1: invalid bpf_context access off=0 size=4");
    EXPECT_EQ(rejection("r0 = *(u16 *)(r1 + 76)\n exit"), "pc 0: invalid bpf_context access off=76 size=2");
    EXPECT_EQ(rejection("r0 = *(u32 *)(r1 + 10)\n exit"), "pc 0: invalid bpf_context access off=10 size=4");
    EXPECT_EQ(rejection("*(u16 *)(r1 + 8) = r2\n r0 = 0\n exit"), "pc 0: invalid bpf_context access off=8 size=2");
}

TEST(CtxRewrite, ModifiedContextPointerCannotBeDereferenced) {
    EXPECT_EQ(rejection("r1 += 8\n r0 = *(u32 *)(r1 + 0)\n exit"),
              "pc 1: dereference of modified ctx ptr R1 off=8 disallowed");
    // Moving back to offset 0 restores the plain context pointer.
    EXPECT_EQ(rewrite("r1 += 8\n r1 += -8\n r0 = *(u32 *)(r1 + 8)\n exit"),
              (Lines{"r1 += 8", "r1 += -8", "w0 = *(u32 *)(r1 + 72)", "exit"}));
}

TEST(CtxRewrite, AtomicsOnTheContextAreRejected) {
    EXPECT_EQ(rejection("r2 = 1\n lock *(u32 *)(r1 + 8) += w2\n r0 = 0\n exit"),
              "pc 1: BPF_ATOMIC stores into R1 ctx is not allowed");
}

TEST(CtxRewrite, FollowsMovesAndForgetsOverwrittenRegisters) {
    EXPECT_EQ(rewrite("r6 = r1\n r1 = 0\n r0 = *(u32 *)(r6 + 0)\n r0 = *(u32 *)(r1 + 0)\n exit"),
              (Lines{"r6 = r1", "r1 = 0", "w0 = *(u32 *)(r6 + 68)", "w0 = *(u32 *)(r1 + 0)", "exit"}));
    // A helper call clobbers r1-r5; r6-r9 survive.
    EXPECT_EQ(rewrite("r6 = r1\n call 7\n r0 = *(u32 *)(r6 + 8)\n r0 = *(u32 *)(r1 + 8)\n exit"),
              (Lines{"r6 = r1", "call 7", "w0 = *(u32 *)(r6 + 72)", "w0 = *(u32 *)(r1 + 8)", "exit"}));
}

TEST(CtxRewrite, SpillsAndFillsKeepTheContext) {
    EXPECT_EQ(rewrite("*(u64 *)(r10 - 8) = r1\n r1 = 0\n r6 = *(u64 *)(r10 - 8)\n r0 = *(u32 *)(r6 + 8)\n exit"),
              (Lines{"*(u64 *)(r10 - 8) = r1", "r1 = 0", "r6 = *(u64 *)(r10 - 8)", "w0 = *(u32 *)(r6 + 72)", "exit"}));
    // A narrower store into the slot overwrites part of the pointer: the fill is no longer the context.
    EXPECT_EQ(rewrite("*(u64 *)(r10 - 8) = r1\n *(u32 *)(r10 - 4) = 0\n r6 = *(u64 *)(r10 - 8)\n"
                      " r0 = *(u32 *)(r6 + 8)\n exit"),
              (Lines{"*(u64 *)(r10 - 8) = r1", "*(u32 *)(r10 - 4) = 0", "r6 = *(u64 *)(r10 - 8)",
                     "w0 = *(u32 *)(r6 + 8)", "exit"}));
}

TEST(CtxRewrite, BranchesMeetAndDisagreementIsRejected) {
    // Both paths bring the context in r3.
    EXPECT_EQ(rewrite("r3 = r1\n if r2 == 0 goto +1\n r3 = r1\n r0 = *(u32 *)(r3 + 8)\n exit"),
              (Lines{"r3 = r1", "if r2 == 0 goto +1", "r3 = r1", "w0 = *(u32 *)(r3 + 72)", "exit"}));
    EXPECT_EQ(rejection("r3 = r1\n if r2 == 0 goto +2\n r3 = r10\n r3 += -16\n r0 = *(u32 *)(r3 + 8)\n exit"),
              "pc 4: same insn cannot be used with different pointers");
}

TEST(CtxRewrite, JumpsOverAndBackAcrossGrownAccessesAreFixed) {
    EXPECT_EQ(rewrite("if r2 == 0 goto +2\n"
                      "r0 = *(u8 *)(r1 + 9)\n"
                      "goto +1\n"
                      "r0 = 1\n"
                      "r2 += -1\n"
                      "if r2 != 0 goto -6\n"
                      "exit"),
              (Lines{"if r2 == 0 goto +4", "w0 = *(u32 *)(r1 + 72)", "r0 >>= 8", "r0 &= 255", "goto +1", "r0 = 1",
                     "r2 += -1", "if r2 != 0 goto -8", "exit"}));
}

TEST(CtxRewrite, SubprogramsReceiveTheContextFromTheirCallers) {
    // main: narrow load, call, exit; callee at pc 3 reads len through its r1.
    EXPECT_EQ(rewrite("r0 = *(u8 *)(r1 + 9)\n call pc+1\n exit\n r0 = *(u32 *)(r1 + 0)\n exit"),
              (Lines{"w0 = *(u32 *)(r1 + 72)", "r0 >>= 8", "r0 &= 255", "call pc+1", "exit", "w0 = *(u32 *)(r1 + 68)",
                     "exit"}));
    // A callee given the context by one caller and a stack pointer by another cannot use it for both.
    EXPECT_EQ(rejection("call pc+4\n r1 = r10\n r1 += -8\n call pc+1\n exit\n r0 = *(u32 *)(r1 + 0)\n exit"),
              "pc 5: same insn cannot be used with different pointers");
}

TEST(CtxRewrite, FunctionReferencesMoveWithTheirTargets) {
    EXPECT_EQ(rewrite("r0 = *(u8 *)(r1 + 9)\n r2 = func[pc+2] ll\n exit\n r0 = 0\n exit"),
              (Lines{"w0 = *(u32 *)(r1 + 72)", "r0 >>= 8", "r0 &= 255", "r2 = func[pc+2] ll", "exit", "r0 = 0", "exit"}));
}

TEST(CtxRewrite, StackAndUnreachableCodeAreLeftAlone) {
    EXPECT_EQ(rewrite("*(u32 *)(r10 - 4) = 1\n r0 = *(u32 *)(r10 - 4)\n exit\n r0 = *(u32 *)(r1 + 88)\n exit"),
              (Lines{"*(u32 *)(r10 - 4) = 1", "w0 = *(u32 *)(r10 - 4)", "exit", "w0 = *(u32 *)(r1 + 88)", "exit"}));
}

TEST(CtxRewrite, ActionsFollowTheSameRules) {
    EXPECT_EQ(rewrite("*(u32 *)(r1 + 32) = r2\n r0 = *(u32 *)(r1 + 76)\n exit", skb::ProgType::Action),
              (Lines{"*(u32 *)(r1 + 76) = w2", "r0 = *(u64 *)(r1 + 0)", "exit"}));
}

}  // namespace
}  // namespace tcbpf::runtime
