// Soundness of the verifier. Input: 8 bytes of frame seed, then raw instructions (maps referenced as
// map[idx:N] against tests/support/soundness.h's fixed set). Whenever verify() accepts the program as a
// classifier, it runs in the checked interpreter on seeded random frames (check_soundness): a memory
// violation, an exhausted instruction budget (non-termination) or — for programs also accepted with
// --strict, which cannot observe addresses — a result that depends on an uninitialised register aborts
// with the reason. Seeds: the example objects' programs and the case
// table's (fuzz/corpus/fuzz_verifier, made by scripts/verifier-fuzz-corpus.py).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tcbpf/asm.h"
#include "tcbpf/error.h"
#include "tcbpf/helpers.h"
#include "tcbpf/verifier.h"
#include "tcbpf/vm.h"
#include "tests/support/soundness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 16) return 0;
    uint64_t seed;
    std::memcpy(&seed, data, 8);
    tcbpf::isa::Program prog;
    try {
        prog = tcbpf::isa::decode_bytes({data + 8, (size - 8) / 8 * 8});
    } catch (const tcbpf::Error&) {
        return 0;
    }
    static const std::vector<tcbpf::loader::MapDef> maps = tcbpf::test::soundness_maps();
    tcbpf::verifier::Options options;
    for (const auto& m : maps)
        options.maps.push_back({m.type, m.key_size, m.value_size, m.max_entries, m.map_flags});
    options.insn_budget = 50'000;  // keeps each input well under the run's timeout; the rules are the same below the kernel's 1M
    const tcbpf::verifier::Result verdict = tcbpf::verifier::verify(prog, options);
    if (!verdict.ok) return 0;
    // Verified but not runnable (a helper the runtime does not implement): nothing to run it on.
    static const tcbpf::vm::HelperRegistry helpers = [] {
        tcbpf::vm::HelperRegistry r;
        tcbpf::helpers::register_tc_helpers(r);
        return r;
    }();
    for (int32_t id : verdict.helpers_called)
        if (!helpers.find(id)) return 0;
    options.strict = true;  // the program cannot see addresses, so its results must not vary with them
    const bool address_blind = tcbpf::verifier::verify(prog, options).ok;
    const std::string violation =
        tcbpf::test::check_soundness(prog, {.seed = seed, .frames = 4, .compare_runs = address_blind});
    if (!violation.empty()) {
        std::fprintf(stderr, "verifier accepted an unsafe program: %s\n%s", violation.c_str(),
                     tcbpf::isa::disassemble(prog).c_str());
        std::abort();
    }
    return 0;
}
