// The tc pipeline per packet, from frames already in memory: an ingress direct-action classifier doing a
// map lookup (examples/progs/policy.c, its policy map empty so every IP frame is a lookup miss) on eth0,
// bump-in-the-wire to eth1 whose root qdisc is prio. "warm" loops over 1,000 frames, "cold" walks the
// whole generated capture once per pass. The pipeline's own overhead per packet is the same pipeline
// with examples/progs/pass_all.c minus that program's own cost (LoadedObject::run_on_skb on the same
// frames, which is what the pipeline calls). Programs run unchecked on the JIT (PipelineOptions), as a
// kernel runs verified programs; the `checked` rows show the checked interpreter for comparison.
// The pipeline shares the in-memory frame with programs that only read it (skb::Packet::borrow); a
// program that may write gets a copy first, whose cost FrameCopyAlone shows.
// Targets (issue 7): overhead ≤ 25 ns/packet, warm ≥ 10 Mpps per core.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "generator.h"
#include "tcbpf/helpers.h"
#include "tcbpf/loader.h"
#include "tcbpf/runtime.h"
#include "tc/skb_pool.h"
#include "tcbpf/tc.h"

namespace {

using namespace tcbpf;

const std::string kExamples = TCBPF_EXAMPLES_DIR;

const std::vector<io::Frame>& capture() {
    static const std::vector<io::Frame> frames = trafficgen::generate({.seed = 7, .count = 100000});
    return frames;
}

std::unique_ptr<tc::Pipeline> make_pipeline(const std::string& object, bool checked) {
    auto p = std::make_unique<tc::Pipeline>(tc::PipelineOptions{.checked = checked, .bpffs = std::nullopt});
    for (const std::string line : {"port add eth0 type pcap", "port add eth1 type pcap", "port peer eth0 eth1",
                                   "qdisc add dev eth0 clsact", "qdisc add dev eth1 root handle 1: prio"})
        p->apply(tc::parse_command(tc::split_batch_line(line)));
    p->apply(tc::parse_command(tc::split_batch_line("filter add dev eth0 ingress bpf da obj " + kExamples + "/" + object)));
    return p;
}

void run_frames(benchmark::State& state, const std::string& object, bool checked, size_t count) {
    if (!std::filesystem::exists(kExamples + "/" + object)) {
        state.SkipWithError("example objects not built");
        return;
    }
    const auto pipeline = make_pipeline(object, checked);
    const uint32_t eth0 = pipeline->ifindex("eth0");
    const std::vector<io::Frame>& frames = capture();
    const size_t n = std::min(count, frames.size());
    size_t i = 0;
    for (auto _ : state) {
        pipeline->receive(eth0, frames[i].bytes, 0);
        if (++i == n) i = 0;
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["ns/pkt"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_PipelineWarm(benchmark::State& state) { run_frames(state, "policy.o", false, 1000); }
void BM_PipelineCold(benchmark::State& state) { run_frames(state, "policy.o", false, SIZE_MAX); }
void BM_PipelineWarmChecked(benchmark::State& state) { run_frames(state, "policy.o", true, 1000); }
void BM_PipelinePassAll(benchmark::State& state) { run_frames(state, "pass_all.o", false, 1000); }

// pass_all.o alone, as the pipeline runs it: the program's own share of BM_PipelinePassAll. Run as in
// the pipeline — one skb's metadata reused, the packet sharing the in-memory frame — so the program's
// share is not inflated by cache misses the pipeline does not have.
void BM_ProgramPassAllAlone(benchmark::State& state) {
    const std::string path = kExamples + "/pass_all.o";
    if (!std::filesystem::exists(path)) {
        state.SkipWithError("example objects not built");
        return;
    }
    runtime::LoadOptions options;
    options.checked = false;
    const auto object = runtime::LoadedObject::load(loader::load_object(path), options);
    const runtime::PreparedProgram& program = object->select("");
    const std::vector<io::Frame>& frames = capture();
    std::vector<skb::Packet> packets(1000);
    for (size_t i = 0; i < packets.size(); ++i) packets[i].borrow(frames[i].bytes);
    skb::SkbMeta meta;
    vm::Context cx;
    skb::SkbContext ctx;
    helpers::RunEnv env;
    size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(object->run_on_skb(program, packets[i], meta, cx, ctx, env));
        if (++i == packets.size()) i = 0;
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["ns/pkt"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// The frame's copy into an skb alone (Skb::assign over the same 1,000 frames): what a program that may
// write the packet adds to the overhead (the pipeline shares the frame with programs that only read it).
void BM_FrameCopyAlone(benchmark::State& state) {
    const std::vector<io::Frame>& frames = capture();
    tc::Skb skb;
    size_t i = 0;
    for (auto _ : state) {
        skb.assign(frames[i].bytes);
        benchmark::DoNotOptimize(skb.packet.data());
        benchmark::ClobberMemory();
        if (++i == 1000) i = 0;
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["ns/pkt"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

BENCHMARK(BM_PipelineWarm);
BENCHMARK(BM_PipelineCold);
BENCHMARK(BM_PipelineWarmChecked);
BENCHMARK(BM_PipelinePassAll);
BENCHMARK(BM_ProgramPassAllAlone);
BENCHMARK(BM_FrameCopyAlone);

}  // namespace

BENCHMARK_MAIN();
