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
    // A program that calls nothing keeps the context, the packet pointers and its scratch in r1..r4
    // (no register for X, which it never reads; no `w0 = 0`, since A is loaded before anything reads
    // it). A packet load is one bounds check against data_end (r3) and a load from data (r2); every
    // failed check shares the final "return 0".
    EXPECT_EQ(isa::disassemble(e),
              " 0: w2 = *(u32 *)(r1 + 76)\n"
              " 1: w3 = *(u32 *)(r1 + 80)\n"
              " 2: r4 = r2\n"
              " 3: r4 += 14\n"
              " 4: if r4 > r3 goto +7\n"
              " 5: w0 = *(u16 *)(r2 + 12)\n"
              " 6: r0 = be16 r0\n"
              " 7: if w0 != 2048 goto +2\n"
              " 8: w0 = 262144\n"
              " 9: exit\n"
              "10: w0 = 0\n"
              "11: exit\n"
              "12: w0 = 0\n"
              "13: exit\n");
}

TEST(CbpfConvert, SeveralConstantLoadsShareOneBoundsCheck) {
    // ldh [12]; jeq #0x800 jt 2 jf 4; ldb [23]; ret a; ret #0: one check for 24 bytes enters a copy
    // without checks; shorter packets take the fully checked copy (from 13 on).
    const isa::Program e = cbpf::convert(
        {{0x28, 0, 0, 12}, {0x15, 0, 2, 0x800}, {0x30, 0, 0, 23}, {0x16, 0, 0, 0}, {0x06, 0, 0, 0}});
    EXPECT_EQ(isa::disassemble(e),
              " 0: w2 = *(u32 *)(r1 + 76)\n"
              " 1: w3 = *(u32 *)(r1 + 80)\n"
              " 2: r4 = r2\n"
              " 3: r4 += 24\n"
              " 4: if r4 > r3 goto +7\n"
              " 5: w0 = *(u16 *)(r2 + 12)\n"
              " 6: r0 = be16 r0\n"
              " 7: if w0 != 2048 goto +2\n"
              " 8: w0 = *(u8 *)(r2 + 23)\n"
              " 9: exit\n"
              "10: w0 = 0\n"
              "11: exit\n"
              "12: r4 = r2\n"
              "13: r4 += 14\n"
              "14: if r4 > r3 goto +10\n"
              "15: w0 = *(u16 *)(r2 + 12)\n"
              "16: r0 = be16 r0\n"
              "17: if w0 != 2048 goto +5\n"
              "18: r4 = r2\n"
              "19: r4 += 24\n"
              "20: if r4 > r3 goto +4\n"
              "21: w0 = *(u8 *)(r2 + 23)\n"
              "22: exit\n"
              "23: w0 = 0\n"
              "24: exit\n"
              "25: w0 = 0\n"
              "26: exit\n");
}

TEST(CbpfConvert, IndexedLoadsAfterAHeaderLengthReadDirectlyWithoutTheLegacyLoad) {
    // ldxb 4*([14]&0xf); ldh [x + 16]; ret a: X is at most 60, so X + 16 is always a small offset and
    // the legacy LD_IND (a call) is never needed. The program calls nothing: X lives in r5, and A
    // carries the sum, then the end of the read, until the load overwrites it. Both are written
    // before they are read, so neither is set to 0 first.
    const isa::Program e = cbpf::convert({{0xb1, 0, 0, 14}, {0x48, 0, 0, 16}, {0x16, 0, 0, 0}});
    EXPECT_EQ(isa::disassemble(e),
              " 0: w2 = *(u32 *)(r1 + 76)\n"
              " 1: w3 = *(u32 *)(r1 + 80)\n"
              " 2: r4 = r2\n"
              " 3: r4 += 15\n"
              " 4: if r4 > r3 goto +14\n"
              " 5: w5 = *(u8 *)(r2 + 14)\n"
              " 6: w5 &= 15\n"
              " 7: w5 <<= 2\n"
              " 8: w0 = w5\n"
              " 9: w0 += 16\n"
              "10: if r0 > 65280 goto +8\n"
              "11: r4 = r2\n"
              "12: r4 += r0\n"
              "13: r0 = r4\n"
              "14: r0 += 2\n"
              "15: if r0 > r3 goto +3\n"
              "16: w0 = *(u16 *)(r4 + 0)\n"
              "17: r0 = be16 r0\n"
              "18: exit\n"
              "19: w0 = 0\n"
              "20: exit\n");
}

