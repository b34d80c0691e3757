// `tcbpf prog run|show|dump` as a user runs them: exit codes, exact output lines, and the exact error
// lines for bad map-init files, missing sections, corrupt captures and bad keywords.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "tcbpf/pcap.h"
#include "tests/cli/cli_fixture.h"
#include "tcbpf/skb.h"

namespace {

using tcbpf::test::Outcome;
using Bytes = std::vector<uint8_t>;



std::string example(const std::string& name) { return std::string(TCBPF_EXAMPLES_DIR) + "/" + name + ".o"; }

// Ethernet + IPv4 10.0.0.1 → 10.0.0.2 + UDP 1000 → dport, 64 bytes.
Bytes udp_frame(uint16_t dport) {
    Bytes f(64, 0);
    const uint8_t head[] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 50, 0, 1, 0, 0,
                            64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x03, 0xe8};
    std::memcpy(f.data(), head, sizeof head);
    f[36] = static_cast<uint8_t>(dport >> 8), f[37] = static_cast<uint8_t>(dport);
    return f;
}

std::string hash_of(const Bytes& frame) { return fmt::format("{:016x}", tcbpf::skb::fnv1a64(frame)); }

// The policy example's key for udp_frame(53).
const std::string kPolicyKey = "00000000000000000000ffff0a00000100000000000000000000ffff0a00000203e8003511040000";

class ProgCli : public tcbpf::test::CliFixture {
   protected:
    std::string pcap(const std::string& name, const std::vector<Bytes>& frames) {
        std::vector<tcbpf::io::Frame> out;
        for (size_t i = 0; i < frames.size(); ++i)
            out.push_back({1000 * (i + 1), static_cast<uint32_t>(frames[i].size()), frames[i]});
        tcbpf::io::write_pcap((dir / name).string(), out);
        return (dir / name).string();
    }
};

TEST_F(ProgCli, RunPrintsOneLinePerFrameAndASummary) {
    const std::string in = pcap("in.pcap", {udp_frame(53), Bytes(13, 0), udp_frame(8080)});
    const Outcome r = tcbpf("prog run " + example("port_classifier") + " --pcap " + in);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "0 ret=0 mark=0x0 prio=0x0 classid=0xa len_out=64 hash=" + hash_of(udp_frame(53)) + "\n" +
                         "1 err=frame of 13 bytes is shorter than 14\n"
                         "2 ret=0 mark=0x0 prio=0x0 classid=0x14 len_out=64 hash=" + hash_of(udp_frame(8080)) + "\n" +
                         "summary packets=3 errors=1\n");
}

TEST_F(ProgCli, MapInitDecidesAndDumpFeedsBack) {
    const std::string in = pcap("in.pcap", {udp_frame(53)});
    const std::string init = write("init.txt", "# verdict SHOT, 1:20, priority 7, mark 0x42\npolicy_map " + kPolicyKey +
                                                   " 0200000020000100070000004200000\n");
    Outcome r = tcbpf("prog run " + example("policy") + " sec policy_classifier --pcap " + in + " --map-init " + init);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "tcbpf: " + init + ":2: value '0200000020000100070000004200000' is not an even number of hex digits\n");

    write("init.txt", "# verdict SHOT, 1:20, priority 7, mark 0x42\npolicy_map " + kPolicyKey +
                          " 02000000200001000700000042000000\n");
    r = tcbpf("prog run " + example("policy") + " sec policy_classifier type classifier --pcap " + in +
              " --map-init " + init + " --dump-maps");
    ASSERT_EQ(r.status, 0) << r.err;
    const std::string dump = "policy_map " + kPolicyKey + " 02000000200001000700000042000000\n" +
                             "policy_stats 00000000 0100000000000000\n"
                             "policy_stats 01000000 0000000000000000\n"
                             "policy_stats 02000000 0000000000000000\n";
    EXPECT_EQ(r.out, "0 ret=2 mark=0x42 prio=0x7 classid=0x20 len_out=64 hash=" + hash_of(udp_frame(53)) + "\n" +
                         "summary packets=1 errors=0\n" + dump);

    // The dump is a valid map-init file: the hit counter continues from 1.
    const std::string again = write("dump.txt", dump);
    r = tcbpf("prog run " + example("policy") + " --pcap " + in + " --map-init " + again + " --dump-maps");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("policy_stats 00000000 0200000000000000\n"), std::string::npos) << r.out;
}

TEST_F(ProgCli, PerCpuMapsDumpOneLinePerCpu) {
    const std::string in = pcap("in.pcap", {udp_frame(53)});
    const Outcome r = tcbpf("prog run " + example("flow_counters") + " --pcap " + in + " --dump-maps");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("flow_stats " + kPolicyKey + " 01000000000000004000000000000000 cpu=0\n"), std::string::npos)
        << r.out;
}

