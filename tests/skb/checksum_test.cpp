// Checksum primitives against packets with known checksums (built with scapy) and against the values
// bpf_csum_diff and bpf_l3/l4_csum_replace returned on Linux 6.18 for the same inputs.
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "tcbpf/skb.h"

namespace tcbpf::skb {
namespace {

std::vector<uint8_t> hex(const std::string& text) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < text.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(text.substr(i, 2), nullptr, 16)));
    return out;
}

// Ether/IP(192.168.0.1 → 10.1.2.3, id 1)/UDP(1234 → 53)/"hello"; IP csum ae1e, UDP csum ea4d.
const std::string kUdp =
    "000000000000112233445566080045000021000100004011ae1ec0a800010a01020304d20035000dea4d68656c6c6f";
// The same with source 10.0.0.1: IP csum 64c7, UDP csum a0f6.
const std::string kUdpNat =
    "00000000000011223344556608004500002100010000401164c70a0000010a01020304d20035000da0f668656c6c6f";
// Ether/IP/TCP SYN 1234 → 80 (csum ba2b) and → 8080 (csum 9aeb).
const std::string kTcp80 =
    "000000000000112233445566080045000028000100004006ae22c0a800010a01020304d20050000003e80000000050022000ba2b0000";
const std::string kTcp8080 =
    "000000000000112233445566080045000028000100004006ae22c0a800010a01020304d21f90000003e800000000500220009aeb0000";

constexpr uint32_t kFrom = 0x0100a8c0;  // 192.168.0.1 as a little-endian load
constexpr uint32_t kTo = 0x0100000a;    // 10.0.0.1

TEST(Checksum, InternetChecksumOfAnIpv4Header) {
    std::vector<uint8_t> pkt = hex(kUdp);
    std::vector<uint8_t> header(pkt.begin() + 14, pkt.begin() + 34);
    header[10] = header[11] = 0;
    const uint16_t sum = internet_checksum(header);
    EXPECT_EQ(sum & 0xff, 0xae);  // stored little-endian: bytes ae 1e
    EXPECT_EQ(sum >> 8, 0x1e);
    // A header including its correct checksum sums to zero.
    std::vector<uint8_t> whole(pkt.begin() + 14, pkt.begin() + 34);
    EXPECT_EQ(internet_checksum(whole), 0);
}

TEST(Checksum, FoldingPrimitives) {
    EXPECT_EQ(csum_add(0xffffffff, 1), 1u);
    EXPECT_EQ(csum_add(0x80000000, 0x80000000), 1u);
    EXPECT_EQ(csum_sub(5, 5), 0xffffffffu);
    EXPECT_EQ(csum_from32to16(0xffff5749), 0x5749);
    EXPECT_EQ(csum_from32to16(0x12345678), 0x68ac);
    EXPECT_EQ(csum_fold(0), 0xffff);
    EXPECT_EQ(csum_fold(0xffff0000), 0);
    const std::vector<uint8_t> odd = {0x01, 0x02, 0x03};
    EXPECT_EQ(csum_partial(odd, 0), 0x00030201u);  // a short tail counts as zero-padded
}

struct DiffCase {
    std::string from, to;
    uint32_t seed;
    int64_t expected;
};

TEST(Checksum, CsumDiffMatchesTheKernel) {
    const DiffCase cases[] = {
        {"c0a80001", "0a000001", 0, 0x5749},
        {"", "0a000001", 0, 0x010a},
        {"c0a80001", "", 0, 0x563f},
        {"", "ffffffff", 0, 0xffff},
        {"", "ffffffffffffffff", 0, 0xffff},
        {"", "0a000001", 0x12345678, 0x69b6},
        {"c0a8000101020304", "0a00000105060708", 0xffff, 0x5f51},
        {"", "00000000", 0, 0},
        {"", "00010000", 0xffffffff, 0x0100},
        {"", "", 0x12345678, 0x68ac},
        {"0a000001", "0a000001", 0, 0xffff},
        {"", "123456789abcdef00fedcba9", 0, 0xf0bd},
        {"00000000", "", 0, 0},
        {"ffffffff", "", 0, 0},
        {"ffffffff", "ffffffff", 0, 0xffff},
        {"00000000", "00000000", 0, 0xffff},
        {"", "", 0, 0},
        {"", "", 0xffffffff, 0xffff},
        {"", "", 0xffff0000, 0xffff},
        {"00000000", "", 0xffffffff, 0xffff},
        {"", "0000ffffffff000000000001", 0, 0x0100},
    };
    for (const DiffCase& c : cases)
        EXPECT_EQ(csum_diff(hex(c.from), hex(c.to), c.seed), c.expected) << c.from << " → " << c.to << " seed " << c.seed;
}

