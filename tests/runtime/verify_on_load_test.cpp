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
    loader::ProgramDef def;
    def.name = "prog";
    def.section = "tc";
    def.prog = isa::assemble(text);
    object.programs.push_back(def);
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
    auto checked = LoadedObject::load(object_with(kUncheckedRead));
    EXPECT_NO_THROW(checked->select("prog"));
    LoadOptions unchecked;
    unchecked.checked = false;
    auto safe = LoadedObject::load(object_with("r0 = *(u32 *)(r1 + 0)\nexit\n"), unchecked);
    EXPECT_NO_THROW(safe->select("prog"));
}

}  // namespace
}  // namespace tcbpf::runtime
