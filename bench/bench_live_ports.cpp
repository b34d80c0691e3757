// Rates of the live ports: in a network namespace of its own (created at start; the benchmark exits
// with the reason without root), a sender thread blasts 64-byte UDP frames of many flows into one end
// of a veth pair through a plain AF_PACKET socket, and tcbpf's ports on the other end take them in
// batches: one AF_PACKET port, two fanout workers (frames summed over both), an AF_XDP port in generic
// and native mode. Then transmit: batches of 64 frames out of a port, AF_PACKET through sendmmsg or
// the TX ring, and AF_XDP. Frames per second is the figure; the sender and the kernel's veth work
// compete for the same cores, so the numbers are the machine's, not the port's ceiling.
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "tcbpf/live_port.h"
#include "udp_blaster.h"

namespace {

constexpr const char* kSetup[] = {
    "ip link add p0 address 02:00:00:00:00:10 type veth peer name p1 address 02:00:00:00:00:11",
    "ip link set p0 up",
    "ip link set p1 up",
};

void count_received(benchmark::State& state, std::vector<std::unique_ptr<tcbpf::io::Port>>& ports) {
    const uint8_t p1_mac[6] = {2, 0, 0, 0, 0, 0x11}, p0_mac[6] = {2, 0, 0, 0, 0, 0x10};
    const tcbpf::bench::UdpBlaster blaster("p0", p1_mac, p0_mac, "192.0.2.2");
    std::vector<tcbpf::io::RxFrame> frames;
    int64_t received = 0;
    for (auto _ : state) {
        for (auto& port : ports) {
            frames.clear();
            received += static_cast<int64_t>(port->receive(frames, 256, 10));
            benchmark::DoNotOptimize(frames.data());
        }
    }
    state.SetItemsProcessed(received);
    state.counters["frames/s"] = benchmark::Counter(static_cast<double>(received), benchmark::Counter::kIsRate);
}

void BM_AfPacketOneWorker(benchmark::State& state) {
    std::vector<std::unique_ptr<tcbpf::io::Port>> ports;
    ports.push_back(tcbpf::io::open_afpacket({.device = "p1"}));
    count_received(state, ports);
}
BENCHMARK(BM_AfPacketOneWorker)->UseRealTime()->MinTime(2.0);

void BM_AfPacketTwoFanoutWorkers(benchmark::State& state) {
    // Both workers polled from one thread: what fanout costs, not what two cores give.
    std::vector<std::unique_ptr<tcbpf::io::Port>> ports = tcbpf::io::open_afpacket_workers({.device = "p1"}, 2);
    count_received(state, ports);
}
BENCHMARK(BM_AfPacketTwoFanoutWorkers)->UseRealTime()->MinTime(2.0);

void BM_AfXdpOneWorker(benchmark::State& state) {
    std::vector<std::unique_ptr<tcbpf::io::Port>> ports;
    ports.push_back(tcbpf::io::open_afxdp({.device = "p1", .mode = static_cast<tcbpf::io::XdpMode>(state.range(0))}));
    count_received(state, ports);
}
BENCHMARK(BM_AfXdpOneWorker)->ArgName("native")->Arg(0)->Arg(1)->UseRealTime()->MinTime(2.0);

// Transmit rate: batches of 64 minimal UDP frames out of p1 (p0 drops them: not its MAC).
void count_sent(benchmark::State& state, tcbpf::io::Port& port) {
    std::vector<uint8_t> frame(60, 0);
    const uint8_t head[] = {2, 0, 0, 0, 0, 0x99, 2, 0, 0, 0, 0, 0x11, 0x08, 0x00, 0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17};
    std::memcpy(frame.data(), head, sizeof head);
    std::vector<tcbpf::io::TxFrame> batch(64, tcbpf::io::TxFrame{frame, {}});
    int64_t sent = 0;
    for (auto _ : state) sent += static_cast<int64_t>(port.transmit(batch));
    state.SetItemsProcessed(sent);
    state.counters["frames/s"] = benchmark::Counter(static_cast<double>(sent), benchmark::Counter::kIsRate);
}

// AF_PACKET through sendmmsg (tx_ring_slots 0) or the memory-mapped TX ring.
void BM_AfPacketTransmit(benchmark::State& state) {
    auto port = tcbpf::io::open_afpacket({.device = "p1", .tx_ring_slots = static_cast<uint32_t>(state.range(0))});
    count_sent(state, *port);
}
BENCHMARK(BM_AfPacketTransmit)->ArgName("tx_ring_slots")->Arg(0)->Arg(256)->Arg(1024)->UseRealTime()->MinTime(2.0);

void BM_AfXdpTransmit(benchmark::State& state) {
    auto port = tcbpf::io::open_afxdp({.device = "p1", .mode = static_cast<tcbpf::io::XdpMode>(state.range(0))});
    count_sent(state, *port);
}
BENCHMARK(BM_AfXdpTransmit)->ArgName("native")->Arg(0)->Arg(1)->UseRealTime()->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
    if (geteuid() != 0) {
        std::printf("bench_live_ports: skipped: not root (needs a network namespace and veth devices)\n");
        return 0;
    }
    if (unshare(CLONE_NEWNET) != 0) {
        std::printf("bench_live_ports: skipped: unshare(CLONE_NEWNET): %s\n", std::strerror(errno));
        return 0;
    }
    for (const char* cmd : kSetup) {
        if (std::system(cmd) != 0) {
            std::printf("bench_live_ports: skipped: `%s` failed\n", cmd);
            return 0;
        }
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
