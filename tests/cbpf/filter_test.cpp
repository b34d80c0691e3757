// cbpf::Filter, the classic-filter entry for frames: the direct path into native code is taken exactly
// by programs that need nothing but the frame, and on both paths and both engines the filter answers
// what the reference interpreter answers (and, for compiled expressions, what libpcap's bpf_filter
// answers) over generated traffic.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <random>

#include "converted_runner.h"
#include "generator.h"
#include "tcbpf/cbpf_filter.h"

using namespace tcbpf;

namespace {

constexpr runtime::Engine kEngines[] = {runtime::Engine::Jit, runtime::Engine::Interp};

bool uses_random(const cbpf::Program& prog) {
    for (const cbpf::Insn& i : prog)
        if (i.code == 0x20 && i.k == static_cast<uint32_t>(cbpf::kAdOff) + cbpf::kAdRandom) return true;
    return false;
}

}  // namespace

TEST(CbpfFilter, FramesEnterNativeCodeDirectlyWhenTheProgramNeedsNothingElse) {
    EXPECT_TRUE(cbpf::Filter(cbpf::compile_filter("tcp port 80 and not src net 10.0.0.0/8")).direct());
    EXPECT_TRUE(cbpf::Filter(cbpf::compile_filter("tcp[tcpflags] & tcp-syn != 0")).direct());
    // ld #len; ret a — the length is part of what the direct path fills.
    EXPECT_TRUE(cbpf::Filter({{0x80, 0, 0, 0}, {0x16, 0, 0, 0}}).direct());
    // The interpreter has no native entry.
    EXPECT_FALSE(cbpf::Filter(cbpf::compile_filter("ip"), runtime::Engine::Interp).direct());
    // ld mark (an skb field); ld cpu (a helper); ld [x + 14] with X unbounded (LD_IND may be needed).
    EXPECT_FALSE(cbpf::Filter({{0x20, 0, 0, 0xfffff000u + cbpf::kAdMark}, {0x16, 0, 0, 0}}).direct());
    EXPECT_FALSE(cbpf::Filter({{0x20, 0, 0, 0xfffff000u + cbpf::kAdCpu}, {0x16, 0, 0, 0}}).direct());
    EXPECT_FALSE(cbpf::Filter({{0x81, 0, 0, 0}, {0x48, 0, 0, 14}, {0x16, 0, 0, 0}}).direct());
}

TEST(CbpfFilter, RefusesWhatTheCheckerRefuses) {
    try {
        cbpf::Filter filter({{0x34, 0, 0, 0}, {0x06, 0, 0, 0}});
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "cBPF insn 0: division by constant zero");
    }
}

TEST(CbpfFilter, CompiledFiltersAnswerLikeTheReferenceAndLibpcap) {
    const char* expressions[] = {"ip", "tcp port 80", "udp and dst portrange 1024-2048",
                                 "host 10.0.0.1 and (port 53 or port 123)", "vlan and tcp", "icmp or icmp6",
                                 "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", "ether multicast or greater 1000",
                                 "ip[2:2] > 576 and ip[8] < 64", "udp[8:4] = 0x12345678"};
    const auto frames = trafficgen::generate({.seed = 17, .count = 3000});
    for (runtime::Engine engine : kEngines)
        for (const char* expr : expressions) {
            const cbpf::Program prog = cbpf::compile_filter(expr);
            cbpf::Filter filter(prog, engine);
            for (size_t n = 0; n < frames.size(); ++n) {
                const std::span<const uint8_t> frame = frames[n].bytes;
                const uint32_t want = cbpf::run(prog, cbpf::Packet{.data = frame});
                ASSERT_EQ(cbpf_test::libpcap_filter(prog, frame), want) << expr << ", frame " << n;
                ASSERT_EQ(filter.run(frame), want) << expr << ", frame " << n << ", " << runtime::engine_name(engine);
            }
        }
}

// run_batch gives every frame the verdict run(frame) gives: in one native loop for JIT-compiled
// direct filters, frame by frame for the others.
TEST(CbpfFilter, ABatchOfFramesGetsEachFramesOwnVerdict) {
    const auto generated = trafficgen::generate({.seed = 23, .count = 2000});
    std::vector<std::span<const uint8_t>> frames;
    for (const auto& f : generated) frames.emplace_back(f.bytes);
    frames.emplace_back();  // an empty frame: every load is out of bounds
    const char* expressions[] = {"ip", "tcp port 80 and not src net 10.0.0.0/8", "ether multicast or greater 1000",
                                 "ip[2:2] > 576 and ip[8] < 64", "ip6 and tcp dst port 443", "vlan and tcp"};
    for (runtime::Engine engine : kEngines)
        for (const char* expr : expressions) {
            const cbpf::Program prog = cbpf::compile_filter(expr);
            cbpf::Filter filter(prog, engine);
            EXPECT_EQ(filter.batched(), engine == runtime::Engine::Jit) << expr;
            std::vector<uint32_t> verdicts(frames.size(), 0xdeadbeef);
            filter.run_batch(frames, verdicts);
            for (size_t n = 0; n < frames.size(); ++n)
                ASSERT_EQ(verdicts[n], cbpf::run(prog, cbpf::Packet{.data = frames[n]}))
                    << expr << ", frame " << n << ", " << runtime::engine_name(engine);
        }
    // Fewer verdict slots than frames: only the frames with a slot run.
    cbpf::Filter accept_all({{0x06, 0, 0, 0xffffffff}});
    std::vector<uint32_t> two(2, 0);
    accept_all.run_batch(frames, two);
    EXPECT_EQ(two, (std::vector<uint32_t>{0xffffffff, 0xffffffff}));
}

TEST(CbpfFilter, RandomProgramsAnswerLikeTheReferenceOnEitherPath) {
    // Random programs read every ancillary field and call every helper, so both paths take part;
    // SKF_AD_RANDOM is left out (the filter asks the real prandom helper).
    std::mt19937 rng(606);
    const auto frames = trafficgen::generate({.seed = 5, .count = 30});
    int direct = 0, on_skb = 0, batched = 0;
    for (int i = 0; i < 600; ++i) {
        const cbpf::Program prog = cbpf_test::random_program(rng);
        if (uses_random(prog)) continue;
        cbpf::Filter filter(prog);
        (filter.direct() ? direct : on_skb)++;
        std::vector<std::span<const uint8_t>> views;
        for (uint32_t n = 0; n < frames.size(); ++n) {
            const cbpf::Packet p = cbpf_test::varied_packet(frames[n].bytes, n);
            ASSERT_EQ(filter.run(p), cbpf::run(prog, p))
                << "program " << i << " (" << cbpf::format_bytecode(prog) << "), frame " << n;
            views.emplace_back(frames[n].bytes);
        }
        // A batch sees the frames alone, as run(frame) does: Packet's default skb fields.
        std::vector<uint32_t> verdicts(views.size());
        filter.run_batch(views, verdicts);
        for (uint32_t n = 0; n < views.size(); ++n)
            ASSERT_EQ(verdicts[n], cbpf::run(prog, cbpf::Packet{.data = views[n]}))
                << "program " << i << " (" << cbpf::format_bytecode(prog) << "), frame " << n << " in a batch";
        EXPECT_TRUE(filter.direct() || !filter.batched());
        batched += filter.batched();
    }
    EXPECT_GT(direct, 20);
    EXPECT_GT(on_skb, 20);
    EXPECT_GT(batched, 20);
}
