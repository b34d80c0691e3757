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
// bench_tc. With --rounds N the kernel and tcbpf rows take turns N times (then the kernel once more);
// the summary printed at the end gives each row's median and its ratio to the kernel's median.
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

// Every row's rate, for the summary printed after the last row.
struct Row {
    std::string label;
    double pps = 0;
};
std::vector<Row> g_rows;
const std::string kKernelLabel = "kernel: bridge + tc policy.o";

void report(benchmark::State& state, std::string label, double pps) {
    state.SetIterationTime(g_seconds);
    state.counters["pps"] = pps;
    g_rows.push_back({std::move(label), pps});
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Each row's median over the rounds, and its ratio to the kernel's median (all kernel rows).
void print_summary() {
    std::vector<std::string> labels;
    for (const Row& r : g_rows)
        if (std::find(labels.begin(), labels.end(), r.label) == labels.end()) labels.push_back(r.label);
    auto rates = [](const std::string& label) {
        std::vector<double> v;
        for (const Row& r : g_rows)
            if (r.label == label) v.push_back(r.pps);
        return v;
    };
    const std::vector<double> kernel = rates(kKernelLabel);
    if (kernel.empty()) return;
    const double kernel_median = median(kernel);
    std::printf("\n%-34s %5s %12s %10s\n", "row (median over the runs)", "runs", "packets/s", "vs kernel");
    for (const std::string& label : labels) {
        const std::vector<double> v = rates(label);
        std::printf("%-34s %5zu %12.0f %9.2fx\n", label.c_str(), v.size(), median(v), median(v) / kernel_median);
    }
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
    report(state, kKernelLabel, pps);
}

// tcbpf's live runner forwarding a1 -> b1 through ports of `type`, `workers` workers.
void BM_Tcbpf(benchmark::State& state, const std::string& type, unsigned workers) {
    double pps = 0;
    try {
        tcbpf::live::RunnerOptions options;
        options.workers = workers;
        options.log = [](std::string_view) {};  // the runner's event lines would interleave with the table
        tcbpf::live::Runner runner(std::move(options));
        const std::string lines[] = {
            fmt::format("port add wan dev a1 type {} workers {}", type, workers),
            fmt::format("port add lan dev b1 type {} workers {}", type, workers),
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
    report(state, fmt::format("tcbpf: {}, {} worker{}", type, workers, workers == 1 ? "" : "s"), pps);
}

// `rounds` times the kernel and every tcbpf row in turn, then the kernel once more: interleaved, so a
// change in the machine's load hits every row alike.
void register_rows(int rounds) {
    auto add = [](const std::string& name, auto fn) {
        benchmark::RegisterBenchmark(name.c_str(), fn)->Iterations(1)->UseManualTime();
    };
    for (int round = 0; round < rounds; ++round) {
        add("kernel_bridge_tc_policy", BM_Kernel);
        for (const char* type : {"afpacket", "afxdp"})
            for (unsigned workers : {1u, 2u})
                add(fmt::format("tcbpf_{}/workers:{}", type, workers),
                    [type, workers](benchmark::State& state) { BM_Tcbpf(state, type, workers); });
    }
    add("kernel_bridge_tc_policy", BM_Kernel);
}

// --seconds N: how long each row measures; --rounds N: how often the rows repeat (the rest of the
// arguments go to Google Benchmark).
int take_own_flags(int& argc, char** argv) {
    int rounds = 1, out = 1;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) g_seconds = std::atof(argv[++i]);
        else if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
        else argv[out++] = argv[i];
    }
    argc = out;
    return rounds;
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
    const int rounds = take_own_flags(argc, argv);
    if (const std::string reason = unavailable_reason(); !reason.empty()) {
        std::printf("bench_live_forward: skipped: %s\n", reason.c_str());
        return 0;
    }
    register_rows(rounds);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    print_summary();
    return 0;
}
