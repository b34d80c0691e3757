// Live ports on real devices in a network namespace the test creates: a veth pair (the host's stack
// sends from p0 with checksum offload on, an AF_PACKET port listens on p1) and a TAP device tcbpf
// owns. Offloaded TCP/UDP frames must arrive with correct checksums, fanout workers must share a flow
// set without loss or duplicates, and what the ports transmit must reach the host's sockets. Skips
// with the reason without root or network namespaces.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "tcbpf/error.h"
#include "tcbpf/live_port.h"
#include "tests/net/netns_thread.h"

namespace tcbpf::io {
namespace {

constexpr const char* kVeth = R"(
sysctl net.ipv6.conf.default.addr_gen_mode=1
link add p0 address 02:00:00:00:00:10 type veth peer name p1 address 02:00:00:00:00:11
link set p0 up
link set p1 up
addr add 192.0.2.1/24 dev p0
addr add 2001:db8::1/64 dev p0 nodad
neigh add 192.0.2.2 lladdr 02:00:00:00:00:11 dev p0
neigh add 2001:db8::2 lladdr 02:00:00:00:00:11 dev p0
)";

// The transport of an Ethernet/IPv4|IPv6 frame: protocol, destination port, offset of the L4 header.
struct L4 {
    uint8_t proto = 0;
    uint16_t dport = 0;
    size_t off = 0;
    bool ipv6 = false;
};

std::optional<L4> transport(std::span<const uint8_t> f) {
    if (f.size() < 14) return std::nullopt;
    const uint16_t type = static_cast<uint16_t>(f[12] << 8 | f[13]);
    L4 l4;
    if (type == 0x0800 && f.size() >= 34) {
        if ((f[20] & 0x3f) != 0 || f[21] != 0) return std::nullopt;  // fragments: not the whole datagram
        l4.proto = f[23];
        l4.off = 14 + (f[14] & 0xf) * 4u;
    } else if (type == 0x86dd && f.size() >= 54) {
        l4.proto = f[20];
        l4.off = 54;
        l4.ipv6 = true;
    } else {
        return std::nullopt;
    }
    if ((l4.proto != 6 && l4.proto != 17) || f.size() < l4.off + 8) return std::nullopt;
    l4.dport = static_cast<uint16_t>(f[l4.off + 2] << 8 | f[l4.off + 3]);
    return l4;
}

// True when the TCP/UDP checksum (pseudo-header included) verifies.
bool checksum_ok(std::span<const uint8_t> f, const L4& l4) {
    uint32_t sum = 0;
    auto add = [&](const uint8_t* p, size_t n) {
        for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
        if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
    };
    const size_t l4_len = f.size() - l4.off;
    if (l4.ipv6) add(f.data() + 22, 32);
    else add(f.data() + 26, 8);
    sum += l4.proto + static_cast<uint32_t>(l4_len);
    add(f.data() + l4.off, l4_len);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

int udp_socket(int family) {
    const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    return fd;
}

// dst:port as a socket address of dst's family; returns its length.
socklen_t address_of(const char* dst, uint16_t port, sockaddr_storage& out) {
    out = {};
    if (std::strchr(dst, ':') != nullptr) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&out);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        inet_pton(AF_INET6, dst, &a->sin6_addr);
        return sizeof *a;
    }
    auto* a = reinterpret_cast<sockaddr_in*>(&out);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, dst, &a->sin_addr);
    return sizeof *a;
}

void send_udp(const char* dst, uint16_t port, size_t payload, uint16_t sport = 0) {
    sockaddr_storage to;
    const socklen_t len = address_of(dst, port, to);
    const int fd = udp_socket(to.ss_family);
    if (sport != 0) {
        sockaddr_storage from;
        address_of(to.ss_family == AF_INET6 ? "::" : "0.0.0.0", sport, from);
        ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&from), len), 0) << std::strerror(errno);
    }
    const std::vector<uint8_t> data(payload, 0x5a);
    EXPECT_EQ(sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), len), static_cast<ssize_t>(payload))
        << std::strerror(errno);
    close(fd);
}

// A TCP SYN toward dst:port (the connection never completes; the SYN is what crosses the wire).
int start_tcp(const char* dst, uint16_t port) {
    sockaddr_storage to;
    const socklen_t len = address_of(dst, port, to);
    const int fd = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&to), len);
    return fd;
}

