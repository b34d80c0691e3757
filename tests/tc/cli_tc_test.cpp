// The tc command line of `tcbpf`: tc's messages and exit statuses, lone commands without a pipeline,
// and `run -batch` printing tc's -s statistics and the per-packet trace.
#include <filesystem>

#include <fmt/format.h>

#include "tcbpf/pcap.h"
#include "tests/cli/cli_fixture.h"

namespace tcbpf::test {
namespace {

class TcCli : public CliFixture {
   protected:
    // Two frames: the first passes (A = 0), the second is dropped by the setup's filter (A = 2).
    std::string capture() {
        std::vector<io::Frame> frames;
        for (uint32_t a : {0u, 2u}) {
            std::vector<uint8_t> f = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, 0, 0, 0, static_cast<uint8_t>(a)};
            f.resize(60);
            frames.push_back(io::Frame{1000 + a, 60, f});
        }
        const std::string path = (dir / "in.pcap").string();
        io::write_pcap(path, frames);
        return path;
    }
};

// Maps an object pins (policy.c pins policy_map by name) live under run's --bpffs directory, in
// iproute2's layout, so another process can update the policy between runs.
TEST_F(TcCli, RunPinsTheObjectsMapsUnderBpffs) {
    const std::string in = capture();
    const std::filesystem::path bpffs = dir / "bpffs";
    const std::string setup = write("pinned.tc", fmt::format(
        "port add eth0 type pcap in {}\n"
        "qdisc add dev eth0 clsact\n"
        "filter add dev eth0 ingress bpf da obj {}/policy.o sec tc\n", in, TCBPF_EXAMPLES_DIR));
    const Outcome o = tcbpf("run -batch " + setup + " --bpffs " + bpffs.string());
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_TRUE(std::filesystem::exists(bpffs / "tc/globals/policy_map"));
    EXPECT_FALSE(std::filesystem::exists(bpffs / "tc/globals/policy_stats"));  // not pinned
}

#ifdef TCBPF_VERIFY_UNSAFE_OBJECT
// A filter whose program the verifier refuses is never attached: the batch stops at that line with the
// verifier's reason.
TEST_F(TcCli, AProgramTheVerifierRefusesIsNotAttached) {
    const std::string setup = write("unsafe.tc", fmt::format(
        "port add eth0 type pcap in {}\n"
        "qdisc add dev eth0 clsact\n"
        "filter add dev eth0 ingress bpf da obj {} sec tc/unchecked\n", capture(), TCBPF_VERIFY_UNSAFE_OBJECT));
    const Outcome o = tcbpf("run -batch " + setup);
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.err.find("verifier rejects insn 1: invalid access to packet"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("Command failed " + setup + ":3"), std::string::npos) << o.err;
}
#endif

TEST_F(TcCli, BpffsNeedsADirectory) {
    const Outcome o = tcbpf("run -batch x.tc --bpffs");
    EXPECT_EQ(o.status, 255);
    EXPECT_EQ(o.err, "Option \"--bpffs\" needs a directory\n");
}

TEST_F(TcCli, ALoneCommandSaysThereIsNoPipeline) {
    const Outcome o = tcbpf("filter add dev eth0 ingress bpf da bc '1,6 0 0 0,'");
    EXPECT_EQ(o.status, 1);
    EXPECT_EQ(o.err,
              "tcbpf: no running pipeline to change (pipelines live inside `tcbpf run -batch SETUP`; put this command in the "
              "setup file)\n");
}

TEST_F(TcCli, SyntaxErrorsGiveTcsMessageAndExitStatus) {
    const Outcome o = tcbpf("filter add dev eth0 ingress pref 70000 bpf da bc '1,6 0 0 0,'");
    EXPECT_EQ(o.status, 255);
    EXPECT_EQ(o.err, "Error: argument \"70000\" is wrong: invalid priority value\n");
    const Outcome q = tcbpf("-s qdisc frob");
    EXPECT_EQ(q.status, 255);
    EXPECT_EQ(q.err, "Command \"frob\" is unknown, try \"tc qdisc help\".\n");
}

TEST_F(TcCli, RunPushesTheCapturesThroughAndPrintsStatistics) {
    const std::string in = capture();
    const std::string setup = write("setup.tc", fmt::format(
        "# bump in the wire\n"
        "port add eth0 type pcap in {} host {}\n"
        "qdisc add dev eth0 clsact\n"
        "filter add dev eth0 ingress bpf da bytecode '2,48 0 0 17,22 0 0 0,'\n", in, (dir / "host.pcap").string()));
    const Outcome o = tcbpf("run -batch " + setup + " -s");
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.out,
              "port eth0 ifindex 2\n"
              "qdisc noqueue 0: root refcnt 2 \n"
              " Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) \n"
              " backlog 0b 0p requeues 0\n"
              "qdisc clsact ffff: parent ffff:fff1 \n"
              " Sent 92 bytes 2 pkt (dropped 1, overlimits 0 requeues 0) \n"  // 2 × (60 - 14): skb->len at ingress
              " backlog 0b 0p requeues 0\n"
              "filter ingress protocol all pref 49152 bpf chain 0 \n"
              "filter ingress protocol all pref 49152 bpf chain 0 handle 0x1 bytecode '2,48 0 0 17,22 0 0 0,' direct-action "
              "not_in_hw \n");
    EXPECT_EQ(io::read_pcap((dir / "host.pcap").string()).size(), 1u);
}

TEST_F(TcCli, TraceSaysWhatDecided) {
    const std::string in = capture();
    const std::string setup = write("setup.tc", fmt::format(
        "port add eth0 type pcap in {}\nqdisc add dev eth0 clsact\n"
        "filter add dev eth0 ingress bpf da bytecode '2,48 0 0 17,22 0 0 0,'\n", in));
    const Outcome o = tcbpf("run -batch " + setup + " --trace");
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.out.substr(0, o.out.find("port eth0")),
              "frame 1 eth0 ingress: filter pref 49152 handle 0x1 bpf da returned 0 -> pass\n"
              "frame 1 eth0: delivered to host\n"
              "frame 2 eth0 ingress: filter pref 49152 handle 0x1 bpf da returned 2 -> drop\n"
              "frame 2 eth0 ingress: dropped\n");
}

TEST_F(TcCli, ABatchStopsAtTheFirstFailingLine) {
    const std::string setup = write("setup.tc", "port add eth0 type pcap\nqdisc add dev eth0 clsact\n\nqdisc add dev eth0 clsact\n");
    const Outcome o = tcbpf("run -batch " + setup);
    EXPECT_EQ(o.status, 1);
    EXPECT_EQ(o.err, "Error: Exclusivity flag on, cannot modify.\nRTNETLINK answers: File exists\nCommand failed " + setup + ":4\n");
}

TEST_F(TcCli, ACorruptCaptureStopsTheRunNamingTheFile) {
    const std::string bad = write("bad.pcap", "not a pcap\n");
    const std::string setup = write("setup.tc", "port add eth0 type pcap in " + bad + "\n");
    const Outcome o = tcbpf("run -batch " + setup);
    EXPECT_EQ(o.status, 2);
    EXPECT_EQ(o.err, bad + ": not a readable capture: libpcap: unknown file format\n");
}

TEST_F(TcCli, ShowLinesInABatchPrintAsTheyCome) {
    const std::string setup = write("setup.tc", "port add eth0 type pcap\nqdisc add dev eth0 root handle 1: prio\nqdisc show dev eth0\n");
    const Outcome o = tcbpf("-batch " + setup);
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.out, "qdisc prio 1: root refcnt 2 bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1 \n");
}

}  // namespace
}  // namespace tcbpf::test
