// The example classifiers per packet: tcbpf's JIT and interpreter (runtime::LoadedObject::test_run) next
// to the running kernel's BPF_PROG_TEST_RUN (its JIT, as the kernel runs tc programs) on the same object
// and the same generated frames, in the same run.
//
// Both sides are timed the same way: each frame is test-run `kRepeat` times on one skb and the side
// reports its own mean per repetition (tcbpf's avg_ns, the kernel's duration_ns), so skb setup, the
// syscall and copying the packet back are outside both figures. Each frame keeps its best figure over
// the kIterations passes, and `ns_per_packet` is the mean of those over the traffic: the kernel stops its
// clock while the test-run loop is rescheduled, tcbpf's steady clock does not, so on a loaded machine the
// least disturbed pass is the comparable one. Maps are prefilled exactly as tests/runtime/kernel_diff_test.cpp fills
// them (tests/support/example_workload), so lookups hit and miss as they do there. The kernel rows skip with the reason where bpf() is unavailable.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_main.h"
#include "generator.h"
#include "tests/support/example_workload.h"
#include "tests/support/kernel_object.h"
#include "tcbpf/error.h"
#include "tcbpf/loader.h"
#include "tcbpf/runtime.h"

namespace tcbpf::bench {
namespace {

constexpr uint32_t kFrames = 3000;
constexpr uint32_t kRepeat = 20;
constexpr int kIterations = 10;  // passes over the traffic per row

using Bytes = std::vector<uint8_t>;

std::string example(const std::string& name) { return std::string(TCBPF_EXAMPLES_DIR) + "/" + name + ".o"; }

const std::vector<io::Frame>& traffic() {
    static const std::vector<io::Frame> frames = trafficgen::generate({.seed = 20261124, .count = kFrames});
    return frames;
}

// Distinct flow keys of the traffic, as flow_counters records them.
const std::vector<Bytes>& flow_keys() {
    static const std::vector<Bytes> keys = examples::harvest_flow_keys(example("flow_counters"), traffic());
    return keys;
}

using examples::Example;
using examples::Prefill;

// Each frame's best mean-per-repetition over the passes, then their mean over the frames that ran.
class PerFrameBest {
   public:
    void add(size_t frame, uint64_t ns) {
        if (best_.size() <= frame) best_.resize(frame + 1, kNone);
        best_[frame] = std::min(best_[frame], ns);
    }
    void report(benchmark::State& state) const {
        uint64_t total = 0, packets = 0;
        for (const uint64_t ns : best_)
            if (ns != kNone) total += ns, ++packets;
        state.counters["ns_per_packet"] = packets ? static_cast<double>(total) / static_cast<double>(packets) : 0.0;
        state.counters["packets"] = static_cast<double>(packets);
    }

   private:
    static constexpr uint64_t kNone = ~uint64_t{0};
    std::vector<uint64_t> best_;
};

// `checked`: the checked interpreter; otherwise `engine` as a verified program runs (no JIT fallback).
void bench_tcbpf(benchmark::State& state, const Example& ex, bool checked, runtime::Engine engine) {
    runtime::LoadOptions options;
    options.checked = checked;
    options.engine = engine;
    options.jit_fallback = false;
    std::unique_ptr<runtime::LoadedObject> object;
    const runtime::PreparedProgram* program = nullptr;
    try {
        object = runtime::LoadedObject::load(loader::load_object(example(ex.object)), options);
        program = &object->select(ex.program);
        if (ex.prefill)
            for (const Prefill& p : ex.prefill(flow_keys()))
                if (object->map(p.map)->update_user(p.key.data(), p.value.data(), maps::kBpfAny) != 0)
                    throw Error("prefill of " + p.map + " refused");
    } catch (const Error& e) {
        state.SkipWithError((std::string(ex.object) + ": " + e.what()).c_str());
        return;
    }
    const Bytes ctx(skb::kSkbCtxSize, 0);
    runtime::RunOptions run;
    run.ctx_in = ctx;
    run.repeat = kRepeat;
    PerFrameBest best;
    for (auto _ : state) {
        for (size_t i = 0; i < traffic().size(); ++i) {
            const runtime::RunResult r = object->test_run(*program, traffic()[i].bytes, run);
            if (!r.refused()) best.add(i, r.avg_ns);  // a refused frame ran nothing: no time to count
        }
    }
    best.report(state);
}

void bench_kernel(benchmark::State& state, const Example& ex) {
    if (!kernel::probe().available) {
        std::fprintf(stderr, "kernel rows skipped: bpf() unavailable: %s\n", kernel::probe().reason.c_str());
        state.SkipWithError(("bpf() unavailable: " + kernel::probe().reason).c_str());
        return;
    }
    std::string error;
    auto object = kernel::KernelObject::load(example(ex.object), BPF_PROG_TYPE_SCHED_CLS, &error);
    if (!object) {
        state.SkipWithError((std::string(ex.object) + ": kernel refused: " + error).c_str());
        return;
    }
    const int fd = object->program_fd(ex.program);
    if (ex.prefill)
        for (const Prefill& p : ex.prefill(flow_keys())) object->update(p.map, p.key, p.value);
    const Bytes ctx(skb::kSkbCtxSize, 0);
    PerFrameBest best;
    for (auto _ : state) {
        for (size_t i = 0; i < traffic().size(); ++i) {
            kernel::TestRunInput input;
            input.data = traffic()[i].bytes;
            input.ctx = ctx;
            input.repeat = kRepeat;
            const kernel::TestRunResult r = kernel::test_run_fd(fd, input);
            if (r.ok()) best.add(i, r.duration_ns);
        }
    }
    best.report(state);
}

}  // namespace

void register_all() {
    for (const Example& ex : examples::examples()) {
        const std::string name = ex.object;
        benchmark::RegisterBenchmark(("tcbpf_jit/" + name).c_str(), bench_tcbpf, ex, false, runtime::Engine::Jit)
            ->Iterations(kIterations)->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("tcbpf_unchecked/" + name).c_str(), bench_tcbpf, ex, false, runtime::Engine::Interp)
            ->Iterations(kIterations)->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("tcbpf_checked/" + name).c_str(), bench_tcbpf, ex, true, runtime::Engine::Interp)
            ->Iterations(kIterations)->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("kernel/" + name).c_str(), bench_kernel, ex)
            ->Iterations(kIterations)->Unit(benchmark::kMillisecond);
    }
}

}  // namespace tcbpf::bench
