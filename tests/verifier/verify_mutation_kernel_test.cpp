// Random single-field mutations of kernel-accepted programs, verified by us and by the kernel. Mutations
// break programs in the ways real bugs do (wrong register, offset off by a few bytes, missing bounds
// check), so they reach the rejection paths. Required: whenever we accept, the kernel accepts too, or
// the instruction the kernel rejects is one we proved unreachable (we track some values more precisely,
// e.g. division by a constant, and may decide a branch the kernel explores both ways); and whenever the
// kernel accepts, we accept too or say which feature is "not supported yet".
#include <gtest/gtest.h>

#include <random>

#include "tcbpf/asm.h"
#include "tcbpf/verifier.h"
#include "tests/support/kernel_bpf.h"
#include "tests/support/random_program.h"

namespace tcbpf::verifier {
namespace {

// The pc of the kernel log's last instruction line ("87: (c3) ..."), where it stopped.
std::optional<size_t> kernel_failing_insn(const std::string& log) {
    std::optional<size_t> last;
    size_t pos = 0;
    while (pos < log.size()) {
        size_t end = log.find('\n', pos);
        if (end == std::string::npos) end = log.size();
        std::string_view line(log.data() + pos, end - pos);
        size_t colon = line.find(": (");
        if (colon != std::string_view::npos && colon > 0 &&
            line.substr(0, colon).find_first_not_of("0123456789") == std::string_view::npos)
            last = std::stoul(std::string(line.substr(0, colon)));
        pos = end + 1;
    }
    return last;
}

std::optional<isa::Program> mutate(const isa::Program& prog, std::mt19937_64& rng) {
    isa::Program out = prog;
    size_t pc = rng() % out.size();
    if (out.insns[pc].op == isa::Op::LDDW_TAIL) --pc;
    isa::Insn& insn = out.insns[pc];
    static constexpr int16_t kOffsets[] = {-520, -512, -16, -9, -8, -4, -1, 0, 1, 4, 8, 12, 14, 76, 80, 140, 192};
    static constexpr int32_t kImms[] = {0, 1, -1, 4, 8, 14, 32, 63, 64, 504, 0x7fffffff};
    if (insn.op == isa::Op::LDDW) return std::nullopt;
    switch (rng() % 5) {
        case 4: insn = isa::Insn{isa::Op::JA};  break;  // deleted: a bounds check, an initialisation, ...
        case 0: insn.dst = static_cast<uint8_t>(rng() % 11); break;
        case 1: insn.src = static_cast<uint8_t>(rng() % 11); break;
        case 2: insn.off = kOffsets[rng() % std::size(kOffsets)]; break;
        default: insn.imm = kImms[rng() % std::size(kImms)]; break;
    }
    try {
        return isa::decode(isa::encode(out));
    } catch (const Error&) {
        return std::nullopt;  // not an encodable instruction: nothing to verify
    }
}

TEST(VerifyMutationKernel, NeverAcceptWhatTheKernelRejects) {
    const kernel::Availability& availability = kernel::probe();
    if (!availability.available) GTEST_SKIP() << availability.reason;
    std::mt19937_64 rng(2026);
    int compared = 0, both_accept = 0, both_reject = 0, unsupported = 0, we_prove_dead = 0;
    for (uint64_t seed = 1; seed <= 100; ++seed) {
        ::tcbpf::test::RandomProgram base = ::tcbpf::test::generate_random_program(seed, {8, 24});
        for (int m = 0; m < 25; ++m) {
            std::optional<isa::Program> prog = mutate(base.kernel, rng);
            if (!prog) continue;
            Result ours = verify(*prog);
            kernel::LoadResult theirs = kernel::load_program(isa::encode(*prog));
            ++compared;
            if (ours.ok) {
                if (theirs.ok()) {
                    ++both_accept;
                    continue;
                }
                std::optional<size_t> at = kernel_failing_insn(theirs.log);
                bool dead_for_us = at && *at < ours.insn_seen.size() && !ours.insn_seen[*at];
                EXPECT_TRUE(dead_for_us) << "accepted what the kernel rejects (seed " << seed << ")\n"
                                         << isa::disassemble(*prog) << "\nkernel:\n" << theirs.log;
                ++we_prove_dead;
            } else if (ours.message.starts_with("not supported yet")) {
                ++unsupported;
            } else {
                EXPECT_FALSE(theirs.ok()) << "rejected what the kernel accepts (seed " << seed << "): "
                                          << ours.message << " at insn " << ours.insn_idx << "\n"
                                          << isa::disassemble(*prog);
                both_reject += !theirs.ok();
            }
        }
    }
    RecordProperty("compared", compared);
    EXPECT_GT(both_accept, 0);
    EXPECT_GT(both_reject, 0);
    std::printf("compared %d: both accept %d, both reject %d, kernel rejects code we prove dead %d, "
                "not supported yet %d\n",
                compared, both_accept, both_reject, we_prove_dead, unsupported);
}

}  // namespace
}  // namespace tcbpf::verifier
