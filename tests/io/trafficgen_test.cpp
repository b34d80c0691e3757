// The traffic generator's promises, checked by reading its pcap back with tcbpf's reader and parsing
// every frame with an independent little dissector: the mix holds every category, valid frames carry
// valid checksums, flows and address/port ranges vary, timestamps increase, and a seed names one exact
// file (pinned by FNV-1a so a change of generator output is a visible, deliberate act).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "generator.h"
#include "tcbpf/pcap.h"
#include "tcbpf/skb.h"

namespace tcbpf::trafficgen {
namespace {

namespace fs = std::filesystem;

uint16_t be16(const std::vector<uint8_t>& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }

struct Dissection {
    std::map<std::string, int> counts;
    std::set<std::tuple<std::string, std::string, uint8_t, uint16_t, uint16_t>> flows;
    std::set<uint32_t> v4_prefixes;  // /24 of the source
    std::set<int> port_ranges;       // 0 well-known, 1 1024..5000, 2 5001..49151, 3 ≥ 49152
};

int port_range(uint16_t port) { return port < 1024 ? 0 : port <= 5000 ? 1 : port <= 49151 ? 2 : 3; }

// Verifies a TCP/UDP/ICMP(v6) checksum when the whole segment is in the frame.
bool l4_checksum_ok(const std::vector<uint8_t>& f, size_t l4, size_t l4_len, uint32_t pseudo) {
    if (l4 + l4_len > f.size()) return true;  // cannot judge a segment we do not have
    const std::span<const uint8_t> seg(f.data() + l4, l4_len);
    return skb::csum_fold(skb::csum_partial(seg, pseudo)) == 0;
}

uint32_t pseudo(const std::vector<uint8_t>& f, size_t src, size_t addr_len, uint8_t proto, uint32_t len) {
    std::vector<uint8_t> p(f.begin() + static_cast<long>(src), f.begin() + static_cast<long>(src + 2 * addr_len));
    if (addr_len == 4) {
        p.insert(p.end(), {0, proto, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)});
    } else {
        p.insert(p.end(), {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16), static_cast<uint8_t>(len >> 8),
                           static_cast<uint8_t>(len), 0, 0, 0, proto});
    }
    return skb::csum_partial(p, 0);
}

void dissect_l4(const std::vector<uint8_t>& f, size_t l4, size_t l4_len, uint8_t proto, uint32_t pseudo_sum,
                const std::string& src, const std::string& dst, Dissection& d) {
    const size_t need = proto == 6 ? 20 : 8;
    if (l4 + need > f.size()) {
        ++d.counts["truncated_l4"];
        return;
    }
    const char* name = proto == 6 ? "tcp" : proto == 17 ? "udp" : proto == 1 ? "icmp" : proto == 58 ? "icmpv6" : "other_l4";
    ++d.counts[name];
    if (!l4_checksum_ok(f, l4, l4_len, proto == 1 ? 0 : pseudo_sum)) ++d.counts["bad_l4_checksum"];
    if (proto == 6 || proto == 17) {
        const uint16_t sport = be16(f, l4), dport = be16(f, l4 + 2);
        d.flows.insert({src, dst, proto, sport, dport});
        d.port_ranges.insert(port_range(sport));
        d.port_ranges.insert(port_range(dport));
    }
}

