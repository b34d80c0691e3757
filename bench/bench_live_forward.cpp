// Packets per second forwarded between two veth pairs with the policy classifier, tcbpf next to the
// kernel, in one run. In namespaces of its own (network and mount; the benchmark exits with the reason
// without root): a sender thread blasts 64-byte UDP frames of 256 flows into a0 with sendmmsg; they
// arrive at a1, cross to b1 and are counted as they arrive at b0 (its rx_packets).
//
//   a0 (sender) ⇄ a1 ─ forwarder ─ b1 ⇄ b0 (counted)
//
// The forwarder is, in turn:
//  - the kernel: a1 and b1 in a bridge, examples/progs/policy.o on a1's clsact ingress in direct-action
//    mode (loaded by the real `tc`), so the kernel runs the same program on the same traffic;
//  - tcbpf's live runner (include/tcbpf/live.h): `port add` a1 and b1 of one port type, peered as a bump
//    in the wire, the same object on a1's clsact ingress; 1 and 2 workers, AF_PACKET and AF_XDP.
// The policy map is empty, so every frame is a hash lookup that misses and passes (TC_ACT_OK), as in
// bench_tc. The kernel is measured first and last; the summary printed at the end gives each row's
// ratio to the mean of the two.
//
// Each row measures for --seconds (default 3) after half a second of warm-up. The sender, the kernel's
// veth work and tcbpf's workers share the machine's cores: the kernel forwards inside the sender's
// system calls, tcbpf on cores of its own, so these are the machine's figures, not a port's ceiling.
// TAP ports do not apply here (a TAP device is not a veth; the TAP port is measured by no row).
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "tcbpf/error.h"
#include "tcbpf/live.h"
#include "tcbpf/tc.h"
#include "udp_blaster.h"

