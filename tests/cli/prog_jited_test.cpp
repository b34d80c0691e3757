// `prog run --engine` and `prog dump ... jited` as a user runs them.
#include <gtest/gtest.h>

#include <cstring>
#include <regex>
#include <vector>

#include "tcbpf/pcap.h"
#include "tests/cli/cli_fixture.h"

namespace {

using tcbpf::test::Outcome;
using Bytes = std::vector<uint8_t>;

std::string example(const std::string& name) { return std::string(TCBPF_EXAMPLES_DIR) + "/" + name + ".o"; }

class ProgEngineCli : public tcbpf::test::CliFixture {
   protected:
    // IPv4/UDP frames to the ports port_classifier sorts into different classes, plus ARP.
    std::string capture() {
        std::vector<tcbpf::io::Frame> frames;
        for (const uint16_t port : {53, 8080, 50000}) {
            Bytes f(64, 0);
            const uint8_t head[] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 50, 0, 1, 0, 0,
                                    64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x03, 0xe8};
            std::memcpy(f.data(), head, sizeof head);
            f[36] = static_cast<uint8_t>(port >> 8), f[37] = static_cast<uint8_t>(port);
            frames.push_back({1000 * (frames.size() + 1), 64, f});
        }
        Bytes arp(42, 0);
        arp[12] = 0x08, arp[13] = 0x06;
        frames.push_back({9000, 42, arp});
        tcbpf::io::write_pcap((dir / "in.pcap").string(), frames);
        return (dir / "in.pcap").string();
    }
};

TEST_F(ProgEngineCli, BothEnginesReportTheSameFrames) {
    const std::string in = capture();
    const Outcome jit = tcbpf("prog run " + example("port_classifier") + " --pcap " + in + " --engine jit");
    const Outcome interp = tcbpf("prog run " + example("port_classifier") + " --pcap " + in + " --engine interp");
    const Outcome default_engine = tcbpf("prog run " + example("port_classifier") + " --pcap " + in);
    ASSERT_EQ(jit.status, 0) << jit.err;
    ASSERT_EQ(interp.status, 0) << interp.err;
    EXPECT_EQ(jit.out, interp.out);
    EXPECT_EQ(default_engine.out, jit.out);
    EXPECT_EQ(jit.err, "");  // no fallback line: nothing fell back
    EXPECT_NE(jit.out.find("2 ret=0 mark=0x0 prio=0x0 classid=0x1e len_out=64"), std::string::npos) << jit.out;
}

TEST_F(ProgEngineCli, UnknownEngineIsAUsageError) {
    const Outcome r = tcbpf("prog run " + example("pass_all") + " --pcap " + capture() + " --engine native");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("--engine: native not in {jit,interp}"), std::string::npos) << r.err;
}

TEST_F(ProgEngineCli, DumpJitedShowsNativeCodeUnderEachInstruction) {
    const Outcome r = tcbpf("prog dump " + example("pass_all") + " jited");
    ASSERT_EQ(r.status, 0) << r.err;
    // `r0 = 0` (TC_ACT_OK) and `exit`, each followed by its x86 code. The entry is empty: nothing to
    // save, and r0 is written before anything reads it, so it is not zeroed first.
    const std::regex listing(
        "pass_all \\(section tc\\): [0-9]+ bytes of x86-64 code for 2 instructions\n"
        "; entry\n"
        "0: r0 = 0\n"
        "    +[0-9a-f]+:  xor eax, eax\n"
        "1: exit\n"
        "    +[0-9a-f]+:  ret\n");
    EXPECT_TRUE(std::regex_match(r.out, listing)) << r.out;
}

// Context accesses are shown rewritten (the code runs on tcbpf's skb context), helper calls as calls.
TEST_F(ProgEngineCli, DumpJitedOfAProgramWithHelpersAndTailCalls) {
    const Outcome r = tcbpf("prog dump " + example("tail_dispatch") + " sec handle_ipv4 jited");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("call 1\n"), std::string::npos) << r.out;  // bpf_map_lookup_elem
    EXPECT_NE(r.out.find("lock add qword ptr [rax], rdi\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("; cold paths\n"), std::string::npos) << r.out;
}

// Classic BPF as tc takes it is converted, then compiled like any other program.
TEST_F(ProgEngineCli, DumpJitedOfClassicBytecode) {
    const Outcome r = tcbpf("prog dump bytecode \"1,6 0 0 65535\" jited");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(r.out.starts_with("bytecode (section classifier): ")) << r.out;
    const size_t ret = r.out.find(": w0 = 65535\n");
    ASSERT_NE(ret, std::string::npos) << r.out;
    EXPECT_NE(r.out.find(":  mov eax, 0xffff\n"), std::string::npos) << r.out;
    EXPECT_GT(r.out.find(":  mov eax, 0xffff\n"), ret) << r.out;
}

TEST_F(ProgEngineCli, DumpJitedNamesAMissingSection) {
    const Outcome r = tcbpf("prog dump " + example("pass_all") + " sec nosuch jited");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "tcbpf: " + example("pass_all") +
                         ": no section or program named nosuch; programs: pass_all (section tc)\n");
}

}  // namespace
