// A deterministic mix of the traffic tc programs meet: plain and VLAN/QinQ-tagged Ethernet, IPv4 with
// and without options, IPv6 with and without extension headers, TCP/UDP/ICMP/ICMPv6, fragments, and
// deliberately broken frames (runts, short IP frames, bad IHL, truncated L4, bad checksums).
//
// Everything is drawn from one seeded PRNG of our own (std:: distributions differ between standard
// libraries), so a seed names one exact byte stream on every host.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tcbpf/pcap.h"

namespace tcbpf::trafficgen {

struct Options {
    uint64_t seed = 1;
    uint32_t count = 1000;
};

// `kinds`, when given, receives each frame's kind ("ipv4_tcp", "bad_ihl", ...; see kind_names()).
std::vector<io::Frame> generate(const Options& options, std::vector<std::string>* kinds = nullptr);
// Every kind the generator draws, valid ones first.
const std::vector<std::string>& kind_names();
// generate() written as a nanosecond pcap.
void write_traffic(const std::string& path, const Options& options);

}  // namespace tcbpf::trafficgen