// Receives from every port until `want` frames for `dport` arrived or a second passes without any.
std::vector<std::vector<std::vector<uint8_t>>> collect(std::vector<std::unique_ptr<Port>>& ports,
                                                       const std::set<uint16_t>& dports, size_t want,
                                                       std::vector<FrameMeta>* metas = nullptr) {
    std::vector<std::vector<std::vector<uint8_t>>> got(ports.size());
    size_t total = 0;
    for (int idle = 0; total < want && idle < 20;) {
        bool any = false;
        for (size_t i = 0; i < ports.size(); ++i) {
            std::vector<RxFrame> frames;
            ports[i]->receive(frames, 64, 50);
            for (const RxFrame& f : frames) {
                const std::optional<L4> l4 = transport(f.bytes);
                if (!l4 || !dports.count(l4->dport)) continue;
                got[i].emplace_back(f.bytes.begin(), f.bytes.end());
                if (metas != nullptr) metas->push_back(f.meta);
                ++total;
                any = true;
            }
        }
        idle = any ? 0 : idle + 1;
    }
    return got;
}

class LivePort : public ::testing::Test {
   protected:
    void SetUp() override {
        if (const std::string reason = net::test::netns_unavailable_reason(); !reason.empty())
            GTEST_SKIP() << "network namespaces unavailable: " << reason;
    }
};

TEST_F(LivePort, OffloadedUdpAndTcpArriveWithCorrectChecksums) {
    std::vector<std::vector<uint8_t>> frames;
    std::vector<FrameMeta> metas;
    const std::string failure = net::test::run_in_netns(kVeth, [&] {
        std::vector<std::unique_ptr<Port>> ports;
        ports.push_back(open_afpacket({.device = "p1"}));
        send_udp("192.0.2.2", 9001, 100);
        send_udp("2001:db8::2", 9001, 333);
        send_udp("192.0.2.2", 9001, 1);
        const int tcp4 = start_tcp("192.0.2.2", 9002);
        const int tcp6 = start_tcp("2001:db8::2", 9002);
        frames = collect(ports, {9001, 9002}, 5, &metas)[0];
        close(tcp4);
        close(tcp6);
    });
    ASSERT_EQ(failure, "");
    ASSERT_EQ(frames.size(), 5u);
    size_t completed = 0;
    for (size_t i = 0; i < frames.size(); ++i) {
        const L4 l4 = *transport(frames[i]);
        EXPECT_TRUE(checksum_ok(frames[i], l4)) << "frame " << i << " proto " << int(l4.proto) << " to port " << l4.dport;
        EXPECT_FALSE(metas[i].csum_partial);
        completed += metas[i].checksum_completed;
        EXPECT_EQ(metas[i].wire_len, frames[i].size());
    }
    // veth keeps the sender's CHECKSUM_PARTIAL: the port finished every one of them.
    EXPECT_EQ(completed, frames.size());
}

TEST_F(LivePort, FanoutWorkersShareFlowsWithoutLossOrDuplicates) {
    std::vector<std::vector<std::vector<uint8_t>>> per_worker;
    const std::string failure = net::test::run_in_netns(kVeth, [&] {
        std::vector<std::unique_ptr<Port>> ports = open_afpacket_workers({.device = "p1"}, 2);
        for (uint16_t i = 0; i < 64; ++i) send_udp("192.0.2.2", 9100, 20, static_cast<uint16_t>(20000 + i));
        per_worker = collect(ports, {9100}, 64);
    });
    ASSERT_EQ(failure, "");
    ASSERT_EQ(per_worker.size(), 2u);
    std::set<uint16_t> sources;
    for (const auto& frames : per_worker) {
        EXPECT_FALSE(frames.empty()) << "a worker got no flow at all";
        for (const auto& f : frames) {
            const L4 l4 = *transport(f);
            EXPECT_TRUE(sources.insert(static_cast<uint16_t>(f[l4.off] << 8 | f[l4.off + 1])).second) << "duplicate";
        }
    }
    EXPECT_EQ(sources.size(), 64u);
}