TEST(Checksum, CsumDiffSizeRules) {
    const std::vector<uint8_t> three(3, 0), big(512, 0), four(4, 0);
    EXPECT_EQ(csum_diff(three, {}, 0), -EINVAL);
    EXPECT_EQ(csum_diff({}, three, 0), -EINVAL);
    EXPECT_EQ(csum_diff(big, four, 0), -EINVAL);
    EXPECT_EQ(csum_diff(big, {}, 0), 0);
}

TEST(Checksum, L3ReplaceOfASourceAddress) {
    std::vector<uint8_t> pkt = hex(kUdp);
    EXPECT_EQ(l3_csum_replace(&pkt[24], kFrom, kTo, 4), 0);
    EXPECT_EQ(pkt[24], 0x64);
    EXPECT_EQ(pkt[25], 0xc7);
}

TEST(Checksum, L4ReplaceThroughThePseudoHeader) {
    std::vector<uint8_t> pkt = hex(kUdp);
    SkbMeta meta;
    EXPECT_EQ(l4_csum_replace(&pkt[40], kFrom, kTo, kFPseudoHdr | 4, meta), 0);
    pkt[24] = 0x64;  // what the l3 replace did
    pkt[25] = 0xc7;
    const std::vector<uint8_t> nat = hex(kUdpNat);
    std::copy(nat.begin() + 26, nat.begin() + 30, pkt.begin() + 26);  // and the address store
    EXPECT_EQ(pkt, nat);
    // BPF_F_IPV6 is accepted and does not change a CHECKSUM_NONE update.
    std::vector<uint8_t> again = hex(kUdp);
    EXPECT_EQ(l4_csum_replace(&again[40], kFrom, kTo, kFIpv6 | kFPseudoHdr | 4, meta), 0);
    EXPECT_EQ(again[40], 0xa0);
    EXPECT_EQ(again[41], 0xf6);
}

TEST(Checksum, L4ReplaceOfAPort) {
    std::vector<uint8_t> pkt = hex(kTcp80);
    SkbMeta meta;
    EXPECT_EQ(l4_csum_replace(&pkt[50], 0x5000, 0x901f, 2, meta), 0);  // htons(80) → htons(8080)
    pkt[36] = 0x1f;
    pkt[37] = 0x90;
    EXPECT_EQ(pkt, hex(kTcp8080));
}

TEST(Checksum, L4DiffMode) {
    std::vector<uint8_t> pkt = hex(kUdp);
    SkbMeta meta;
    EXPECT_EQ(l4_csum_replace(&pkt[40], 0, 0x12345, kFPseudoHdr, meta), 0);
    EXPECT_EQ(pkt[40], 0xa4);
    EXPECT_EQ(pkt[41], 0x2a);
    EXPECT_EQ(l4_csum_replace(&pkt[40], 1, 0x12345, kFPseudoHdr, meta), -EINVAL);
    EXPECT_EQ(l3_csum_replace(&pkt[24], 1, 2, 0), -EINVAL);
}

