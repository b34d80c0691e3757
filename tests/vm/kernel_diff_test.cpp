// Differential test against the Linux kernel: thousands of random, verifier-accepted programs
// (tests/support/random_program.h) run both in the kernel (BPF_PROG_LOAD + BPF_PROG_TEST_RUN as
// SCHED_CLS) and in tcbpf's interpreter, and every 64-bit register result and every stack byte they
// leave must be identical. The kernel is the reference: any difference is a tcbpf bug (or a generator
// bug, which the report makes easy to tell apart).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tcbpf/asm.h"
#include "tcbpf/isa.h"
#include "tcbpf/vm.h"
#include "tests/support/kernel_bpf.h"
#include "tests/support/random_program.h"

namespace tcbpf {
namespace {

using test::kOutputRegistersAt;
using test::kRandomProgramOutputSize;

constexpr uint64_t kBaseSeed = 0x7cb9f00d00000000ull;
constexpr size_t kPrograms = 5000;  // a second or two; loading (the kernel verifier) dominates
constexpr size_t kPacketSize = 512;  // ≥ the output; a whole frame, as test-run needs ≥ ETH_HLEN
constexpr uint8_t kPacketFill = 0xa5;
constexpr size_t kMaxReportedMismatches = 3;

uint64_t slot_value(const std::vector<uint8_t>& bytes, size_t at) {
    uint64_t v = 0;
    std::memcpy(&v, bytes.data() + at, sizeof v);
    return v;
}

std::string slot_name(size_t at) {
    if (at >= kOutputRegistersAt) return fmt::format("r{}", (at - kOutputRegistersAt) / 8);
    if (at >= test::kOutputTraceAt) return fmt::format("trace {}", (at - test::kOutputTraceAt) / 8);
    return fmt::format("stack r10{}", static_cast<int>(at) + test::kScratchOffset);
}

// Side-by-side dump of both outputs, 8 bytes per line, differing slots marked.
std::string compare_outputs(const std::vector<uint8_t>& kernel, const std::vector<uint8_t>& ours) {
    std::string out = fmt::format("  {:<16} {:>18} {:>18}\n", "slot", "kernel", "tcbpf");
    for (size_t at = 0; at < kRandomProgramOutputSize; at += 8) {
        const uint64_t k = slot_value(kernel, at), t = slot_value(ours, at);
        out += fmt::format("  {:<16} {:#018x} {:#018x}{}\n", slot_name(at), k, t, k == t ? "" : "   <-- differs");
    }
    return out;
}

struct OurRun {
    uint64_t r0 = 0;
    std::vector<uint8_t> output;
    std::string fault;
};

OurRun run_in_tcbpf(const isa::Program& program) {
    OurRun run;
    run.output.assign(kPacketSize, kPacketFill);
    const vm::HelperRegistry no_helpers;
    const auto prepared = vm::Program::prepare(program, no_helpers, {.checked = true});
    vm::Context cx;
    const uint64_t base = reinterpret_cast<uintptr_t>(run.output.data());
    cx.regions.push_back({.begin = base, .size = run.output.size(), .writable = true, .name = "output"});
    run.r0 = prepared->run(cx, base, run.output.size());
    if (cx.fault != vm::Fault::None)
        run.fault = cx.fault_detail.empty() ? vm::fault_name(cx.fault) : cx.fault_detail;
    return run;
}

TEST(KernelDiff, RandomProgramsGiveTheKernelsResults) {
    const kernel::Availability& availability = kernel::probe();
    if (!availability.available) GTEST_SKIP() << availability.reason;

    size_t ran = 0, rejected = 0, mismatches = 0;
    std::string first_rejection;
    for (size_t i = 0; i < kPrograms; ++i) {
        const uint64_t seed = kBaseSeed + i;
        const test::RandomProgram program = test::generate_random_program(seed);
        const std::vector<isa::RawInsn> raw = isa::encode(program.kernel);
        kernel::LoadOptions options;
        options.name = "tcbpf_diff";
        const kernel::LoadResult loaded = kernel::load_program(raw, options);
        if (!loaded.ok()) {
            if (rejected++ == 0) {
                const std::string& log = loaded.log;
                first_rejection = fmt::format("seed {:#x}: {}\n{}\nverifier log (tail):\n{}", seed,
                                              kernel::errno_text(loaded.error), isa::disassemble(program.kernel),
                                              log.size() > 4000 ? log.substr(log.size() - 4000) : log);
            }
            continue;
        }
        const std::vector<uint8_t> packet(kPacketSize, kPacketFill);
        kernel::TestRunInput input;
        input.data = packet;
        const kernel::TestRunResult theirs = kernel::test_run(loaded.fd, input);
        ASSERT_TRUE(theirs.ok()) << "seed " << seed << ": BPF_PROG_TEST_RUN: " << kernel::errno_text(theirs.error);
        ASSERT_GE(theirs.data_out.size(), kRandomProgramOutputSize) << "seed " << seed;

        const OurRun ours = run_in_tcbpf(program.memory);
        ++ran;
        const std::vector<uint8_t> kernel_output(theirs.data_out.begin(), theirs.data_out.begin() + kRandomProgramOutputSize);
        const std::vector<uint8_t> our_output(ours.output.begin(), ours.output.begin() + kRandomProgramOutputSize);
        const bool same = ours.fault.empty() && ours.r0 == theirs.retval && kernel_output == our_output;
        if (same) continue;
        if (++mismatches > kMaxReportedMismatches) continue;
        // The epilogue is boilerplate (spill r0..r9, copy the frame out); the prologue and body say it all.
        isa::Program shown;
        shown.insns.assign(program.memory.insns.begin(), program.memory.insns.begin() + program.body_end);
        ADD_FAILURE() << fmt::format(
            "seed {:#x}: tcbpf differs from the kernel{}\nreturn value: kernel {:#x}, tcbpf {:#x}\n"
            "prologue (pc 0..{}) and body (pc {}..{}):\n{}\noutputs:\n{}",
            seed, ours.fault.empty() ? "" : " (tcbpf faulted: " + ours.fault + ")", theirs.retval, ours.r0,
            program.body_begin - 1, program.body_begin, program.body_end - 1, isa::disassemble(shown),
            compare_outputs(kernel_output, our_output));
    }

    fmt::print("kernel diff: {} programs generated, {} run in both, {} rejected by the kernel, {} mismatches\n",
               kPrograms, ran, rejected, mismatches);
    if (rejected > 0) fmt::print("first kernel rejection: {}\n", first_rejection);
    EXPECT_EQ(mismatches, 0u);
    // The generator promises verifier-accepted programs; more than a few rejections means it is wrong.
    EXPECT_GE(ran * 100, kPrograms * 95) << "kernel rejected " << rejected << " of " << kPrograms
                                         << " programs; first rejection: " << first_rejection;
}

}  // namespace
}  // namespace tcbpf
