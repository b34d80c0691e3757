// Realistic tcpdump expressions per packet over the generated traffic: libpcap's own interpreter
// (bpf_filter) next to tcbpf running the converted program JIT-compiled and interpreted, in the same
// run on the same frames.
//
// What each row times is the filter's decision for one frame: libpcap's bpf_filter gets the buffer and
// its lengths; tcbpf's cbpf::Filter gets the frame (it writes the packet pointers and length into its
// context and enters the converted program: the JIT's native code directly when the program calls
// nothing, as every expression here does).
// The `batch/` rows time cbpf::Filter::run_batch instead: tcbpf's side is handed the whole traffic at
// once and runs it in one native loop (jit::Program::batch_entry), still one decision per frame but
// without a call and context writes per frame, then counts the accepted frames; libpcap's side is the
// same per-frame bpf_filter loop as in the other rows.
// Before timing, every engine's verdict (batched too) is checked against libpcap's on every frame.
// Each row reports libpcap_ns and tcbpf_ns (CPU ns per packet, best pass of each), their ratio,
// `speedup`, and whether the filter took the direct path (`direct`) and has a batch loop (`batched`).
#include <benchmark/benchmark.h>

#include <pcap/pcap.h>

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bench/bench_main.h"
#include "generator.h"
#include "tcbpf/cbpf.h"
#include "tcbpf/cbpf_filter.h"

namespace tcbpf::bench {
namespace {

constexpr uint32_t kFrames = 4000;
constexpr int kPasses = 400;  // per side and row

constexpr const char* kFixedCost = "ret #0";
const char* const kExpressions[] = {
    kFixedCost,
    "ip",
    "tcp port 80",
    "udp and dst portrange 1024-2048",
    "tcp port 80 and not src net 10.0.0.0/8",
    "host 10.0.0.1 and (port 53 or port 123)",
    "ip6 and tcp dst port 443",
    "vlan and tcp",
    "icmp or icmp6",
    "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
    "ether multicast or greater 1000",
};

// The frames as a capture loop hands them over, pointer and length, so the loop around each filter
// costs as little as it can (it is the same on both sides and bounds the ratio for short filters).
const std::vector<std::span<const uint8_t>>& traffic() {
    static const std::vector<io::Frame> frames = trafficgen::generate({.seed = 20261124, .count = kFrames});
    static const std::vector<std::span<const uint8_t>> views = [] {
        std::vector<std::span<const uint8_t>> v;
        for (const io::Frame& f : frames) v.emplace_back(f.bytes);
        return v;
    }();
    return views;
}

struct Raw {
    std::vector<bpf_insn> insns;
    explicit Raw(const cbpf::Program& prog) {
        for (const auto& i : prog) insns.push_back(bpf_insn{i.code, i.jt, i.jf, i.k});
    }
    uint32_t run(std::span<const uint8_t> b) const {
        return bpf_filter(insns.data(), b.data(), static_cast<u_int>(b.size()), static_cast<u_int>(b.size()));
    }
};

// CPU time of one pass over the traffic, in ns.
template <typename Run>
double pass_ns(Run&& run, uint64_t& accepted) {
    timespec a{}, b{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    for (std::span<const uint8_t> frame : traffic()) accepted += run(frame) != 0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    return static_cast<double>(b.tv_sec - a.tv_sec) * 1e9 + static_cast<double>(b.tv_nsec - a.tv_nsec);
}

// CPU time of one run_batch over the traffic (and the count of accepted frames, as pass_ns counts), in ns.
double batch_pass_ns(cbpf::Filter& filter, std::vector<uint32_t>& verdicts, uint64_t& accepted) {
    timespec a{}, b{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    filter.run_batch(traffic(), verdicts);
    for (uint32_t verdict : verdicts) accepted += verdict != 0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    return static_cast<double>(b.tv_sec - a.tv_sec) * 1e9 + static_cast<double>(b.tv_nsec - a.tv_nsec);
}

enum class Mode { Jit, Interp, JitBatch };

// libpcap and one tcbpf engine take turns, pass by pass, and each keeps its fastest pass: on a busy
// machine both sides then meet the same interference, and the ratio stays meaningful.
void bench_expression(benchmark::State& state, const std::string& expr, Mode mode) {
    // "ret #0": the fixed cost of one run, on each side.
    const cbpf::Program prog = expr == kFixedCost ? cbpf::Program{{0x06, 0, 0, 0}} : cbpf::compile_filter(expr);
    const Raw raw(prog);
    cbpf::Filter converted(prog, mode == Mode::Interp ? runtime::Engine::Interp : runtime::Engine::Jit);
    std::vector<uint32_t> verdicts(traffic().size());
    converted.run_batch(traffic(), verdicts);
    for (size_t n = 0; n < traffic().size(); ++n)
        if (converted.run(traffic()[n]) != raw.run(traffic()[n]) || verdicts[n] != raw.run(traffic()[n])) {
            state.SkipWithError(("verdicts differ from libpcap's on '" + expr + "'").c_str());
            return;
        }
    double best_libpcap = 1e18, best_tcbpf = 1e18;
    uint64_t accepted_libpcap = 0, accepted_tcbpf = 0;
    for (auto _ : state) {
        best_libpcap = std::min(best_libpcap, pass_ns([&](std::span<const uint8_t> b) { return raw.run(b); }, accepted_libpcap));
        best_tcbpf = std::min(best_tcbpf, mode == Mode::JitBatch
                                              ? batch_pass_ns(converted, verdicts, accepted_tcbpf)
                                              : pass_ns([&](std::span<const uint8_t> b) { return converted.run(b); }, accepted_tcbpf));
    }
    const auto frames = static_cast<double>(traffic().size());
    state.counters["libpcap_ns"] = best_libpcap / frames;
    state.counters["tcbpf_ns"] = best_tcbpf / frames;
    state.counters["speedup"] = best_libpcap / best_tcbpf;
    state.counters["accepted"] = static_cast<double>(accepted_tcbpf / state.iterations());
    state.counters["direct"] = converted.direct() ? 1 : 0;
    state.counters["batched"] = converted.batched() ? 1 : 0;
}

}  // namespace

void register_all() {
    for (const char* expr : kExpressions)
        for (const auto& [prefix, mode] : {std::pair{"jit/", Mode::Jit}, std::pair{"batch/", Mode::JitBatch},
                                           std::pair{"interp/", Mode::Interp}})
            benchmark::RegisterBenchmark((prefix + std::string(expr)).c_str(), bench_expression, std::string(expr), mode)
                ->Iterations(kPasses);
}

}  // namespace tcbpf::bench
