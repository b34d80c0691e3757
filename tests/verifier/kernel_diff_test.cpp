// The verifier against the running kernel's on generated programs (tests/support/verifier_program.h)
// and on single-field mutations of the example objects' programs. With a fixed seed it generates until
// the kernel has accepted at least 2,000, gives each program to both verifiers and prints the tallies:
//   both accept / both reject
//   kernel accepts, tcbpf rejects   → a precision bug (counted, the first few printed)
//   tcbpf accepts, kernel rejects   → run checked on random frames (check_soundness): safe, or a
//                                     soundness bug, which fails the test.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "tcbpf/asm.h"
#include "tcbpf/error.h"
#include "tcbpf/loader.h"
#include "tcbpf/verifier.h"
#include "tests/support/kernel_bpf.h"
#include "tests/support/soundness.h"
#include "tests/support/verifier_program.h"
#include "tests/verifier/case_table.h"

namespace tcbpf::verifier {
namespace {

constexpr size_t kKernelAcceptedTarget = 2000;
constexpr size_t kPrintedDisagreements = 3;

struct Tally {
    size_t both_accept = 0, both_reject = 0, precision = 0, tcbpf_only_safe = 0, soundness = 0;
    std::vector<std::string> precision_examples, soundness_examples;
    size_t kernel_accepted() const { return both_accept + precision; }
};

std::vector<kernel::Fd> create_kernel_maps(const std::vector<loader::MapDef>& defs, std::vector<int>& fds) {
    std::vector<kernel::Fd> out;
    for (const loader::MapDef& m : defs) {
        kernel::MapOptions mo;
        mo.type = static_cast<bpf_map_type>(m.type);
        mo.key_size = m.key_size, mo.value_size = m.value_size, mo.max_entries = m.max_entries;
        mo.flags = m.map_flags;
        kernel::MapCreateResult created = kernel::create_map(mo);
        fds.push_back(created.fd.get());
        out.push_back(std::move(created.fd));
    }
    return out;
}

Options options_for(const std::vector<loader::MapDef>& defs) {
    Options options;
    for (const loader::MapDef& m : defs)
        options.maps.push_back(MapInfo{m.type, m.key_size, m.value_size, m.max_entries, m.map_flags});
    return options;
}

// One program through both verifiers. `soundness_maps` says whether the program's maps are
// soundness_maps() (then a tcbpf-only acceptance can be run checked).
void judge(const isa::Program& prog, const Options& options, const std::vector<int>& fds, bool soundness_maps,
           Tally& tally) {
    const Result ours = verify(prog, options);
    const kernel::LoadResult theirs = kernel::load_program(isa::encode(test::with_map_fds(prog, fds)));
    if (ours.ok && theirs.ok()) {
        ++tally.both_accept;
    } else if (!ours.ok && !theirs.ok()) {
        ++tally.both_reject;
    } else if (theirs.ok()) {
        if (++tally.precision <= kPrintedDisagreements)
            tally.precision_examples.push_back(
                fmt::format("tcbpf rejects at insn {}: {}\n{}", ours.insn_idx, ours.message, isa::disassemble(prog)));
    } else {
        std::string violation = soundness_maps ? tcbpf::test::check_soundness(prog, {.seed = 7, .frames = 16})
                                               : std::string();
        if (violation.empty()) {
            ++tally.tcbpf_only_safe;
        } else {
            ++tally.soundness;
            if (tally.soundness_examples.size() < kPrintedDisagreements)
                tally.soundness_examples.push_back(fmt::format("{}\nkernel: {}\n{}", violation,
                                                               theirs.log.substr(theirs.log.rfind('\n', theirs.log.size() - 2) + 1),
                                                               isa::disassemble(prog)));
        }
    }
}

TEST(VerifierKernelDiff, GeneratedAndMutatedProgramsAgreeWithTheKernel) {
    const kernel::Availability& availability = kernel::probe();
    if (!availability.available) GTEST_SKIP() << availability.reason;
    const auto start = std::chrono::steady_clock::now();
    Tally tally;
    std::vector<int> fds;
    const std::vector<loader::MapDef> defs = tcbpf::test::soundness_maps();
    std::vector<kernel::Fd> maps = create_kernel_maps(defs, fds);
    const Options options = options_for(defs);
    size_t generated = 0;

    // Mutations of the examples: every fourth program, against the object's own maps.
    std::vector<loader::Object> objects;
    for (const char* name : {"port_classifier", "policy", "flow_counters", "lpm_acl", "l4_lb", "tail_dispatch"}) {
        const std::string path = std::string(TCBPF_EXAMPLES_DIR) + "/" + name + ".o";
        if (std::filesystem::exists(path)) objects.push_back(loader::load_object(path));
    }
    std::vector<std::vector<int>> object_fds(objects.size());
    std::vector<std::vector<kernel::Fd>> object_maps;
    for (size_t i = 0; i < objects.size(); ++i) object_maps.push_back(create_kernel_maps(objects[i].maps, object_fds[i]));

    std::mt19937_64 rng(20261124);
    for (uint64_t seed = 1; tally.kernel_accepted() < kKernelAcceptedTarget && seed < 20000; ++seed) {
        ++generated;
        if (seed % 4 == 0 && !objects.empty()) {
            const size_t o = rng() % objects.size();
            const loader::ProgramDef& def = objects[o].programs[rng() % objects[o].programs.size()];
            isa::Program mutated = tcbpf::test::mutate_program(def.prog, rng);
            if (mutated.size() == 0) continue;
            judge(mutated, options_for(objects[o].maps), object_fds[o], false, tally);
            continue;
        }
        isa::Program prog;
        try {
            prog = isa::assemble(tcbpf::test::generate_verifier_program(seed));
        } catch (const Error& e) {
            FAIL() << "the generator wrote a program that does not assemble (seed " << seed << "): " << e.what();
        }
        judge(prog, options, fds, true, tally);
    }
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("verifier kernel differential: %zu programs in %.1f s: both accept %zu, both reject %zu, "
                "kernel accepts/tcbpf rejects (precision) %zu, tcbpf accepts/kernel rejects: safe %zu, unsafe "
                "(soundness) %zu\n",
                generated, seconds, tally.both_accept, tally.both_reject, tally.precision, tally.tcbpf_only_safe,
                tally.soundness);
    for (const std::string& p : tally.precision_examples) std::printf("precision bug: %s\n", p.c_str());
    EXPECT_GE(tally.kernel_accepted(), kKernelAcceptedTarget);
    EXPECT_EQ(tally.soundness, 0u);
    for (const std::string& s : tally.soundness_examples) ADD_FAILURE() << "soundness bug: " << s;
}

}  // namespace
}  // namespace tcbpf::verifier
