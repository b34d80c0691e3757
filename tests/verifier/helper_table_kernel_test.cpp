// The helper prototype table against the running kernel: for every helper whose arguments are only the
// context and plain values, a program reads a checked packet byte after the call through a pointer
// loaded before it. The kernel accepts exactly when the helper leaves packet data where it was, so its
// verdict must equal ours; it also shows that the argument kinds we check are ones the kernel accepts.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tcbpf/asm.h"
#include "tcbpf/verifier.h"
#include "tests/support/kernel_bpf.h"
#include "verifier/helper_table.h"

namespace tcbpf::verifier {
namespace {

TEST(HelperTableKernel, PacketInvalidationMatchesTheKernel) {
    const kernel::Availability& availability = kernel::probe();
    if (!availability.available) GTEST_SKIP() << availability.reason;
    int compared = 0;
    std::string unavailable;
    for (const detail::HelperProto& proto : detail::all_helpers()) {
        if (proto.id < 0 || proto.id >= 212 || proto.id == 12) continue;  // internal ids; tail_call may not return
        std::string args;
        bool plain = true;
        for (int i = 0; i < 5; ++i) {
            detail::ArgKind kind = proto.args[static_cast<size_t>(i)];
            if (kind == detail::ArgKind::Ctx) args += fmt::format("r{} = r6\n", i + 1);
            else if (kind == detail::ArgKind::Any) args += fmt::format("r{} = 0\n", i + 1);
            else if (kind != detail::ArgKind::None) plain = false;
        }
        if (!plain) continue;
        std::string text = fmt::format(
            "r6 = r1\nr7 = *(u32 *)(r6 + 76)\nr8 = *(u32 *)(r6 + 80)\nr9 = r7\nr9 += 1\nif r9 > r8 goto done\n"
            "{}call {}\nr0 = *(u8 *)(r7 + 0)\nexit\ndone:\nr0 = 0\nexit\n",
            args, proto.id);
        SCOPED_TRACE(fmt::format("helper {} ({})", proto.id, helper_name(proto.id)));
        isa::Program prog = isa::assemble(text);
        kernel::LoadResult theirs = kernel::load_program(isa::encode(prog));
        if (!theirs.ok() && theirs.log.find("cannot use helper") != std::string::npos) {
            unavailable += fmt::format(" {}", helper_name(proto.id));
            continue;
        }
        Result ours = verify(prog);
        EXPECT_EQ(ours.ok, theirs.ok()) << ours.message << "\n--- kernel:\n" << theirs.log;
        ++compared;
    }
    if (!unavailable.empty()) std::printf("helpers this kernel does not offer tc:%s\n", unavailable.c_str());
    EXPECT_GT(compared, 30);
}

TEST(HelperTableKernel, MemoryArgumentsMatchTheKernel) {
    // Every helper taking memory (and no map): buffers on the stack, 8-byte sizes. Both verifiers must
    // accept; with the buffer moved to r10 - 4 (too short for 8 bytes) both must refuse.
    const kernel::Availability& availability = kernel::probe();
    if (!availability.available) GTEST_SKIP() << availability.reason;
    int compared = 0;
    for (const detail::HelperProto& proto : detail::all_helpers()) {
        if (proto.id < 0 || proto.id >= 212) continue;
        using detail::ArgKind;
        for (int buffer : {-64, -4}) {
            std::string args;
            bool usable = true, has_memory = false;
            for (int i = 0; i < 5; ++i) {
                int reg = i + 1;
                switch (proto.args[static_cast<size_t>(i)]) {
                    case ArgKind::None: break;
                    case ArgKind::Ctx: args += fmt::format("r{} = r6\n", reg); break;
                    case ArgKind::Any: args += fmt::format("r{} = 0\n", reg); break;
                    case ArgKind::Size:
                    case ArgKind::SizeOrZero: args += fmt::format("r{} = 8\n", reg); break;
                    case ArgKind::Mem:
                    case ArgKind::MemOrNull:
                    case ArgKind::MemInOut:
                    case ArgKind::UninitMem:
                    case ArgKind::FixedMem:
                    case ArgKind::FixedOut:
                        args += fmt::format("r{} = r10\nr{} += {}\n", reg, reg, buffer);
                        has_memory = true;
                        break;
                    default: usable = false; break;
                }
            }
            if (!usable || !has_memory) continue;
            std::string text = "r6 = r1\nr0 = 0\n";
            for (int off = -64; off < 0; off += 8) text += fmt::format("*(u64 *)(r10 {}) = r0\n", off);
            text += fmt::format("{}call {}\nr0 = 0\nexit\n", args, proto.id);
            SCOPED_TRACE(fmt::format("helper {} ({}), buffer at r10{}", proto.id, helper_name(proto.id), buffer));
            isa::Program prog = isa::assemble(text);
            kernel::LoadResult theirs = kernel::load_program(isa::encode(prog));
            if (!theirs.ok() && theirs.log.find("cannot use helper") != std::string::npos) continue;
            Result ours = verify(prog);
            EXPECT_EQ(ours.ok, theirs.ok()) << ours.message << "\n--- kernel:\n" << theirs.log;
            ++compared;
        }
    }
    EXPECT_GT(compared, 20);
}

}  // namespace
}  // namespace tcbpf::verifier
