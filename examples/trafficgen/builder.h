// Byte-level frame construction for the traffic generator: Ethernet/VLAN, IPv4 (with options), IPv6
// (with extension headers), TCP/UDP/ICMP/ICMPv6, with correct lengths and checksums. The generator
// decides *what* to send; this file only knows how each header is laid out on the wire.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace tcbpf::trafficgen {

using Bytes = std::vector<uint8_t>;
using Ip4 = std::array<uint8_t, 4>;
using Ip6 = std::array<uint8_t, 16>;

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmp6 = 58;
inline constexpr uint8_t kProtoHopByHop = 0;
inline constexpr uint8_t kProtoRouting = 43;
inline constexpr uint8_t kProtoFragment = 44;
inline constexpr uint8_t kProtoDestOpts = 60;

void put16(Bytes& out, uint16_t v);  // network order
void put32(Bytes& out, uint32_t v);
void set16(Bytes& out, size_t at, uint16_t v);

// dst, src MACs and the tags (outermost first) before the EtherType.
struct L2 {
    std::array<uint8_t, 6> dst{};
    std::array<uint8_t, 6> src{};
    std::vector<std::pair<uint16_t, uint16_t>> tags;  // (TPID, TCI)
};
Bytes ethernet(const L2& l2, uint16_t ethertype);

// L4 segment with its checksum computed over the given pseudo header sum.
struct L4 {
    uint8_t proto = kProtoUdp;
    uint16_t sport = 0, dport = 0;
    uint8_t icmp_type = 8;  // ICMP(v6) echo request by default
    uint32_t seq = 0;
    uint8_t tcp_flags = 0x02;
    Bytes payload;
};
// The L4 header and payload; checksum filled using `pseudo_sum` (csum_partial of the pseudo header,
// 0 for ICMPv4 which has none).
Bytes l4_segment(const L4& l4, uint32_t pseudo_sum);
uint32_t pseudo_sum4(const Ip4& src, const Ip4& dst, uint8_t proto, uint16_t length);
uint32_t pseudo_sum6(const Ip6& src, const Ip6& dst, uint8_t proto, uint32_t length);

struct Ip4Header {
    Ip4 src{}, dst{};
    uint8_t proto = kProtoUdp;
    uint16_t id = 0;
    uint8_t ttl = 64;
    uint16_t frag_field = 0;  // flags (DF 0x4000, MF 0x2000) | offset in 8-byte units
    Bytes options;            // multiple of 4, ≤ 40
};
// IPv4 header with checksum for a payload of `payload_len` bytes.
Bytes ipv4_header(const Ip4Header& h, size_t payload_len);

struct Ip6Header {
    Ip6 src{}, dst{};
    uint8_t next = kProtoUdp;
    uint8_t hop_limit = 64;
    uint32_t flow = 0;
};
Bytes ipv6_header(const Ip6Header& h, size_t payload_len);
// One extension header (8 bytes, or 8 + 8*len for routing/options) chaining to `next`.
Bytes ipv6_ext(uint8_t type, uint8_t next);
Bytes ipv6_fragment_ext(uint8_t next, uint16_t offset_units, bool more, uint32_t id);

}  // namespace tcbpf::trafficgen