// Ethernet + IPv4 + UDP from 02:..:11/192.0.2.2:7 to `dst_mac`/`dst`:port; checksum complete, or left
// as the pseudo-header sum for the kernel to finish (`partial`).
std::vector<uint8_t> udp_frame(const uint8_t dst_mac[6], const char* dst, uint16_t port, const std::string& payload,
                               bool partial, FrameMeta* meta) {
    std::vector<uint8_t> f(42 + payload.size());
    std::memcpy(f.data(), dst_mac, 6);
    const uint8_t src_mac[6] = {2, 0, 0, 0, 0, 0x11};
    std::memcpy(f.data() + 6, src_mac, 6);
    f[12] = 0x08;
    const uint16_t total = static_cast<uint16_t>(28 + payload.size());
    const uint8_t ip[12] = {0x45, 0, static_cast<uint8_t>(total >> 8), static_cast<uint8_t>(total), 0, 0, 0x40, 0, 64, 17, 0, 0};
    std::memcpy(f.data() + 14, ip, 12);
    inet_pton(AF_INET, "192.0.2.2", f.data() + 26);
    inet_pton(AF_INET, dst, f.data() + 30);
    uint32_t sum = 0;
    for (int i = 14; i < 34; i += 2) sum += static_cast<uint32_t>(f[i] << 8 | f[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    f[24] = static_cast<uint8_t>(~sum >> 8);
    f[25] = static_cast<uint8_t>(~sum);
    const uint16_t udp_len = static_cast<uint16_t>(8 + payload.size());
    const uint8_t udp[6] = {0, 7, static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port), static_cast<uint8_t>(udp_len >> 8),
                            static_cast<uint8_t>(udp_len)};
    std::memcpy(f.data() + 34, udp, 6);
    std::memcpy(f.data() + 42, payload.data(), payload.size());
    // Pseudo-header sum.
    uint32_t p = 17 + udp_len;
    for (int i = 26; i < 34; i += 2) p += static_cast<uint32_t>(f[i] << 8 | f[i + 1]);
    while (p >> 16) p = (p & 0xffff) + (p >> 16);
    f[40] = static_cast<uint8_t>(p >> 8);
    f[41] = static_cast<uint8_t>(p);
    if (partial) {
        meta->csum_partial = true;
        meta->csum_start = 34;
        meta->csum_offset = 6;
    } else {
        complete_checksum(f, 34, 6);
    }
    return f;
}

// A UDP socket bound to addr:port, and what it receives within a second.
std::vector<std::string> receive_udp(int fd, size_t want) {
    std::vector<std::string> got;
    for (int i = 0; i < 100 && got.size() < want; ++i) {
        char buf[2048];
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n >= 0) got.emplace_back(buf, static_cast<size_t>(n));
        else usleep(10000);
    }
    return got;
}

int bound_udp(const char* addr, uint16_t port) {
    sockaddr_storage at;
    const socklen_t len = address_of(addr, port, at);
    const int fd = udp_socket(at.ss_family);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&at), len), 0) << std::strerror(errno);
    return fd;
}

TEST_F(LivePort, TransmittedFramesReachTheHostsSockets) {
    std::vector<std::string> got;
    size_t sent = 0;
    const std::string failure = net::test::run_in_netns(kVeth, [&] {
        const int sock = bound_udp("192.0.2.1", 9200);
        auto port = open_afpacket({.device = "p1"});
        const uint8_t p0_mac[6] = {2, 0, 0, 0, 0, 0x10};
        FrameMeta complete, partial;
        const std::vector<uint8_t> a = udp_frame(p0_mac, "192.0.2.1", 9200, "complete", false, &complete);
        const std::vector<uint8_t> b = udp_frame(p0_mac, "192.0.2.1", 9200, "finished by the kernel", true, &partial);
        const TxFrame frames[] = {{a, complete}, {b, partial}};
        sent = port->transmit(frames);
        got = receive_udp(sock, 2);
        close(sock);
    });
    ASSERT_EQ(failure, "");
    EXPECT_EQ(sent, 2u);
    EXPECT_EQ(got, (std::vector<std::string>{"complete", "finished by the kernel"}));
}

TEST_F(LivePort, AGsoFrameSentIsSegmentedByTheKernel) {
    std::vector<std::string> got;
    size_t sent = 0;
    const std::string failure = net::test::run_in_netns(kVeth, [&] {
        const int sock = bound_udp("192.0.2.1", 9500);
        auto port = open_afpacket({.device = "p1"});
        const uint8_t p0_mac[6] = {2, 0, 0, 0, 0, 0x10};
        // One UDP super-frame of three 500-byte segments; the receiving stack splits it per segment.
        FrameMeta meta;
        const std::string payload = std::string(500, 'a') + std::string(500, 'b') + std::string(500, 'c');
        const std::vector<uint8_t> f = udp_frame(p0_mac, "192.0.2.1", 9500, payload, true, &meta);
        meta.gso = Gso::UdpL4;
        meta.gso_size = 500;
        meta.hdr_len = 42;
        const TxFrame frames[] = {{f, meta}};
        sent = port->transmit(frames);
        got = receive_udp(sock, 3);
        close(sock);
    });
    ASSERT_EQ(failure, "");
    EXPECT_EQ(sent, 1u);
    EXPECT_EQ(got, (std::vector<std::string>{std::string(500, 'a'), std::string(500, 'b'), std::string(500, 'c')}));
}