void dissect(const std::vector<uint8_t>& f, Dissection& d) {
    if (f.size() < 14) {
        ++d.counts["runt"];
        return;
    }
    size_t type_at = 12;
    int tags = 0;
    while ((be16(f, type_at) == 0x8100 || be16(f, type_at) == 0x88a8) && type_at + 6 <= f.size()) {
        ++tags;
        type_at += 4;
    }
    if (tags == 1) ++d.counts["vlan"];
    if (tags == 2) ++d.counts["qinq"];
    const uint16_t type = be16(f, type_at);
    const size_t l3 = type_at + 2;
    if (type == 0x0806) {
        ++d.counts["arp"];
        return;
    }
    if (type == 0x0800) {
        if (f.size() < 34 || l3 + 20 > f.size()) {
            ++d.counts["short_ipv4"];
            return;
        }
        const size_t ihl = f[l3] & 0xf;
        if (ihl < 5 || l3 + ihl * 4 > f.size()) {
            ++d.counts["bad_ihl"];
            return;
        }
        ++d.counts["ipv4"];
        if (ihl > 5) ++d.counts["ipv4_options"];
        if (skb::internet_checksum({f.data() + l3, ihl * 4}) != 0) ++d.counts["bad_ip_checksum"];
        d.v4_prefixes.insert(static_cast<uint32_t>(f[l3 + 12] << 16 | f[l3 + 13] << 8 | f[l3 + 14]));
        const uint16_t frag = be16(f, l3 + 6);
        if ((frag & 0x1fff) != 0) {
            ++d.counts["ipv4_fragment_later"];
            return;
        }
        if (frag & 0x2000) {
            ++d.counts["ipv4_fragment_first"];
            return;
        }
        const uint8_t proto = f[l3 + 9];
        const size_t l4_len = be16(f, l3 + 2) - ihl * 4;
        const std::string src(f.begin() + static_cast<long>(l3 + 12), f.begin() + static_cast<long>(l3 + 16));
        const std::string dst(f.begin() + static_cast<long>(l3 + 16), f.begin() + static_cast<long>(l3 + 20));
        dissect_l4(f, l3 + ihl * 4, l4_len, proto, pseudo(f, l3 + 12, 4, proto, static_cast<uint32_t>(l4_len)), src, dst, d);
        return;
    }
    if (type == 0x86dd) {
        if (f.size() < 54 || l3 + 40 > f.size()) {
            ++d.counts["short_ipv6"];
            return;
        }
        ++d.counts["ipv6"];
        uint8_t next = f[l3 + 6];
        size_t at = l3 + 40;
        bool ext = false;
        while ((next == 0 || next == 43 || next == 60) && at + 8 <= f.size()) {
            ext = true;
            next = f[at];
            at += 8 * (f[at + 1] + 1u);
        }
        if (ext) ++d.counts["ipv6_ext_headers"];
        if (next == 44) {
            ++d.counts[(be16(f, at + 2) >> 3) == 0 ? "ipv6_fragment_first" : "ipv6_fragment_later"];
            return;
        }
        const size_t l4_len = l3 + 40 + be16(f, l3 + 4) - at;
        const std::string src(f.begin() + static_cast<long>(l3 + 8), f.begin() + static_cast<long>(l3 + 24));
        const std::string dst(f.begin() + static_cast<long>(l3 + 24), f.begin() + static_cast<long>(l3 + 40));
        dissect_l4(f, at, l4_len, next, pseudo(f, l3 + 8, 16, next, static_cast<uint32_t>(l4_len)), src, dst, d);
        return;
    }
    ++d.counts["other_ethertype"];
}

