// The end-to-end comparison with the kernel: one batch of tc commands (a clsact qdisc and the demo's
// direct-action policy classifier on veth0's ingress) set up twice — with the real `tc` on a veth pair
// in a private network namespace, and in a tcbpf pipeline — the same generated frames sent through
// both, and then the same verdict counts (the clsact qdisc's packets and drops) and the same
// map contents (per-flow counters, CPUs summed; the policy map) required of both. A policy pinned
// before the traffic drops one flow, passes another with a priority and answers TC_ACT_UNSPEC for a
// third. Skips with the reason without root, network namespaces, tc or bpf().
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "generator.h"
#include "tcbpf/maps.h"
#include "tcbpf/tc.h"
#include "tests/support/netns.h"

namespace tcbpf::test {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

const std::string kObject = std::string(TCBPF_EXAMPLES_DIR) + "/demo_policy.o";

// The commands both sides run (OBJ: the object's path).
const std::vector<std::string> kBatch = {
    "qdisc add dev veth0 clsact",
    "filter add dev veth0 ingress pref 10 bpf da obj OBJ sec tc",
};

std::string with_object(std::string line) {
    const auto at = line.find("OBJ");
    if (at != std::string::npos) line.replace(at, 3, kObject);
    return line;
}

// struct flow_key of examples/progs/parse.h for an untagged IPv4 TCP/UDP frame that is not a fragment.
std::optional<Bytes> flow_key(const Bytes& f) {
    if (f.size() < 14 + 20 + 4 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4) return std::nullopt;
    const size_t ihl = (f[14] & 0xf) * 4u;
    const uint8_t proto = f[23];
    if (ihl < 20 || (proto != 6 && proto != 17) || ((f[20] & 0x1f) | f[21]) != 0 || f.size() < 14 + ihl + 4)
        return std::nullopt;
    Bytes key(40, 0);
    key[10] = key[11] = key[26] = key[27] = 0xff;
    std::copy(f.begin() + 26, f.begin() + 30, key.begin() + 12);  // saddr, IPv4-mapped
    std::copy(f.begin() + 30, f.begin() + 34, key.begin() + 28);  // daddr
    std::copy(f.begin() + 14 + static_cast<long>(ihl), f.begin() + 14 + static_cast<long>(ihl) + 4, key.begin() + 32);
    key[36] = proto;
    key[37] = 4;
    return key;
}

Bytes policy_value(int32_t verdict, uint32_t priority) {
    Bytes v(8);
    for (int i = 0; i < 4; ++i) v[i] = static_cast<uint8_t>(static_cast<uint32_t>(verdict) >> (8 * i));
    for (int i = 0; i < 4; ++i) v[4 + i] = static_cast<uint8_t>(priority >> (8 * i));
    return v;
}

std::string words(const Bytes& bytes) {
    std::string out;
    for (uint8_t b : bytes) out += fmt::format(" {}", b);
    return out;
}

struct Outcome {
    uint64_t packets = 0, bytes = 0, drops = 0;
    std::map<Bytes, std::pair<uint64_t, uint64_t>> flows;  // key → packets, bytes (CPUs summed)
    std::map<Bytes, Bytes> policy;
};

uint64_t u64_at(const Bytes& b, size_t at) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | b[at + static_cast<size_t>(i)];
    return v;
}

// Per-CPU counter values: CPU slots of 16 bytes (packets, bytes), summed.
std::pair<uint64_t, uint64_t> sum_counters(const Bytes& value) {
    std::pair<uint64_t, uint64_t> sum{0, 0};
    for (size_t at = 0; at + 16 <= value.size(); at += 16) sum.first += u64_at(value, at), sum.second += u64_at(value, at + 8);
    return sum;
}

uint64_t json_number(const std::string& json, const std::string& field) {
    std::smatch m;
    if (!std::regex_search(json, m, std::regex("\"" + field + "\":([0-9]+)"))) return UINT64_MAX;
    return std::stoull(m[1]);
}

