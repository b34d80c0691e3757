// A running daemon configured through its socket: commands are applied and shown, bad requests are
// answered with errors and change nothing, `filter replace` with a program the verifier refuses keeps
// the old program, `save` reproduces the configuration, `filter replace` under traffic neither drops
// nor duplicates a packet, and the counters come out in Prometheus text format.
#include <fmt/format.h>

#include <set>

#include "tcbpf/pcap.h"
#include "tests/ctl/daemon_fixture.h"

namespace tcbpf::test {
namespace {

class DaemonConfig : public DaemonFixture {
   protected:
    // `count` frames numbered in their last four bytes, `gap_us` apart.
    std::string capture(const std::string& name, uint32_t count, uint64_t gap_us) {
        std::vector<io::Frame> frames;
        for (uint32_t i = 0; i < count; ++i) {
            std::vector<uint8_t> f = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
            f.resize(60);
            for (int b = 0; b < 4; ++b) f[56 + b] = static_cast<uint8_t>(i >> (8 * b));
            frames.push_back(io::Frame{1'000'000'000 + i * gap_us * 1000, 60, f});
        }
        const std::string path = (dir / name).string();
        io::write_pcap(path, frames);
        return path;
    }
    static uint32_t sequence(const io::Frame& f) {
        uint32_t v = 0;
        for (int b = 0; b < 4; ++b) v |= static_cast<uint32_t>(f.bytes[56 + b]) << (8 * b);
        return v;
    }
    // Polls the daemon's counters until the port's input is all taken.
    void wait_for_input(const Daemon& d, const std::string& port) {
        const std::string done = fmt::format("tcbpf_port_input_pending{{port=\"{}\"}} 0\n", port);
        for (int i = 0; i < 500; ++i) {
            if (client(d, "stats --prometheus").out.find(done) != std::string::npos) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ADD_FAILURE() << "the input of port " << port << " was not taken within 10 s";
    }
};

constexpr const char* kPassAll = "bc '1,6 0 0 0,'";          // ret 0: TC_ACT_OK with da
constexpr const char* kPassAllToo = "bc '2,40 0 0 12,6 0 0 0,'";  // ldh [12]; ret 0

TEST_F(DaemonConfig, CommandsAreAppliedAndShownWhileItRuns) {
    const Daemon& d = start("d", write("setup.tc", "port add eth0 type pcap\nqdisc add dev eth0 clsact\n"));
    Outcome o = ctl(d, fmt::format("filter add dev eth0 ingress bpf da {}", kPassAll));
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.out + o.err, "");
    o = ctl(d, "filter show dev eth0 ingress");
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_NE(o.out.find("filter protocol all pref 49152 bpf chain 0 handle 0x1 bytecode '1,6 0 0 0,' direct-action not_in_hw"), std::string::npos) << o.out;
    o = ctl(d, "qdisc show dev eth0");
    EXPECT_NE(o.out.find("qdisc clsact ffff: parent ffff:fff1"), std::string::npos) << o.out;
    // The log names each applied command.
    EXPECT_NE(slurp(d.log).find("info ctl.applied uid=" + std::to_string(::getuid()) + " cmd=\"filter add dev eth0 ingress bpf da bc"),
              std::string::npos) << slurp(d.log);
}

TEST_F(DaemonConfig, TheSocketCanComeFromTCBPF_CTL) {
    const Daemon& d = start("d", write("setup.tc", "port add eth0 type pcap\n"));
    const std::string cmd = "TCBPF_CTL=" + d.ctl + " " + TCBPF_BINARY + " qdisc add dev eth0 clsact 2>" + (dir / "err").string();
    EXPECT_EQ(std::system(cmd.c_str()), 0) << slurp(dir / "err");
    EXPECT_NE(ctl(d, "qdisc show").out.find("qdisc clsact ffff: dev eth0 parent ffff:fff1"), std::string::npos);
}

// tc -batch FILE goes to the daemon line by line, as tc sends it to the kernel: the lines before a
// failing one stay applied, the failing one changes nothing and is named.
TEST_F(DaemonConfig, ABatchFileGoesToTheDaemonLineByLine) {
    const Daemon& d = start("d", write("setup.tc", "port add eth0 type pcap\n"));
    const std::string batch = write("more.tc", "qdisc add dev eth0 clsact\n# a comment\n\nqdisc add dev eth7 clsact\nqdisc add dev eth0 root prio\n");
    const Outcome o = ctl(d, "-batch " + batch);
    EXPECT_EQ(o.status, 1);
    EXPECT_EQ(o.err, "Cannot find device \"eth7\"\nCommand failed " + batch + ":4\n");
    const std::string qdiscs = ctl(d, "qdisc show dev eth0").out;
    EXPECT_NE(qdiscs.find("qdisc clsact ffff:"), std::string::npos) << qdiscs;
    EXPECT_EQ(qdiscs.find("prio"), std::string::npos) << qdiscs;
}

// A file named relatively is the one where the command was typed, not where the daemon runs.
TEST_F(DaemonConfig, RelativeFileArgumentsAreTheClientsFiles) {
    const Daemon& d = start("d", write("setup.tc", "port add eth0 type pcap\nqdisc add dev eth0 clsact\n"));
    write("prog.bc", "1,6 0 0 0,");
    const std::string cmd = fmt::format("cd {} && {} --ctl {} filter add dev eth0 ingress bpf da bcf prog.bc 2>{}", dir.string(), TCBPF_BINARY,
                                        d.ctl, (dir / "err").string());
    EXPECT_EQ(std::system(cmd.c_str()), 0) << slurp(dir / "err");
    EXPECT_NE(client(d, "save").out.find("bcf " + (dir / "prog.bc").string() + "\n"), std::string::npos) << client(d, "save").out;
}

TEST_F(DaemonConfig, BadRequestsAreAnsweredAndChangeNothing) {
    const Daemon& d = start("d", write("setup.tc", fmt::format("port add eth0 type pcap\nqdisc add dev eth0 clsact\n"
                                                               "filter add dev eth0 ingress bpf da {}\n", kPassAll)));
    const std::string before = ctl(d, "filter show dev eth0 ingress").out;

    Outcome o = ctl(d, "filter add dev eth0 ingress pref 70000 bpf da bc '1,6 0 0 0,'");
    EXPECT_EQ(o.status, 255);
    EXPECT_EQ(o.err, "Error: argument \"70000\" is wrong: invalid priority value\n");
    o = ctl(d, "filter add dev eth9 ingress bpf da bc '1,6 0 0 0,'");
    EXPECT_EQ(o.status, 2);
    EXPECT_EQ(o.err, "Cannot find device \"eth9\"\n");
    o = ctl(d, "filter add dev eth0 ingress bpf da obj /nonexistent.o");
    EXPECT_EQ(o.status, 2);
    EXPECT_NE(o.err.find("/nonexistent.o"), std::string::npos) << o.err;

    // Garbage in a well-formed frame: answered, and the connection can go on.
    ctl::Response r = raw_exchange(d, {5, 0, 0, 0, 9, 9, 9, 9, 9});
    EXPECT_EQ(r.exit_status, 1);
    EXPECT_EQ(r.err, "control request: protocol version 9 is not supported (this daemon speaks 1) (at byte 1)\n");
    // A request larger than the limit: refused before its body is read.
    r = raw_exchange(d, {0x00, 0x00, 0x00, 0x01});
    EXPECT_EQ(r.err, "control frame: 16777216 bytes is too large (at most 65536)\n");

    EXPECT_EQ(ctl(d, "filter show dev eth0 ingress").out, before);
    EXPECT_NE(slurp(d.log).find("warn ctl.malformed"), std::string::npos);
    EXPECT_EQ(client(d, "status").status, 0);
}

#ifdef TCBPF_VERIFY_UNSAFE_OBJECT
TEST_F(DaemonConfig, AReplaceTheVerifierRefusesKeepsTheOldProgram) {
    const Daemon& d = start("d", write("setup.tc", fmt::format("port add eth0 type pcap\nqdisc add dev eth0 clsact\n"
                                                               "filter add dev eth0 ingress pref 1 handle 1 bpf da {}\n", kPassAll)));
    const std::string before = ctl(d, "filter show dev eth0 ingress").out;
    const Outcome o = ctl(d, fmt::format("filter replace dev eth0 ingress pref 1 handle 1 bpf da obj {} sec tc/unchecked",
                                         TCBPF_VERIFY_UNSAFE_OBJECT));
    EXPECT_EQ(o.status, 2);
    EXPECT_NE(o.err.find("verifier rejects insn 1: invalid access to packet"), std::string::npos) << o.err;
    EXPECT_EQ(ctl(d, "filter show dev eth0 ingress").out, before);
    EXPECT_NE(before.find("bytecode '1,6 0 0 0,'"), std::string::npos) << before;
}
#endif

TEST_F(DaemonConfig, SaveReproducesTheRunningConfiguration) {
    const Daemon& a = start("a", write("setup.tc", "port add eth0 type pcap\nport add eth1 type pcap\nport peer eth0 eth1\n"));
    for (const std::string& command : std::vector<std::string>{"qdisc add dev eth0 clsact", fmt::format("filter add dev eth0 ingress bpf da {}", kPassAll),
          fmt::format("filter add dev eth0 ingress bpf da {}", kPassAllToo), "filter del dev eth0 ingress pref 49152",
          "qdisc add dev eth1 root handle 1: htb default 10", "class add dev eth1 parent 1: classid 1:10 htb rate 5mbit",
          "actions add action gact drop index 7"})
        ASSERT_EQ(ctl(a, command).status, 0) << command << ": " << ctl(a, command).err;
    const Outcome saved = client(a, "save");
    ASSERT_EQ(saved.status, 0) << saved.err;
    EXPECT_NE(saved.out.find("filter add dev eth0 ingress bpf da bc 1,6\\ 0\\ 0\\ 0,\n"), std::string::npos) << saved.out;
    const Daemon& b = start("b", write("saved.tc", saved.out), "bpffs-b");
    for (const char* show : {"qdisc show", "class show dev eth1", "filter show dev eth0 ingress", "actions ls action gact"})
        EXPECT_EQ(ctl(b, show).out, ctl(a, show).out) << show;
}

TEST_F(DaemonConfig, FilterReplaceUnderTrafficNeitherDropsNorDuplicates) {
    constexpr uint32_t kFrames = 4000;
    const std::string in = capture("in.pcap", kFrames, 250);  // one second of traffic
    const std::string out = (dir / "out.pcap").string();
    Daemon& d = start("d", write("setup.tc", fmt::format("port add a type pcap in {}\nport add b type pcap out {}\nport peer a b\n"
                                                               "qdisc add dev a clsact\n"
                                                               "filter add dev a ingress pref 1 handle 1 bpf da {}\n", in, out, kPassAll)));
    int replaced = 0;
    for (int i = 0; i < 20; ++i) {
        const Outcome o = ctl(d, fmt::format("filter replace dev a ingress pref 1 handle 1 bpf da {}", i % 2 ? kPassAll : kPassAllToo));
        EXPECT_EQ(o.status, 0) << o.err;
        replaced += o.status == 0;
    }
    wait_for_input(d, "a");
    const std::string stats = client(d, "stats --prometheus").out;
    ::kill(d.pid, SIGTERM);
    ASSERT_EQ(wait_exit(d), 0) << slurp(d.log);
    const std::vector<io::Frame> frames = io::read_pcap(out);
    ASSERT_EQ(frames.size(), kFrames);
    for (uint32_t i = 0; i < kFrames; ++i) ASSERT_EQ(sequence(frames[i]), i) << "frame " << i;
    EXPECT_EQ(replaced, 20);
    EXPECT_NE(stats.find(fmt::format("tcbpf_port_rx_packets_total{{port=\"a\"}} {}\n", kFrames)), std::string::npos) << stats;
    EXPECT_NE(stats.find(fmt::format("tcbpf_port_tx_packets_total{{port=\"b\"}} {}\n", kFrames)), std::string::npos) << stats;
}

TEST_F(DaemonConfig, StatsInPrometheusTextFormat) {
    const std::string in = capture("in.pcap", 10, 100);
    const Daemon& d = start("d", write("setup.tc", fmt::format("port add a type pcap in {}\nqdisc add dev a clsact\n"
                                                               "filter add dev a ingress bpf da {}\n", in, "bc '1,6 0 0 2,'")));
    wait_for_input(d, "a");
    const Outcome o = client(d, "stats --prometheus");
    EXPECT_EQ(o.status, 0);
    for (const char* line : {"# HELP tcbpf_port_rx_packets_total Frames taken from the port's input.\n",
                             "# TYPE tcbpf_port_rx_packets_total counter\n",
                             "tcbpf_port_rx_packets_total{port=\"a\"} 10\n",
                             "tcbpf_port_rx_bytes_total{port=\"a\"} 600\n",
                             "# TYPE tcbpf_qdisc_packets_total counter\n",
                             "tcbpf_qdisc_packets_total{dev=\"a\",kind=\"clsact\",handle=\"ffff:\"} 10\n",
                             "tcbpf_qdisc_drops_total{dev=\"a\",kind=\"clsact\",handle=\"ffff:\"} 10\n",
                             "# TYPE tcbpf_qdisc_backlog_packets gauge\n",
                             "tcbpf_ctl_requests_total{result=\"malformed\"} 0\n"})
        EXPECT_NE(o.out.find(line), std::string::npos) << line << "\nin:\n" << o.out;
    const Outcome table = client(d, "stats");
    EXPECT_NE(table.out.find("a                          10          600            0            0            0"), std::string::npos) << table.out;
}

}  // namespace
}  // namespace tcbpf::test
