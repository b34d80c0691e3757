// `tcbpf prog verify`: the verdict on each program of an object, with what verification cost on success,
// the kernel-style message (source line, instruction, reason) and exit 1 on rejection, and programs that
// verify but call helpers the runtime cannot run reported as such. verify_unsafe.o is compiled by clang
// from tests/cli/progs/verify_unsafe.c.
#include <gtest/gtest.h>

#include <regex>

#include "tcbpf/pcap.h"

#include "tests/cli/cli_fixture.h"

namespace {

const std::string kExamples = TCBPF_EXAMPLES_DIR;
const std::string kUnsafe = TCBPF_VERIFY_UNSAFE_OBJECT;
const std::string kUnsafeSource = TCBPF_VERIFY_UNSAFE_SOURCE;

class ProgVerifyCli : public tcbpf::test::CliFixture {};

// "prog NAME (section SEC): verified, N insns, ... usec" with the counters filled by the run.
std::string verified_line(const std::string& name, const std::string& section, size_t insns) {
    return "prog " + name + " \\(section " + section + "\\): verified, " + std::to_string(insns) +
           " insns, [0-9]+ insns processed, [0-9]+ states explored, [0-9]+ peak states \\([0-9]+ bytes\\), [0-9]+ usec\n";
}

TEST_F(ProgVerifyCli, AnAcceptedProgramPrintsWhatVerificationCost) {
    auto r = tcbpf("prog verify " + kExamples + "/flow_counters.o");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(std::regex_match(r.out, std::regex(verified_line("flow_counters", "tc", 141)))) << r.out;
    EXPECT_EQ(r.err, "");
}

TEST_F(ProgVerifyCli, EveryProgramOfTheObjectIsVerifiedUnlessOneIsSelected) {
    auto all = tcbpf("prog verify " + kExamples + "/tail_dispatch.o");
    EXPECT_EQ(all.status, 0) << all.err;
    EXPECT_NE(all.out.find("prog dispatch (section tc): verified"), std::string::npos) << all.out;
    EXPECT_NE(all.out.find("prog handle_ipv4 ("), std::string::npos) << all.out;
    EXPECT_NE(all.out.find("prog handle_ipv6 ("), std::string::npos) << all.out;
    auto one = tcbpf("prog verify " + kExamples + "/tail_dispatch.o sec tc type action");
    EXPECT_EQ(one.status, 0) << one.err;
    EXPECT_EQ(std::count(one.out.begin(), one.out.end(), '\n'), 1) << one.out;
}

TEST_F(ProgVerifyCli, ARejectionShowsSourceLineInstructionAndReasonAndExitsOne) {
    auto r = tcbpf("prog verify " + kUnsafe + " sec tc/unchecked");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "prog unchecked_read (section tc/unchecked): rejected at insn 1\n"
                     "; return data[12] == 0x08 ? TC_ACT_OK : TC_ACT_SHOT; @ " + kUnsafeSource + ":11\n"
                     "1: (71) w1 = *(u8 *)(r1 + 12)\n"
                     "invalid access to packet, off=12 size=1, R1(id=0,off=12,r=0)\n"
                     "R1 offset is outside of the packet\n");
    EXPECT_EQ(r.err, "tcbpf: " + kUnsafe + ": 1 of 1 programs rejected by the verifier (first: unchecked_read)\n");
}

// prog run verifies before anything runs: the program the verifier rejects never meets a frame, under
// either engine.
TEST_F(ProgVerifyCli, ProgRunRefusesAProgramTheVerifierRejects) {
    std::vector<tcbpf::io::Frame> frames(1);
    frames[0].bytes.assign(60, 0);
    frames[0].wire_len = 60;
    const std::string pcap = (dir / "one.pcap").string();
    tcbpf::io::write_pcap(pcap, frames);
    for (const char* engine : {"jit", "interp"}) {
        auto r = tcbpf("prog run " + kUnsafe + " sec tc/unchecked --pcap " + pcap + " --engine " + engine);
        EXPECT_EQ(r.status, 1) << engine;
        EXPECT_EQ(r.out, "") << engine;
        EXPECT_NE(r.err.find("verifier rejects insn 1: invalid access to packet"), std::string::npos) << engine << r.err;
    }
}

TEST_F(ProgVerifyCli, LogLevelOneShowsTheFailingPathWithRegisterStates) {
    auto r = tcbpf("prog verify " + kUnsafe + " sec tc/unchecked --log-level 1");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.out.find("1: R1=pkt(r=0) R10=fp0\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("prog unchecked_read (section tc/unchecked): rejected at insn 1: invalid access to packet"),
              std::string::npos) << r.out;
}

TEST_F(ProgVerifyCli, LogLevelTwoShowsTheStateAtEveryInstruction) {
    auto r = tcbpf("prog verify " + kExamples + "/pass_all.o --log-level 2");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("0: (b7) r0 = 0\n0: R0=0 R1=ctx() R10=fp0\n1: (95) exit\n"), std::string::npos) << r.out;
    EXPECT_TRUE(std::regex_search(r.out, std::regex(verified_line("pass_all", "tc", 2)))) << r.out;
}

TEST_F(ProgVerifyCli, AVerifiedProgramCallingAnUnimplementedHelperIsNotRunnable) {
    auto r = tcbpf("prog verify " + kUnsafe + " sec tc/jiffies");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(std::regex_match(r.out, std::regex(verified_line("jiffies_mark", "tc/jiffies", 5) +
                                                   "prog jiffies_mark: not runnable: calls helpers tcbpf cannot run: "
                                                   "bpf_jiffies64#118\n")))
        << r.out;
}

TEST_F(ProgVerifyCli, JsonCarriesTheVerdictCountersAndError) {
    auto ok = tcbpf("prog verify " + kUnsafe + " sec tc/jiffies --json");
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_NE(ok.out.find("\"verified\": true, \"runnable\": false, \"unrunnable_helpers\": [\"bpf_jiffies64#118\"]"),
              std::string::npos) << ok.out;
    auto bad = tcbpf("prog verify " + kUnsafe + " sec tc/unchecked --json");
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.out.find("\"error\": {\"insn\": 1, \"disasm\": \"w1 = *(u8 *)(r1 + 12)\", \"source\": \"return "
                           "data[12] == 0x08 ? TC_ACT_OK : TC_ACT_SHOT;\", \"message\": \"invalid access to packet"),
              std::string::npos) << bad.out;
}

TEST_F(ProgVerifyCli, ClassicBpfIsVerifiedAsConverted) {
    auto r = tcbpf("prog verify bytecode \"4,40 0 0 12,21 0 1 2048,6 0 0 65535,6 0 0 0\"");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("prog bytecode (section classifier): verified"), std::string::npos) << r.out;
}

TEST_F(ProgVerifyCli, BadArgumentsAreNamed) {
    auto missing = tcbpf("prog verify " + (dir / "nothing.o").string());
    EXPECT_EQ(missing.status, 1);
    EXPECT_EQ(missing.err, "tcbpf: " + (dir / "nothing.o").string() + ": cannot open: No such file or directory\n");
    auto level = tcbpf("prog verify " + kExamples + "/pass_all.o --log-level 3");
    EXPECT_EQ(level.status, 2);
    auto type = tcbpf("prog verify " + kExamples + "/pass_all.o type xdp");
    EXPECT_EQ(type.status, 2);
    EXPECT_NE(type.err.find("type must be classifier or action, not 'xdp'"), std::string::npos) << type.err;
    auto section = tcbpf("prog verify " + kExamples + "/pass_all.o sec nope");
    EXPECT_EQ(section.status, 1);
}

}  // namespace
