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
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "tcbpf/maps.h"
#include "tcbpf/tc.h"
#include "tests/support/netns.h"
#include "tests/tc/kernel_e2e_support.h"

namespace tcbpf::test {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

// The commands both sides run (OBJ: the object's path).
const std::vector<std::string> kBatch = {
    "qdisc add dev veth0 clsact",
    "filter add dev veth0 ingress pref 10 bpf da obj OBJ sec tc",
};

struct Outcome {
    uint64_t packets = 0, bytes = 0, drops = 0;
    FlowCounts flows;
    std::map<Bytes, Bytes> policy;
};

class KernelEndToEnd : public ::testing::Test {
   protected:
    void SetUp() override {
        if (const std::string why = NetnsVeth::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
        if (!fs::exists(kObject)) GTEST_SKIP() << "clang did not build " << kObject;
        frames_ = veth_frames(11, 1500);
        const std::vector<Bytes> keys = first_flows(frames_, 3);
        ASSERT_EQ(keys.size(), 3u);
        static const std::pair<int32_t, uint32_t> kPolicies[] = {{2, 0}, {0, 2}, {-1, 1}};  // SHOT, OK, UNSPEC
        for (size_t i = 0; i < keys.size(); ++i) policies_.emplace_back(keys[i], policy_value(kPolicies[i].first, kPolicies[i].second));
    }

    Outcome kernel_run() {
        NetnsVeth ns;
        for (const auto& line : kBatch) ns.run_checked("tc " + with_object(line));
        push_kernel_policies(ns, policies_);
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
        out.flows = kernel_flows(ns);
        for (const auto& [key, value] : kernel_map_entries(ns.bpffs() + "/tc/globals/demo_policy")) out.policy[key] = value;
        return out;
    }

    Outcome tcbpf_run() {
        TcbpfBpffs bpffs("e2e", policies_);
        Outcome out;
        tc::Pipeline pipeline;
        pipeline.execute({"port", "add", "veth0", "type", "pcap"});
        for (const auto& line : kBatch) pipeline.apply(tc::parse_command(tc::split_batch_line(with_object(line))));
        uint64_t t = 1'000'000'000;
        for (const Bytes& f : frames_) pipeline.receive(pipeline.ifindex("veth0"), f, t += 1000);
        pipeline.drain();
        const tc::Stats s = pipeline.qdisc_stats("veth0", tc::kClsactHandle);
        out.packets = s.packets, out.bytes = s.bytes, out.drops = s.drops;
        out.flows = bpffs.flows();
        bpffs.policy().for_each([&](std::span<const uint8_t> k, std::span<const uint8_t> v) {
            out.policy[Bytes(k.begin(), k.end())] = Bytes(v.begin(), v.end());
        });
        return out;
    }

    std::vector<Bytes> frames_;
    Policies policies_;
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
    EXPECT_EQ(differing_flows(kernel.flows, ours.flows), 0u) << "flows whose counters differ (of " << kernel.flows.size() << ")";
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
