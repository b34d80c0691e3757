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
#include "tests/support/example_workload.h"
#include "tests/support/kernel_object.h"
#include "tcbpf/loader.h"
#include "tcbpf/runtime.h"

namespace tcbpf::runtime {
namespace {

using examples::Example;
using examples::Prefill;

constexpr uint32_t kFrames = 10000;

using Bytes = std::vector<uint8_t>;
// Map keys ordered by memcmp (g++ 12 warns falsely about vector's own operator< once inlined here).
struct BytesLess {
    bool operator()(const Bytes& a, const Bytes& b) const {
        const int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
        return c != 0 ? c < 0 : a.size() < b.size();
    }
};
using Contents = std::map<Bytes, Bytes, BytesLess>;

std::string example(const std::string& name) { return std::string(TCBPF_EXAMPLES_DIR) + "/" + name + ".o"; }


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

// Checked mode is what the CLI runs on unverified programs; a verified program runs JIT-compiled (here
// with fallback to the interpreter disabled, so JIT code is what ran) or unchecked in the interpreter.
enum class Mode { Checked, Unchecked, Jit };

const char* mode_name(Mode mode) {
    return mode == Mode::Checked ? "checked" : mode == Mode::Unchecked ? "unchecked" : "jit";
}

class KernelDiff : public ::testing::TestWithParam<std::tuple<Example, Mode>> {
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

    const Mode mode = std::get<1>(GetParam());
    LoadOptions load_options;
    load_options.checked = mode == Mode::Checked;
    load_options.engine = mode == Mode::Jit ? Engine::Jit : Engine::Interp;
    load_options.jit_fallback = false;
    std::unique_ptr<LoadedObject> ours = LoadedObject::load(loader::load_object(example(ex.object)), load_options);
    const PreparedProgram* program = nullptr;
    try {
        program = &ours->select(ex.program);
    } catch (const Error& e) {
        // Blocked means the interpreter cannot run it either (a helper tcbpf lacks); the JIT refusing
        // a program is a failure of this test.
        if (std::string_view(e.what()).find("fallback to the interpreter disabled") != std::string_view::npos)
            FAIL() << e.what();
        GTEST_SKIP() << ex.object << " is blocked: " << e.what();
    }
    ASSERT_EQ(program->engine, mode == Mode::Jit ? Engine::Jit : Engine::Interp);
    std::string error;
    auto theirs = kernel::KernelObject::load(example(ex.object), BPF_PROG_TYPE_SCHED_CLS, &error);
    ASSERT_TRUE(theirs) << error;
    const int fd = theirs->program_fd(ex.program);
    ASSERT_GE(fd, 0);

    if (ex.prefill) {
        const std::vector<Prefill> entries = ex.prefill(examples::harvest_flow_keys(example("flow_counters"), *traffic));
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
                mode_name(mode), traffic->size(), refused, marked, mix.c_str());
}

INSTANTIATE_TEST_SUITE_P(Examples, KernelDiff, ::testing::Combine(::testing::ValuesIn(examples::examples().begin(), examples::examples().end()),
                                            ::testing::Values(Mode::Checked, Mode::Unchecked, Mode::Jit)),
                         [](const auto& info) {
                             return std::string(std::get<0>(info.param).object) + "_" + mode_name(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace tcbpf::runtime
