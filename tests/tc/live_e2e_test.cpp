// tcbpf as a bump in the wire between two namespaces (A ⇄ tcbpf ⇄ B, live AF_PACKET ports on veth
// pairs, tests/tc/live_topology.h), with real traffic of the tests' own: pings, UDP datagrams, a TCP
// stream. Then the policy classifier of the demo dropping chosen 5-tuples, a policy pushed into its
// pinned map while a flow runs, bpf_redirect to a third port, and the same programs attached with the
// kernel's own tc to the same topology giving every flow the same fate. Skips with the reason without
// root, namespaces or the BPF objects.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <csignal>
#include <cstdio>
#include <sys/wait.h>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "tcbpf/live.h"
#include "tcbpf/live_port.h"
#include "tcbpf/maps.h"
#include "tests/support/netns.h"
#include "tests/support/scratch_dir.h"
#include "tests/tc/live_topology.h"

namespace tcbpf::test {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;
using namespace std::chrono_literals;

const std::string kPolicyObject = std::string(TCBPF_EXAMPLES_DIR) + "/demo_policy.o";
const std::string kRedirectObject = TCBPF_LIVE_REDIRECT_OBJECT;
constexpr uint16_t kSourcePort = 5555;

// struct flow_key (examples/progs/parse.h) of a UDP flow A:kSourcePort → dst:dport.
Bytes flow_key(const std::string& src, const std::string& dst, uint16_t dport) {
    Bytes key(40, 0);
    key[10] = key[11] = key[26] = key[27] = 0xff;
    inet_pton(AF_INET, src.c_str(), key.data() + 12);
    inet_pton(AF_INET, dst.c_str(), key.data() + 28);
    key[32] = kSourcePort >> 8;
    key[33] = kSourcePort & 0xff;
    key[34] = static_cast<uint8_t>(dport >> 8);
    key[35] = static_cast<uint8_t>(dport);
    key[36] = IPPROTO_UDP;
    key[37] = 4;
    return key;
}

Bytes policy_value(int32_t verdict, uint32_t priority) {
    Bytes v(8);
    std::memcpy(v.data(), &verdict, 4);
    std::memcpy(v.data() + 4, &priority, 4);
    return v;
}

Bytes u32_value(uint32_t x) {
    Bytes v(4);
    std::memcpy(v.data(), &x, 4);
    return v;
}

std::string hex_words(const Bytes& bytes) {
    std::string out;
    for (uint8_t b : bytes) out += fmt::format(" {}", b);
    return out;
}

// Receives on UDP sockets (one per destination port) in a namespace, counting datagrams per port and
// keeping the largest sequence number seen (the first 4 payload bytes).
class UdpSink {
   public:
    UdpSink(const LiveTopology& topology, char side, const std::vector<uint16_t>& ports) {
        topology.in(side, [&] {
            for (uint16_t p : ports) fds_[p] = udp_socket_bound(topology.address(side), p);
        });
        thread_ = std::thread([this] { loop(); });
    }
    ~UdpSink() {
        stop_ = true;
        thread_.join();
        for (auto& [port, fd] : fds_) close(fd);
    }
    // Waits until `expected` datagrams came in all or none came for `quiet` (at most 5 s).
    void settle(size_t expected, std::chrono::milliseconds quiet = 300ms) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        size_t last = total_.load();
        auto last_change = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() < deadline) {
            const size_t now = total_.load();
            if (now >= expected) return;
            if (now != last) last = now, last_change = std::chrono::steady_clock::now();
            else if (std::chrono::steady_clock::now() - last_change > quiet) return;
            std::this_thread::sleep_for(10ms);
        }
    }
    size_t count(uint16_t port) {
        std::lock_guard lock(mutex_);
        return counts_[port];
    }
    int64_t max_sequence(uint16_t port) {
        std::lock_guard lock(mutex_);
        return max_seq_.count(port) ? max_seq_[port] : -1;
    }
    // How many datagrams to `port` carried a sequence number in [from, to).
    size_t count_between(uint16_t port, uint32_t from, uint32_t to) {
        std::lock_guard lock(mutex_);
        size_t n = 0;
        for (uint32_t seq : sequences_[port]) n += seq >= from && seq < to;
        return n;
    }

   private:
    void loop() {
        std::vector<pollfd> polls;
        std::vector<uint16_t> ports;
        for (auto& [port, fd] : fds_) polls.push_back({fd, POLLIN, 0}), ports.push_back(port);
        while (!stop_) {
            if (poll(polls.data(), polls.size(), 20) <= 0) continue;
            for (size_t i = 0; i < polls.size(); ++i) {
                uint8_t buf[2048];
                ssize_t n;
                while ((n = recv(polls[i].fd, buf, sizeof buf, 0)) >= 0) {
                    uint32_t seq = 0;
                    if (n >= 4) std::memcpy(&seq, buf, 4);
                    std::lock_guard lock(mutex_);
                    ++counts_[ports[i]];
                    int64_t& m = max_seq_.try_emplace(ports[i], -1).first->second;
                    m = std::max<int64_t>(m, seq);
                    sequences_[ports[i]].push_back(seq);
                    ++total_;
                }
            }
        }
    }
    std::map<uint16_t, int> fds_;
    std::mutex mutex_;
    std::map<uint16_t, size_t> counts_;
    std::map<uint16_t, int64_t> max_seq_;
    std::map<uint16_t, std::vector<uint32_t>> sequences_;
    std::atomic<size_t> total_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// A UDP socket in A bound to kSourcePort, so every flow's 5-tuple is known.
