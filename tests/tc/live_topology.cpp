// See live_topology.h.
#include "tests/tc/live_topology.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "tcbpf/error.h"
#include "tcbpf/live.h"
#include "tests/support/netns.h"

namespace tcbpf::test {

namespace {

constexpr const char* kSides = "ATBC";

int side_index(char side) {
    const char* at = std::strchr(kSides, side);
    if (at == nullptr || side == '\0') throw Error(fmt::format("no side '{}'", side));
    return static_cast<int>(at - kSides);
}

// The first candidate /24 no host interface has an address in.
std::string unused_subnet() {
    const CommandResult r = run_shell("ip -o -4 addr show");
    for (const char* candidate : {"198.51.100", "203.0.113", "198.18.251", "10.251.77"})
        if (r.out.find(std::string(" ") + candidate + ".") == std::string::npos) return candidate;
    throw Error("every candidate test subnet is in use by a host interface");
}

}  // namespace

std::string LiveTopology::unavailable_reason() {
    static const std::string reason = []() -> std::string {
        if (geteuid() != 0) return "not root: network namespaces and veth pairs need CAP_NET_ADMIN";
        if (run_shell("ip -V").status != 0) return "no ip binary (iproute2) on PATH";
        try {
            LiveTopology probe;
        } catch (const Error& e) {
            return fmt::format("cannot build the namespaces: {}", e.what());
        }
        return "";
    }();
    return reason;
}

LiveTopology::LiveTopology(bool with_c) {
    static std::atomic<unsigned> counter{0};
    prefix_ = fmt::format("tcblive-{}-{}", getpid(), counter++);
    subnet_ = unused_subnet();
    try {
        for (int i = 0; i < (with_c ? 4 : 3); ++i) {
            names_[i] = prefix_ + kSides[i];
            const CommandResult r = run_shell("ip netns add " + names_[i]);
            if (r.status != 0) {
                names_[i].clear();
                throw Error(fmt::format("ip netns add: {}", r.err));
            }
        }
        run('T', "ip link set lo up");
        const std::string sides = with_c ? "ABC" : "AB";
        for (char side : sides) {
            const char lower = static_cast<char>(side - 'A' + 'a');
            const std::string outer = fmt::format("{}0", lower), inner = fmt::format("{}1", lower);
            run('T', fmt::format("ip link add {} type veth peer name {} netns {}", inner, outer, ns(side)));
            run('T', fmt::format("ip link set {} up", inner));
            run(side, fmt::format("ip link set lo up && ip addr add {}/24 dev {} && ip link set {} up", address(side), outer, outer));
        }
    } catch (...) {
        this->~LiveTopology();
        throw;
    }
}

LiveTopology::~LiveTopology() {
    for (std::string& name : names_)
        if (!name.empty()) {
            run_shell("ip netns del " + name);
            name.clear();
        }
}

const std::string& LiveTopology::ns(char side) const { return names_[side_index(side)]; }

std::string LiveTopology::address(char side) const {
    const int host = side == 'A' ? 1 : side == 'B' ? 2 : side == 'C' ? 3 : 0;
    if (host == 0) throw Error("the middle has no address");
    return fmt::format("{}.{}", subnet_, host);
}

std::string LiveTopology::run(char side, const std::string& command) const {
    std::string quoted = "'";
    for (char c : command) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    quoted += "'";
    const CommandResult r = run_shell(fmt::format("ip netns exec {} sh -c {}", ns(side), quoted));
    if (r.status != 0) throw Error(fmt::format("{} in {}: {}{}", command, ns(side), r.err, r.out));
    return r.out;
}

void LiveTopology::in(char side, const std::function<void()>& fn) const {
    std::exception_ptr failure;
    std::thread t([&] {
        try {
            const int fd = ::open(("/var/run/netns/" + ns(side)).c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
                throw Error(fmt::format("joining {}: {}", ns(side), std::strerror(errno)));
            ::close(fd);
            fn();
        } catch (...) {
            failure = std::current_exception();
        }
    });
    t.join();
    if (failure) std::rethrow_exception(failure);
}

uint32_t LiveTopology::ifindex(char side, const std::string& dev) const {
    uint32_t index = 0;
    in(side, [&] { index = if_nametoindex(dev.c_str()); });
    if (index == 0) throw Error(fmt::format("no {} in {}", dev, ns(side)));
    return index;
}

int udp_socket_bound(const std::string& address, uint16_t port) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw Error(fmt::format("UDP socket: {}", std::strerror(errno)));
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_port = htons(port);
    inet_pton(AF_INET, address.c_str(), &at.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0)
        throw Error(fmt::format("bind {}:{}: {}", address, port, std::strerror(errno)));
    const int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    return fd;
}

void udp_send(int fd, const std::string& to, uint16_t port, const void* data, size_t size) {
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_port = htons(port);
    inet_pton(AF_INET, to.c_str(), &at.sin_addr);
    for (int attempt = 0; attempt < 100; ++attempt) {  // a full send buffer: wait for room, never drop here
        if (sendto(fd, data, size, 0, reinterpret_cast<sockaddr*>(&at), sizeof at) >= 0) return;
        if (errno != EAGAIN && errno != ENOBUFS) throw Error(fmt::format("sendto {}:{}: {}", to, port, std::strerror(errno)));
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    throw Error(fmt::format("sendto {}:{}: the send buffer stayed full", to, port));
}

bool ping(const std::string& to, uint16_t sequence, int timeout_ms) {
    const int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0) throw Error(fmt::format("raw ICMP socket: {}", std::strerror(errno)));
    uint8_t request[16] = {ICMP_ECHO, 0, 0, 0, 0x7c, 0xb1, static_cast<uint8_t>(sequence >> 8), static_cast<uint8_t>(sequence),
                           't', 'c', 'b', 'p', 'f', '-', 'e', '2'};
    uint32_t sum = 0;
    for (size_t i = 0; i < sizeof request; i += 2) sum += static_cast<uint32_t>(request[i] << 8 | request[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    request[2] = static_cast<uint8_t>(~sum >> 8);
    request[3] = static_cast<uint8_t>(~sum);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    inet_pton(AF_INET, to.c_str(), &at.sin_addr);
    bool replied = false;
    if (sendto(fd, request, sizeof request, 0, reinterpret_cast<sockaddr*>(&at), sizeof at) == sizeof request) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        while (!replied && std::chrono::steady_clock::now() < deadline) {
            pollfd p{fd, POLLIN, 0};
            if (poll(&p, 1, 20) <= 0) continue;
            uint8_t reply[256];
            const ssize_t n = recv(fd, reply, sizeof reply, 0);  // the IP header, then ICMP
            if (n < 28) continue;
            const size_t ihl = (reply[0] & 0xf) * 4u;
            replied = reply[ihl] == ICMP_ECHOREPLY && reply[ihl + 4] == 0x7c && reply[ihl + 5] == 0xb1 &&
                      reply[ihl + 6] == request[6] && reply[ihl + 7] == request[7];
        }
    }
    ::close(fd);
    return replied;
}

std::unique_ptr<live::Runner> start_runner(const LiveTopology& topology, const std::vector<std::string>& setup,
                                           const std::string& bpffs) {
    live::RunnerOptions options;
    options.bpffs = bpffs;
    options.log = [](std::string_view) {};
    auto runner = std::make_unique<live::Runner>(options);
    topology.in('T', [&] {
        for (const std::string& line : setup) runner->execute(tc::split_batch_line(line));
    });
    runner->start();
    return runner;
}

}  // namespace tcbpf::test
