// The conversion is right when the converted eBPF — accepted by tcbpf's verifier (ConvertedRunner
// checks that for every program), then run by the checked interpreter, the plain interpreter and the
// JIT — returns what the reference cBPF interpreter returns, for libpcap-compiled and random programs
// over generated traffic, with every field a cBPF program can observe varied from packet to packet
// (converted_runner.h).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <random>
#include <set>

#include "cbpf/opcodes.h"
#include "converted_runner.h"
#include "generator.h"
#include "tcbpf/asm.h"
#include "tcbpf/cbpf.h"

using namespace tcbpf;
using cbpf_test::ConvertedRunner;

namespace {

void expect_same_everywhere(const cbpf::Program& prog, const ConvertedRunner& runner, const cbpf::Packet& p,
                            std::string_view what) {
    const uint32_t want = cbpf::run(prog, p);
    for (cbpf_test::Engine engine : cbpf_test::kEngines)
        ASSERT_EQ(runner.run(p, engine), want) << what << ", engine " << cbpf_test::engine_name(engine) << "\n"
                                               << cbpf::disassemble(prog) << "converted:\n"
                                               << isa::disassemble(runner.converted());
}

}  // namespace

TEST(CbpfConvert, SmallProgramReadsAsExpected) {
    // ldh [12]; jeq #0x800 jt 2 jf 3; ret #262144; ret #0
    const isa::Program e =
        cbpf::convert({{0x28, 0, 0, 12}, {0x15, 0, 1, 0x800}, {0x06, 0, 0, 262144}, {0x06, 0, 0, 0}});
    // A packet load is one bounds check against data_end (r9) and a load from data (r8); every failed
    // check shares the final "return 0".
    EXPECT_EQ(isa::disassemble(e),
              " 0: w0 = 0\n"
              " 1: w7 = 0\n"
              " 2: r6 = r1\n"
              " 3: w8 = *(u32 *)(r6 + 76)\n"
              " 4: w9 = *(u32 *)(r6 + 80)\n"
              " 5: r2 = r8\n"
              " 6: r2 += 14\n"
              " 7: if r2 > r9 goto +7\n"
              " 8: w0 = *(u16 *)(r8 + 12)\n"
              " 9: r0 = be16 r0\n"
              "10: if w0 != 2048 goto +2\n"
              "11: w0 = 262144\n"
              "12: exit\n"
              "13: w0 = 0\n"
              "14: exit\n"
              "15: w0 = 0\n"
              "16: exit\n");
}

TEST(CbpfConvert, SeveralConstantLoadsShareOneBoundsCheck) {
    // ldh [12]; jeq #0x800 jt 2 jf 4; ldb [23]; ret a; ret #0: one check for 24 bytes enters a copy
    // without checks; shorter packets take the fully checked copy (from 15 on).
    const isa::Program e = cbpf::convert(
        {{0x28, 0, 0, 12}, {0x15, 0, 2, 0x800}, {0x30, 0, 0, 23}, {0x16, 0, 0, 0}, {0x06, 0, 0, 0}});
    EXPECT_EQ(isa::disassemble(e),
              " 0: w0 = 0\n"
              " 1: w7 = 0\n"
              " 2: r6 = r1\n"
              " 3: w8 = *(u32 *)(r6 + 76)\n"
              " 4: w9 = *(u32 *)(r6 + 80)\n"
              " 5: r2 = r8\n"
              " 6: r2 += 24\n"
              " 7: if r2 > r9 goto +7\n"
              " 8: w0 = *(u16 *)(r8 + 12)\n"
              " 9: r0 = be16 r0\n"
              "10: if w0 != 2048 goto +2\n"
              "11: w0 = *(u8 *)(r8 + 23)\n"
              "12: exit\n"
              "13: w0 = 0\n"
              "14: exit\n"
              "15: r2 = r8\n"
              "16: r2 += 14\n"
              "17: if r2 > r9 goto +10\n"
              "18: w0 = *(u16 *)(r8 + 12)\n"
              "19: r0 = be16 r0\n"
              "20: if w0 != 2048 goto +5\n"
              "21: r2 = r8\n"
              "22: r2 += 24\n"
              "23: if r2 > r9 goto +4\n"
              "24: w0 = *(u8 *)(r8 + 23)\n"
              "25: exit\n"
              "26: w0 = 0\n"
              "27: exit\n"
              "28: w0 = 0\n"
              "29: exit\n");
}

TEST(CbpfConvert, RefusesWhatTheCheckerRefuses) {
    try {
        cbpf::convert({{0x34, 0, 0, 0}, {0x06, 0, 0, 0}});
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "cBPF insn 0: division by constant zero");
    }
}

TEST(CbpfConvert, CompiledFiltersAgreeWithTheReferenceOnGeneratedTraffic) {
    const char* expressions[] = {"ip", "ip6", "tcp port 80 and not src net 10.0.0.0/8", "udp portrange 1000-3000",
                                 "vlan and (tcp or udp)", "ip[6:2] & 0x1fff != 0", "icmp or icmp6",
                                 "tcp[tcpflags] & tcp-syn != 0", "greater 500", "ether multicast",
                                 "ip6 and tcp dst port 443", "vlan 100 and ip", "udp[8:4] = 0x12345678",
                                 "ip[2:2] > 576 and ip[8] < 64", "ip[0] & 0xf > 5"};
    const auto frames = trafficgen::generate({.seed = 11, .count = 10000});
    size_t runs = 0;
    for (const char* expr : expressions) {
        const cbpf::Program prog = cbpf::compile_filter(expr);
        const ConvertedRunner runner(prog);
        for (uint32_t n = 0; n < frames.size(); ++n) {
            expect_same_everywhere(prog, runner, cbpf_test::varied_packet(frames[n].bytes, n),
                                   fmt::format("filter '{}', frame {}", expr, n));
            if (HasFatalFailure()) return;
            ++runs;
        }
    }
    EXPECT_EQ(runs, std::size(expressions) * frames.size());
}

TEST(CbpfConvert, RandomProgramsAgreeWithTheReference) {
    std::mt19937 rng(2024);
    const auto frames = trafficgen::generate({.seed = 3, .count = 40});
    std::set<uint16_t> opcodes_seen;
    std::set<uint32_t> ancillary_seen;
    for (int i = 0; i < 3000; ++i) {
        const cbpf::Program prog = cbpf_test::random_program(rng);
        for (const cbpf::Insn& insn : prog) {
            opcodes_seen.insert(insn.code);
            if (insn.code == 0x20 && insn.k >= 0xfffff000u) ancillary_seen.insert(insn.k - 0xfffff000u);
        }
        const ConvertedRunner runner(prog);
        for (uint32_t n = 0; n < frames.size(); ++n) {
            expect_same_everywhere(prog, runner, cbpf_test::varied_packet(frames[n].bytes, n),
                                   fmt::format("program {} ({}), frame {}", i, cbpf::format_bytecode(prog), n));
            if (HasFatalFailure()) return;
        }
    }
    // Every opcode Linux allows and every ancillary load took part.
    EXPECT_EQ(opcodes_seen.size(), std::size(cbpf::kOpcodes));
    EXPECT_EQ(ancillary_seen.size(), 16u);
}