int sender(const LiveTopology& topology) {
    int fd = -1;
    topology.in('A', [&] { fd = udp_socket_bound(topology.address('A'), kSourcePort); });
    return fd;
}

// A stream of 200-byte datagrams, one per millisecond, each carrying its sequence number (from `first`),
// until stopped: next() is the sequence the next datagram will carry, so a test can tell which were
// sent after a change it made.
class PacedStream {
   public:
    PacedStream(int fd, std::string to, uint16_t port, uint32_t first)
        : next_(first), thread_([this, fd, to = std::move(to), port] {
              uint8_t payload[200] = {};
              while (!stop_) {
                  const uint32_t seq = next_.load();
                  std::memcpy(payload, &seq, 4);
                  udp_send(fd, to, port, payload, sizeof payload);
                  next_.store(seq + 1);
                  std::this_thread::sleep_for(std::chrono::milliseconds(1));
              }
          }) {}
    ~PacedStream() { stop(); }
    uint32_t next() const { return next_.load(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }

   private:
    std::atomic<uint32_t> next_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

void send_datagrams(int fd, const std::string& to, uint16_t port, size_t count, size_t size = 200) {
    std::vector<uint8_t> payload(size, 0x5a);
    for (uint32_t seq = 0; seq < count; ++seq) {
        std::memcpy(payload.data(), &seq, 4);
        udp_send(fd, to, port, payload.data(), payload.size());
    }
}

// A ping from A to B first, so that A's ARP entry for B exists: datagrams sent while the address is
// still being resolved would wait in A's small neighbour queue and overflow it.
bool resolve_b(const LiveTopology& topology) {
    bool replied = false;
    topology.in('A', [&] {
        for (uint16_t seq = 1; seq <= 3 && !replied; ++seq) replied = ping(topology.address('B'), seq, 2000);
    });
    return replied;
}

class LiveEndToEnd : public ::testing::Test {
   protected:
    void SetUp() override {
        if (const std::string why = LiveTopology::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
        if (!fs::exists(kPolicyObject) || !fs::exists(kRedirectObject))
            GTEST_SKIP() << "clang did not build " << kPolicyObject << " and " << kRedirectObject;
    }
};

const std::vector<std::string> kBumpInTheWire = {
    "port add wan dev a1 type afpacket",
    "port add lan dev b1 type afpacket",
    "port peer wan lan",
};

TEST_F(LiveEndToEnd, PingsUdpAndTcpCrossTheBumpInTheWire) {
    LiveTopology topology;
    ScratchDir pins("live");
    auto runner = start_runner(topology, kBumpInTheWire, pins.path);
    // Pings: ARP both ways, then echo and reply through both ports.
    int replies = 0;
    topology.in('A', [&] {
        for (uint16_t seq = 1; seq <= 3; ++seq) replies += ping(topology.address('B'), seq, 2000);
    });
    EXPECT_EQ(replies, 3);

    UdpSink sink(topology, 'B', {7000});
    const int fd = sender(topology);
    send_datagrams(fd, topology.address('B'), 7000, 300, 1000);
    close(fd);
    sink.settle(300);
    EXPECT_EQ(sink.count(7000), 300u);

    // A VLAN-tagged frame: the veth hands the tag over as metadata, tcbpf puts it back before the
    // pipeline and it leaves tagged, so B sees VLAN 10 (offloaded again on B's side).
    {
        std::unique_ptr<io::Port> injector, watcher;
        topology.in('A', [&] { injector = io::open_afpacket({.device = "a0"}); });
        topology.in('B', [&] { watcher = io::open_afpacket({.device = "b0"}); });
        const std::string marker = "tcbpf-vlan-10";
        std::vector<uint8_t> tagged = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0xaa, 0x81, 0x00, 0x00, 10, 0x88, 0xb5};
        tagged.insert(tagged.end(), marker.begin(), marker.end());
        tagged.resize(60, 0);
        const io::TxFrame out[] = {{tagged, {}}};
        EXPECT_EQ(injector->transmit(out), 1u);
        bool seen = false;
        for (int wait = 0; wait < 40 && !seen; ++wait) {
            std::vector<io::RxFrame> frames;
            watcher->receive(frames, 64, 50);
            for (const io::RxFrame& f : frames)
                if (f.bytes.size() >= 14 + marker.size() && f.bytes[12] == 0x88 && f.bytes[13] == 0xb5 &&
                    std::equal(marker.begin(), marker.end(), f.bytes.begin() + 14))
                    seen = f.meta.vlan_present && (f.meta.vlan_tci & 0xfff) == 10;
        }
        EXPECT_TRUE(seen) << "the tagged frame did not reach B on VLAN 10";
    }

    // 4 MiB of TCP: the sender's stack hands the veth GSO super-frames; they cross whole and the
    // kernel segments them again on the way out.
    constexpr size_t kStream = 4u << 20;
    int listener = -1, client = -1;
    topology.in('B', [&] {
        listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in at{};
        at.sin_family = AF_INET;
        at.sin_port = htons(7100);
        inet_pton(AF_INET, topology.address('B').c_str(), &at.sin_addr);
        ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at), 0) << std::strerror(errno);
        ASSERT_EQ(listen(listener, 1), 0);
    });
    size_t received = 0;
    std::thread server([&] {
        const int conn = accept(listener, nullptr, nullptr);
        if (conn < 0) return;
        const timeval timeout{5, 0};
        setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        std::vector<uint8_t> buf(1 << 16);
        for (ssize_t n; (n = read(conn, buf.data(), buf.size())) > 0;) received += static_cast<size_t>(n);
        close(conn);
    });
    topology.in('A', [&] { client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); });
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(7100);
    inet_pton(AF_INET, topology.address('B').c_str(), &to.sin_addr);
    const timeval timeout{5, 0};
    setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    size_t sent = 0;
    if (connect(client, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
        const std::vector<uint8_t> chunk(1 << 16, 0x33);
        while (sent < kStream) {
            const ssize_t n = write(client, chunk.data(), std::min(chunk.size(), kStream - sent));
            if (n <= 0) break;
            sent += static_cast<size_t>(n);
        }
    } else {
        ADD_FAILURE() << "connect: " << std::strerror(errno);
        shutdown(listener, SHUT_RDWR);
    }
    close(client);
    server.join();
    close(listener);
    EXPECT_EQ(sent, kStream);
    EXPECT_EQ(received, kStream);

    runner->stop();
    const std::vector<live::PortCounters> ports = runner->port_counters();
    ASSERT_EQ(ports.size(), 2u);
    EXPECT_GT(ports[0].rx_packets, 300u);  // wan: pings, datagrams, the stream
    EXPECT_EQ(ports[1].tx_packets, ports[0].rx_packets);  // all of it left through lan
    EXPECT_GT(ports[1].rx_packets, 3u);  // lan: replies and acknowledgements
    for (const live::PortCounters& p : ports) EXPECT_EQ(p.tx_errors, 0u) << p.name;
}

