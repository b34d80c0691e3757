// The example classifiers per packet: tcbpf's interpreter (runtime::LoadedObject::test_run) next to the
// running kernel's BPF_PROG_TEST_RUN (its JIT, as the kernel runs tc programs) on the same object and the
// same generated frames, in the same run.
//
// Both sides are timed the same way: each frame is test-run `kRepeat` times on one skb and the side
// reports its own mean per repetition (tcbpf's avg_ns, the kernel's duration_ns), so skb setup, the
// syscall and copying the packet back are outside both figures. `ns_per_packet` is the mean of those
// per-frame figures over the traffic. Maps are prefilled as tests/runtime/kernel_diff_test.cpp fills
// them (the functions below are a copy of its prefill rules, kept in step by hand), so lookups hit and
// miss as they do there. The kernel rows skip with the reason where bpf() is unavailable.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "generator.h"
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

template <typename T>
Bytes bytes_of(const T& value) {
    Bytes b(sizeof value);
    std::memcpy(b.data(), &value, sizeof value);
    return b;
}

struct Prefill {
    std::string map;
    Bytes key, value;
};

const std::vector<io::Frame>& traffic() {
    static const std::vector<io::Frame> frames = trafficgen::generate({.seed = 20261124, .count = kFrames});
    return frames;
}

// Distinct flow keys of the traffic, as flow_counters records them.
const std::vector<Bytes>& flow_keys() {
    static const std::vector<Bytes> keys = [] {
        auto object = runtime::LoadedObject::load(loader::load_object(example("flow_counters")));
        const runtime::PreparedProgram& program = object->select("flow_counters");
        for (const io::Frame& f : traffic()) object->test_run(program, f.bytes);
        std::vector<Bytes> out;
        object->map("flow_stats")->for_each([&](std::span<const uint8_t> key, std::span<const uint8_t>) {
            out.emplace_back(key.begin(), key.end());
        });
        // Flow keys all have one size; memcmp directly (g++ 12 warns falsely on vector's operator<).
        std::sort(out.begin(), out.end(), [](const Bytes& a, const Bytes& b) {
            return std::memcmp(a.data(), b.data(), std::min(a.size(), b.size())) < 0;
        });
        return out;
    }();
    return keys;
}

std::vector<Prefill> policy_entries(const std::vector<Bytes>& flows) {
    std::vector<Prefill> out;
    const int32_t verdicts[] = {0, 2, 1, -1, 3};
    for (size_t i = 0; i < flows.size(); ++i) {
        if (i % 3 == 0) continue;
        struct {
            int32_t verdict;
            uint32_t classid, priority, mark;
        } policy{verdicts[i % 5], 0x10000u | static_cast<uint32_t>(i), static_cast<uint32_t>(i * 7),
                 0x1000u + static_cast<uint32_t>(i)};
        out.push_back({"policy_map", flows[i], bytes_of(policy)});
    }
    return out;
}

std::vector<Prefill> l4_lb_entries(const std::vector<Bytes>& flows) {
    std::vector<Prefill> out;
    for (uint32_t idx = 0; idx < 1024; ++idx) {
        struct {
            uint8_t addr[4];
            uint16_t port;
            uint8_t mac[6];
            uint32_t ifindex;
        } backend{{10, 1, static_cast<uint8_t>(idx >> 8), static_cast<uint8_t>(idx)},
                  static_cast<uint16_t>(__builtin_bswap16(static_cast<uint16_t>(8000 + idx))),
                  {0x02, 0xbe, 0, 0, static_cast<uint8_t>(idx >> 8), static_cast<uint8_t>(idx)},
                  2 + idx % 5};
        out.push_back({"backends", bytes_of(idx), bytes_of(backend)});
    }
    size_t services = 0;
    for (size_t i = 0; i < flows.size() && services < 200; ++i) {
        const Bytes& k = flows[i];
        const uint8_t proto = k[36], family = k[37];
        if (family != 4 || (proto != 6 && proto != 17) || i % 2 == 0) continue;
        Bytes service_key(8, 0);
        std::memcpy(service_key.data(), &k[28], 4);
        std::memcpy(service_key.data() + 4, &k[34], 2);
        service_key[6] = proto;
        struct {
            uint32_t first_backend, backend_count;
        } service{static_cast<uint32_t>((i * 37) % 1030), static_cast<uint32_t>(i % 5)};
        out.push_back({"services", service_key, bytes_of(service)});
        ++services;
    }
    return out;
}

