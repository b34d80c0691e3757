// A policy push of 10,000 entries while traffic flows (issue #8, live maps): tcbpf runs as a bump in the
// wire (A ⇄ tcbpf ⇄ B, two workers) with the example policy classifier (examples/progs/policy.c) on the
// A side's ingress, two UDP flows stream A→B, and another process — the real `tcbpf map -batch` — writes
// 10,000 policies for other flows into the pinned policy map, with one line in the middle that drops the
// second flow. Afterwards every pushed entry is in the map with its value, the kept flow lost and
// duplicated nothing, and every datagram of the dropped flow either arrived or was dropped by the policy
// (sent = received + dropped); none sent after the push returned arrived. Skips with the reason without
// root, namespaces or the BPF object.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "tcbpf/live.h"
#include "tcbpf/pinned_map.h"
#include "tests/support/netns.h"
#include "tests/support/scratch_dir.h"
#include "tests/tc/live_topology.h"

namespace tcbpf::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kPolicyObject = std::string(TCBPF_EXAMPLES_DIR) + "/policy.o";
constexpr uint16_t kKeptSource = 5555, kDroppedSource = 5556, kSinkPort = 7040;
constexpr uint32_t kPushed = 10000;
constexpr int32_t kActOk = 0, kActShot = 2;

// struct flow_key and struct policy of examples/progs/parse.h and policy.c.
struct FlowKey {
    uint8_t saddr[16] = {};
    uint8_t daddr[16] = {};
    uint16_t sport = 0, dport = 0;  // network order
    uint8_t proto = 0, family = 0, pad[2] = {};
};
struct Policy {
    int32_t verdict = 0;
    uint32_t classid = 0, priority = 0, mark = 0;
    bool operator==(const Policy&) const = default;
};
static_assert(sizeof(FlowKey) == 40 && sizeof(Policy) == 16);

FlowKey udp_flow(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport) {
    FlowKey key;
    key.saddr[10] = key.saddr[11] = key.daddr[10] = key.daddr[11] = 0xff;  // IPv4-mapped
    inet_pton(AF_INET, src.c_str(), key.saddr + 12);
    inet_pton(AF_INET, dst.c_str(), key.daddr + 12);
    key.sport = htons(sport);
    key.dport = htons(dport);
    key.proto = IPPROTO_UDP;
    key.family = 4;
    return key;
}

// The i-th pushed policy: a flow from A's address to B's port 20000 + i, none of which the stream uses,
// with a value of its own so that a swapped or stale value shows.
FlowKey pushed_key(const LiveTopology& topology, uint32_t i) {
    return udp_flow(topology.address('A'), kKeptSource, topology.address('B'), static_cast<uint16_t>(20000 + i));
}
Policy pushed_policy(uint32_t i) { return {kActOk, 0x10000u | (i + 1), i % 4, 0x7c000000u | i}; }

template <typename T>
std::string hex_bytes(const T& object) {
    std::string out = "hex";
    const auto* bytes = reinterpret_cast<const uint8_t*>(&object);
    for (size_t i = 0; i < sizeof(T); ++i) out += fmt::format(" {:02x}", bytes[i]);
    return out;
}

// Receives the stream at B: datagrams carry their sequence number (4 bytes) and flow (the 5th byte, 0 for
// kept, 1 for dropped); every arrival is recorded, so duplicates show.
class StreamSink {
   public:
    StreamSink(const LiveTopology& topology) {
        topology.in('B', [&] { fd_ = udp_socket_bound(topology.address('B'), kSinkPort); });
        thread_ = std::thread([this] { loop(); });
    }
    ~StreamSink() {
        stop_ = true;
        thread_.join();
        close(fd_);
    }
    std::vector<uint32_t> arrivals(int flow) {
        std::lock_guard lock(mutex_);
        return arrivals_[flow];
    }

