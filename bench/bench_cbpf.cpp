// Realistic tcpdump expressions per packet over the generated traffic: libpcap's own interpreter
// (bpf_filter) next to tcbpf running the converted program JIT-compiled and interpreted, in the same
// run on the same frames.
//
// What each row times is the filter's decision for one frame as a hook makes it: libpcap gets the
// buffer and its lengths; tcbpf gets its context with the packet pointers and length set for that
// frame (what a tc hook writes per packet before a cBPF program runs) and runs the converted program.
// Before timing, every engine's verdict is checked against libpcap's on every frame. Each row reports
// libpcap_ns and tcbpf_ns (CPU ns per packet, best pass of each) and their ratio, `speedup`.
#include <benchmark/benchmark.h>

#include <pcap/pcap.h>

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "generator.h"
#include "tcbpf/cbpf.h"
#include "tcbpf/helpers.h"
#include "tcbpf/jit.h"
#include "tcbpf/runtime.h"

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

const std::vector<io::Frame>& traffic() {
    static const std::vector<io::Frame> frames = trafficgen::generate({.seed = 20261124, .count = kFrames});
    return frames;
}

const vm::HelperRegistry& tc_helpers() {
    static const vm::HelperRegistry registry = [] {
        vm::HelperRegistry r;
        helpers::register_tc_helpers(r);
        return r;
    }();
    return registry;
}

struct Raw {
    std::vector<bpf_insn> insns;
    explicit Raw(const cbpf::Program& prog) {
        for (const auto& i : prog) insns.push_back(bpf_insn{i.code, i.jt, i.jf, i.k});
    }
    uint32_t run(const std::vector<uint8_t>& b) const {
        return bpf_filter(insns.data(), b.data(), static_cast<u_int>(b.size()), static_cast<u_int>(b.size()));
    }
};

// The converted program and the per-frame context a hook fills for it.
class Converted {
   public:
    Converted(const cbpf::Program& prog, bool jit) {
        const isa::Program rewritten = runtime::rewrite_ctx_accesses(cbpf::convert(prog), skb::ProgType::Classifier);
        if (jit)
            jit_ = jit::Program::compile(rewritten, tc_helpers());
        else
            interp_ = vm::Program::prepare(rewritten, tc_helpers(), {.checked = false});
        env_.ctx = &ctx_;
        cx_.user = &env_;
    }
    uint32_t run(const std::vector<uint8_t>& b) {
        ctx_.data = reinterpret_cast<uint64_t>(b.data());
        ctx_.data_end = ctx_.data + b.size();
        ctx_.len = static_cast<uint32_t>(b.size());
        const auto ctx = reinterpret_cast<uint64_t>(&ctx_);
        return static_cast<uint32_t>(jit_ ? jit_->run(cx_, ctx) : interp_->run(cx_, ctx));
    }

   private:
    std::unique_ptr<jit::Program> jit_;
    std::unique_ptr<vm::Program> interp_;
    skb::SkbContext ctx_;
    helpers::RunEnv env_;
    vm::Context cx_;
};

// CPU time of one pass over the traffic, in ns.
template <typename Run>
double pass_ns(Run&& run, uint64_t& accepted) {
    timespec a{}, b{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    for (const io::Frame& f : traffic()) accepted += run(f.bytes) != 0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    return static_cast<double>(b.tv_sec - a.tv_sec) * 1e9 + static_cast<double>(b.tv_nsec - a.tv_nsec);
}

// libpcap and one tcbpf engine take turns, pass by pass, and each keeps its fastest pass: on a busy
// machine both sides then meet the same interference, and the ratio stays meaningful.
void bench_expression(benchmark::State& state, const std::string& expr, bool jit) {
    // "ret #0": the fixed cost of one run, on each side.
    const cbpf::Program prog = expr == kFixedCost ? cbpf::Program{{0x06, 0, 0, 0}} : cbpf::compile_filter(expr);
    const Raw raw(prog);
    Converted converted(prog, jit);
    for (const io::Frame& f : traffic())
        if (converted.run(f.bytes) != raw.run(f.bytes)) {
            state.SkipWithError(("verdicts differ from libpcap's on '" + expr + "'").c_str());
            return;
        }
    double best_libpcap = 1e18, best_tcbpf = 1e18;
    uint64_t accepted_libpcap = 0, accepted_tcbpf = 0;
    for (auto _ : state) {
        best_libpcap = std::min(best_libpcap, pass_ns([&](const std::vector<uint8_t>& b) { return raw.run(b); }, accepted_libpcap));
        best_tcbpf = std::min(best_tcbpf, pass_ns([&](const std::vector<uint8_t>& b) { return converted.run(b); }, accepted_tcbpf));
    }
    const auto frames = static_cast<double>(traffic().size());
    state.counters["libpcap_ns"] = best_libpcap / frames;
    state.counters["tcbpf_ns"] = best_tcbpf / frames;
    state.counters["speedup"] = best_libpcap / best_tcbpf;
    state.counters["accepted"] = static_cast<double>(accepted_tcbpf / state.iterations());
}

void register_all() {
    for (const char* expr : kExpressions) {
        benchmark::RegisterBenchmark((std::string("jit/") + expr).c_str(), bench_expression, std::string(expr), true)
            ->Iterations(kPasses);
        benchmark::RegisterBenchmark((std::string("interp/") + expr).c_str(), bench_expression, std::string(expr), false)
            ->Iterations(kPasses);
    }
}

}  // namespace
}  // namespace tcbpf::bench

int main(int argc, char** argv) {
    tcbpf::bench::register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
