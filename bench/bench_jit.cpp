// JIT speed: the same programs as bench_interp (bench/programs.h), compiled by the x86-64 JIT and run
// next to the threaded interpreter in the same process. Reported per EXECUTED instruction (counted once
// by the switch interpreter's instrumented run, as in bench_interp), so the two columns compare
// directly; `empty` (`r0 = 0; exit`) is the fixed cost of one run. Each engine's result is checked
// against the switch interpreter's before timing.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "bench/bench_main.h"
#include "bench/programs.h"
#include "bench/switch_interp.h"
#include "tcbpf/jit.h"
#include "tcbpf/vm.h"

namespace tcbpf::bench {
namespace {

struct Workload {
    isa::Program program;
    std::vector<uint8_t> memory;  // what r1 points at (r2 = its end)
    uint64_t r1 = 0, r2 = 0;
    uint64_t executed = 0;  // instructions per run
    uint64_t expected = 0;
};

Workload make(const std::string& name) {
    Workload w;
    if (name == "checksum") {
        w.memory.resize(1500);
        for (size_t i = 0; i < w.memory.size(); ++i) w.memory[i] = static_cast<uint8_t>(i * 7 + 3);
        w.program = checksum_1500();
    } else if (name == "division") {
        w.program = division_loop();
    } else if (name == "bswap_popcount") {
        w.program = bswap_popcount_loop();
    } else if (name == "header_parse") {
        w.program = header_parse();
        w.memory = syn_frame();
    } else {
        w.program = program({mov(0, 0), exit_insn()});  // "empty"
    }
    w.r1 = reinterpret_cast<uint64_t>(w.memory.data());
    w.r2 = w.r1 + w.memory.size();
    w.expected = SwitchInterpreter(w.program).run_counted(w.r1, w.r2, w.executed);
    return w;
}

void report(benchmark::State& state, const Workload& w) {
    state.counters["insns"] = static_cast<double>(w.executed);
    state.counters["ns_per_insn"] = benchmark::Counter(static_cast<double>(w.executed) * 1e-9,
                                                       benchmark::Counter::kIsIterationInvariantRate |
                                                           benchmark::Counter::kInvert);
}

template <typename Engine>
void run_engine(benchmark::State& state, const Workload& w, const Engine& engine) {
    vm::Context cx;
    if (engine.run(cx, w.r1, w.r2) != w.expected || cx.fault != vm::Fault::None) {
        state.SkipWithError("result differs from the switch interpreter's");
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(engine.run(cx, w.r1, w.r2));
    report(state, w);
}

void jit(benchmark::State& state, const std::string& name, bool blind) {
    const Workload w = make(name);
    const auto compiled = jit::Program::compile(w.program, {}, {.blind_constants = blind});
    run_engine(state, w, *compiled);
    state.counters["code_bytes"] = static_cast<double>(compiled->code_size());
}

void interpreter(benchmark::State& state, const std::string& name) {
    const Workload w = make(name);
    run_engine(state, w, *vm::Program::prepare(w.program, {}));
}

}  // namespace

void register_all() {
    for (const char* name : {"checksum", "division", "bswap_popcount", "header_parse", "empty"}) {
        const std::string n = name;
        benchmark::RegisterBenchmark(("jit/" + n).c_str(), [n](benchmark::State& s) { jit(s, n, false); });
        benchmark::RegisterBenchmark(("jit_blinded/" + n).c_str(), [n](benchmark::State& s) { jit(s, n, true); });
        benchmark::RegisterBenchmark(("threaded/" + n).c_str(), [n](benchmark::State& s) { interpreter(s, n); });
    }
}

}  // namespace tcbpf::bench