class TrafficGen : public ::testing::Test {
   protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("tcbpf-trafficgen-test-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }
    static uint64_t file_hash(const std::string& file) {
        std::ifstream in(file, std::ios::binary);
        const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return skb::fnv1a64(bytes);
    }
    fs::path dir_;
};

TEST_F(TrafficGen, EveryCategoryIsPresent) {
    write_traffic(path("mix.pcap"), {.seed = 1, .count = 2000});
    const std::vector<io::Frame> frames = io::read_pcap(path("mix.pcap"));
    ASSERT_EQ(frames.size(), 2000u);
    Dissection d;
    for (const io::Frame& frame : frames) dissect(frame.bytes, d);
    for (const char* category :
         {"runt", "vlan", "qinq", "arp", "short_ipv4", "bad_ihl", "ipv4", "ipv4_options", "bad_ip_checksum",
          "ipv4_fragment_first", "ipv4_fragment_later", "short_ipv6", "ipv6", "ipv6_ext_headers",
          "ipv6_fragment_first", "ipv6_fragment_later", "tcp", "udp", "icmp", "icmpv6", "truncated_l4",
          "bad_l4_checksum"})
        EXPECT_GE(d.counts[category], 5) << category;
    EXPECT_EQ(d.counts["other_ethertype"], 0);
    EXPECT_EQ(d.counts["other_l4"], 0);
    // Broken checksums are the deliberate minority.
    EXPECT_LT(d.counts["bad_ip_checksum"] * 10, d.counts["ipv4"]);
    EXPECT_LT(d.counts["bad_l4_checksum"] * 10, d.counts["tcp"] + d.counts["udp"]);
    EXPECT_GE(d.flows.size(), 100u);
    EXPECT_GE(d.v4_prefixes.size(), 10u);
    EXPECT_EQ(d.port_ranges, (std::set<int>{0, 1, 2, 3}));
}

// Each frame is exactly what its kind promises: valid kinds dissect cleanly with correct checksums,
// each broken kind shows its one damage.
TEST_F(TrafficGen, EveryFrameIsWhatItsKindSays) {
    std::vector<std::string> kinds;
    const std::vector<io::Frame> frames = generate({.seed = 9, .count = 3000}, &kinds);
    ASSERT_EQ(kinds.size(), frames.size());
    const std::map<std::string, std::vector<std::string>> expected = {
        {"ipv4_tcp", {"ipv4", "tcp"}},
        {"ipv4_udp", {"ipv4", "udp"}},
        {"ipv4_icmp", {"ipv4", "icmp"}},
        {"ipv6_tcp", {"ipv6", "tcp"}},
        {"ipv6_udp", {"ipv6", "udp"}},
        {"ipv6_icmp", {"ipv6", "icmpv6"}},
        {"ipv4_fragment_first", {"ipv4", "ipv4_fragment_first"}},
        {"ipv4_fragment_later", {"ipv4", "ipv4_fragment_later"}},
        {"ipv6_fragment_first", {"ipv6", "ipv6_fragment_first"}},
        {"ipv6_fragment_later", {"ipv6", "ipv6_fragment_later"}},
        {"arp", {"arp"}},
        {"bad_ihl", {"bad_ihl"}},
        {"short_ipv4", {"short_ipv4"}},
        {"short_ipv6", {"short_ipv6"}},
        {"runt", {"runt"}},
        {"truncated_l4", {"truncated_l4"}},
        {"bad_ip_checksum", {"ipv4", "bad_ip_checksum"}},
        {"bad_l4_checksum", {"ipv4", "bad_l4_checksum"}},
    };
    const std::set<std::string> problems = {"runt", "short_ipv4", "short_ipv6", "bad_ihl", "bad_ip_checksum",
                                            "bad_l4_checksum", "truncated_l4", "other_ethertype", "other_l4"};
    std::map<std::string, int> seen;
    for (size_t i = 0; i < frames.size(); ++i) {
        Dissection d;
        dissect(frames[i].bytes, d);
        const auto it = expected.find(kinds[i]);
        ASSERT_NE(it, expected.end()) << kinds[i];
        ++seen[kinds[i]];
        for (const std::string& category : it->second) EXPECT_EQ(d.counts[category], 1) << "frame " << i << " " << kinds[i] << ": " << category;
        // Exactly the damage the kind names, and nothing else.
        for (const std::string& problem : problems) {
            const bool wanted = std::find(it->second.begin(), it->second.end(), problem) != it->second.end();
            EXPECT_EQ(d.counts[problem], wanted ? 1 : 0) << "frame " << i << " " << kinds[i] << ": " << problem;
        }
    }
    EXPECT_EQ(seen.size(), kind_names().size());
}

TEST_F(TrafficGen, SizesAndTimestamps) {
    const std::vector<io::Frame> frames = generate({.seed = 3, .count = 2000});
    size_t largest = 0, smallest_full = 10000;
    for (size_t i = 0; i < frames.size(); ++i) {
        largest = std::max(largest, frames[i].bytes.size());
        if (frames[i].bytes.size() >= 60) smallest_full = std::min(smallest_full, frames[i].bytes.size());
        EXPECT_EQ(frames[i].wire_len, frames[i].bytes.size());
        if (i > 0) {
            EXPECT_GT(frames[i].timestamp_ns, frames[i - 1].timestamp_ns) << i;
        }
    }
    EXPECT_LE(largest, 1514u);
    EXPECT_GE(largest, 1400u);
    EXPECT_EQ(smallest_full, 60u);
}

TEST_F(TrafficGen, ASeedNamesOneExactFile) {
    write_traffic(path("a.pcap"), {.seed = 42, .count = 500});
    write_traffic(path("b.pcap"), {.seed = 42, .count = 500});
    write_traffic(path("c.pcap"), {.seed = 43, .count = 500});
    EXPECT_EQ(file_hash(path("a.pcap")), file_hash(path("b.pcap")));
    EXPECT_NE(file_hash(path("a.pcap")), file_hash(path("c.pcap")));
    // Pinned: any change to the generator's output must update this value on purpose. It is the same
    // under g++ and clang (the pin caught argument-evaluation order leaking into the bytes once).
    EXPECT_EQ(file_hash(path("a.pcap")), 0x569c474f70548995ULL);
}

TEST_F(TrafficGen, TheToolWritesTheSameFile) {
    const std::string command = std::string(TRAFFICGEN_EXE) + " --seed 42 --count 500 -o " + path("tool.pcap");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    write_traffic(path("lib.pcap"), {.seed = 42, .count = 500});
    EXPECT_EQ(file_hash(path("tool.pcap")), file_hash(path("lib.pcap")));
    const std::string bad = std::string(TRAFFICGEN_EXE) + " --seed x -o " + path("x.pcap") + " 2>/dev/null";
    EXPECT_NE(std::system(bad.c_str()), 0);
}

}  // namespace
}  // namespace tcbpf::trafficgen