TEST_F(LiveEndToEnd, PolicyDropsChosenFlowsAndAPolicyPushedMidStreamTakesEffect) {
    LiveTopology topology;
    ScratchDir pins("live");
    std::vector<std::string> setup = kBumpInTheWire;
    setup[0] += " workers 2";  // two workers: per-CPU counters get a slot each, summed below
    setup.push_back("qdisc add dev wan clsact");
    setup.push_back("filter add dev wan ingress pref 10 bpf da obj " + kPolicyObject + " sec tc");
    auto runner = start_runner(topology, setup, pins.path.string());
    ASSERT_EQ(runner->workers(), 2u);
    const auto policy = maps::open_pinned_map((pins.path / "tc/globals/demo_policy").string());
    const auto flows = maps::open_pinned_map((pins.path / "tc/globals/demo_flows").string());
    const std::string a = topology.address('A'), b = topology.address('B');
    ASSERT_EQ(policy->update_user(flow_key(a, b, 7001).data(), policy_value(2, 0).data(), 0), 0);  // TC_ACT_SHOT
    ASSERT_TRUE(resolve_b(topology));

    UdpSink sink(topology, 'B', {7001, 7002});
    const int fd = sender(topology);
    send_datagrams(fd, b, 7001, 100);
    send_datagrams(fd, b, 7002, 100);
    sink.settle(100);
    EXPECT_EQ(sink.count(7001), 0u);
    EXPECT_EQ(sink.count(7002), 100u);
    // The flow counters saw every datagram of the dropped flow, spread over the workers' CPU slots.
    Bytes counters(flows->user_value_size());
    ASSERT_EQ(flows->lookup_user(flow_key(a, b, 7001).data(), counters.data()), 0);
    uint64_t packets = 0;
    for (size_t at = 0; at + 16 <= counters.size(); at += 16) {
        uint64_t n;
        std::memcpy(&n, counters.data() + at, 8);
        packets += n;
    }
    EXPECT_EQ(packets, 100u);
    EXPECT_EQ(runner->qdisc_stats("wan", tc::kClsactHandle).drops, 100u);

    // Mid-stream: 7002 flows on; once some arrived, its policy becomes drop. Every datagram sent after
    // the update returned is classified after it, so none of them may arrive.
    PacedStream stream(fd, b, 7002, 1000);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (sink.count(7002) < 150 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    ASSERT_EQ(policy->update_user(flow_key(a, b, 7002).data(), policy_value(2, 0).data(), 0), 0);
    const uint32_t first_after = stream.next();
    while (stream.next() < first_after + 100 && std::chrono::steady_clock::now() < deadline + 5s)
        std::this_thread::sleep_for(5ms);
    stream.stop();
    close(fd);
    sink.settle(SIZE_MAX, 300ms);
    EXPECT_GE(sink.count(7002), 150u);
    EXPECT_LT(sink.max_sequence(7002), static_cast<int64_t>(first_after));
}

// A TAP port: tcbpf creates the device in the middle namespace, whose own stack then sits behind it. A
// pings that stack through wan ⇄ tap (worker 0 reads the device, the replies cross back), and UDP
// datagrams reach a socket there.
TEST_F(LiveEndToEnd, ATapPortConnectsTheHostsStackBehindIt) {
    LiveTopology topology;
    ScratchDir pins("live");
    auto runner = start_runner(topology, {"port add wan dev a1 type afpacket", "port add host dev tcbt0 type tap", "port peer wan host"},
                               pins.path.string());
    const std::string behind_tap = topology.address('B').substr(0, topology.address('B').rfind('.')) + ".9";
    topology.run('T', fmt::format("ip link set tcbt0 up && ip addr add {}/24 dev tcbt0", behind_tap));
    bool replied = false;
    topology.in('A', [&] {
        for (uint16_t seq = 1; seq <= 3 && !replied; ++seq) replied = ping(behind_tap, seq, 2000);
    });
    EXPECT_TRUE(replied);
    int rx = -1;
    topology.in('T', [&] { rx = udp_socket_bound(behind_tap, 7300); });
    const int fd = sender(topology);
    send_datagrams(fd, behind_tap, 7300, 20);
    close(fd);
    size_t got = 0;
    for (int wait = 0; wait < 200 && got < 20; ++wait) {
        uint8_t buf[512];
        if (recv(rx, buf, sizeof buf, 0) > 0) ++got;
        else std::this_thread::sleep_for(5ms);
    }
    close(rx);
    EXPECT_EQ(got, 20u);
    runner->stop();
    const std::vector<live::PortCounters> ports = runner->port_counters();
    ASSERT_EQ(ports.size(), 2u);
    EXPECT_EQ(ports[1].type, tc::PortType::Tap);
    EXPECT_GE(ports[1].rx_packets, 1u);  // the stack's replies and ARP, read from the device
    EXPECT_GE(ports[1].tx_packets, 21u);  // pings and datagrams written into it
}

// `tcbpf run -batch SETUP` with live ports runs until SIGTERM, then lets the shaped queue drain at its
// rate before it exits: a burst of 50 datagrams queued behind a 1 Mbit/s class (0.4 s of traffic)
// when the signal comes all arrive, and the run ends with status 0 and its statistics.
TEST_F(LiveEndToEnd, RunUntilSigtermDrainsTheShapedQueue) {
    LiveTopology topology;
    ScratchDir dir("live");
    const fs::path setup = dir.path / "live.tc", out = dir.path / "out", err = dir.path / "err";
    {
        std::FILE* f = std::fopen(setup.c_str(), "w");
        std::fputs("port add wan dev a1 type afpacket\nport add lan dev b1 type afpacket\nport peer wan lan\n"
                   "qdisc add dev lan root handle 1: htb default 10\n"
                   "class add dev lan parent 1: classid 1:10 htb rate 1mbit ceil 1mbit\n",
                   f);
        std::fclose(f);
    }
    const pid_t pid = fork();
    if (pid == 0) {
        std::freopen(out.c_str(), "w", stdout);
        std::freopen(err.c_str(), "w", stderr);
        execlp("ip", "ip", "netns", "exec", topology.ns('T').c_str(), TCBPF_BINARY, "run", "-batch", setup.c_str(), "-s",
               "--bpffs", dir.path.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    ASSERT_GT(pid, 0);
    const auto read_text = [](const fs::path& path) {
        std::ifstream in(path);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    for (int wait = 0; wait < 500 && read_text(err).find("tcbpf: running") == std::string::npos; ++wait)
        std::this_thread::sleep_for(10ms);
    ASSERT_NE(read_text(err).find("tcbpf: running"), std::string::npos) << read_text(err);
    ASSERT_TRUE(resolve_b(topology));
    UdpSink sink(topology, 'B', {7020});
    const int fd = sender(topology);
    send_datagrams(fd, topology.address('B'), 7020, 50, 1000);
    close(fd);
    kill(pid, SIGTERM);
    int status = -1;
    for (int wait = 0; wait < 1000 && waitpid(pid, &status, WNOHANG) == 0; ++wait) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(WIFEXITED(status)) << "tcbpf did not end after SIGTERM";
    EXPECT_EQ(WEXITSTATUS(status), 0) << read_text(err);
    sink.settle(50);
    EXPECT_EQ(sink.count(7020), 50u);
    EXPECT_NE(read_text(err).find("tcbpf: SIGTERM, draining"), std::string::npos) << read_text(err);
    const std::string stats = read_text(out);
    EXPECT_NE(stats.find("class htb 1:10 root prio 0 rate 1Mbit ceil 1Mbit"), std::string::npos) << stats;
    EXPECT_NE(stats.find("port wan dev a1 afpacket: rx "), std::string::npos) << stats;
}

// Commands applied while a flow runs: a filter added that drops it, then replaced by one that no longer
// matches. Every datagram is delivered or dropped by the filter of its moment, none lost or duplicated
// by the switches (sent = received + dropped); none sent after the add returned gets through until
// the replace, and the flow passes again after it.
TEST_F(LiveEndToEnd, FilterAddAndReplaceUnderLoadSwitchEveryWorkerAndLoseNothing) {
    LiveTopology topology;
    ScratchDir pins("live");
    std::vector<std::string> setup = kBumpInTheWire;
    setup[0] += " workers 2";
    setup.push_back("qdisc add dev wan clsact");
    auto runner = start_runner(topology, setup, pins.path.string());
    ASSERT_TRUE(resolve_b(topology));
    UdpSink sink(topology, 'B', {7010});
    const int fd = sender(topology);
    PacedStream stream(fd, topology.address('B'), 7010, 0);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (sink.count(7010) < 100 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    runner->execute(tc::split_batch_line("filter add dev wan ingress pref 1 bpf expression 'udp dst port 7010' action drop"));
    const uint32_t first_after = stream.next();
    while (stream.next() < first_after + 300 && std::chrono::steady_clock::now() < deadline + 5s) std::this_thread::sleep_for(5ms);
    // filter replace under load: the flow no longer matches, and it passes again from the next packet on.
    const size_t before_replace = sink.count(7010);
    runner->execute(tc::split_batch_line("filter replace dev wan ingress pref 1 handle 1 bpf expression 'udp dst port 7011' action drop"));
    const uint32_t first_after_replace = stream.next();
    while (sink.count(7010) < before_replace + 100 && std::chrono::steady_clock::now() < deadline + 10s) std::this_thread::sleep_for(5ms);
    stream.stop();
    close(fd);
    sink.settle(SIZE_MAX, 300ms);
    runner->stop();
    const uint64_t dropped = runner->qdisc_stats("wan", tc::kClsactHandle).drops;
    EXPECT_GE(sink.count(7010), 100u);
    EXPECT_GE(dropped, 100u);
    EXPECT_EQ(sink.count(7010) + dropped, stream.next());
    // Datagrams sent after the add returned are dropped until the replace. Those sent just before the
    // replace may still wait in a ring when it lands and pass under it (as packets in the kernel's
    // backlog see a replaced filter), so the check stops 150 datagrams (over 150 ms) short of it.
    EXPECT_EQ(sink.count_between(7010, first_after, first_after + 150), 0u);
    EXPECT_LE(first_after + 300, first_after_replace);
    EXPECT_GE(sink.count(7010), before_replace + 100);
    EXPECT_GE(sink.max_sequence(7010), static_cast<int64_t>(first_after_replace));
    // tc -s shows the two workers' counters summed.
    const std::string shown = runner->execute({"qdisc", "show", "dev", "wan", "ingress"}, {.stats = true});
    EXPECT_NE(shown.find(fmt::format("(dropped {}, overlimits 0 requeues 0)", dropped)), std::string::npos) << shown;
}

// One run's outcome per destination port: which side's socket got how many.
using Fates = std::map<uint16_t, std::string>;

// Sends 50 datagrams to each of B's ports and to C's redirected port; says where each flow arrived.
Fates send_flows(const LiveTopology& topology, const std::vector<uint16_t>& b_ports, uint16_t c_port) {
    EXPECT_TRUE(resolve_b(topology));
    UdpSink at_b(topology, 'B', b_ports);
    UdpSink at_c(topology, 'C', {c_port});
    const int fd = sender(topology);
    for (uint16_t p : b_ports) send_datagrams(fd, topology.address('B'), p, 50);
    send_datagrams(fd, topology.address('C'), c_port, 50);
    close(fd);
    at_b.settle(50 * (b_ports.size() - 1));
    at_c.settle(50);
    Fates fates;
    for (uint16_t p : b_ports) fates[p] = fmt::format("B:{}", at_b.count(p));
    fates[c_port] = fmt::format("C:{} B:{}", at_c.count(c_port), at_b.count(c_port));
    return fates;
}

// Flows 7001 (policy: drop), 7002 (policy: pass, priority 2), 7005 (policy: TC_ACT_UNSPEC, the default
// verdict), 7006 (no policy) to B, and 7003 to C, which the redirect program sends out of c1.
const std::vector<uint16_t> kPorts = {7001, 7002, 7005, 7006};
constexpr uint16_t kRedirected = 7003;
const Fates kExpected = {{7001, "B:0"}, {7002, "B:50"}, {7005, "B:50"}, {7006, "B:50"}, {7003, "C:50 B:0"}};

std::vector<std::pair<Bytes, Bytes>> policies(const LiveTopology& topology) {
    const std::string a = topology.address('A'), b = topology.address('B');
    return {{flow_key(a, b, 7001), policy_value(2, 0)}, {flow_key(a, b, 7002), policy_value(0, 2)},
            {flow_key(a, b, 7005), policy_value(-1, 1)}};
}

// A knows C's address at c0's MAC: the redirected frames must be addressed to C to be taken there.
void introduce_c(const LiveTopology& topology) {
    const std::string mac = topology.run('C', "cat /sys/class/net/c0/address");
    topology.run('A', fmt::format("ip neigh replace {} lladdr {} dev a0", topology.address('C'), mac.substr(0, mac.find('\n'))));
}

TEST_F(LiveEndToEnd, RedirectToAnotherPortAndTheKernelsTcGiveEveryFlowTheSameFate) {
    LiveTopology topology(true);
    introduce_c(topology);
    const uint32_t c1 = topology.ifindex('T', "c1");
    const std::vector<std::string> filters = {
        "qdisc add dev {wan} clsact",
        "filter add dev {wan} ingress pref 5 bpf da obj " + kRedirectObject + " sec tc",
        "filter add dev {wan} ingress pref 10 bpf da obj " + kPolicyObject + " sec tc",
    };

    Fates tcbpf_fates;
    {
        ScratchDir pins("live");
        std::vector<std::string> setup = kBumpInTheWire;
        setup.push_back("port add side dev c1 type afpacket");
        for (const std::string& f : filters) setup.push_back(fmt::format(fmt::runtime(f), fmt::arg("wan", "wan")));
        auto runner = start_runner(topology, setup, pins.path.string());
        const auto redirect = maps::open_pinned_map((pins.path / "tc/globals/live_redirect").string());
        ASSERT_EQ(redirect->update_user(u32_value(0).data(), u32_value(c1).data(), 0), 0);
        ASSERT_EQ(redirect->update_user(u32_value(1).data(), u32_value(kRedirected).data(), 0), 0);
        const auto policy = maps::open_pinned_map((pins.path / "tc/globals/demo_policy").string());
        for (const auto& [key, value] : policies(topology)) ASSERT_EQ(policy->update_user(key.data(), value.data(), 0), 0);
        tcbpf_fates = send_flows(topology, kPorts, kRedirected);
        runner->stop();
    }
    EXPECT_EQ(tcbpf_fates, kExpected);

    // The kernel: a1 and b1 bridged (its bump in the wire), the same filters on a1's ingress.
    if (const std::string why = NetnsVeth::unavailable_reason(); !why.empty()) GTEST_SKIP() << "kernel side: " << why;
    ScratchDir bpffs("live");
    ASSERT_EQ(mount("bpf", bpffs.path.c_str(), "bpf", 0, "mode=0700"), 0) << std::strerror(errno);
    struct Unmount {
        std::string path;
        ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
    } unmount{bpffs.path.string()};
    topology.run('T', "ip link add br0 type bridge && ip link set a1 master br0 && ip link set b1 master br0 && ip link set br0 up");
    for (const std::string& f : filters)
        topology.run('T', fmt::format("TC_BPF_MNT={} tc {}", bpffs.path.string(), fmt::format(fmt::runtime(f), fmt::arg("wan", "a1"))));
    const std::string globals = (bpffs.path / "tc/globals/").string();
    const auto update = [&](const std::string& map, const Bytes& key, const Bytes& value) {
        const CommandResult r = run_shell(fmt::format("bpftool map update pinned {}{} key{} value{}", globals, map, hex_words(key), hex_words(value)));
        ASSERT_EQ(r.status, 0) << r.err;
    };
    update("live_redirect", u32_value(0), u32_value(c1));
    update("live_redirect", u32_value(1), u32_value(kRedirected));
    for (const auto& [key, value] : policies(topology)) update("demo_policy", key, value);
    EXPECT_EQ(send_flows(topology, kPorts, kRedirected), tcbpf_fates);
}

}  // namespace
}  // namespace tcbpf::test