TEST_F(LivePort, TapPortIsTheWireBehindItsDevice) {
    std::vector<std::vector<uint8_t>> frames;
    std::vector<FrameMeta> metas;
    std::vector<std::string> got;
    std::string setup_error;
    const std::string failure = net::test::run_in_netns("sysctl net.ipv6.conf.default.addr_gen_mode=1\n", [&] {
        std::unique_ptr<Port> tap;
        try {
            tap = open_tap({.name = "tcbtap0"});
        } catch (const Error& e) {
            setup_error = e.what();
            return;
        }
        const char* const commands[] = {"ip link set tcbtap0 up", "ip addr add 198.51.100.1/24 dev tcbtap0",
                                        "ip neigh add 198.51.100.2 lladdr 02:00:00:00:00:11 dev tcbtap0"};
        for (const char* c : commands)
            if (std::system(c) != 0) setup_error += std::string(c) + " failed\n";
        const int sock = bound_udp("198.51.100.1", 9300);
        send_udp("198.51.100.2", 9301, 200);
        std::vector<std::unique_ptr<Port>> ports;
        ports.push_back(std::move(tap));
        frames = collect(ports, {9301}, 1, &metas)[0];
        // The way back: a frame tcbpf writes into the device arrives at the host's socket.
        const uint8_t* tap_mac = frames.empty() ? nullptr : frames[0].data() + 6;
        if (tap_mac != nullptr) {
            FrameMeta meta;
            const std::vector<uint8_t> f = udp_frame(tap_mac, "198.51.100.1", 9300, "via tap", false, &meta);
            const TxFrame tx[] = {{f, meta}};
            ports[0]->transmit(tx);
            got = receive_udp(sock, 1);
        }
        close(sock);
    });
    ASSERT_EQ(failure, "");
    ASSERT_EQ(setup_error, "");
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_TRUE(checksum_ok(frames[0], *transport(frames[0])));
    EXPECT_TRUE(metas[0].checksum_completed);  // TUN_F_CSUM: the host left it to us
    EXPECT_EQ(got, (std::vector<std::string>{"via tap"}));
}

// What the receiving side of GsoFramesPassWholeWithTheirMetadata saw.
struct GsoReport {
    size_t gso_frames = 0, plain_frames = 0, bad_metadata = 0, bad_checksums = 0, payload = 0;
    std::string error;
};

// In a namespace of its own holding p1: a TCP server on 192.0.2.2:9400 reading until the sender closes,
// with an AF_PACKET port on p1 watching the same traffic. Runs in a forked child; `ready` is written
// to once p1 is configured, the report to `out` at the end.
GsoReport serve_and_watch(int moved, int ready) {
    GsoReport report;
    char c;
    if (read(moved, &c, 1) != 1) return report;  // the parent moved p1 in
    for (const char* cmd : {"ip link set lo up", "ip link set p1 up", "ip addr add 192.0.2.2/24 dev p1"})
        if (std::system(cmd) != 0) report.error += std::string(cmd) + " failed; ";
    std::unique_ptr<Port> port;
    try {
        port = open_afpacket({.device = "p1"});
    } catch (const Error& e) {
        report.error += e.what();
    }
    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_storage at;
    const socklen_t len = address_of("192.0.2.2", 9400, at);
    if (bind(listener, reinterpret_cast<sockaddr*>(&at), len) != 0 || listen(listener, 1) != 0)
        report.error += std::string("listen: ") + std::strerror(errno);
    if (write(ready, "r", 1) != 1 || !report.error.empty()) return report;
    int conn = -1;
    bool closed = false;
    for (int idle = 0; !closed && idle < 200;) {
        bool any = false;
        if (conn < 0) conn = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
        if (conn >= 0) {
            char buf[65536];
            const ssize_t n = read(conn, buf, sizeof buf);
            if (n > 0) report.payload += static_cast<size_t>(n), any = true;
            if (n == 0) closed = true;
        }
        std::vector<RxFrame> frames;
        port->receive(frames, 64, 5);
        for (const RxFrame& f : frames) {
            const std::optional<L4> l4 = transport(f.bytes);
            if (!l4 || l4->dport != 9400) continue;
            any = true;
            if (f.meta.gso == Gso::None) {
                ++report.plain_frames;
                report.bad_checksums += !checksum_ok(f.bytes, *l4);
                continue;
            }
            ++report.gso_frames;
            // A whole TCP super-frame: larger than the MTU, segment size and header length as TCP over
            // IPv4 has them, checksum left partial at the TCP field.
            const bool sane = f.meta.gso == Gso::Tcpv4 && f.bytes.size() > 1514 && f.meta.gso_size > 0 &&
                              f.meta.gso_size <= 1460 && f.meta.csum_partial && f.meta.csum_start == l4->off &&
                              f.meta.csum_offset == 16;
            report.bad_metadata += !sane;
        }
        idle = any ? 0 : idle + 1;
    }
    if (conn >= 0) close(conn);
    close(listener);
    return report;
}