class KernelEndToEnd : public ::testing::Test {
   protected:
    void SetUp() override {
        if (const std::string why = NetnsVeth::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
        if (!fs::exists(kObject)) GTEST_SKIP() << "clang did not build " << kObject;
        for (auto& f : trafficgen::generate({.seed = 11, .count = 1500})) {
            // What a veth can carry at all: a whole Ethernet header, at most MTU 1500 of payload.
            if (f.bytes.size() < 14 || f.bytes.size() > 1514) continue;
            frames_.push_back(f.bytes);
        }
        std::set<Bytes> seen;
        for (const Bytes& f : frames_)
            if (auto key = flow_key(f); key && seen.insert(*key).second && policies_.size() < 3) {
                static const std::pair<int32_t, uint32_t> kPolicies[] = {{2, 0}, {0, 2}, {-1, 1}};  // SHOT, OK, UNSPEC
                policies_.emplace_back(*key, policy_value(kPolicies[policies_.size()].first,
                                                          kPolicies[policies_.size()].second));
            }
        ASSERT_EQ(policies_.size(), 3u);
    }

    Outcome kernel_run() {
        NetnsVeth ns;
        for (const auto& line : kBatch) ns.run_checked("tc " + with_object(line));
        const std::string globals = ns.bpffs() + "/tc/globals/";
        for (const auto& [key, value] : policies_) {
            const CommandResult r =
                run_shell(fmt::format("bpftool map update pinned {}demo_policy key{} value{}", globals, words(key), words(value)));
            EXPECT_EQ(r.status, 0) << r.err;
        }
        ns.inject("veth1", frames_);  // out of veth1, into veth0's ingress
        Outcome out;
        std::string stats;
        for (int wait = 0; wait < 100; ++wait) {  // frames cross the veth asynchronously
            stats = ns.tc_json("qdisc show dev veth0 ingress");
            if (json_number(stats, "packets") >= frames_.size()) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        out.packets = json_number(stats, "packets");
        out.bytes = json_number(stats, "bytes");
        out.drops = json_number(stats, "drops");
        for (const auto& [key, value] : kernel_map_entries(globals + "demo_flows")) out.flows[key] = sum_counters(value);
        for (const auto& [key, value] : kernel_map_entries(globals + "demo_policy")) out.policy[key] = value;
        return out;
    }

    Outcome tcbpf_run() {
        const fs::path bpffs = fs::temp_directory_path() / fmt::format("tcbpf-e2e-{}", getpid());
        fs::remove_all(bpffs);
        fs::create_directories(bpffs / "tc/globals");
        ::setenv("TCBPF_BPFFS", bpffs.c_str(), 1);
        // The policy is pinned before the classifier loads, as on the kernel side it is pushed in
        // before any traffic; the load reuses the pinned map.
        auto policy = maps::pin_map(maps::MapSpec{maps::kMapHash, 40, 8, 4096, 0, "demo_policy"}, maps::default_ncpus(),
                                    (bpffs / "tc/globals/demo_policy").string());
        for (const auto& [key, value] : policies_) EXPECT_EQ(policy->update_user(key.data(), value.data(), maps::kBpfAny), 0);

        Outcome out;
        {
            tc::Pipeline pipeline;
            pipeline.execute({"port", "add", "veth0", "type", "pcap"});
            for (const auto& line : kBatch) pipeline.apply(tc::parse_command(tc::split_batch_line(with_object(line))));
            uint64_t t = 1'000'000'000;
            for (const Bytes& f : frames_) pipeline.receive(pipeline.ifindex("veth0"), f, t += 1000);
            pipeline.drain();
            const tc::Stats s = pipeline.qdisc_stats("veth0", tc::kClsactHandle);
            out.packets = s.packets, out.bytes = s.bytes, out.drops = s.drops;
            auto flows = maps::open_pinned_map((bpffs / "tc/globals/demo_flows").string());
            flows->for_each([&](std::span<const uint8_t> k, std::span<const uint8_t> v) {
                out.flows[Bytes(k.begin(), k.end())] = sum_counters(Bytes(v.begin(), v.end()));
            });
            policy->for_each([&](std::span<const uint8_t> k, std::span<const uint8_t> v) {
                out.policy[Bytes(k.begin(), k.end())] = Bytes(v.begin(), v.end());
            });
        }
        ::unsetenv("TCBPF_BPFFS");
        fs::remove_all(bpffs);
        return out;
    }

    std::vector<Bytes> frames_;
    std::vector<std::pair<Bytes, Bytes>> policies_;
};

TEST_F(KernelEndToEnd, SameVerdictCountsAndMapContentsAsTheKernel) {
    const Outcome kernel = kernel_run();
    const Outcome ours = tcbpf_run();
    EXPECT_EQ(kernel.packets, frames_.size()) << "the kernel saw fewer frames than were sent";
    EXPECT_EQ(ours.packets, kernel.packets);
    EXPECT_EQ(ours.drops, kernel.drops);
    EXPECT_GT(kernel.drops, 0u) << "the SHOT policy matched no frame";
    EXPECT_EQ(ours.policy, kernel.policy);
    EXPECT_EQ(ours.flows.size(), kernel.flows.size());
    size_t differing = 0;
    for (const auto& [key, counts] : kernel.flows) {
        const auto it = ours.flows.find(key);
        if (it == ours.flows.end() || it->second != counts) ++differing;
    }
    EXPECT_EQ(differing, 0u) << "flows whose counters differ (of " << kernel.flows.size() << ")";
}

// The kernel's ingress hook counts skb->len, which no longer includes the 14-byte Ethernet header (the MAC
// header is pulled before sch_handle_ingress); tcbpf's mini qdisc and actions count the same.
TEST_F(KernelEndToEnd, SameIngressByteCountsAsTheKernel) {
    const Outcome kernel = kernel_run();
    const Outcome ours = tcbpf_run();
    EXPECT_EQ(ours.bytes, kernel.bytes) << "difference per packet: "
                                        << (double(ours.bytes) - double(kernel.bytes)) / double(kernel.packets);
}

}  // namespace
}  // namespace tcbpf::test
