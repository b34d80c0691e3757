// Addresses and prefixes: parsing, printing, masking.
#include <arpa/inet.h>

#include <string>

#include "tcbpf/net.h"

namespace tcbpf::net {

Ip Ip::v4(uint32_t host_order) {
    Ip ip;
    ip.family = 4;
    for (int i = 0; i < 4; ++i) ip.bytes[i] = static_cast<uint8_t>(host_order >> (24 - 8 * i));
    return ip;
}

Ip Ip::from_v4_bytes(const uint8_t* network_order) {
    Ip ip;
    ip.family = 4;
    std::copy(network_order, network_order + 4, ip.bytes.begin());
    return ip;
}

Ip Ip::from_v6_bytes(const uint8_t* network_order) {
    Ip ip;
    ip.family = 6;
    std::copy(network_order, network_order + 16, ip.bytes.begin());
    return ip;
}

bool Prefix::contains(const Ip& ip) const {
    return ip.family == addr.family && mask_ip(ip, len) == addr;
}

std::optional<Ip> parse_ip(std::string_view text) {
    const std::string s(text);
    Ip ip;
    if (s.find(':') == std::string::npos) {
        ip.family = 4;
        if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) != 1) return std::nullopt;
    } else {
        ip.family = 6;
        if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) != 1) return std::nullopt;
    }
    return ip;
}

std::string format_ip(const Ip& ip) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(ip.family == 4 ? AF_INET : AF_INET6, ip.bytes.data(), buf, sizeof buf);
    return buf;
}

Ip mask_ip(const Ip& ip, uint8_t len) {
    Ip out = ip;
    const uint32_t total = ip.bits();
    for (uint32_t bit = len; bit < total; ++bit) out.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    for (uint32_t byte = total / 8; byte < 16; ++byte) out.bytes[byte] = 0;
    return out;
}

uint32_t common_prefix_len(const Ip& a, const Ip& b) {
    const uint32_t total = a.bits();
    for (uint32_t bit = 0; bit < total; ++bit) {
        const uint8_t m = static_cast<uint8_t>(0x80u >> (bit % 8));
        if ((a.bytes[bit / 8] & m) != (b.bytes[bit / 8] & m)) return bit;
    }
    return total;
}

}  // namespace tcbpf::net
