// Verification time: tcbpf's verifier next to the running kernel's on the same programs in the same run
// — every example program (its maps created in the kernel for real) and large generated programs of
// nested branches and bounded loops. The kernel's time is what BPF_PROG_LOAD reports with
// BPF_LOG_STATS ("verification time N usec"); tcbpf's is the wall time of verify(). Counters: usec per
// verification, instructions processed, peak states and (tcbpf) bytes those states took.
// Kernel rows skip with the reason where bpf() is unavailable.
#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <regex>

#include "bench/bench_main.h"
#include "tcbpf/asm.h"
#include "tcbpf/loader.h"
#include "tcbpf/verifier.h"
#include "tests/support/kernel_bpf.h"
#include "tests/verifier/case_table.h"

namespace tcbpf::bench {
namespace {

struct Subject {
    std::string name;
    isa::Program prog;
    std::vector<loader::MapDef> maps;
};

verifier::Options options_for(const Subject& s) {
    verifier::Options options;
    for (const loader::MapDef& m : s.maps)
        options.maps.push_back({m.type, m.key_size, m.value_size, m.max_entries, m.map_flags});
    return options;
}

void bench_tcbpf(benchmark::State& state, const Subject& s) {
    const verifier::Options options = options_for(s);
    verifier::Result last;
    double usec = 0;
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        last = verifier::verify(s.prog, options);
        usec += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    }
    if (!last.ok) {
        state.SkipWithError(("tcbpf rejects: " + last.message).c_str());
        return;
    }
    state.counters["usec"] = usec / static_cast<double>(state.iterations());
    state.counters["insns"] = static_cast<double>(s.prog.size());
    state.counters["processed"] = static_cast<double>(last.stats.insns_processed);
    state.counters["peak_states"] = static_cast<double>(last.stats.peak_states);
    state.counters["peak_bytes"] = static_cast<double>(last.stats.peak_bytes);
}

// "verification time 123 usec" and "processed N insns ... peak_states P" from a BPF_LOG_STATS log.
uint64_t log_number(const std::string& log, const std::regex& re) {
    std::smatch m;
    return std::regex_search(log, m, re) ? std::stoull(m[1]) : 0;
}

void bench_kernel(benchmark::State& state, const Subject& s) {
    const kernel::Availability& availability = kernel::probe();
    if (!availability.available) {
        state.SkipWithError(availability.reason.c_str());
        return;
    }
    std::vector<kernel::Fd> maps;
    std::vector<int> fds;
    for (const loader::MapDef& m : s.maps) {
        kernel::MapOptions mo;
        mo.type = static_cast<bpf_map_type>(m.type);
        mo.key_size = m.key_size, mo.value_size = m.value_size, mo.max_entries = m.max_entries, mo.flags = m.map_flags;
        kernel::MapCreateResult created = kernel::create_map(mo);
        fds.push_back(created.fd.get());
        maps.push_back(std::move(created.fd));
    }
    const std::vector<isa::RawInsn> raw = isa::encode(verifier::test::with_map_fds(s.prog, fds));
    kernel::LoadOptions lo;
    lo.always_log_level = 4;  // BPF_LOG_STATS
    lo.log_size = 4096;
    static const std::regex kTime("verification time (\\d+) usec"), kProcessed("processed (\\d+) insns"),
        kPeak("peak_states (\\d+)");
    double usec = 0;
    std::string log;
    for (auto _ : state) {
        kernel::LoadResult r = kernel::load_program(raw, lo);
        if (!r.ok()) {
            state.SkipWithError(("kernel rejects: " + kernel::errno_text(r.error)).c_str());
            return;
        }
        log = r.log;
        usec += static_cast<double>(log_number(log, kTime));
    }
    state.counters["usec"] = usec / static_cast<double>(state.iterations());
    state.counters["insns"] = static_cast<double>(s.prog.size());
    state.counters["processed"] = static_cast<double>(log_number(log, kProcessed));
    state.counters["peak_states"] = static_cast<double>(log_number(log, kPeak));
}

// `blocks` diamonds on a context field (each rejoining), a 16-round bounded loop every 32 blocks, and a
// packet bounds check with a read every 8: thousands of instructions with nested control flow.
std::string large_program(int blocks) {
    std::string t = "r6 = r1\nr9 = 0\n";
    for (int i = 0; i < blocks; ++i) {
        t += fmt::format("r2 = *(u32 *)(r6 + {})\nif r2 > {} goto l{}a\nr3 = {}\ngoto l{}b\nl{}a:\nr3 = r2\nr3 &= 255\nl{}b:\nr9 += r3\n",
                         4 * (i % 11), i, i, i % 7, i, i, i);
        if (i % 32 == 31)
            t += fmt::format("r4 = 0\nloop{}:\nr9 ^= r4\nr4 += 1\nif r4 < 16 goto loop{}\n", i, i);
        if (i % 8 == 7)
            t += fmt::format("r7 = *(u32 *)(r6 + 76)\nr8 = *(u32 *)(r6 + 80)\nr5 = r7\nr5 += 14\n"
                             "if r5 > r8 goto p{}\nr2 = *(u16 *)(r7 + 12)\nr9 += r2\np{}:\n", i, i);
    }
    return t + "r0 = r9\nexit\n";
}

std::vector<Subject> subjects() {
    std::vector<Subject> out;
    const std::string dir = TCBPF_EXAMPLES_DIR;
    for (const char* name : {"pass_all", "port_classifier", "policy", "flow_counters", "lpm_acl", "l4_lb",
                             "payload_scan", "tail_dispatch", "event_log", "fib_forward", "datapath"}) {
        const std::string path = dir + "/" + name + ".o";
        if (!std::filesystem::exists(path)) continue;
        const loader::Object object = loader::load_object(path);
        for (const loader::ProgramDef& p : object.programs)
            out.push_back({fmt::format("{}/{}", name, p.name), p.prog, object.maps});
    }
    for (int blocks : {250, 500, 1000})
        out.push_back({fmt::format("generated/{}_blocks", blocks), isa::assemble(large_program(blocks)), {}});
    return out;
}

}  // namespace

void register_all() {
    static const std::vector<Subject> all = subjects();
    for (const Subject& s : all) {
        benchmark::RegisterBenchmark(("tcbpf/" + s.name).c_str(), bench_tcbpf, s)->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("kernel/" + s.name).c_str(), bench_kernel, s)
            ->Unit(benchmark::kMicrosecond)->Iterations(5);
    }
}

}  // namespace tcbpf::bench
