// `tcbpf prog run|verify|dump` with classic BPF in place of an object: tc's `bytecode STRING` and
// `bytecode-file FILE`, and a libpcap `filter EXPRESSION` — the same per-frame lines as for an
// object, the cBPF and its conversion side by side in dump, and an exact error line (exit 1) for
// every kind of bad input, usage errors (exit 2) for misplaced keywords.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tcbpf/pcap.h"
#include "tests/cli/cli_fixture.h"

namespace {

using Bytes = std::vector<uint8_t>;

constexpr const char* kIpBytecode = "4,40 0 0 12,21 0 1 2048,6 0 0 65535,6 0 0 0";

Bytes frame(uint16_t ethertype, size_t size) {
    Bytes f(size, 0x11);
    f[12] = static_cast<uint8_t>(ethertype >> 8);
    f[13] = static_cast<uint8_t>(ethertype);
    return f;
}

class ProgCbpfCli : public tcbpf::test::CliFixture {
   protected:
    // IPv4, ARP, IPv6 (54 bytes: test_run's IPv6 minimum), and a 10-byte runt test_run refuses.
    std::string capture() {
        const std::vector<Bytes> frames = {frame(0x0800, 60), frame(0x0806, 42), frame(0x86dd, 54), Bytes(10, 0)};
        std::vector<tcbpf::io::Frame> out;
        for (size_t i = 0; i < frames.size(); ++i) out.push_back({1000 * (i + 1), static_cast<uint32_t>(frames[i].size()), frames[i]});
        tcbpf::io::write_pcap((dir / "in.pcap").string(), out);
        return (dir / "in.pcap").string();
    }
    // The `ret=` of each frame line, "err" for refused frames.
    static std::vector<std::string> verdicts(const std::string& out) {
        std::vector<std::string> v;
        std::istringstream lines(out);
        for (std::string line; std::getline(lines, line);) {
            if (line.rfind("summary", 0) == 0) continue;
            const size_t ret = line.find(" ret="), err = line.find(" err=");
            v.push_back(err != std::string::npos ? "err" : line.substr(ret + 5, line.find(' ', ret + 1) - ret - 5));
        }
        return v;
    }
};

}  // namespace

TEST_F(ProgCbpfCli, BytecodeFileAndFilterRunLikeAnObject) {
    const std::string pcap = capture();
    const std::vector<std::string> want = {"65535", "0", "0", "err"};
    const auto bytecode = tcbpf(fmt::format("prog run bytecode '{}' --pcap {}", kIpBytecode, pcap));
    ASSERT_EQ(bytecode.status, 0) << bytecode.err;
    EXPECT_EQ(verdicts(bytecode.out), want);
    EXPECT_NE(bytecode.out.find("summary packets=4 errors=1\n"), std::string::npos) << bytecode.out;

    // tcpdump -ddd's layout: the count, then one instruction per line.
    const std::string file = write("ip.bpf", "4\n40 0 0 12\n21 0 1 2048\n6 0 0 65535\n6 0 0 0\n");
    const auto from_file = tcbpf(fmt::format("prog run bytecode-file {} --pcap {}", file, pcap));
    ASSERT_EQ(from_file.status, 0) << from_file.err;
    EXPECT_EQ(from_file.out, bytecode.out);

    // libpcap's "ip" returns 262144 (its snap length) instead; words after `filter` form the expression.
    const auto filter = tcbpf(fmt::format("prog run filter ip or ip6 --pcap {}", pcap));
    ASSERT_EQ(filter.status, 0) << filter.err;
    EXPECT_EQ(verdicts(filter.out), (std::vector<std::string>{"262144", "0", "262144", "err"}));
}

TEST_F(ProgCbpfCli, VerifyTakesEveryClassicForm) {
    // The converted program is what tcbpf's verifier judges, whichever way the cBPF came in.
    const std::string file = write("ip.bpf", "4\n40 0 0 12\n21 0 1 2048\n6 0 0 65535\n6 0 0 0\n");
    const auto from_file = tcbpf("prog verify bytecode-file " + file);
    ASSERT_EQ(from_file.status, 0) << from_file.err;
    EXPECT_NE(from_file.out.find("prog bytecode (section classifier): verified"), std::string::npos) << from_file.out;
    const auto filter = tcbpf("prog verify filter 'tcp port 80 and not src net 10.0.0.0/8' type action");
    ASSERT_EQ(filter.status, 0) << filter.err;
    EXPECT_NE(filter.out.find("prog filter (section action): verified"), std::string::npos) << filter.out;
    const auto bad = tcbpf("prog verify filter 'tcp port'");
    EXPECT_EQ(bad.status, 1);
    EXPECT_EQ(bad.err, "tcbpf: filter 'tcp port': can't parse filter expression: syntax error\n");
}