std::vector<Prefill> lpm_acl_entries(const std::vector<Bytes>& flows) {
    std::vector<Prefill> out;
    for (size_t i = 0; i < flows.size(); ++i) {
        const Bytes& k = flows[i];
        const uint32_t action = i % 3 == 0 ? 1 : 0;
        if (k[37] == 4) {
            Bytes key(8, 0);
            const uint32_t prefix = i % 2 == 0 ? 24 : 16;
            std::memcpy(key.data(), &prefix, 4);
            std::memcpy(key.data() + 4, &k[12], 4);
            out.push_back({"acl_v4", key, bytes_of(action)});
        } else {
            Bytes key(20, 0);
            const uint32_t prefix = i % 2 == 0 ? 64 : 48;
            std::memcpy(key.data(), &prefix, 4);
            std::memcpy(key.data() + 4, &k[0], 16);
            out.push_back({"acl_v6", key, bytes_of(action)});
        }
    }
    return out;
}

struct Example {
    const char* object;
    const char* program;
    std::vector<Prefill> (*prefill)(const std::vector<Bytes>& flows);
};

const Example kExamples[] = {
    {"pass_all", "pass_all", nullptr},
    {"port_classifier", "port_classifier", nullptr},
    {"policy", "policy_classifier", policy_entries},
    {"flow_counters", "flow_counters", nullptr},
    {"lpm_acl", "lpm_acl", lpm_acl_entries},
    {"l4_lb", "l4_lb", l4_lb_entries},
    {"payload_scan", "payload_scan", nullptr},
    {"tail_dispatch", "dispatch", nullptr},
};

void bench_tcbpf(benchmark::State& state, const Example& ex, bool checked) {
    runtime::LoadOptions options;
    options.checked = checked;
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
    uint64_t total_ns = 0, packets = 0;
    for (auto _ : state) {
        for (const io::Frame& f : traffic()) {
            const runtime::RunResult r = object->test_run(*program, f.bytes, run);
            if (r.refused()) continue;  // nothing ran: no time to count
            total_ns += r.avg_ns;
            ++packets;
        }
    }
    state.counters["ns_per_packet"] = packets ? static_cast<double>(total_ns) / static_cast<double>(packets) : 0.0;
    state.counters["packets"] = static_cast<double>(packets / std::max<uint64_t>(state.iterations(), 1));
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
    uint64_t total_ns = 0, packets = 0;
    for (auto _ : state) {
        for (const io::Frame& f : traffic()) {
            kernel::TestRunInput input;
            input.data = f.bytes;
            input.ctx = ctx;
            input.repeat = kRepeat;
            const kernel::TestRunResult r = kernel::test_run_fd(fd, input);
            if (!r.ok()) continue;
            total_ns += r.duration_ns;
            ++packets;
        }
    }
    state.counters["ns_per_packet"] = packets ? static_cast<double>(total_ns) / static_cast<double>(packets) : 0.0;
    state.counters["packets"] = static_cast<double>(packets / std::max<uint64_t>(state.iterations(), 1));
}

void register_all() {
    for (const Example& ex : kExamples) {
        const std::string name = ex.object;
        benchmark::RegisterBenchmark(("tcbpf_unchecked/" + name).c_str(), bench_tcbpf, ex, false)
            ->Iterations(kIterations)->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("tcbpf_checked/" + name).c_str(), bench_tcbpf, ex, true)
            ->Iterations(kIterations)->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("kernel/" + name).c_str(), bench_kernel, ex)
            ->Iterations(kIterations)->Unit(benchmark::kMillisecond);
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
