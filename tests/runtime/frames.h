// Hand-built frames and a map-counter reader shared by the runtime tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "tcbpf/runtime.h"

namespace tcbpf::runtime::test_frames {

using Bytes = std::vector<uint8_t>;

inline constexpr uint8_t kMacs[12] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1};

// Ethernet + IPv4 10.0.0.1 → 10.0.0.2 + a protocol header of 8 bytes (UDP/TCP ports first), 64 bytes.
inline Bytes ipv4_frame(uint8_t proto, uint16_t sport, uint16_t dport) {
    Bytes f(64, 0);
    std::memcpy(f.data(), kMacs, 12);
    f[12] = 0x08, f[13] = 0x00;
    const uint8_t ip[20] = {0x45, 0, 0, 50, 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
    std::memcpy(&f[14], ip, 20);
    f[34] = static_cast<uint8_t>(sport >> 8), f[35] = static_cast<uint8_t>(sport);
    f[36] = static_cast<uint8_t>(dport >> 8), f[37] = static_cast<uint8_t>(dport);
    return f;
}

// Ethernet + IPv6 2001:db8::1 → 2001:db8::2 + UDP 1000 → 53, 86 bytes.
inline Bytes ipv6_frame() {
    Bytes f(86, 0);
    std::memcpy(f.data(), kMacs, 12);
    f[12] = 0x86, f[13] = 0xdd;
    f[14] = 0x60;
    f[19] = 16;  // payload length
    f[20] = 17;  // next header UDP
    f[21] = 64;
    f[22] = 0x20, f[23] = 0x01, f[24] = 0x0d, f[25] = 0xb8, f[37] = 1;
    f[38] = 0x20, f[39] = 0x01, f[40] = 0x0d, f[41] = 0xb8, f[53] = 2;
    f[54] = 0x03, f[55] = 0xe8, f[56] = 0x00, f[57] = 0x35;
    return f;
}

inline Bytes arp_frame() {
    Bytes f(42, 0);
    std::memset(f.data(), 0xff, 6);
    std::memcpy(f.data() + 6, kMacs + 6, 6);
    f[12] = 0x08, f[13] = 0x06;
    return f;
}

inline uint64_t counter(const LoadedObject& object, const char* map, uint32_t key) {
    uint64_t value = 0;
    EXPECT_EQ(object.map(map)->lookup_user(&key, &value), 0);
    return value;
}

}  // namespace tcbpf::runtime::test_frames
