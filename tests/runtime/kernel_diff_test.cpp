// The key test of the runtime: every example object tcbpf can run, over 10,000 generated frames with
// policy maps filled, against the same object loaded into the running kernel (libbpf, as tc's libbpf
// mode loads it) and test-run frame by frame. Verdict, mark, priority, packet bytes and the final
// contents of every map must be identical (per-CPU maps as sums over CPUs: which CPU the kernel ran a
// frame on is not ours to choose).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "generator.h"
#include "tests/support/kernel_object.h"
#include "tcbpf/loader.h"
#include "tcbpf/runtime.h"

namespace tcbpf::runtime {
namespace {

constexpr uint32_t kFrames = 10000;

using Bytes = std::vector<uint8_t>;
using Contents = std::map<Bytes, Bytes>;

std::string example(const std::string& name) { return std::string(TCBPF_EXAMPLES_DIR) + "/" + name + ".o"; }

template <typename T>
Bytes bytes_of(const T& value) {
    Bytes b(sizeof value);
    std::memcpy(b.data(), &value, sizeof value);
    return b;
}

// Sums per-CPU values lane by lane (u64 lanes; byte lanes for odd sizes), so that "which CPU" drops out.
Bytes sum_cpus(std::span<const uint8_t> user_value, uint32_t value_size, size_t ncpus) {
    const uint32_t stride = (value_size + 7) & ~7u;
    Bytes sum(value_size, 0);
    for (size_t cpu = 0; cpu < ncpus; ++cpu) {
        const uint8_t* slot = user_value.data() + cpu * stride;
        if (value_size % 8 == 0) {
            for (uint32_t lane = 0; lane < value_size; lane += 8) {
                uint64_t a = 0, b = 0;
                std::memcpy(&a, sum.data() + lane, 8);
                std::memcpy(&b, slot + lane, 8);
                a += b;
                std::memcpy(sum.data() + lane, &a, 8);
            }
        } else {
            for (uint32_t i = 0; i < value_size; ++i) sum[i] = static_cast<uint8_t>(sum[i] + slot[i]);
        }
    }
    return sum;
}

bool percpu(uint32_t type) {
    return type == maps::kMapPercpuHash || type == maps::kMapPercpuArray || type == maps::kMapLruPercpuHash;
}

Contents tcbpf_contents(const maps::Map& map) {
    Contents out;
    map.for_each([&](std::span<const uint8_t> key, std::span<const uint8_t> value) {
        out[Bytes(key.begin(), key.end())] = map.is_percpu() ? sum_cpus(value, map.value_size(), map.ncpus())
                                                              : Bytes(value.begin(), value.end());
    });
    return out;
}

Contents kernel_contents(const kernel::KernelObject& object, const kernel::KernelMapInfo& info) {
    Contents out;
    for (const kernel::MapEntry& e : object.dump(info.name))
        out[e.key] = percpu(info.type) ? sum_cpus(e.value, info.value_size, static_cast<size_t>(kernel::possible_cpus()))
                                       : e.value;
    return out;
}

// One map entry both sides get before the traffic.
struct Prefill {
    std::string map;
    Bytes key, value;
};

// Distinct flow keys of the traffic, found by running tcbpf's flow_counters over it (its own results
// are checked against the kernel by this same test).
std::vector<Bytes> harvest_flow_keys(const std::vector<io::Frame>& frames) {
    auto object = LoadedObject::load(loader::load_object(example("flow_counters")));
    const PreparedProgram& program = object->select("flow_counters");
    for (const io::Frame& f : frames) object->test_run(program, f.bytes);
    std::vector<Bytes> keys;
    object->map("flow_stats")->for_each([&](std::span<const uint8_t> key, std::span<const uint8_t>) {
        keys.emplace_back(key.begin(), key.end());
    });
    std::sort(keys.begin(), keys.end());  // hash iteration order depends on the map's random seed
    return keys;
}

std::vector<Prefill> policy_entries(const std::vector<Bytes>& flows) {
    std::vector<Prefill> out;
    const int32_t verdicts[] = {0, 2, 1, -1, 3};
    for (size_t i = 0; i < flows.size(); ++i) {
        if (i % 3 == 0) continue;  // misses too
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
        static_assert(sizeof backend == 16);
        out.push_back({"backends", bytes_of(idx), bytes_of(backend)});
    }
    size_t services = 0;
    for (size_t i = 0; i < flows.size() && services < 200; ++i) {  // the map holds 256
        const Bytes& k = flows[i];
        const uint8_t proto = k[36], family = k[37];
        if (family != 4 || (proto != 6 && proto != 17) || i % 2 == 0) continue;
        Bytes service_key(8, 0);
        std::memcpy(service_key.data(), &k[28], 4);   // vip = daddr (IPv4-mapped tail)
        std::memcpy(service_key.data() + 4, &k[34], 2);  // dport, network order
        service_key[6] = proto;
        // Some services point past the backend table (a failed lookup drops), some have no backend.
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

// Checked mode is what the CLI runs (no verifier yet); unchecked is what a verified program will run.
class KernelDiff : public ::testing::TestWithParam<std::tuple<Example, bool>> {
   protected:
    static void SetUpTestSuite() {
        traffic = new std::vector<io::Frame>(trafficgen::generate({.seed = 20261124, .count = kFrames}, &kinds));
        // Random payloads almost never hold payload_scan's pattern; copies of some frames ending in a
        // run of 'A's make it mark packets too.
        for (size_t i = 0; i < kFrames; i += 97) {
            io::Frame f = (*traffic)[i];
            if (f.bytes.size() < 100 || f.bytes.size() > 300) continue;
            std::fill(f.bytes.end() - 24, f.bytes.end(), uint8_t{'A'});
            traffic->push_back(std::move(f));
            kinds.push_back(kinds[i] + "+AAAA");
        }
    }
    static void TearDownTestSuite() {
        delete traffic;
        traffic = nullptr;
    }
    static std::vector<io::Frame>* traffic;
    static std::vector<std::string> kinds;
};
std::vector<io::Frame>* KernelDiff::traffic = nullptr;
std::vector<std::string> KernelDiff::kinds;

TEST_P(KernelDiff, SameVerdictsPacketsAndMapsAsTheKernel) {
    const Example& ex = std::get<0>(GetParam());
    if (!kernel::probe().available) GTEST_SKIP() << "bpf() unavailable: " << kernel::probe().reason;

    LoadOptions load_options;
    load_options.checked = std::get<1>(GetParam());
    std::unique_ptr<LoadedObject> ours = LoadedObject::load(loader::load_object(example(ex.object)), load_options);
    const PreparedProgram* program = nullptr;
    try {
        program = &ours->select(ex.program);
    } catch (const Error& e) {
        GTEST_SKIP() << ex.object << " is blocked: " << e.what();
    }
    std::string error;
    auto theirs = kernel::KernelObject::load(example(ex.object), BPF_PROG_TYPE_SCHED_CLS, &error);
    ASSERT_TRUE(theirs) << error;
    const int fd = theirs->program_fd(ex.program);
    ASSERT_GE(fd, 0);

    if (ex.prefill) {
        const std::vector<Prefill> entries = ex.prefill(harvest_flow_keys(*traffic));
        ASSERT_GT(entries.size(), 10u);
        for (const Prefill& p : entries) {
            maps::Map* map = ours->map(p.map);
            ASSERT_NE(map, nullptr) << p.map;
            ASSERT_EQ(map->update_user(p.key.data(), p.value.data(), maps::kBpfAny), 0) << p.map;
            ASSERT_EQ(theirs->update(p.map, p.key, p.value), 0) << p.map;
        }
    }

    const Bytes ctx(skb::kSkbCtxSize, 0);
    size_t mismatches = 0, refused = 0, marked = 0;
    std::map<int32_t, size_t> verdicts;
    for (size_t i = 0; i < traffic->size(); ++i) {
        const Bytes& frame = (*traffic)[i].bytes;
        RunOptions options;
        options.ctx_in = ctx;
        const RunResult r = ours->test_run(*program, frame, options);
        kernel::TestRunInput input;
        input.data = frame;
        input.ctx = ctx;
        const kernel::TestRunResult k = kernel::test_run_fd(fd, input);
        ASSERT_EQ(r.fault, vm::Fault::None) << "frame " << i << " (" << kinds[i] << "): " << r.fault_detail;

        std::string diff;
        if (r.refused() || !k.ok()) {
            ++refused;
            if (r.error != k.error)
                diff = fmt::format("tcbpf {} ({}), kernel {}", r.error, r.refusal, kernel::errno_text(k.error));
        } else {
            uint32_t mark = 0, priority = 0;
            std::memcpy(&mark, k.ctx_out.data() + 8, 4);
            std::memcpy(&priority, k.ctx_out.data() + 32, 4);
            ++verdicts[r.ret];
            if (r.meta.mark != 0) ++marked;
            if (static_cast<uint32_t>(r.ret) != k.retval)
                diff += fmt::format(" ret {} vs {}", r.ret, static_cast<int32_t>(k.retval));
            if (r.meta.mark != mark) diff += fmt::format(" mark {:#x} vs {:#x}", r.meta.mark, mark);
            if (r.meta.priority != priority) diff += fmt::format(" priority {:#x} vs {:#x}", r.meta.priority, priority);
            const auto out = r.packet.bytes();
            if (!std::equal(out.begin(), out.end(), k.data_out.begin(), k.data_out.end()))
                diff += fmt::format(" packet {} bytes vs {} bytes differ", out.size(), k.data_out.size());
        }
        if (!diff.empty() && ++mismatches <= 5)
            ADD_FAILURE() << ex.object << " frame " << i << " (" << kinds[i] << "):" << diff;
    }
    EXPECT_EQ(mismatches, 0u) << "frames differing from the kernel";

    for (const auto& m : ours->maps()) {
        const kernel::KernelMapInfo* info = theirs->map(m->spec().name);
        if (m->as_prog_array() != nullptr) continue;  // holds programs, not data
        ASSERT_NE(info, nullptr) << "kernel has no map " << m->spec().name;
        const Contents a = tcbpf_contents(*m), b = kernel_contents(*theirs, *info);
        EXPECT_EQ(a.size(), b.size()) << m->spec().name;
        size_t differing = 0;
        for (const auto& [key, value] : a) {
            auto it = b.find(key);
            if (it == b.end() || it->second != value) ++differing;
        }
        EXPECT_EQ(differing, 0u) << "entries of " << m->spec().name << " differing from the kernel's";
    }

    std::string mix;
    for (const auto& [ret, n] : verdicts) mix += fmt::format(" ret {}: {}", ret, n);
    std::printf("%s (%s): %zu frames, %zu refused by test_run, %zu marked, verdicts%s\n", ex.object,
                load_options.checked ? "checked" : "unchecked", traffic->size(), refused, marked, mix.c_str());
}

INSTANTIATE_TEST_SUITE_P(Examples, KernelDiff, ::testing::Combine(::testing::ValuesIn(kExamples), ::testing::Bool()),
                         [](const auto& info) {
                             return std::string(std::get<0>(info.param).object) +
                                    (std::get<1>(info.param) ? "_checked" : "_unchecked");
                         });

}  // namespace
}  // namespace tcbpf::runtime