TEST_F(LivePort, GsoFramesPassWholeWithTheirMetadata) {
    GsoReport report;
    std::string parent_error;
    constexpr size_t kBytes = 4 << 20;
    const std::string failure = net::test::run_in_netns(kVeth, [&] {
        int moved[2], ready[2], out[2];
        if (pipe(moved) != 0 || pipe(ready) != 0 || pipe(out) != 0) return;
        const pid_t child = fork();
        if (child == 0) {
            if (unshare(CLONE_NEWNET) != 0) _exit(2);
            const GsoReport r = serve_and_watch(moved[0], ready[1]);
            const std::string text = fmt::format("{} {} {} {} {} {}", r.gso_frames, r.plain_frames, r.bad_metadata,
                                                 r.bad_checksums, r.payload, r.error);
            (void)!write(out[1], text.data(), text.size());
            _exit(0);
        }
        // Wait for the child's namespace to exist before moving p1 into it.
        usleep(100000);
        if (std::system(fmt::format("ip link set p1 netns {}", child).c_str()) != 0) parent_error = "moving p1 failed";
        (void)!write(moved[1], "m", 1);
        char c;
        if (read(ready[0], &c, 1) == 1) {
            std::system("ip neigh flush dev p0");
            sockaddr_storage to;
            const socklen_t len = address_of("192.0.2.2", 9400, to);
            const int fd = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(fd, reinterpret_cast<sockaddr*>(&to), len) != 0) {
                parent_error = std::string("connect: ") + std::strerror(errno);
            } else {
                const std::vector<uint8_t> data(kBytes, 0x42);
                for (size_t off = 0; off < data.size();) {
                    const ssize_t n = write(fd, data.data() + off, data.size() - off);
                    if (n <= 0) break;
                    off += static_cast<size_t>(n);
                }
            }
            close(fd);
        }
        close(out[1]);
        std::string text(256, '\0');
        const ssize_t n = read(out[0], text.data(), text.size());
        text.resize(n > 0 ? static_cast<size_t>(n) : 0);
        int status = 0;
        waitpid(child, &status, 0);
        std::istringstream in(text);
        in >> report.gso_frames >> report.plain_frames >> report.bad_metadata >> report.bad_checksums >> report.payload;
        std::getline(in >> std::ws, report.error);
    });
    ASSERT_EQ(failure, "");
    ASSERT_EQ(parent_error, "");
    ASSERT_EQ(report.error, "");
    std::printf("%zu GSO frames, %zu plain frames, %zu payload bytes\n", report.gso_frames, report.plain_frames,
                report.payload);
    EXPECT_EQ(report.payload, kBytes);
    EXPECT_GT(report.gso_frames, 0u) << "no GSO frame crossed the veth (TSO off?)";
    EXPECT_EQ(report.bad_metadata, 0u);
    EXPECT_EQ(report.bad_checksums, 0u) << "of " << report.plain_frames << " plain frames";
}

TEST(LivePortErrors, AMissingInterfaceIsNamed) {
    try {
        open_afpacket({.device = "no-such-dev0"});
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "no-such-dev0: no such interface");
    }
}

}  // namespace
}  // namespace tcbpf::io
