// Unchecked loads are verified first: a program the verifier rejects cannot be selected to run
// unchecked, and its preparation error names the instruction and the reason; checked loads (the
// interpreter validates every access itself) and safe programs are unaffected.
#include <gtest/gtest.h>

#include "tcbpf/asm.h"
#include "tcbpf/error.h"
#include "tcbpf/runtime.h"

namespace tcbpf::runtime {
namespace {

loader::Object object_with(const char* text) {
    loader::Object object;
    object.path = "inline.o";
    object.license = "GPL";
    loader::ProgramDef& def = object.programs.emplace_back();
    def.name = "prog";
    def.section = "tc";
    def.prog = isa::assemble(text);
    return object;
}

constexpr const char* kUncheckedRead = "r2 = *(u32 *)(r1 + 76)\nr0 = *(u8 *)(r2 + 12)\nexit\n";

TEST(VerifyOnLoad, AnUnsafeProgramCannotRunUnchecked) {
    LoadOptions options;
    options.checked = false;
    auto object = LoadedObject::load(object_with(kUncheckedRead), options);
    try {
        object->select("prog");
        FAIL() << "an unverified program was prepared to run unchecked";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "inline.o: program prog (section tc): verifier rejects insn 1: invalid access to packet, "
                               "off=12 size=1, R2(id=0,off=12,r=0)\nR2 offset is outside of the packet");
    }
}

TEST(VerifyOnLoad, CheckedLoadsAndSafeProgramsAreUnaffected) {
    LoadOptions checked_mode;
    checked_mode.checked = true;
    auto checked = LoadedObject::load(object_with(kUncheckedRead), checked_mode);
    EXPECT_NO_THROW(checked->select("prog"));
    auto safe = LoadedObject::load(object_with("r0 = *(u32 *)(r1 + 0)\nexit\n"));
    EXPECT_NO_THROW(safe->select("prog"));
}

TEST(VerifyOnLoad, TheDefaultLoadVerifies) {
    auto object = LoadedObject::load(object_with(kUncheckedRead));
    EXPECT_THROW(object->select("prog"), Error);
}

// Both programs below load in Linux 6.18 as SCHED_CLS (checked by hand with BPF_PROG_LOAD): the kernel
// never explores what its verifier proved unreachable and sanitises it, and rewrites a context access
// by the pointer the verifier saw there.
TEST(VerifyOnLoad, DeadCodeIsSanitisedNotRefused) {
    const std::vector<uint8_t> frame(60, 0);
    for (Engine engine : {Engine::Interp, Engine::Jit}) {
        LoadOptions options;
        options.checked = false;
        options.engine = engine;
        options.jit_fallback = false;
        auto object = LoadedObject::load(object_with("r0 = 7\nif r0 == 7 goto +1\ncall 99999\nexit\n"), options);
        const PreparedProgram& program = object->select("prog");
        EXPECT_EQ(isa::disassemble(program.rewritten.insns[2], 2), "goto -1");
        const RunResult r = object->test_run(program, frame);
        EXPECT_EQ(r.refusal, "");
        EXPECT_EQ(r.ret, 7);
    }
}

TEST(VerifyOnLoad, ContextAccessesAreTheOnesTheVerifierSaw) {
    // Read as text, r2 at the load is the context on one path and the stack on another; the second
    // path is impossible (r3 is 1), so the load reads skb->len.
    constexpr const char* kText = "r3 = 1\nr2 = r1\nif r3 == 1 goto +2\nr2 = r10\nr2 += -8\n"
                                  "r0 = *(u32 *)(r2 + 0)\nexit\n";
    EXPECT_THROW(rewrite_ctx_accesses(isa::assemble(kText), skb::ProgType::Classifier), Error);
    LoadOptions options;
    options.checked = false;
    auto object = LoadedObject::load(object_with(kText), options);
    const std::vector<uint8_t> frame(60, 0);
    EXPECT_EQ(object->test_run(object->select("prog"), frame).ret, 60);
}

}  // namespace
}  // namespace tcbpf::runtime
