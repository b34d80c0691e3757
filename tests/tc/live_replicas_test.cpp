// Pipeline replicas as live workers use them (no devices needed): the commands applied through one
// tc::SharedLoads give every replica the same program instance — the same program id in `filter show`,
// the same maps — and each replica runs as its own CPU, so a per-CPU map counts each one's packets in
// its own slot. A replica asking for a program the recorded command did not load is refused.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <regex>
#include <thread>

#include <fmt/format.h>

#include "tcbpf/error.h"
#include "tcbpf/maps.h"
#include "tcbpf/tc.h"

namespace tcbpf::test {
namespace {

namespace fs = std::filesystem;

const std::string kPolicyObject = std::string(TCBPF_EXAMPLES_DIR) + "/demo_policy.o";

// Ethernet + IPv4 + UDP 10.0.0.1:1000 → 10.0.0.2:2000 with 8 payload bytes.
std::vector<uint8_t> udp_frame() {
    std::vector<uint8_t> f(14 + 20 + 8 + 8, 0);
    f[12] = 0x08;
    const uint8_t ip[20] = {0x45, 0, 0, 36, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
    std::memcpy(f.data() + 14, ip, sizeof ip);
    const uint8_t udp[8] = {0x03, 0xe8, 0x07, 0xd0, 0, 16, 0, 0};
    std::memcpy(f.data() + 34, udp, sizeof udp);
    return f;
}

std::string program_id(const std::string& show) {
    std::smatch m;
    return std::regex_search(show, m, std::regex(" id ([0-9]+)")) ? m[1].str() : "none";
}

class Replicas : public ::testing::Test {
   protected:
    void SetUp() override {
        if (!fs::exists(kPolicyObject)) GTEST_SKIP() << "clang did not build " << kPolicyObject;
        pins = fs::temp_directory_path() / fmt::format("tcbpf-replicas-{}", getpid());
        for (auto& r : replicas) r = std::make_unique<tc::Pipeline>(tc::PipelineOptions{.checked = false, .bpffs = pins.string()});
    }
    void TearDown() override { fs::remove_all(pins); }

    void apply_to_all(const std::string& line) {
        tc::SharedLoads loads;
        const tc::Command command = tc::parse_command(tc::split_batch_line(line));
        for (auto& r : replicas) r->apply(command, loads);
    }

    fs::path pins;
    std::unique_ptr<tc::Pipeline> replicas[2];
};

TEST_F(Replicas, ShareOneProgramAndCountPerCpu) {
    for (const char* line : {"port add eth0 type pcap", "port add eth1 type pcap", "port peer eth0 eth1", "qdisc add dev eth0 clsact"})
        apply_to_all(line);
    apply_to_all("filter add dev eth0 ingress pref 10 bpf da obj " + kPolicyObject + " sec tc");
    const tc::Command show = tc::parse_command({"filter", "show", "dev", "eth0", "ingress"});
    const std::string id = program_id(replicas[0]->show(show));
    EXPECT_NE(id, "none");
    EXPECT_EQ(program_id(replicas[1]->show(show)), id);

    replicas[0]->set_cpu(0);
    replicas[1]->set_cpu(1);
    const std::vector<uint8_t> f = udp_frame();
    for (int i = 0; i < 2; ++i) replicas[0]->receive(2, f, 1000);
    for (int i = 0; i < 3; ++i) replicas[1]->receive(2, f, 1000);
    const auto flows = maps::open_pinned_map((pins / "tc/globals/demo_flows").string());
    ASSERT_GE(flows->ncpus(), 2u);
    std::vector<uint8_t> key(40, 0), value(flows->user_value_size());
    key[10] = key[11] = key[26] = key[27] = 0xff;
    const uint8_t addresses[] = {10, 0, 0, 1, 10, 0, 0, 2};
    std::memcpy(key.data() + 12, addresses, 4);
    std::memcpy(key.data() + 28, addresses + 4, 4);
    const uint8_t ports[] = {0x03, 0xe8, 0x07, 0xd0, 17, 4};
    std::memcpy(key.data() + 32, ports, sizeof ports);
    ASSERT_EQ(flows->lookup_user(key.data(), value.data()), 0);
    uint64_t cpu0 = 0, cpu1 = 0;
    std::memcpy(&cpu0, value.data(), 8);       // slot 0: packets
    std::memcpy(&cpu1, value.data() + 16, 8);  // slot 1 (16-byte values)
    EXPECT_EQ(cpu0, 2u);
    EXPECT_EQ(cpu1, 3u);
}

TEST_F(Replicas, AReplicaAskingForAnotherProgramIsRefused) {
    for (const char* line : {"port add eth0 type pcap", "qdisc add dev eth0 clsact"}) apply_to_all(line);
    tc::SharedLoads loads;
    replicas[0]->apply(tc::parse_command(tc::split_batch_line("filter add dev eth0 ingress bpf da obj " + kPolicyObject + " sec tc")), loads);
    try {
        replicas[1]->apply(tc::parse_command(tc::split_batch_line("filter add dev eth0 ingress bpf obj " + kPolicyObject + " sec classifier")), loads);
        ADD_FAILURE() << "the replica took a program the recorded command did not load";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("replica asked for program ", 0), 0u) << e.what();
    }
    // A refused first apply records nothing: the same loads then serve a command that succeeds.
    tc::SharedLoads fresh;
    const std::string good = "filter add dev eth0 egress bpf da obj " + kPolicyObject + " sec tc";
    EXPECT_THROW(replicas[0]->apply(tc::parse_command(tc::split_batch_line("filter add dev eth9 ingress bpf da obj " + kPolicyObject)), fresh), Error);
    for (auto& r : replicas) EXPECT_NO_THROW(r->apply(tc::parse_command(tc::split_batch_line(good)), fresh));
    const tc::Command show = tc::parse_command({"filter", "show", "dev", "eth0", "egress"});
    EXPECT_EQ(program_id(replicas[0]->show(show)), program_id(replicas[1]->show(show)));
}

TEST_F(Replicas, WorkersReplayingOneCommandAtOnceEachGetEveryProgram) {
    // As live workers apply a command: recorded once, then replayed by every replica at the same time.
    // Each replay walks the recorded programs from the first, whatever the others are doing.
    for (const char* line : {"port add eth0 type pcap", "qdisc add dev eth0 clsact"}) apply_to_all(line);
    tc::Pipeline recorder(tc::PipelineOptions{.checked = false, .bpffs = pins.string()});
    for (const char* line : {"port add eth0 type pcap", "qdisc add dev eth0 clsact"})
        recorder.apply(tc::parse_command(tc::split_batch_line(line)));
    for (int round = 0; round < 200; ++round) {
        const tc::Command command = tc::parse_command(tc::split_batch_line(fmt::format(
            "filter add dev eth0 ingress pref {} bpf bytecode \"1,6 0 0 {}\" action bpf bytecode \"1,6 0 0 0\"",
            round + 1, round)));
        tc::SharedLoads loads;
        recorder.apply(command, loads);
        std::atomic<int> ready{0};
        std::string failure[2];
        std::vector<std::thread> workers;
        for (int w = 0; w < 2; ++w)
            workers.emplace_back([&, w] {
                ++ready;
                while (ready.load() < 2) {}
                try {
                    replicas[w]->apply(command, loads);
                } catch (const Error& e) {
                    failure[w] = e.what();
                }
            });
        for (std::thread& t : workers) t.join();
        ASSERT_EQ(failure[0], "") << "round " << round;
        ASSERT_EQ(failure[1], "") << "round " << round;
    }
}

}  // namespace
}  // namespace tcbpf::test
