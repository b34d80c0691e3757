// The generator draws, per frame: a kind (weighted), a flow (mostly from a fixed table so flows
// repeat, sometimes fresh), L2 decoration (VLAN, QinQ), L3 decoration (IPv4 options, IPv6 extension
// headers) and a size. Broken kinds start from a valid frame and damage exactly one thing.
#include "generator.h"

#include <array>
#include <utility>

#include "builder.h"

namespace tcbpf::trafficgen {

namespace {

// splitmix64: tiny, fast, and identical everywhere.
class Rng {
   public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    uint32_t below(uint32_t n) { return static_cast<uint32_t>(next() % n); }
    uint32_t between(uint32_t lo, uint32_t hi) { return lo + below(hi - lo + 1); }
    bool chance(uint32_t percent) { return below(100) < percent; }
    uint8_t byte() { return static_cast<uint8_t>(next()); }

   private:
    uint64_t state_;
};

enum class Kind {
    Ipv4Tcp, Ipv4Udp, Ipv4Icmp, Ipv6Tcp, Ipv6Udp, Ipv6Icmp,
    Ipv4FragFirst, Ipv4FragLater, Ipv6FragFirst, Ipv6FragLater, Arp,
    BadIhl, ShortIpv4, ShortIpv6, Runt, TruncatedL4, BadIpChecksum, BadL4Checksum,
};
constexpr std::pair<Kind, uint32_t> kWeights[] = {
    {Kind::Ipv4Tcp, 20},      {Kind::Ipv4Udp, 16},       {Kind::Ipv4Icmp, 6},      {Kind::Ipv6Tcp, 10},
    {Kind::Ipv6Udp, 8},       {Kind::Ipv6Icmp, 4},       {Kind::Ipv4FragFirst, 3}, {Kind::Ipv4FragLater, 3},
    {Kind::Ipv6FragFirst, 2}, {Kind::Ipv6FragLater, 2},  {Kind::Arp, 4},           {Kind::BadIhl, 3},
    {Kind::ShortIpv4, 3},     {Kind::ShortIpv6, 2},      {Kind::Runt, 2},          {Kind::TruncatedL4, 3},
    {Kind::BadIpChecksum, 2}, {Kind::BadL4Checksum, 2},
};

const char* kind_name(Kind kind) {
    switch (kind) {
        case Kind::Ipv4Tcp: return "ipv4_tcp";
        case Kind::Ipv4Udp: return "ipv4_udp";
        case Kind::Ipv4Icmp: return "ipv4_icmp";
        case Kind::Ipv6Tcp: return "ipv6_tcp";
        case Kind::Ipv6Udp: return "ipv6_udp";
        case Kind::Ipv6Icmp: return "ipv6_icmp";
        case Kind::Ipv4FragFirst: return "ipv4_fragment_first";
        case Kind::Ipv4FragLater: return "ipv4_fragment_later";
        case Kind::Ipv6FragFirst: return "ipv6_fragment_first";
        case Kind::Ipv6FragLater: return "ipv6_fragment_later";
        case Kind::Arp: return "arp";
        case Kind::BadIhl: return "bad_ihl";
        case Kind::ShortIpv4: return "short_ipv4";
        case Kind::ShortIpv6: return "short_ipv6";
        case Kind::Runt: return "runt";
        case Kind::TruncatedL4: return "truncated_l4";
        case Kind::BadIpChecksum: return "bad_ip_checksum";
        case Kind::BadL4Checksum: return "bad_l4_checksum";
    }
    return "?";
}

Kind pick_kind(Rng& rng) {
    uint32_t total = 0;
    for (const auto& [kind, weight] : kWeights) total += weight;
    uint32_t roll = rng.below(total);
    for (const auto& [kind, weight] : kWeights) {
        if (roll < weight) return kind;
        roll -= weight;
    }
    return Kind::Ipv4Udp;
}

// Address and port ranges, so LPM ACLs and port-range classifiers see both hits and misses.
constexpr std::array<std::array<uint8_t, 3>, 10> kV4Prefixes = {{
    {10, 0, 0}, {10, 1, 7}, {10, 200, 3}, {172, 16, 5}, {172, 31, 255},
    {192, 168, 1}, {192, 168, 100}, {203, 0, 113}, {198, 51, 100}, {100, 64, 12},
}};
constexpr std::array<std::array<uint8_t, 6>, 5> kV6Prefixes = {{
    {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00}, {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01}, {0xfd, 0x00, 0x12, 0x34, 0x00, 0x00},
    {0xfe, 0x80, 0x00, 0x00, 0x00, 0x00}, {0x26, 0x06, 0x47, 0x00, 0x00, 0x10},
}};
constexpr uint16_t kWellKnownPorts[] = {22, 25, 53, 80, 123, 443, 853, 3306, 5432, 6379, 8080, 8443};

uint16_t pick_port(Rng& rng) {
    switch (rng.below(4)) {
        case 0: return kWellKnownPorts[rng.below(std::size(kWellKnownPorts))];
        case 1: return static_cast<uint16_t>(rng.between(1024, 5000));
        case 2: return static_cast<uint16_t>(rng.between(5001, 49151));
        default: return static_cast<uint16_t>(rng.between(49152, 65535));
    }
}

struct Flow {
    Ip4 src4{}, dst4{};
    Ip6 src6{}, dst6{};
    uint16_t sport = 0, dport = 0;
    std::array<uint8_t, 6> src_mac{};
};

Flow random_flow(Rng& rng) {
    Flow f;
    auto v4 = [&rng](Ip4& ip) {
        const auto& p = kV4Prefixes[rng.below(kV4Prefixes.size())];
        ip = {p[0], p[1], p[2], static_cast<uint8_t>(rng.between(1, 254))};
    };
    auto v6 = [&rng](Ip6& ip) {
        const auto& p = kV6Prefixes[rng.below(kV6Prefixes.size())];
        for (size_t i = 0; i < 6; ++i) ip[i] = p[i];
        for (size_t i = 6; i < 16; ++i) ip[i] = i < 14 ? 0 : rng.byte();
    };
    v4(f.src4);
    v4(f.dst4);
    v6(f.src6);
    v6(f.dst6);
    f.sport = pick_port(rng);
    f.dport = pick_port(rng);
    f.src_mac = {0x02, 0x00, 0x00, rng.byte(), rng.byte(), rng.byte()};
    return f;
}

std::array<uint8_t, 6> pick_dst_mac(Rng& rng) {
    switch (rng.below(10)) {
        case 0: return {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        case 1: return {0x01, 0x00, 0x5e, 0x00, 0x00, rng.byte()};
        case 2: return {0, 0, 0, 0, 0, 0};
        default: return {0x02, 0xfc, 0x00, 0x00, 0x00, 0x01};
    }
}

// Frame sizes 60..1514, most small as on real links.
size_t pick_size(Rng& rng) {
    const uint32_t band = rng.below(10);
    if (band < 5) return rng.between(60, 200);
    if (band < 8) return rng.between(201, 1000);
    return rng.between(1001, 1514);
}

Bytes random_bytes(Rng& rng, size_t n) {
    Bytes out(n);
    for (uint8_t& b : out) b = rng.byte();
    return out;
}

void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

class Generator {
   public:
    explicit Generator(uint64_t seed) : rng_(seed) {
        for (Flow& f : flows_) f = random_flow(rng_);
    }

    Bytes frame(Kind& kind) {
        kind = pick_kind(rng_);
        flow_ = rng_.chance(85) ? flows_[rng_.below(flows_.size())] : random_flow(rng_);
        l2_ = L2{};
        l2_.dst = pick_dst_mac(rng_);
        l2_.src = flow_.src_mac;
        if (kind != Kind::Runt) {
            const uint32_t roll = rng_.below(100);
            if (roll < 6) {
                const uint16_t outer = static_cast<uint16_t>(rng_.between(1, 4094));
                l2_.tags = {{0x88a8, outer}, {0x8100, vlan_tci()}};
            } else if (roll < 21) {
                l2_.tags = {{0x8100, vlan_tci()}};
            }
        }
        const size_t target = pick_size(rng_);
        Bytes out = build(kind, target);
        // Ethernet pads short valid frames to its 60-byte minimum; damaged kinds keep their length.
        if (!damaged_length(kind) && out.size() < 60) out.resize(60, 0);
        return out;
    }

   private:
    // Every draw is its own statement: operands of | or of a call are unsequenced, and g++ and clang
    // order them differently, which would make a seed mean different bytes per compiler.
    uint16_t vlan_tci() {
        const uint32_t vid = rng_.between(1, 4094);
        const uint32_t pcp = rng_.below(8);
        return static_cast<uint16_t>(vid | (pcp << 13));
    }

    static bool damaged_length(Kind k) {
        return k == Kind::ShortIpv4 || k == Kind::ShortIpv6 || k == Kind::Runt || k == Kind::TruncatedL4;
    }

    size_t l2_len() const { return 14 + 4 * l2_.tags.size(); }

    L4 make_l4(uint8_t proto, size_t payload_len) {
        L4 l4;
        l4.proto = proto;
        l4.sport = flow_.sport;
        l4.dport = flow_.dport;
        l4.seq = static_cast<uint32_t>(rng_.next());
        l4.tcp_flags = std::array<uint8_t, 4>{0x02, 0x10, 0x18, 0x11}[rng_.below(4)];
        l4.icmp_type = proto == kProtoIcmp6 ? (rng_.chance(50) ? 128 : 129) : (rng_.chance(50) ? 8 : 0);
        l4.payload = random_bytes(rng_, payload_len);
        return l4;
    }

    static size_t l4_header_len(uint8_t proto) { return proto == kProtoTcp ? 20 : 8; }

    Bytes ipv4(uint8_t proto, size_t target, bool with_options) {
        Ip4Header h;
        h.src = flow_.src4;
        h.dst = flow_.dst4;
        h.proto = proto;
        h.id = static_cast<uint16_t>(rng_.next());
        h.frag_field = rng_.chance(50) ? 0x4000 : 0;
        if (with_options) {
            // Router alert (4 bytes), or a record-route skeleton padded with NOPs/EOL.
            h.options = rng_.chance(50) ? Bytes{0x94, 0x04, 0x00, 0x00} : Bytes{0x07, 0x07, 0x04, 0, 0, 0, 0, 0x00};
        }
        const size_t fixed = l2_len() + 20 + h.options.size() + l4_header_len(proto);
        const size_t payload = target > fixed ? target - fixed : 0;
        const Bytes seg = l4_segment(make_l4(proto, payload),
                                     proto == kProtoIcmp ? 0 : pseudo_sum4(h.src, h.dst, proto, static_cast<uint16_t>(l4_header_len(proto) + payload)));
        Bytes out = ethernet(l2_, 0x0800);
        append(out, ipv4_header(h, seg.size()));
        append(out, seg);
        return out;
    }

    Bytes ipv6(uint8_t proto, size_t target, bool with_ext) {
        Ip6Header h;
        h.src = flow_.src6;
        h.dst = flow_.dst6;
        h.flow = static_cast<uint32_t>(rng_.next());
        Bytes ext;
        uint8_t first = proto;
        if (with_ext) {
            // Up to two headers in RFC 8200 order: hop-by-hop, then routing or destination options.
            const bool hbh = rng_.chance(50);
            const uint8_t second = rng_.chance(50) ? kProtoRouting : kProtoDestOpts;
            ext = ipv6_ext(second, proto);
            first = second;
            if (hbh) {
                Bytes both = ipv6_ext(kProtoHopByHop, second);
                append(both, ext);
                ext = both;
                first = kProtoHopByHop;
            }
        }
        h.next = first;
        const size_t fixed = l2_len() + 40 + ext.size() + l4_header_len(proto);
        const size_t payload = target > fixed ? target - fixed : 0;
        const Bytes seg = l4_segment(make_l4(proto, payload),
                                     pseudo_sum6(h.src, h.dst, proto, static_cast<uint32_t>(l4_header_len(proto) + payload)));
        Bytes out = ethernet(l2_, 0x86dd);
        append(out, ipv6_header(h, ext.size() + seg.size()));
        append(out, ext);
        append(out, seg);
        return out;
    }

    uint8_t pick_l4_proto() { return std::array<uint8_t, 3>{kProtoTcp, kProtoUdp, kProtoUdp}[rng_.below(3)]; }

    Bytes ipv4_fragment(bool first, size_t target) {
        Ip4Header h;
        h.src = flow_.src4;
        h.dst = flow_.dst4;
        h.proto = kProtoUdp;
        h.id = static_cast<uint16_t>(rng_.next());
        const size_t room = target > l2_len() + 20 + 16 ? target - l2_len() - 20 : 16;
        const size_t carried = std::max<size_t>(16, room / 8 * 8);
        Bytes body;
        if (first) {
            // The first fragment holds the UDP header of the whole datagram (checksum over all of it).
            const size_t whole_payload = carried + rng_.between(8, 1400);
            const Bytes seg = l4_segment(make_l4(kProtoUdp, whole_payload),
                                         pseudo_sum4(h.src, h.dst, kProtoUdp, static_cast<uint16_t>(8 + whole_payload)));
            body.assign(seg.begin(), seg.begin() + static_cast<long>(carried));
            h.frag_field = 0x2000;
        } else {
            body = random_bytes(rng_, rng_.chance(70) ? carried : carried - rng_.below(8));
            const uint16_t more = rng_.chance(50) ? 0x2000 : 0;
            const uint16_t offset = static_cast<uint16_t>(rng_.between(1, 1000));
            h.frag_field = static_cast<uint16_t>(more | offset);
        }
        Bytes out = ethernet(l2_, 0x0800);
        append(out, ipv4_header(h, body.size()));
        append(out, body);
        return out;
    }

    Bytes ipv6_fragment(bool first, size_t target) {
        Ip6Header h;
        h.src = flow_.src6;
        h.dst = flow_.dst6;
        h.next = kProtoFragment;
        const size_t room = target > l2_len() + 48 + 16 ? target - l2_len() - 48 : 16;
        const size_t carried = std::max<size_t>(16, room / 8 * 8);
        const uint32_t id = static_cast<uint32_t>(rng_.next());
        Bytes frag;
        Bytes body;
        if (first) {
            const size_t whole_payload = carried + rng_.between(8, 1400);
            const Bytes seg = l4_segment(make_l4(kProtoUdp, whole_payload),
                                         pseudo_sum6(h.src, h.dst, kProtoUdp, static_cast<uint32_t>(8 + whole_payload)));
            body.assign(seg.begin(), seg.begin() + static_cast<long>(carried));
            frag = ipv6_fragment_ext(kProtoUdp, 0, true, id);
        } else {
            body = random_bytes(rng_, carried);
            const auto offset = static_cast<uint16_t>(rng_.between(1, 1000));
            const bool more = rng_.chance(50);
            frag = ipv6_fragment_ext(kProtoUdp, offset, more, id);
        }
        Bytes out = ethernet(l2_, 0x86dd);
        append(out, ipv6_header(h, frag.size() + body.size()));
        append(out, frag);
        append(out, body);
        return out;
    }

    Bytes arp() {
        Bytes out = ethernet(l2_, 0x0806);
        put16(out, 1);       // Ethernet
        put16(out, 0x0800);  // IPv4
        out.push_back(6);
        out.push_back(4);
        put16(out, rng_.chance(50) ? 1 : 2);
        out.insert(out.end(), flow_.src_mac.begin(), flow_.src_mac.end());
        out.insert(out.end(), flow_.src4.begin(), flow_.src4.end());
        out.insert(out.end(), 6, 0);
        out.insert(out.end(), flow_.dst4.begin(), flow_.dst4.end());
        return out;
    }

    Bytes build(Kind kind, size_t target) {
        const size_t l3 = l2_len();
        switch (kind) {
            case Kind::Ipv4Tcp: return ipv4(kProtoTcp, target, rng_.chance(15));
            case Kind::Ipv4Udp: return ipv4(kProtoUdp, target, rng_.chance(15));
            case Kind::Ipv4Icmp: return ipv4(kProtoIcmp, target, rng_.chance(15));
            case Kind::Ipv6Tcp: return ipv6(kProtoTcp, target, rng_.chance(25));
            case Kind::Ipv6Udp: return ipv6(kProtoUdp, target, rng_.chance(25));
            case Kind::Ipv6Icmp: return ipv6(kProtoIcmp6, target, rng_.chance(25));
            case Kind::Ipv4FragFirst: return ipv4_fragment(true, target);
            case Kind::Ipv4FragLater: return ipv4_fragment(false, target);
            case Kind::Ipv6FragFirst: return ipv6_fragment(true, target);
            case Kind::Ipv6FragLater: return ipv6_fragment(false, target);
            case Kind::Arp: return arp();
            case Kind::BadIhl: {
                Bytes out = ipv4(pick_l4_proto(), target, false);
                // IHL below the minimum of 5, or claiming more header than the packet holds.
                const uint8_t ihl = rng_.chance(60) ? static_cast<uint8_t>(rng_.below(5)) : uint8_t{15};
                out[l3] = static_cast<uint8_t>(0x40 | ihl);
                if (ihl == 15) out.resize(std::min(out.size(), l3 + 20 + rng_.below(40)));
                return out;
            }
            case Kind::ShortIpv4: {
                l2_.tags.clear();
                Bytes bare = ipv4(pick_l4_proto(), target, false);
                bare.resize(rng_.between(14, 33));  // untagged so the frame is IPv4-typed yet < 34
                return bare;
            }
            case Kind::ShortIpv6: {
                l2_.tags.clear();
                Bytes bare = ipv6(pick_l4_proto(), target, false);
                bare.resize(rng_.between(14, 53));
                return bare;
            }
            case Kind::Runt: {
                Bytes out = ipv4(kProtoUdp, target, false);
                out.resize(rng_.between(1, 13));
                return out;
            }
            case Kind::TruncatedL4: {
                const bool v6 = rng_.chance(40);
                Bytes out = v6 ? ipv6(kProtoTcp, target, false) : ipv4(kProtoTcp, target, false);
                out.resize(l3 + (v6 ? 40 : 20) + rng_.below(20));  // cut inside the TCP header
                return out;
            }
            case Kind::BadIpChecksum: {
                const uint8_t proto = pick_l4_proto();
                Bytes out = ipv4(proto, target, rng_.chance(15));
                out[l3 + 10] ^= static_cast<uint8_t>(rng_.between(1, 255));
                return out;
            }
            case Kind::BadL4Checksum: {
                const uint8_t proto = pick_l4_proto();
                Bytes out = ipv4(proto, target, false);
                out[l3 + 20 + (proto == kProtoTcp ? 16 : 6)] ^= static_cast<uint8_t>(rng_.between(1, 255));
                return out;
            }
        }
        return {};
    }

    Rng rng_;
    std::array<Flow, 96> flows_{};
    Flow flow_{};
    L2 l2_{};
};

}  // namespace

const std::vector<std::string>& kind_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& [kind, weight] : kWeights) out.emplace_back(kind_name(kind));
        return out;
    }();
    return names;
}

std::vector<io::Frame> generate(const Options& options, std::vector<std::string>* kinds) {
    Generator generator(options.seed);
    Rng clock(options.seed ^ 0x7c159e3779b97f4aULL);
    std::vector<io::Frame> frames;
    frames.reserve(options.count);
    uint64_t now_ns = 1'700'000'000'000'000'000ULL;
    for (uint32_t i = 0; i < options.count; ++i) {
        now_ns += 1000 + clock.below(2'000'000);  // strictly increasing, 1 µs .. 2 ms apart
        io::Frame frame;
        Kind kind{};
        frame.bytes = generator.frame(kind);
        if (kinds != nullptr) kinds->emplace_back(kind_name(kind));
        frame.timestamp_ns = now_ns;
        frame.wire_len = static_cast<uint32_t>(frame.bytes.size());
        frames.push_back(std::move(frame));
    }
    return frames;
}

void write_traffic(const std::string& path, const Options& options) {
    io::write_pcap(path, generate(options), io::TimePrecision::Nano);
}

}  // namespace tcbpf::trafficgen
