// Helpers for the live-port tests: a veth pair script for run_in_netns, parsing the transport of
// captured frames, verifying their checksums, sending from the host's stack and building frames to send.
#pragma once

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "tcbpf/live_port.h"

namespace tcbpf::io::test {

// p0 (the host's side, addressed, neighbours static) <-> p1 (where tcbpf's port listens).
inline constexpr uint8_t kP0Mac[6] = {2, 0, 0, 0, 0, 0x10};
inline constexpr uint8_t kP1Mac[6] = {2, 0, 0, 0, 0, 0x11};
inline constexpr const char* kVeth = R"(
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

inline std::optional<L4> transport(std::span<const uint8_t> f) {
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
inline bool checksum_ok(std::span<const uint8_t> f, const L4& l4) {
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

inline int udp_socket(int family) {
    const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    return fd;
}

// dst:port as a socket address of dst's family; returns its length.
inline socklen_t address_of(const char* dst, uint16_t port, sockaddr_storage& out) {
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

inline void send_udp(const char* dst, uint16_t port, size_t payload, uint16_t sport = 0) {
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
inline int start_tcp(const char* dst, uint16_t port) {
    sockaddr_storage to;
    const socklen_t len = address_of(dst, port, to);
    const int fd = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&to), len);
    return fd;
}

// Receives from every port until `want` frames for `dport` arrived or a second passes without any.
inline std::vector<std::vector<std::vector<uint8_t>>> collect(const std::vector<Port*>& ports,
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

inline std::vector<std::vector<std::vector<uint8_t>>> collect(std::vector<std::unique_ptr<Port>>& ports,
                                                              const std::set<uint16_t>& dports, size_t want,
                                                              std::vector<FrameMeta>* metas = nullptr) {
    std::vector<Port*> raw;
    for (auto& p : ports) raw.push_back(p.get());
    return collect(raw, dports, want, metas);
}

inline std::vector<std::vector<uint8_t>> collect_one(Port& port, const std::set<uint16_t>& dports, size_t want,
                                                     std::vector<FrameMeta>* metas = nullptr) {
    return collect(std::vector<Port*>{&port}, dports, want, metas)[0];
}

// Frames a port received, with their metadata.
struct Received {
    std::vector<std::vector<uint8_t>> frames;
    std::vector<FrameMeta> metas;
};

// The host's stack on p0 sends UDP over IPv4 and IPv6 (to port 9001) and TCP SYNs over both (to 9002)
// toward p1, checksum offload on; returns the 5 frames `port` on p1 receives.
inline Received receive_offloaded_traffic(Port& port) {
    Received r;
    send_udp("192.0.2.2", 9001, 100);
    send_udp("2001:db8::2", 9001, 333);
    send_udp("192.0.2.2", 9001, 1);
    const int tcp4 = start_tcp("192.0.2.2", 9002);
    const int tcp6 = start_tcp("2001:db8::2", 9002);
    r.frames = collect_one(port, {9001, 9002}, 5, &r.metas);
    close(tcp4);
    close(tcp6);
    return r;
}

// Each of the 5 frames arrived with a correct checksum the port finished itself.
inline void expect_all_finished(const Received& r) {
    ASSERT_EQ(r.frames.size(), 5u);
    for (size_t i = 0; i < r.frames.size(); ++i) {
        const L4 l4 = *transport(r.frames[i]);
        EXPECT_TRUE(checksum_ok(r.frames[i], l4)) << "frame " << i << " proto " << int(l4.proto) << " to port " << l4.dport;
        EXPECT_FALSE(r.metas[i].csum_partial);
        EXPECT_TRUE(r.metas[i].checksum_completed) << "frame " << i;
    }
}

// What `workers` workers received of `flows` flows (distinct source ports): every flow exactly once
// over all of them, and some for each worker.
inline void expect_each_flow_once(const std::vector<std::vector<std::vector<uint8_t>>>& per_worker, size_t workers,
                                  size_t flows) {
    ASSERT_EQ(per_worker.size(), workers);
    std::set<uint16_t> sources;
    for (const auto& frames : per_worker) {
        EXPECT_FALSE(frames.empty()) << "a worker got no flow at all";
        for (const auto& f : frames) {
            const L4 l4 = *transport(f);
            EXPECT_TRUE(sources.insert(static_cast<uint16_t>(f[l4.off] << 8 | f[l4.off + 1])).second) << "duplicate";
        }
    }
    EXPECT_EQ(sources.size(), flows);
}

// An Ethernet + IPv4 frame (valid header checksum, protocol `proto`) with `l4_len` zero bytes after
// the IP header, for the caller to fill.
inline std::vector<uint8_t> ipv4_frame(const uint8_t dst_mac[6], const uint8_t src_mac[6], const char* src, const char* dst,
                                       uint8_t proto, size_t l4_len) {
    std::vector<uint8_t> f(34 + l4_len);
    std::memcpy(f.data(), dst_mac, 6);
    std::memcpy(f.data() + 6, src_mac, 6);
    f[12] = 0x08;
    const uint16_t total = static_cast<uint16_t>(20 + l4_len);
    const uint8_t ip[12] = {0x45, 0, static_cast<uint8_t>(total >> 8), static_cast<uint8_t>(total), 0, 0, 0x40, 0, 64, proto, 0, 0};
    std::memcpy(f.data() + 14, ip, 12);
    inet_pton(AF_INET, src, f.data() + 26);
    inet_pton(AF_INET, dst, f.data() + 30);
    uint32_t sum = 0;
    for (int i = 14; i < 34; i += 2) sum += static_cast<uint32_t>(f[i] << 8 | f[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    f[24] = static_cast<uint8_t>(~sum >> 8);
    f[25] = static_cast<uint8_t>(~sum);
    return f;
}

// Puts the pseudo-header sum of an Ethernet/IPv4 frame's TCP or UDP header into its checksum field at
// `field`: what a sender with checksum offload leaves for the device to finish.
inline void write_pseudo_sum(std::vector<uint8_t>& f, size_t field) {
    uint32_t p = f[23] + static_cast<uint32_t>(f.size() - 34);
    for (int i = 26; i < 34; i += 2) p += static_cast<uint32_t>(f[i] << 8 | f[i + 1]);
    while (p >> 16) p = (p & 0xffff) + (p >> 16);
    f[field] = static_cast<uint8_t>(p >> 8);
    f[field + 1] = static_cast<uint8_t>(p);
}
inline void write_pseudo_sum(std::vector<uint8_t>& f) { write_pseudo_sum(f, 50); }  // TCP

// Ethernet + IPv4 + UDP from 02:..:11/192.0.2.2:7 to `dst_mac`/`dst`:port; checksum complete, or left
// as the pseudo-header sum for the kernel to finish (`partial`).
inline std::vector<uint8_t> udp_frame(const uint8_t dst_mac[6], const char* dst, uint16_t port, const std::string& payload,
                                      bool partial, FrameMeta* meta) {
    std::vector<uint8_t> f = ipv4_frame(dst_mac, kP1Mac, "192.0.2.2", dst, 17, 8 + payload.size());
    const uint16_t udp_len = static_cast<uint16_t>(8 + payload.size());
    const uint8_t udp[6] = {0, 7, static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port), static_cast<uint8_t>(udp_len >> 8),
                            static_cast<uint8_t>(udp_len)};
    std::memcpy(f.data() + 34, udp, 6);
    std::memcpy(f.data() + 42, payload.data(), payload.size());
    write_pseudo_sum(f, 40);
    if (partial) {
        meta->csum_partial = true;
        meta->csum_start = 34;
        meta->csum_offset = 6;
    } else {
        complete_checksum(f, 34, 6);
    }
    return f;
}

// What a UDP socket receives (up to `want` datagrams, waiting a second at most in all).
inline std::vector<std::string> receive_udp(int fd, size_t want) {
    std::vector<std::string> got;
    for (int idle = 0; idle < 100 && got.size() < want;) {
        char buf[2048];
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n >= 0) got.emplace_back(buf, static_cast<size_t>(n));
        else usleep(10000), ++idle;
    }
    return got;
}

// A UDP socket bound to addr:port.
inline int bound_udp(const char* addr, uint16_t port) {
    sockaddr_storage at;
    const socklen_t len = address_of(addr, port, at);
    const int fd = udp_socket(at.ss_family);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&at), len), 0) << std::strerror(errno);
    return fd;
}

// What a port transmitted toward p0's UDP socket on 192.0.2.1, and what that socket received.
struct Delivery {
    size_t sent = 0;
    std::vector<std::string> received;
};

// Two UDP datagrams to 192.0.2.1:9200 through `port`: one with a complete checksum ("complete"), one
// partial for the port's lower half to finish (`partial_text`).
inline Delivery send_complete_and_partial(Port& port, const std::string& partial_text) {
    Delivery d;
    const int sock = bound_udp("192.0.2.1", 9200);
    FrameMeta complete, partial;
    const std::vector<uint8_t> a = udp_frame(kP0Mac, "192.0.2.1", 9200, "complete", false, &complete);
    const std::vector<uint8_t> b = udp_frame(kP0Mac, "192.0.2.1", 9200, partial_text, true, &partial);
    const TxFrame frames[] = {{a, complete}, {b, partial}};
    d.sent = port.transmit(frames);
    d.received = receive_udp(sock, 2);
    close(sock);
    return d;
}

// One UDP GSO super-frame of three 500-byte segments ("a"s, "b"s, "c"s) to 192.0.2.1:9500 through
// `port`: the socket must receive three datagrams.
inline Delivery send_udp_gso_frame(Port& port) {
    Delivery d;
    const int sock = bound_udp("192.0.2.1", 9500);
    FrameMeta meta;
    const std::string payload = std::string(500, 'a') + std::string(500, 'b') + std::string(500, 'c');
    const std::vector<uint8_t> f = udp_frame(kP0Mac, "192.0.2.1", 9500, payload, true, &meta);
    meta.gso = Gso::UdpL4;
    meta.gso_size = 500;
    meta.hdr_len = 42;
    const TxFrame frames[] = {{f, meta}};
    d.sent = port.transmit(frames);
    d.received = receive_udp(sock, 3);
    close(sock);
    return d;
}

// What `command` prints on stdout (through /bin/sh).
inline std::string shell_output(const std::string& command) {
    std::string out;
    if (FILE* p = popen(command.c_str(), "r")) {
        char buf[512];
        for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
        pclose(p);
    }
    return out;
}

// Ethernet + IPv4 + TCP (PSH|ACK, 20-byte header) carrying `payload`; the TCP checksum field is left 0.
inline std::vector<uint8_t> tcp_frame(const uint8_t dst_mac[6], const uint8_t src_mac[6], const char* src, const char* dst,
                                      uint16_t sport, uint16_t dport, uint32_t seq, const std::string& payload) {
    std::vector<uint8_t> f = ipv4_frame(dst_mac, src_mac, src, dst, 6, 20 + payload.size());
    const uint8_t tcp[14] = {static_cast<uint8_t>(sport >> 8), static_cast<uint8_t>(sport), static_cast<uint8_t>(dport >> 8),
                             static_cast<uint8_t>(dport), static_cast<uint8_t>(seq >> 24), static_cast<uint8_t>(seq >> 16),
                             static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq), 0, 0, 0, 1, 0x50, 0x18};
    std::memcpy(f.data() + 34, tcp, sizeof tcp);
    f[48] = 0xff;  // window
    std::memcpy(f.data() + 54, payload.data(), payload.size());
    return f;
}

}  // namespace tcbpf::io::test