TEST_F(ProgCli, BadMapInitLinesNameFileAndLine) {
    const std::string in = pcap("in.pcap", {udp_frame(53)});
    const std::string init = write("init.txt", "\npolicy_stats 01000000 0500000000000000 cpu=0\n");
    Outcome r = tcbpf("prog run " + example("policy") + " --pcap " + in + " --map-init " + init);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "tcbpf: " + init + ":2: map policy_stats is not per-CPU; drop 'cpu=0'\n");
    write("init.txt", "jump_table 00000000 00000000\n");
    r = tcbpf("prog run " + example("tail_dispatch") + " sec dispatch --pcap " + in + " --map-init " + init);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "tcbpf: " + init + ":1: map jump_table is a prog_array, which has no key/value contents to set\n");
}

TEST_F(ProgCli, MissingSectionListsWhatExists) {
    const std::string in = pcap("in.pcap", {udp_frame(53)});
    const Outcome r = tcbpf("prog run " + example("tail_dispatch") + " sec nope --pcap " + in);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "tcbpf: " + example("tail_dispatch") +
                         ": no section or program named nope; programs: handle_ipv4 (section tc), handle_ipv6 "
                         "(section tc), dispatch (section tc)\n");
}

TEST_F(ProgCli, CorruptCaptureIsAnErrorNamingTheFile) {
    const std::string in = write("bad.pcap", "this is not a capture file at all");
    const Outcome r = tcbpf("prog run " + example("pass_all") + " --pcap " + in);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err.rfind("tcbpf: " + in + ": ", 0), 0u) << r.err;
    EXPECT_EQ(r.out, "");
}

TEST_F(ProgCli, BadKeywordsAreUsageErrors) {
    const std::string in = pcap("in.pcap", {udp_frame(53)});
    Outcome r = tcbpf("prog run " + example("pass_all") + " type bogus --pcap " + in);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("type must be classifier or action, not 'bogus'"), std::string::npos) << r.err;
    r = tcbpf("prog run " + example("pass_all") + " flavour x --pcap " + in);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("unknown keyword 'flavour'"), std::string::npos) << r.err;
}

TEST_F(ProgCli, JsonRepeatAndOutputCapture) {
    const std::string in = pcap("in.pcap", {udp_frame(53), Bytes(13, 0)});
    const std::string out = (dir / "out.pcap").string();
    Outcome r = tcbpf("prog run " + example("port_classifier") + " --pcap " + in + " --json --out " + out);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "{\n  \"frames\": [\n"
                     "    {\"index\": 0, \"ret\": 0, \"mark\": 0, \"priority\": 0, \"classid\": 10, \"len_out\": 64, "
                     "\"hash\": \"" + hash_of(udp_frame(53)) + "\"},\n"
                     "    {\"index\": 1, \"error\": \"frame of 13 bytes is shorter than 14\"}\n"
                     "  ],\n  \"summary\": {\"packets\": 2, \"errors\": 1}\n}\n");
    const auto written = tcbpf::io::read_pcap(out);
    ASSERT_EQ(written.size(), 1u);  // the refused frame never ran
    EXPECT_EQ(written[0].bytes, udp_frame(53));

    r = tcbpf("prog run " + example("port_classifier") + " --pcap " + in + " --repeat 5");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(std::regex_search(r.out, std::regex("\nsummary packets=2 errors=1 avg_ns_per_run=[0-9]+\n$"))) << r.out;
}

TEST_F(ProgCli, ShowListsProgramsAndMaps) {
    const Outcome r = tcbpf("prog show " + example("tail_dispatch"));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "object " + example("tail_dispatch") + " license GPL\n" +
                         "prog handle_ipv4 section tc type classifier insns 15 bytes 120 maps dispatch_stats\n"
                         "prog handle_ipv6 section tc type classifier insns 14 bytes 112 maps dispatch_stats\n"
                         "prog dispatch section tc type classifier insns 67 bytes 536 maps jump_table,dispatch_stats\n"
                         "map jump_table type prog_array key 4 value 4 max_entries 3 flags 0x0\n"
                         "map dispatch_stats type array key 4 value 8 max_entries 3 flags 0x0\n");
}

TEST_F(ProgCli, DumpInterleavesSourceLines) {
    const Outcome r = tcbpf("prog dump " + example("tail_dispatch") + " sec dispatch");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out.substr(0, r.out.find(" 2: ")),
              "dispatch (section tc):\n"
              "; int dispatch(struct __sk_buff *skb)\n"
              " 0: r6 = r1\n"
              "; void *data_end = (void *)(long)skb->data_end;\n"
              " 1: w2 = *(u32 *)(r6 + 80)\n"
              "; void *data = (void *)(long)skb->data;\n");
}

}  // namespace
