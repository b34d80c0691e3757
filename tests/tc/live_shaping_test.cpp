// An htb class on tcbpf's live egress shaping a UDP flow to 5 Mbit/s, measured at the receiver in its
// own namespace over more than 5 s: the flow is offered at 7 Mbit/s and must arrive at 5 Mbit/s
// within 10 % (frames counted whole, 14 + 20 + 8 header bytes each, as htb counts them). A separate
// executable so only the Release suite runs it (about 7 s), never the sanitizer suite. Skips with the
// reason without root or namespaces.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "tcbpf/live.h"
#include "tests/support/scratch_dir.h"
#include "tests/tc/live_topology.h"

namespace tcbpf::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(LiveShaping, HtbClassHoldsAFlowToFiveMegabitsAtTheReceiver) {
    if (const std::string why = LiveTopology::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    LiveTopology topology;
    const ScratchDir scratch("live-shape");
    const std::filesystem::path& pins = scratch.path;
    auto runner = start_runner(topology,
                               {"port add wan dev a1 type afpacket", "port add lan dev b1 type afpacket", "port peer wan lan",
                                "qdisc add dev lan root handle 1: htb default 10",
                                "class add dev lan parent 1: classid 1:10 htb rate 5mbit ceil 5mbit"},
                               pins.string());
    constexpr size_t kPayload = 1000;
    constexpr double kFrameBits = (kPayload + 42) * 8.0;
    constexpr double kOffered = 7e6, kShaped = 5e6;

    int rx = -1, tx = -1;
    topology.in('B', [&] { rx = udp_socket_bound(topology.address('B'), 7200); });
    topology.in('A', [&] { tx = udp_socket_bound(topology.address('A'), 5556); });
    std::atomic<bool> sending{true};
    size_t arrived = 0;
    Clock::time_point first{}, last{};
    std::thread receiver([&] {
        uint8_t buf[2048];
        for (auto quiet_since = Clock::now(); sending || Clock::now() - quiet_since < 500ms;) {
            pollfd p{rx, POLLIN, 0};
            if (poll(&p, 1, 20) <= 0) continue;
            while (recv(rx, buf, sizeof buf, 0) > 0) {
                last = quiet_since = Clock::now();
                if (arrived++ == 0) first = last;
            }
        }
    });
    // 7 Mbit/s of 1000-byte datagrams for 5.5 s, paced in 5 ms slots (what a slot fell behind is sent in the next).
    const uint8_t payload[kPayload] = {};
    const auto start = Clock::now();
    size_t sent = 0;
    for (auto now = start; now - start < 5500ms; now = Clock::now()) {
        const double due = std::chrono::duration<double>(now - start).count() * kOffered / kFrameBits;
        for (; sent < due; ++sent) udp_send(tx, topology.address('B'), 7200, payload, sizeof payload);
        std::this_thread::sleep_for(5ms);
    }
    sending = false;
    receiver.join();
    close(rx);
    close(tx);
    runner->stop();

    const double seconds = std::chrono::duration<double>(last - first).count();
    ASSERT_GE(seconds, 5.0) << arrived << " datagrams arrived";
    const double rate = (arrived - 1) * kFrameBits / seconds;
    std::printf("shaped to %.3f Mbit/s over %.2f s (%zu of %zu datagrams arrived)\n", rate / 1e6, seconds, arrived, sent);
    EXPECT_NEAR(rate, kShaped, kShaped * 0.10) << fmt::format("{:.3f} Mbit/s over {:.2f} s ({} of {} datagrams)", rate / 1e6,
                                                               seconds, arrived, sent);
    EXPECT_LT(arrived, sent);  // the class really held the flow back (the rest waited, then overflowed the queue)
}

}  // namespace
}  // namespace tcbpf::test