namespace {

const std::string kPolicy = std::string(TCBPF_EXAMPLES_DIR) + "/policy.o";
double g_seconds = 3.0;

constexpr const char* kTopology[] = {
    "sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
    "sysctl -qw net.ipv6.conf.default.disable_ipv6=1",
    "ip link set lo up",
    "ip link add a0 numtxqueues 2 numrxqueues 2 address 02:00:00:00:0a:00 type veth peer name a1 numtxqueues 2 "
    "numrxqueues 2 address 02:00:00:00:0a:01",
    "ip link add b1 numtxqueues 2 numrxqueues 2 address 02:00:00:00:0b:01 type veth peer name b0 numtxqueues 2 "
    "numrxqueues 2 address 02:00:00:00:0b:00",
    "ip link set a0 up",
    "ip link set a1 up",
    "ip link set b1 up",
    "ip link set b0 up",
};

bool sh(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

// rx_packets of `dev` (getifaddrs' link statistics, this namespace's view).
uint64_t rx_packets(const char* dev) {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return 0;
    uint64_t n = 0;
    for (ifaddrs* i = list; i != nullptr; i = i->ifa_next)
        if (i->ifa_addr != nullptr && i->ifa_addr->sa_family == AF_PACKET && i->ifa_data != nullptr && std::strcmp(i->ifa_name, dev) == 0)
            n = static_cast<const rtnl_link_stats*>(i->ifa_data)->rx_packets;
    freeifaddrs(list);
    return n;
}

// Frames per second arriving at b0 while the sender runs: half a second of warm-up, then g_seconds.
double measure_pps() {
    const uint8_t b0_mac[6] = {2, 0, 0, 0, 0x0b, 0}, a0_mac[6] = {2, 0, 0, 0, 0x0a, 0};
    const tcbpf::bench::UdpBlaster sender("a0", b0_mac, a0_mac, "198.51.100.2");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const uint64_t before = rx_packets("b0");
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(g_seconds));
    const uint64_t after = rx_packets("b0");
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return static_cast<double>(after - before) / elapsed;
}

// Every row's rate, for the summary printed after the last row (ratios need both kernel rows).
struct Row {
    std::string name;
    double pps = 0;
    bool kernel = false;
};
std::vector<Row> g_rows;

void report(benchmark::State& state, std::string name, double pps, bool kernel) {
    state.SetIterationTime(g_seconds);
    state.counters["pps"] = pps;
    g_rows.push_back({std::move(name), pps, kernel});
}

void print_summary() {
    double kernel_sum = 0;
    int kernel_rows = 0;
    for (const Row& r : g_rows)
        if (r.kernel) kernel_sum += r.pps, ++kernel_rows;
    if (kernel_rows == 0) return;
    const double kernel = kernel_sum / kernel_rows;
    std::printf("\n%-42s %12s %10s\n", "row", "packets/s", "vs kernel");
    for (const Row& r : g_rows) std::printf("%-42s %12.0f %9.2fx\n", r.name.c_str(), r.pps, r.pps / kernel);
    std::printf("(kernel: mean of its %d rows, %.0f packets/s)\n", kernel_rows, kernel);
}

void BM_Kernel(benchmark::State& state) {
    const char* setup[] = {"ip link add br0 type bridge", "ip link set a1 master br0", "ip link set b1 master br0",
                           "ip link set br0 up", "tc qdisc add dev a1 clsact"};
    for (const char* c : setup)
        if (!sh(c)) return state.SkipWithError((std::string("`") + c + "` failed").c_str());
    if (!sh("tc filter add dev a1 ingress bpf da obj " + kPolicy + " sec tc"))
        return state.SkipWithError("the kernel refused policy.o (tc filter add ... bpf da obj)");
    double pps = 0;
    for (auto _ : state) pps = measure_pps();
    sh("tc qdisc del dev a1 clsact");
    sh("ip link del br0");  // a1 and b1 leave the bridge with it
    const bool again = std::any_of(g_rows.begin(), g_rows.end(), [](const Row& r) { return r.kernel; });
    report(state, again ? "kernel: bridge + tc policy.o (again)" : "kernel: bridge + tc policy.o", pps, true);
}

// tcbpf's live runner forwarding a1 -> b1 through ports of `type`, `workers` workers.
void BM_Tcbpf(benchmark::State& state, const char* type) {
    const unsigned workers = static_cast<unsigned>(state.range(0));
    double pps = 0;
    try {
        tcbpf::live::RunnerOptions options;
        options.workers = workers;
        options.log = [](std::string_view) {};  // the runner's event lines would interleave with the table
        tcbpf::live::Runner runner(std::move(options));
        const std::string lines[] = {
            "port add wan dev a1 type " + std::string(type) + " workers " + std::to_string(workers),
            "port add lan dev b1 type " + std::string(type) + " workers " + std::to_string(workers),
            "port peer wan lan",
            "qdisc add dev wan clsact",
            "filter add dev wan ingress bpf da obj " + kPolicy + " sec tc",
        };
        for (const std::string& line : lines) runner.execute(tcbpf::tc::split_batch_line(line));
        runner.start();
        for (auto _ : state) pps = measure_pps();
        runner.stop();
        // What the ports saw, beside what arrived: frames taken in, sent on, refused by the kernel.
        for (const tcbpf::live::PortCounters& c : runner.port_counters()) {
            if (c.name == "wan") state.counters["wan_rx"] = static_cast<double>(c.rx_packets);
            if (c.name == "lan") state.counters["lan_tx"] = static_cast<double>(c.tx_packets);
            if (c.name == "lan") state.counters["lan_tx_errors"] = static_cast<double>(c.tx_errors);
        }
    } catch (const tcbpf::Error& e) {
        return state.SkipWithError(e.what());
    }
    report(state, fmt::format("tcbpf: {}, {} worker{}", type, workers, workers == 1 ? "" : "s"), pps, false);
}

void BM_TcbpfAfPacket(benchmark::State& state) { BM_Tcbpf(state, "afpacket"); }
void BM_TcbpfAfXdp(benchmark::State& state) { BM_Tcbpf(state, "afxdp"); }

BENCHMARK(BM_Kernel)->Name("kernel_bridge_tc_policy")->Iterations(1)->UseManualTime();
BENCHMARK(BM_TcbpfAfPacket)->Name("tcbpf_afpacket")->ArgName("workers")->Arg(1)->Arg(2)->Iterations(1)->UseManualTime();
BENCHMARK(BM_TcbpfAfXdp)->Name("tcbpf_afxdp")->ArgName("workers")->Arg(1)->Arg(2)->Iterations(1)->UseManualTime();
BENCHMARK(BM_Kernel)->Name("kernel_bridge_tc_policy_again")->Iterations(1)->UseManualTime();

// --seconds N: how long each row measures (the rest goes to Google Benchmark).
void take_seconds_flag(int& argc, char** argv) {
    int out = 1;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) g_seconds = std::atof(argv[++i]);
        else argv[out++] = argv[i];
    }
    argc = out;
}

std::string unavailable_reason() {
    if (geteuid() != 0) return "not root (needs network namespaces, veth devices and a bpffs)";
    if (!std::filesystem::exists(kPolicy)) return kPolicy + " not built";
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) return std::string("unshare: ") + std::strerror(errno);
    // A bpffs of our own, so tc's pinned maps never touch the host's /sys/fs/bpf.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("bpf", "/sys/fs/bpf", "bpf", 0, nullptr) != 0)
        return std::string("mounting a private bpffs: ") + std::strerror(errno);
    for (const char* c : kTopology)
        if (!sh(c)) return std::string("`") + c + "` failed";
    return "";
}

}  // namespace

int main(int argc, char** argv) {
    take_seconds_flag(argc, argv);
    if (const std::string reason = unavailable_reason(); !reason.empty()) {
        std::printf("bench_live_forward: skipped: %s\n", reason.c_str());
        return 0;
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    print_summary();
    return 0;
}
