// Test frames for the forwarding tests: Ethernet from the upstream neighbour 02:00:00:00:0a:fe to
// 02:00:00:00:0a:00, IPv4 (from 192.0.2.50, valid header checksum) or IPv6 (from 2001:db8:a::50), UDP
// 12345 → 53 with `payload` bytes of 0x5a.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tcbpf/net.h"

namespace tcbpf::net::test {

inline uint16_t ipv4_checksum(const uint8_t* header) {
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += static_cast<uint32_t>(header[i] << 8 | header[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

inline std::vector<uint8_t> frame_to(const std::string& dst_text, uint8_t ttl, size_t payload) {
    const Ip dst = *parse_ip(dst_text);
    const bool v4 = dst.family == 4;
    const size_t l3 = v4 ? 20 : 40;
    std::vector<uint8_t> f(14 + l3 + 8 + payload, 0x5a);
    const uint8_t eth[14] = {2, 0, 0, 0, 0x0a, 0, 2, 0, 0, 0, 0x0a, 0xfe, static_cast<uint8_t>(v4 ? 0x08 : 0x86),
                             static_cast<uint8_t>(v4 ? 0x00 : 0xdd)};
    std::memcpy(f.data(), eth, 14);
    uint8_t* ip = f.data() + 14;
    const size_t l4_len = 8 + payload;
    if (v4) {
        const uint16_t total = static_cast<uint16_t>(20 + l4_len);
        const uint8_t h[12] = {0x45, 0x10, static_cast<uint8_t>(total >> 8), static_cast<uint8_t>(total), 0, 1, 0x40, 0,
                               ttl, 17, 0, 0};
        std::memcpy(ip, h, 12);
        const Ip src = *parse_ip("192.0.2.50");
        std::memcpy(ip + 12, src.bytes.data(), 4);
        std::memcpy(ip + 16, dst.bytes.data(), 4);
        const uint16_t sum = ipv4_checksum(ip);
        ip[10] = static_cast<uint8_t>(sum >> 8);
        ip[11] = static_cast<uint8_t>(sum);
    } else {
        const uint8_t h[8] = {0x60, 0, 0, 0, static_cast<uint8_t>(l4_len >> 8), static_cast<uint8_t>(l4_len), 17, ttl};
        std::memcpy(ip, h, 8);
        const Ip src = *parse_ip("2001:db8:a::50");
        std::memcpy(ip + 8, src.bytes.data(), 16);
        std::memcpy(ip + 24, dst.bytes.data(), 16);
    }
    uint8_t* udp = ip + l3;
    const uint8_t u[8] = {0x30, 0x39, 0x00, 0x35, static_cast<uint8_t>(l4_len >> 8), static_cast<uint8_t>(l4_len), 0, 0};
    std::memcpy(udp, u, 8);
    return f;
}

}  // namespace tcbpf::net::test