TEST(Checksum, MarkMangled0LeavesAMissingUdpChecksumAlone) {
    std::vector<uint8_t> pkt = hex(kUdp);
    pkt[40] = pkt[41] = 0;
    SkbMeta meta;
    EXPECT_EQ(l4_csum_replace(&pkt[40], kFrom, kTo, kFMarkMangled0 | kFPseudoHdr | 4, meta), 0);
    EXPECT_EQ(pkt[40], 0);
    EXPECT_EQ(pkt[41], 0);
    EXPECT_EQ(l4_csum_replace(&pkt[40], kFrom, kTo, kFMarkEnforce | kFMarkMangled0 | kFPseudoHdr | 4, meta), 0);
    EXPECT_EQ(pkt[40], 0xb6);
    EXPECT_EQ(pkt[41], 0xa8);
}

TEST(Checksum, MarkMangled0WritesAComputedZeroAsFfff) {
    // from 0 to 0 over a field holding 0xffff folds to 0x0000, which MARK_MANGLED_0 must not leave.
    uint8_t field[2] = {0xff, 0xff};
    SkbMeta meta;
    EXPECT_EQ(l4_csum_replace(field, 0, 0, 4, meta), 0);
    EXPECT_EQ(field[0], 0x00);
    EXPECT_EQ(field[1], 0x00);
    field[0] = field[1] = 0xff;
    EXPECT_EQ(l4_csum_replace(field, 0, 0, kFMarkMangled0 | 4, meta), 0);
    EXPECT_EQ(field[0], 0xff);
    EXPECT_EQ(field[1], 0xff);
}

TEST(Checksum, FlagValidation) {
    uint8_t field[2] = {0x12, 0x34};
    SkbMeta meta;
    EXPECT_EQ(l3_csum_replace(field, 1, 2, 3), -EINVAL);
    EXPECT_EQ(l3_csum_replace(field, 1, 2, kFPseudoHdr | 4), -EINVAL);
    EXPECT_EQ(l4_csum_replace(field, 1, 2, 3, meta), -EINVAL);
    EXPECT_EQ(l4_csum_replace(field, 1, 2, 0x100 | 4, meta), -EINVAL);
    EXPECT_EQ(field[0], 0x12);
    EXPECT_EQ(field[1], 0x34);
    EXPECT_FALSE(l3_csum_flags_valid(0x10));
    EXPECT_TRUE(l4_csum_flags_valid(0xf4));
}

TEST(Checksum, CompleteChecksumFollowsPseudoHeaderChanges) {
    // With CHECKSUM_COMPLETE, a pseudo-header change also adjusts skb->csum by the same difference.
    std::vector<uint8_t> pkt = hex(kUdp);
    SkbMeta meta;
    meta.ip_summed = ChecksumState::Complete;
    meta.csum = 0x1000;
    EXPECT_EQ(l4_csum_replace(&pkt[40], kFrom, kTo, kFPseudoHdr | 4, meta), 0);
    const uint8_t diff[8] = {0x3f, 0x57, 0xff, 0xfe, 0x0a, 0x00, 0x00, 0x01};  // ~from, to
    EXPECT_EQ(meta.csum, ~csum_partial(diff, ~uint32_t{0x1000}));
    EXPECT_EQ(pkt[40], 0xa0);
    // Without the pseudo-header flag skb->csum is untouched.
    meta.csum = 0x1000;
    std::vector<uint8_t> port = hex(kTcp80);
    EXPECT_EQ(l4_csum_replace(&port[50], 0x5000, 0x901f, 2, meta), 0);
    EXPECT_EQ(meta.csum, 0x1000u);
}

TEST(Checksum, PartialChecksumOnlyTracksThePseudoHeader) {
    std::vector<uint8_t> pkt = hex(kTcp80);
    SkbMeta meta;
    meta.ip_summed = ChecksumState::Partial;
    EXPECT_EQ(l4_csum_replace(&pkt[50], 0x5000, 0x901f, 2, meta), 0);  // a port: not in the pseudo header
    EXPECT_EQ(pkt[50], 0xba);
    EXPECT_EQ(pkt[51], 0x2b);
}

}  // namespace
}  // namespace tcbpf::skb
