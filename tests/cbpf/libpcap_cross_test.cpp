// libpcap's own interpreter (bpf_filter) is a second opinion on the expression path: over the
// generated traffic, tcbpf's reference interpreter and the converted program on every engine must give
// the same answer for every compiled filter. Compiled expressions use no ancillary loads and no shifts
// by X, where the two legitimately differ. Random programs that stay clear of those (and of negative
// offsets and X + k wrapping around, which only Linux gives a meaning) are compared too.
#include <gtest/gtest.h>

#include "cbpf/opcodes.h"
#include "converted_runner.h"
#include "generator.h"
#include "tcbpf/cbpf.h"

using namespace tcbpf;

namespace {

// Whether libpcap and Linux define the same result for every instruction of `prog`.
bool libpcap_comparable(const cbpf::Program& prog) {
    for (const cbpf::Insn& i : prog) {
        const cbpf::OpcodeRow* row = cbpf::find_opcode(i.code);
        const bool packet = row->kind == cbpf::Kind::LdAbs || row->kind == cbpf::Kind::LdInd || row->kind == cbpf::Kind::LdxMsh;
        if (packet && i.k >= 0x10000) return false;            // ancillary and negative offsets, far offsets
        if (row->kind == cbpf::Kind::LdInd) return false;      // X + k: Linux wraps, libpcap refuses
        if (i.code == 0x6c || i.code == 0x7c) return false;    // shifts by X
    }
    return true;
}

}  // namespace

TEST(CbpfAgainstLibpcap, SameVerdictOnGeneratedTraffic) {
    const char* expressions[] = {
        "ip",
        "ip6",
        "tcp port 80",
        "udp and dst portrange 1024-2048",
        "tcp port 80 and not src net 10.0.0.0/8",
        "icmp or icmp6",
        "vlan and tcp",
        "ip[6:2] & 0x1fff != 0",
        "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
        "ip6 and udp",
        "greater 200 and less 1000",
        "ether broadcast or ether multicast",
        "net 192.168.0.0/16 or net 172.16.0.0/12",
        "ip proto 47 or (udp and port 53)",
    };
    const auto frames = trafficgen::generate({.seed = 7, .count = 3000});
    size_t compared = 0, accepted = 0;
    for (const char* expr : expressions) {
        const cbpf::Program prog = cbpf::compile_filter(expr);
        cbpf::check(prog);
        const cbpf_test::ConvertedRunner runner(prog);
        for (size_t n = 0; n < frames.size(); ++n) {
            const auto& bytes = frames[n].bytes;
            cbpf::Packet p;
            p.data = bytes;
            const uint32_t ours = cbpf::run(prog, p);
            const uint32_t theirs = cbpf_test::libpcap_filter(prog, bytes);
            ASSERT_EQ(ours, theirs) << "filter '" << expr << "', frame " << n;
            for (cbpf_test::Engine engine : cbpf_test::kEngines)
                ASSERT_EQ(runner.run(p, engine), theirs) << "filter '" << expr << "', frame " << n << ", " << engine_name(engine);
            ++compared;
            accepted += ours != 0;
        }
    }
    EXPECT_EQ(compared, std::size(expressions) * frames.size());
    EXPECT_GT(accepted, compared / 20);  // the traffic exercises the accepting paths too
}

TEST(CbpfAgainstLibpcap, RandomProgramsWhereBothDefineTheResult) {
    std::mt19937 rng(99);
    const auto frames = trafficgen::generate({.seed = 8, .count = 60});
    size_t programs = 0;
    while (programs < 1500) {
        const cbpf::Program prog = cbpf_test::random_program(rng);
        if (!libpcap_comparable(prog)) continue;
        ++programs;
        const cbpf_test::ConvertedRunner runner(prog);
        for (size_t n = 0; n < frames.size(); ++n) {
            cbpf::Packet p;
            p.data = frames[n].bytes;
            const uint32_t theirs = cbpf_test::libpcap_filter(prog, frames[n].bytes);
            ASSERT_EQ(cbpf::run(prog, p), theirs) << cbpf::format_bytecode(prog) << ", frame " << n << "\n" << cbpf::disassemble(prog);
            ASSERT_EQ(runner.run(p, cbpf_test::Engine::Jit), theirs) << cbpf::format_bytecode(prog) << ", frame " << n;
        }
    }
}
