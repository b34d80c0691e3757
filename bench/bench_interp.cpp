// Interpreter speed: the threaded interpreter (vm/) against a plain switch interpreter on the same
// programs, in the same run. Reported per EXECUTED instruction: each program's instruction count is
// measured once by an instrumented run of the switch interpreter, and `ns_per_insn` divides the
// time per iteration by it. The empty program (`r0 = 0; exit`) gives the fixed cost of one run.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "bench/bench_main.h"
#include "bench/programs.h"
#include "bench/switch_interp.h"
#include "tcbpf/vm.h"

namespace tcbpf::bench {
namespace {

struct Workload {
    isa::Program program;
    std::vector<uint8_t> memory;  // what r1 points at (r2 = its end)
};

Workload make(const std::string& name) {
    if (name == "checksum") {
        std::vector<uint8_t> data(1500);
        for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
        return {checksum_1500(), data};
    }
    if (name == "division") return {division_loop(), {}};
    if (name == "bswap_popcount") return {bswap_popcount_loop(), {}};
    if (name == "header_parse") return {header_parse(), syn_frame()};
    return {program({mov(0, 0), exit_insn()}), {}};  // "empty"
}

struct Prepared {
    Workload work;
    std::unique_ptr<vm::Program> threaded;
    std::unique_ptr<SwitchInterpreter> baseline;
    uint64_t r1 = 0, r2 = 0;
    uint64_t executed = 0;  // instructions per run
    uint64_t expected = 0;
};

Prepared prepare(const std::string& name, bool checked) {
    Prepared p;
    p.work = make(name);
    p.threaded = vm::Program::prepare(p.work.program, {}, {.checked = checked});
    p.baseline = std::make_unique<SwitchInterpreter>(p.work.program);
    p.r1 = reinterpret_cast<uint64_t>(p.work.memory.data());
    p.r2 = p.r1 + p.work.memory.size();
    p.expected = p.baseline->run_counted(p.r1, p.r2, p.executed);
    return p;
}

void report(benchmark::State& state, const Prepared& p) {
    state.counters["insns"] = static_cast<double>(p.executed);
    // Iteration-invariant rate of executed*1e-9 per iteration, inverted: nanoseconds per instruction.
    state.counters["ns_per_insn"] = benchmark::Counter(static_cast<double>(p.executed) * 1e-9,
                                                       benchmark::Counter::kIsIterationInvariantRate |
                                                           benchmark::Counter::kInvert);
}

void threaded(benchmark::State& state, const std::string& name, bool checked) {
    Prepared p = prepare(name, checked);
    vm::Context cx;
    if (checked && !p.work.memory.empty())
        cx.regions = {{p.r1, p.work.memory.size(), false, "input"}};
    const uint64_t got = p.threaded->run(cx, p.r1, p.r2);
    if (got != p.expected || cx.fault != vm::Fault::None) {
        state.SkipWithError(("threaded and switch interpreters disagree: " + cx.fault_detail).c_str());
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(p.threaded->run(cx, p.r1, p.r2));
    report(state, p);
}

void switched(benchmark::State& state, const std::string& name) {
    Prepared p = prepare(name, false);
    for (auto _ : state) benchmark::DoNotOptimize(p.baseline->run(p.r1, p.r2));
    report(state, p);
}

}  // namespace

void register_all() {
    for (const char* name : {"checksum", "division", "bswap_popcount", "header_parse", "empty"}) {
        const std::string n = name;
        benchmark::RegisterBenchmark(("threaded/" + n).c_str(), [n](benchmark::State& s) { threaded(s, n, false); });
        benchmark::RegisterBenchmark(("switch/" + n).c_str(), [n](benchmark::State& s) { switched(s, n); });
        benchmark::RegisterBenchmark(("checked/" + n).c_str(), [n](benchmark::State& s) { threaded(s, n, true); });
    }
}

}  // namespace tcbpf::bench
