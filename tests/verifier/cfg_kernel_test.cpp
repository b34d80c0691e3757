// The CFG pass against the running kernel: programs whose shape the kernel rejects are rejected here
// with the same message (the kernel's log contains ours), and programs the kernel accepts — including
// every random program of tests/support — pass.
#include <gtest/gtest.h>

#include "tcbpf/asm.h"
#include "tests/support/kernel_bpf.h"
#include "tests/support/random_program.h"
#include "verifier/cfg.h"

namespace tcbpf::verifier {
namespace {

struct ShapeCase {
    const char* name;
    const char* text;
    const char* message;  // empty: accepted
};

const ShapeCase kCases[] = {
    {"straight line", "r0 = 0\nexit\n", ""},
    {"bounded loop", "r0 = 0\nloop:\nr0 += 1\nif r0 < 10 goto loop\nexit\n", ""},
    {"subprogram", "call f\nexit\nf:\nr0 = 0\nexit\n", ""},
    {"dead code after exit", "r0 = 0\nexit\nr0 = 1\nexit\n", "unreachable insn 2"},
    {"jumped-over code", "r0 = 0\ngoto +1\nr0 = 1\nexit\n", "unreachable insn 2"},
    {"jump into a callee", "call f\nif r0 == 0 goto in\nexit\nf:\nr0 = 1\nin:\nexit\n",
     "jump out of range from insn 1 to 4"},
    {"callee falls off its end", "call f\nexit\nf:\nr0 = 1\n", "last insn is not an exit or jmp"},
    {"main falls into callee", "r0 = 0\ncall f\nr0 = 0\nf:\nr0 = 1\nexit\n", "last insn is not an exit or jmp"},
};

TEST(CfgKernel, ShapeVerdictsAndMessagesMatchTheKernel) {
    const kernel::Availability& availability = kernel::probe();
    if (!availability.available) GTEST_SKIP() << availability.reason;
    for (const ShapeCase& c : kCases) {
        SCOPED_TRACE(c.name);
        isa::Program prog = isa::assemble(c.text);
        kernel::LoadResult theirs = kernel::load_program(isa::encode(prog));
        CfgResult ours = build_cfg(prog);
        if (c.message[0] == '\0') {
            EXPECT_TRUE(theirs.ok()) << theirs.log;
            EXPECT_TRUE(ours.ok()) << ours.error->message;
            continue;
        }
        EXPECT_FALSE(theirs.ok());
        EXPECT_NE(theirs.log.find(c.message), std::string::npos) << theirs.log;
        ASSERT_FALSE(ours.ok());
        EXPECT_EQ(ours.error->message, c.message);
    }
}

TEST(CfgKernel, EveryRandomKernelProgramPasses) {
    const kernel::Availability& availability = kernel::probe();
    if (!availability.available) GTEST_SKIP() << availability.reason;
    for (uint64_t seed = 1; seed <= 50; ++seed) {
        test::RandomProgram program = test::generate_random_program(seed);
        kernel::LoadResult theirs = kernel::load_program(isa::encode(program.kernel));
        ASSERT_TRUE(theirs.ok()) << "seed " << seed << ": " << theirs.log;
        CfgResult ours = build_cfg(program.kernel);
        ASSERT_TRUE(ours.ok()) << "seed " << seed << ": " << ours.error->message;
    }
}

}  // namespace
}  // namespace tcbpf::verifier