   private:
    void loop() {
        pollfd p{fd_, POLLIN, 0};
        while (!stop_) {
            if (poll(&p, 1, 20) <= 0) continue;
            uint8_t buf[512];
            for (ssize_t n; (n = recv(fd_, buf, sizeof buf, 0)) >= 5;) {
                uint32_t seq;
                std::memcpy(&seq, buf, 4);
                std::lock_guard lock(mutex_);
                arrivals_[buf[4] & 1].push_back(seq);
            }
        }
    }
    int fd_ = -1;
    std::mutex mutex_;
    std::vector<uint32_t> arrivals_[2];
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

size_t distinct(const std::vector<uint32_t>& seqs) { return std::set<uint32_t>(seqs.begin(), seqs.end()).size(); }

TEST(LivePolicyPush, TenThousandEntriesPushedMidStreamLoseNoPacketAndNoUpdate) {
    if (const std::string why = LiveTopology::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    if (!fs::exists(kPolicyObject)) GTEST_SKIP() << "clang did not build " << kPolicyObject;
    LiveTopology topology;
    const ScratchDir scratch("push");
    const std::filesystem::path& pins = scratch.path;
    auto runner = start_runner(topology,
                               {"port add wan dev a1 type afpacket workers 2", "port add lan dev b1 type afpacket", "port peer wan lan",
                                "qdisc add dev wan clsact", "filter add dev wan ingress pref 10 bpf da obj " + kPolicyObject + " sec tc"},
                               pins.string());
    ASSERT_EQ(runner->workers(), 2u);
    const std::string map_path = (pins / "tc/globals/policy_map").string();
    const std::string a = topology.address('A'), b = topology.address('B');

    // The push: 10,000 policies, and half-way the one dropping the second flow.
    const fs::path batch = pins / "push.batch";
    {
        std::FILE* f = std::fopen(batch.c_str(), "w");
        ASSERT_NE(f, nullptr);
        for (uint32_t i = 0; i < kPushed; ++i) {
            if (i == kPushed / 2)
                fmt::print(f, "map update pinned {} key {} value {}\n", map_path, hex_bytes(udp_flow(a, kDroppedSource, b, kSinkPort)),
                           hex_bytes(Policy{kActShot, 0, 0, 0}));
            fmt::print(f, "map update pinned {} key {} value {}\n", map_path, hex_bytes(pushed_key(topology, i)),
                       hex_bytes(pushed_policy(i)));
        }
        std::fclose(f);
    }

    bool replied = false;  // A's ARP entry for B first, so no datagram waits in A's neighbour queue
    topology.in('A', [&] {
        for (uint16_t seq = 1; seq <= 3 && !replied; ++seq) replied = ping(b, seq, 2000);
    });
    ASSERT_TRUE(replied);
    StreamSink sink(topology);
    int senders[2] = {-1, -1};
    topology.in('A', [&] {
        senders[0] = udp_socket_bound(a, kKeptSource);
        senders[1] = udp_socket_bound(a, kDroppedSource);
    });
    std::atomic<uint32_t> sent{0};
    std::atomic<bool> stop{false};
    std::thread stream([&] {
        uint8_t payload[200] = {};
        while (!stop) {
            const uint32_t seq = sent.load();
            std::memcpy(payload, &seq, 4);
            for (uint8_t flow : {0, 1}) {
                payload[4] = flow;
                udp_send(senders[flow], b, kSinkPort, payload, sizeof payload);
            }
            sent.store(seq + 1);
            std::this_thread::sleep_for(1ms);
        }
    });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    const auto wait_until = [&](const std::function<bool()>& done) {
        while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    };
    wait_until([&] { return sink.arrivals(0).size() >= 100; });

    const uint32_t sent_before_push = sent.load();
    const auto push_start = std::chrono::steady_clock::now();
    const CommandResult push = run_shell(fmt::format("{} map -batch {}", TCBPF_BINARY, batch.string()));
    const auto push_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - push_start).count();
    const uint32_t first_after_push = sent.load();
    wait_until([&] { return sent.load() >= first_after_push + 300; });
    stop = true;
    stream.join();
    close(senders[0]);
    close(senders[1]);
    EXPECT_EQ(push.status, 0) << push.err;
    EXPECT_EQ(push.out, fmt::format("processed {} commands\n", kPushed + 1));

    // Settled: every datagram arrived or was counted as dropped (the deadline only bounds a failure).
    const uint32_t total = sent.load();
    const auto drops = [&] { return runner->qdisc_stats("wan", tc::kClsactHandle).drops; };
    const auto settle_deadline = std::chrono::steady_clock::now() + 5s;
    while ((sink.arrivals(0).size() < total || sink.arrivals(1).size() + drops() < total) &&
           std::chrono::steady_clock::now() < settle_deadline)
        std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(100ms);  // a duplicate would come right behind
    runner->stop();

    const std::vector<uint32_t> kept = sink.arrivals(0), dropped_flow = sink.arrivals(1);
    const uint64_t dropped = drops();
    std::printf("push of %u entries took %lld ms while %u datagram pairs were sent; %u pairs in all; kept flow %zu "
                "received; dropped flow %zu received, %llu dropped\n",
                kPushed + 1, static_cast<long long>(push_ms), first_after_push - sent_before_push, total, kept.size(),
                dropped_flow.size(), static_cast<unsigned long long>(dropped));
    EXPECT_EQ(kept.size(), total);
    EXPECT_EQ(distinct(kept), kept.size()) << "duplicated datagrams of the kept flow";
    EXPECT_EQ(dropped_flow.size() + dropped, total);
    EXPECT_EQ(distinct(dropped_flow), dropped_flow.size()) << "duplicated datagrams of the dropped flow";
    EXPECT_GE(dropped, 300u);
    const uint32_t last_passed = dropped_flow.empty() ? 0 : *std::max_element(dropped_flow.begin(), dropped_flow.end());
    EXPECT_LT(last_passed, first_after_push) << "a datagram of the dropped flow sent after the push returned arrived";
    EXPECT_GE(dropped_flow.size(), 100u);  // it flowed until the push

    // Every update is there with its value, read back through the pinned map.
    auto policies = maps::PinnedMap<FlowKey, Policy>::open(map_path);
    uint32_t missing = 0, wrong = 0;
    for (uint32_t i = 0; i < kPushed; ++i) {
        const std::optional<Policy> p = policies.lookup(pushed_key(topology, i));
        missing += !p;
        wrong += p && !(*p == pushed_policy(i));
    }
    EXPECT_EQ(missing, 0u);
    EXPECT_EQ(wrong, 0u);
    EXPECT_EQ(policies.lookup(udp_flow(a, kDroppedSource, b, kSinkPort)), (Policy{kActShot, 0, 0, 0}));
    size_t entries = 0;
    policies.for_each([&](const FlowKey&, const Policy&) { ++entries; });
    EXPECT_EQ(entries, kPushed + 1);
}

}  // namespace
}  // namespace tcbpf::test