TEST_F(ProgCbpfCli, AncillaryLoadsSeeTheTestRunSkb) {
    // hatype: a test run happens on loopback (ARPHRD_LOOPBACK 772); type action is accepted.
    const auto r = tcbpf(fmt::format("prog run bytecode '2,32 0 0 4294963228,22 0 0 0' type action --pcap {}", capture()));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(verdicts(r.out), (std::vector<std::string>{"772", "772", "772", "err"}));
}

TEST_F(ProgCbpfCli, DumpShowsTheClassicProgramThenItsConversion) {
    const auto r = tcbpf(fmt::format("prog dump bytecode '{}'", kIpBytecode));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out,
              "cBPF:\n"
              "(000) ldh      [12]\n"
              "(001) jeq      #0x800           jt 2\tjf 3\n"
              "(002) ret      #65535\n"
              "(003) ret      #0\n"
              "eBPF:\n"
              "bytecode (section classifier):\n"
              " 0: w2 = *(u32 *)(r1 + 76)\n"
              " 1: w3 = *(u32 *)(r1 + 80)\n"
              " 2: r4 = r2\n"
              " 3: r4 += 14\n"
              " 4: if r4 > r3 goto +7\n"
              " 5: w0 = *(u16 *)(r2 + 12)\n"
              " 6: r0 = be16 r0\n"
              " 7: if w0 != 2048 goto +2\n"
              " 8: w0 = 65535\n"
              " 9: exit\n"
              "10: w0 = 0\n"
              "11: exit\n"
              "12: w0 = 0\n"
              "13: exit\n");
    const auto filter = tcbpf("prog dump filter 'udp'");
    ASSERT_EQ(filter.status, 0) << filter.err;
    EXPECT_EQ(filter.out.rfind("cBPF:\n(000) ldh      [12]\n", 0), 0u) << filter.out;
    EXPECT_NE(filter.out.find("eBPF:\nfilter (section classifier):\n"), std::string::npos) << filter.out;
}

TEST_F(ProgCbpfCli, BadClassicInputIsOneErrorLine) {
    const std::string pcap = capture();
    const std::pair<std::string, std::string> cases[] = {
        {"bytecode '2,40 0 0 12,6 0 0'", "tcbpf: bytecode: instruction 1: '6 0 0' needs 4 fields (code jt jf k)\n"},
        {"bytecode '3,6 0 0 1'", "tcbpf: bytecode: the count says 3 instructions but 1 follow\n"},
        {"bytecode '2,52 0 0 0,6 0 0 1'", "tcbpf: cBPF insn 0: division by constant zero\n"},
        {"filter 'tcp port'", "tcbpf: filter 'tcp port': can't parse filter expression: syntax error\n"},
        {"bytecode-file " + (dir / "missing.bpf").string(),
         "tcbpf: " + (dir / "missing.bpf").string() + ": cannot open: No such file or directory\n"},
    };
    for (const auto& [source, message] : cases) {
        const auto r = tcbpf(fmt::format("prog run {} --pcap {}", source, pcap));
        EXPECT_EQ(r.status, 1) << source;
        EXPECT_EQ(r.err, message) << source;
        EXPECT_EQ(r.out, "") << source;
    }
}

TEST_F(ProgCbpfCli, MisplacedKeywordsAreUsageErrors) {
    const std::string pcap = capture();
    const auto missing = tcbpf(fmt::format("prog run bytecode --pcap {}", pcap));
    EXPECT_EQ(missing.status, 2);
    EXPECT_NE(missing.err.find("'bytecode' needs a value"), std::string::npos) << missing.err;
    const auto sec = tcbpf(fmt::format("prog run bytecode '1,6 0 0 1' sec x --pcap {}", pcap));
    EXPECT_EQ(sec.status, 2);
    EXPECT_NE(sec.err.find("unexpected 'sec' after bytecode (expected type T)"), std::string::npos) << sec.err;
}