TEST(CbpfConvert, IndexedLoadsWithAnUnboundedIndexKeepTheLegacyLoadAndTheKernelsRegisters) {
    // ld [0]; tax; ldh [x + 14]; ret a: X may be anything, including the negative SKF_NET_OFF and
    // SKF_LL_OFF bases, which only LD_IND resolves. The program calls, so it uses the kernel's mapping
    // (context in r6, X in r7, packet pointers in r8/r9, all kept across calls).
    const isa::Program e = cbpf::convert({{0x20, 0, 0, 0}, {0x07, 0, 0, 0}, {0x48, 0, 0, 14}, {0x16, 0, 0, 0}});
    EXPECT_EQ(isa::disassemble(e),
              " 0: r6 = r1\n"
              " 1: w8 = *(u32 *)(r6 + 76)\n"
              " 2: w9 = *(u32 *)(r6 + 80)\n"
              " 3: r2 = r8\n"
              " 4: r2 += 4\n"
              " 5: if r2 > r9 goto +16\n"
              " 6: w0 = *(u32 *)(r8 + 0)\n"
              " 7: r0 = be32 r0\n"
              " 8: r7 = r0\n"
              " 9: w0 = w7\n"
              "10: w0 += 14\n"
              "11: if r0 > 65280 goto +8\n"
              "12: r2 = r8\n"
              "13: r2 += r0\n"
              "14: r0 = r2\n"
              "15: r0 += 2\n"
              "16: if r0 > r9 goto +5\n"
              "17: w0 = *(u16 *)(r2 + 0)\n"
              "18: r0 = be16 r0\n"
              "19: goto +1\n"
              "20: r0 = *(u16 *)skb[r7 + 14]\n"
              "21: exit\n"
              "22: w0 = 0\n"
              "23: exit\n");
}

TEST(CbpfConvert, AAndXStartAtZeroExplicitlyWhereTheZeroCanBeRead) {
    // ret a: A's initial 0 is the verdict. txa; ret a: X's 0 reaches A.
    EXPECT_EQ(isa::disassemble(cbpf::convert({{0x16, 0, 0, 0}})), "0: w0 = 0\n1: exit\n");
    EXPECT_EQ(isa::disassemble(cbpf::convert({{0x87, 0, 0, 0}, {0x16, 0, 0, 0}})),
              "0: w5 = 0\n1: r0 = r5\n2: exit\n");
}

TEST(CbpfConvert, CommonTcpdumpFiltersCallNothing) {
    // What decides whether a JIT-compiled filter needs a native frame: no helper call, no legacy load.
    for (const char* expr : {"ip", "tcp port 80", "udp and dst portrange 1024-2048", "tcp port 80 and not src net 10.0.0.0/8",
                             "host 10.0.0.1 and (port 53 or port 123)", "ip6 and tcp dst port 443", "vlan and tcp",
                             "icmp or icmp6", "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", "ether multicast or greater 1000"}) {
        const isa::Program e = cbpf::convert(cbpf::compile_filter(expr));
        for (size_t pc = 0; pc < e.size(); ++pc) {
            const isa::Shape shape = isa::info(e.insns[pc].op).shape;
            EXPECT_TRUE(shape != isa::Shape::Call && shape != isa::Shape::LdAbs && shape != isa::Shape::LdInd)
                << expr << ": insn " << pc << " calls\n" << isa::disassemble(e);
            EXPECT_TRUE(e.insns[pc].dst <= 5 && e.insns[pc].src <= 5) << expr << ": insn " << pc << " uses r6..r10";
        }
    }
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
