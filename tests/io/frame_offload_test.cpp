// Offloads recognised from headers alone (io/frame_offload.h), as the AF_XDP port needs them: which
// checksums are unfinished, which frames are TCP super-frames, and how a frame for the kernel to finish
// or segment is finished or segmented instead.
#include <gtest/gtest.h>

#include "io/frame_offload.h"
#include "tests/io/live_test_util.h"

namespace tcbpf::io::detail {
namespace {

using test::checksum_ok;
using test::kP0Mac;
using test::kP1Mac;
using test::transport;

std::vector<uint8_t> partial_udp(const std::string& payload) {
    FrameMeta ignored;
    return test::udp_frame(kP0Mac, "192.0.2.1", 9000, payload, true, &ignored);
}

// Ethernet + IPv6 (2001:db8::1 -> 2001:db8::2) + UDP 7 -> 9000 with `payload`, the checksum field
// holding the pseudo-header sum (what a sender with checksum offload leaves).
std::vector<uint8_t> partial_udp6(const std::string& payload) {
    const uint16_t udp_len = static_cast<uint16_t>(8 + payload.size());
    std::vector<uint8_t> f(54 + 8 + payload.size());
    std::memcpy(f.data(), kP1Mac, 6);
    std::memcpy(f.data() + 6, kP0Mac, 6);
    f[12] = 0x86, f[13] = 0xdd;
    f[14] = 0x60;
    f[18] = static_cast<uint8_t>(udp_len >> 8), f[19] = static_cast<uint8_t>(udp_len);
    f[20] = 17, f[21] = 64;
    inet_pton(AF_INET6, "2001:db8::1", f.data() + 22);
    inet_pton(AF_INET6, "2001:db8::2", f.data() + 38);
    const uint8_t udp[6] = {0, 7, 0x23, 0x28, static_cast<uint8_t>(udp_len >> 8), static_cast<uint8_t>(udp_len)};
    std::memcpy(f.data() + 54, udp, 6);
    std::memcpy(f.data() + 62, payload.data(), payload.size());
    uint32_t p = 17 + udp_len;
    for (int i = 22; i < 54; i += 2) p += static_cast<uint32_t>(f[i] << 8 | f[i + 1]);
    while (p >> 16) p = (p & 0xffff) + (p >> 16);
    f[60] = static_cast<uint8_t>(p >> 8), f[61] = static_cast<uint8_t>(p);
    return f;
}

TEST(InferOffloads, PartialUdpChecksumsOverIpv4AndIpv6AreFinished) {
    for (std::vector<uint8_t> f : {partial_udp("hello"), partial_udp6("over IPv6, odd length")}) {
        FrameMeta meta;
        infer_offloads(f, 1500, meta);
        EXPECT_TRUE(meta.checksum_completed);
        EXPECT_TRUE(checksum_ok(f, *transport(f)));
        EXPECT_EQ(meta.gso, Gso::None);
    }
}

TEST(InferOffloads, CompleteWrongAndAbsentChecksumsAreLeftAlone) {
    FrameMeta meta;
    std::vector<uint8_t> complete = test::udp_frame(kP0Mac, "192.0.2.1", 9000, "x", false, &meta);
    std::vector<uint8_t> wrong = complete;
    wrong[41] ^= 1;
    std::vector<uint8_t> absent = complete;
    absent[40] = absent[41] = 0;  // IPv4 UDP without a checksum
    for (std::vector<uint8_t>* f : {&complete, &wrong, &absent}) {
        const std::vector<uint8_t> before = *f;
        FrameMeta m;
        infer_offloads(*f, 1500, m);
        EXPECT_EQ(*f, before);
        EXPECT_FALSE(m.checksum_completed);
        EXPECT_FALSE(m.csum_partial);
    }
}

TEST(InferOffloads, APartialTcpFrameOverTheMtuIsASuperFrame) {
    std::vector<uint8_t> f = test::tcp_frame(kP0Mac, kP1Mac, "192.0.2.2", "192.0.2.1", 1, 2, 0, std::string(3000, 'p'));
    test::write_pseudo_sum(f);
    const std::vector<uint8_t> before = f;
    FrameMeta meta;
    infer_offloads(f, 1500, meta);
    EXPECT_EQ(f, before) << "a super-frame's checksum stays partial";
    EXPECT_EQ(meta.gso, Gso::Tcpv4);
    EXPECT_EQ(meta.gso_size, 1460);
    EXPECT_EQ(meta.hdr_len, 54);
    EXPECT_TRUE(meta.csum_partial);
    EXPECT_EQ(meta.csum_start, 34);
    EXPECT_EQ(meta.csum_offset, 16);
    // Under the MTU the same kind of frame is simply finished.
    std::vector<uint8_t> small = test::tcp_frame(kP0Mac, kP1Mac, "192.0.2.2", "192.0.2.1", 1, 2, 0, "p");
    test::write_pseudo_sum(small);
    FrameMeta small_meta;
    infer_offloads(small, 1500, small_meta);
    EXPECT_TRUE(small_meta.checksum_completed);
    EXPECT_TRUE(checksum_ok(small, *transport(small)));
}

TEST(InferOffloads, TruncatedAndNonIpFramesAreLeftAlone) {
    std::vector<uint8_t> f = partial_udp("hello");
    for (size_t len : {0, 13, 20, 41}) {
        std::vector<uint8_t> cut(f.begin(), f.begin() + static_cast<long>(len));
        FrameMeta meta;
        infer_offloads(cut, 1500, meta);
        EXPECT_FALSE(meta.checksum_completed) << len;
    }
    std::vector<uint8_t> arp = f;
    arp[12] = 0x08, arp[13] = 0x06;
    FrameMeta meta;
    infer_offloads(arp, 1500, meta);
    EXPECT_FALSE(meta.checksum_completed);
}

std::vector<std::vector<uint8_t>> wire_frames(const std::vector<uint8_t>& f, const FrameMeta& meta, bool* ok = nullptr) {
    std::vector<std::vector<uint8_t>> out;
    std::vector<uint8_t> scratch(f.size());
    const bool done = finish_for_wire(f, meta, scratch, [&](std::span<const uint8_t> w) {
        out.emplace_back(w.begin(), w.end());
        return true;
    });
    if (ok != nullptr) *ok = done;
    return out;
}

TEST(FinishForWire, APartialChecksumIsFinishedAndPlainFramesPassUnchanged) {
    FrameMeta partial;
    const std::vector<uint8_t> f = test::udp_frame(kP0Mac, "192.0.2.1", 9000, "abc", true, &partial);
    const auto finished = wire_frames(f, partial);
    ASSERT_EQ(finished.size(), 1u);
    EXPECT_TRUE(checksum_ok(finished[0], *transport(finished[0])));
    EXPECT_EQ(wire_frames(f, FrameMeta{}), std::vector<std::vector<uint8_t>>{f});
}

TEST(FinishForWire, AUdpSuperFrameBecomesDatagramsOfTheSegmentSize) {
    FrameMeta meta;
    const std::vector<uint8_t> f = test::udp_frame(kP0Mac, "192.0.2.1", 9000, std::string(250, 'u'), true, &meta);
    meta.gso = Gso::UdpL4;
    meta.gso_size = 100;
    const auto segments = wire_frames(f, meta);
    ASSERT_EQ(segments.size(), 3u);
    const size_t payloads[] = {100, 100, 50};
    for (size_t i = 0; i < 3; ++i) {
        const std::vector<uint8_t>& s = segments[i];
        ASSERT_EQ(s.size(), 42 + payloads[i]);
        EXPECT_EQ(s[38] << 8 | s[39], 8 + payloads[i]) << "UDP length";
        EXPECT_EQ(s[16] << 8 | s[17], 28 + payloads[i]) << "IPv4 total length";
        EXPECT_TRUE(checksum_ok(s, *transport(s)));
    }
}

TEST(FinishForWire, GsoMetadataThatDoesNotFitTheFrameIsRefused) {
    FrameMeta meta;
    const std::vector<uint8_t> udp = test::udp_frame(kP0Mac, "192.0.2.1", 9000, "abc", true, &meta);
    meta.gso = Gso::Tcpv4;  // a UDP frame
    meta.gso_size = 100;
    bool ok = true;
    EXPECT_TRUE(wire_frames(udp, meta, &ok).empty());
    EXPECT_FALSE(ok);
    meta.gso = Gso::UdpL4;
    meta.gso_size = 0;
    EXPECT_TRUE(wire_frames(udp, meta, &ok).empty());
    EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace tcbpf::io::detail
