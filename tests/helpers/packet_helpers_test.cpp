// bpf_skb_load_bytes(_relative), bpf_skb_store_bytes, the checksum helpers, pull_data, change_tail and
// change_head on an IPv4/UDP frame prepared as BPF_PROG_TEST_RUN prepares it (MAC header at data,
// network header at 14, no transport header, CHECKSUM_NONE). Expected values are the kernel's.
#include <gtest/gtest.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "tests/helpers/helper_run.h"

namespace tcbpf::helpers::test {
namespace {

constexpr uint64_t neg(int64_t v) { return static_cast<uint64_t>(v); }

uint64_t out_u64(const HelperRun& run, size_t at) {
    uint64_t v;
    std::memcpy(&v, run.out + at, 8);
    return v;
}

// r6 = ctx, r7 = out buffer; then the body.
std::string prog(std::string_view body) {
    return "r6 = r1\nr7 = r2\n" + std::string(body) + "\nexit\n";
}

TEST(SkbLoadBytes, CopiesPacketBytesIntoTheBuffer) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(prog(R"(
        r1 = r6
        r2 = 12
        r3 = r7
        r4 = 4
        call 26)")), 0u);
    const uint8_t expected[4] = {0x08, 0x00, 0x45, 0x00};
    EXPECT_EQ(0, std::memcmp(run.out, expected, 4));
}

TEST(SkbLoadBytes, PastTheEndZeroesTheBufferAndFails) {
    HelperRun run(ipv4_udp_frame());  // 50 bytes
    std::memset(run.out, 0xff, sizeof run.out);
    EXPECT_EQ(run.run(prog(R"(
        r1 = r6
        r2 = 47
        r3 = r7
        r4 = 4
        call 26)")), neg(-EFAULT));
    EXPECT_EQ(out_u64(run, 0) & 0xffffffff, 0u);
    EXPECT_EQ(run.out[4], 0xff) << "only len bytes are cleared";
}

TEST(SkbLoadBytes, OffsetAboveIntMaxFails) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(prog(R"(
        r1 = r6
        r2 = -1
        r3 = r7
        r4 = 1
        call 26)")), neg(-EFAULT));
}

TEST(SkbLoadBytesRelative, CountsFromTheMacOrNetworkHeader) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(prog(R"(
        r1 = r6
        r2 = 9
        r3 = r7
        r4 = 1
        r5 = 1
        call 68
        r8 = r0
        r1 = r6
        r2 = 12
        r3 = r7
        r3 += 1
        r4 = 2
        r5 = 0
        call 68
        r0 |= r8)")), 0u);
    EXPECT_EQ(run.out[0], 17) << "IP protocol at network + 9";
    EXPECT_EQ(run.out[1], 0x08);
    EXPECT_EQ(run.out[2], 0x00);
}

TEST(SkbLoadBytesRelative, RejectsBadStartOffsetAndLength) {
    HelperRun run(ipv4_udp_frame());
    auto call = [&](int offset, int len, int start) {
        return run.run(prog(fmt::format("r1 = r6\nr2 = {}\nr3 = r7\nr4 = {}\nr5 = {}\ncall 68", offset, len, start)));
    };
    EXPECT_EQ(call(0, 4, 2), neg(-EFAULT)) << "unknown start header";
    EXPECT_EQ(call(0x10000, 1, 0), neg(-EFAULT)) << "offset above 0xffff";
    EXPECT_EQ(call(34, 4, 1), neg(-EFAULT)) << "36 bytes after the network header exceed the 50-byte packet";
    EXPECT_EQ(call(32, 4, 1), 0u);
}

TEST(SkbStoreBytes, WritesBytesAndChecksFlagsThenOffset) {
    HelperRun run(ipv4_udp_frame());
    run.out[0] = 0xaa;
    run.out[1] = 0xbb;
    auto call = [&](int offset, int len, uint64_t flags) {
        return run.run(prog(fmt::format("r1 = r6\nr2 = {}\nr3 = r7\nr4 = {}\nr5 = {}\ncall 9", offset, len, flags)));
    };
    EXPECT_EQ(call(0, 2, 0), 0u);
    EXPECT_EQ(run.bytes()[0], 0xaa);
    EXPECT_EQ(run.bytes()[1], 0xbb);
    EXPECT_EQ(call(49, 2, 0), neg(-EFAULT)) << "one byte past the end";
    EXPECT_EQ(call(49, 2, 4), neg(-EINVAL)) << "flags are checked first";
    EXPECT_EQ(call(-1, 1, 0), neg(-EFAULT)) << "offset above INT_MAX";
    EXPECT_EQ(call(48, 2, 0), 0u);
    EXPECT_EQ(run.bytes()[49], 0xbb);
}

TEST(SkbStoreBytes, InvalidateHashClearsTheHash) {
    HelperRun run(ipv4_udp_frame());
    run.meta.hash = 0x1234;
    run.meta.sw_hash = true;
    EXPECT_EQ(run.run(prog(R"(
        r1 = r6
        r2 = 0
        r3 = r7
        r4 = 1
        r5 = 2
        call 9
        r0 = {ctx:hash})")), 0u);
    EXPECT_EQ(run.meta.hash, 0u);
    EXPECT_FALSE(run.meta.sw_hash);
}

TEST(SkbStoreBytes, RecomputeCsumKeepsAChecksumCompleteSumRight) {
    auto frame = ipv4_udp_frame();
    HelperRun run(frame);
    run.meta.ip_summed = skb::ChecksumState::Complete;
    run.meta.csum = skb::csum_partial(run.packet.bytes(), 0);
    run.out[0] = 0x12;
    run.out[1] = 0x34;
    run.out[2] = 0x56;
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 43\nr3 = r7\nr4 = 3\nr5 = 1\ncall 9")), 0u);
    // The sum of the new bytes, folded, is what CHECKSUM_COMPLETE must now say (odd offset included).
    EXPECT_EQ(skb::csum_fold(run.meta.csum), skb::csum_fold(skb::csum_partial(run.packet.bytes(), 0)));
}

// 10.0.0.1 and 10.0.0.9 as a 4-byte load of network-order bytes gives them on little-endian.
constexpr uint32_t kOldSrc = 0x0100000a;
constexpr uint32_t kNewSrc = 0x0900000a;

std::string rewrite_src_and(std::string_view fixups) {
    return prog(fmt::format(R"(
        *(u32 *)(r10 - 4) = {}
        r1 = r6
        r2 = 26
        r3 = r10
        r3 += -4
        r4 = 4
        r5 = 0
        call 9
        {})", kNewSrc, fixups));
}

TEST(L3CsumReplace, FourByteReplaceGivesTheHeaderOfTheRewrittenPacket) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(rewrite_src_and(fmt::format("r1 = r6\nr2 = 24\nr3 = {}\nr4 = {}\nr5 = 4\ncall 10", kOldSrc, kNewSrc))), 0u);
    const auto bytes = run.bytes();
    const auto expected = ipv4_udp_frame(8, 9);
    EXPECT_TRUE(std::equal(bytes.begin() + 14, bytes.begin() + 34, expected.begin() + 14)) << "IPv4 header";
}

TEST(L3CsumReplace, DiffFormAppliesACsumDiffResult) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(rewrite_src_and(fmt::format(R"(
        *(u32 *)(r10 - 8) = {}
        r1 = r10
        r1 += -8
        r2 = 4
        r3 = r10
        r3 += -4
        r4 = 4
        r5 = 0
        call 28
        r1 = r6
        r2 = 24
        r3 = 0
        r4 = r0
        r5 = 0
        call 10)", kOldSrc))), 0u);
    const auto bytes = run.bytes();
    const auto expected = ipv4_udp_frame(8, 9);
    EXPECT_TRUE(std::equal(bytes.begin() + 14, bytes.begin() + 34, expected.begin() + 14)) << "IPv4 header";
}

TEST(L3CsumReplace, ErrorsInTheKernelsOrder) {
    HelperRun run(ipv4_udp_frame());
    auto call = [&](int offset, uint64_t from, uint64_t flags) {
        return run.run(prog(fmt::format("r1 = r6\nr2 = {}\nr3 = {}\nr4 = 1\nr5 = {}\ncall 10", offset, from, flags)));
    };
    EXPECT_EQ(call(25, 0, 0x10), neg(-EINVAL)) << "flags beyond the size field, before the offset check";
    EXPECT_EQ(call(25, 0, 2), neg(-EFAULT)) << "odd offset";
    EXPECT_EQ(call(0x10000, 0, 2), neg(-EFAULT)) << "offset above 0xffff";
    EXPECT_EQ(call(48, 0, 2), 0u) << "the last two bytes";
    EXPECT_EQ(call(50, 0, 2), neg(-EFAULT)) << "past the end";
    EXPECT_EQ(call(24, 0, 3), neg(-EINVAL)) << "size 3";
    EXPECT_EQ(call(24, 5, 0), neg(-EINVAL)) << "diff form with a non-zero from";
}

TEST(L4CsumReplace, PseudoHeaderReplaceKeepsTheUdpChecksumValid) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(rewrite_src_and(fmt::format(R"(
        r1 = r6
        r2 = 24
        r3 = {0}
        r4 = {1}
        r5 = 4
        call 10
        r1 = r6
        r2 = 40
        r3 = {0}
        r4 = {1}
        r5 = 0x14
        call 11)", kOldSrc, kNewSrc))), 0u);
    EXPECT_EQ(run.bytes(), ipv4_udp_frame(8, 9));
}

TEST(L4CsumReplace, MarkMangled0LeavesAZeroUdpChecksumAlone) {
    auto frame = ipv4_udp_frame();
    frame[40] = frame[41] = 0;
    HelperRun run(frame);
    EXPECT_EQ(run.run(prog(fmt::format("r1 = r6\nr2 = 40\nr3 = {}\nr4 = {}\nr5 = 0x34\ncall 11", kOldSrc, kNewSrc))), 0u);
    EXPECT_EQ(run.bytes()[40], 0);
    EXPECT_EQ(run.bytes()[41], 0);
}

TEST(L4CsumReplace, RejectsUnknownFlags) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 41\nr3 = 0\nr4 = 0\nr5 = 0x100\ncall 11")), neg(-EINVAL));
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 41\nr3 = 0\nr4 = 0\nr5 = 0x82\ncall 11")), neg(-EFAULT));
}

TEST(CsumDiff, FoldedDifferenceOfTwoWords) {
    HelperRun run(ipv4_udp_frame());
    const std::string body = fmt::format(R"(
        *(u32 *)(r10 - 8) = {}
        *(u32 *)(r10 - 4) = {}
        r1 = r10
        r1 += -8
        r2 = 4
        r3 = r10
        r3 += -4
        r4 = 4
        r5 = 0
        call 28)", kOldSrc, kNewSrc);
    // ~0x0100000a + 0x0900000a = 0x08000000 (end-around carry), folded to 16 bits: 0x0800.
    EXPECT_EQ(run.run(prog(body)), 0x0800u);
}

TEST(CsumDiff, NullSidesAndSeed) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(prog("r1 = 0\nr2 = 0\nr3 = 0\nr4 = 0\nr5 = 0x12345\ncall 28")), 0x2345u + 0x1u)
        << "no data: the seed folded";
}

TEST(CsumDiff, AnySizeIsSummedOn618) {
    HelperRun run(ipv4_udp_frame());
    std::memset(run.out, 0xff, sizeof run.out);
    // 0xff + seed 0x100 = 0x1ff; 0xffff + 0x100 = 0x100ff, folded 0x100 (measured on Linux 6.18).
    EXPECT_EQ(run.run(prog("r1 = 0\nr2 = 0\nr3 = r7\nr4 = 1\nr5 = 0x100\ncall 28")), 0x1ffu);
    EXPECT_EQ(run.run(prog("r1 = 0\nr2 = 0\nr3 = r7\nr4 = 2\nr5 = 0x100\ncall 28")), 0x100u);
    EXPECT_EQ(run.run(prog("r1 = 0\nr2 = 0\nr3 = r7\nr4 = 3\nr5 = 0x100\ncall 28")), 0x1ffu);
}

TEST(CsumUpdate, OnlyForChecksumComplete) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 5\ncall 40")), neg(-kENOTSUPP));
    run.meta.ip_summed = skb::ChecksumState::Complete;
    run.meta.csum = 0xfffffffe;
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 5\ncall 40")), 4u) << "0xfffffffe + 5 with end-around carry";
    EXPECT_EQ(run.meta.csum, 4u);
}

TEST(CsumLevel, QueryIncDecReset) {
    HelperRun run(ipv4_udp_frame());
    auto call = [&](int level) { return run.run(prog(fmt::format("r1 = r6\nr2 = {}\ncall 135", level))); };
    EXPECT_EQ(call(0), neg(-EACCES)) << "CHECKSUM_NONE has no level";
    EXPECT_EQ(call(1), 0u);
    EXPECT_EQ(run.meta.ip_summed, skb::ChecksumState::Unnecessary);
    EXPECT_EQ(call(0), 0u);
    for (int i = 0; i < 5; ++i) call(1);
    EXPECT_EQ(call(0), 3u) << "SKB_MAX_CSUM_LEVEL";
    EXPECT_EQ(call(2), 0u);
    EXPECT_EQ(call(0), 2u);
    EXPECT_EQ(call(3), 0u);
    EXPECT_EQ(run.meta.ip_summed, skb::ChecksumState::None);
    EXPECT_EQ(call(4), neg(-EINVAL));
}

TEST(SkbPullData, SucceedsWithinThePacketOnly) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 0\ncall 39")), 0u);
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 50\ncall 39")), 0u);
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 51\ncall 39")), neg(-ENOMEM));
}

TEST(SkbChangeTail, GrowsWithZerosAndTrims) {
    const auto frame = ipv4_udp_frame();
    HelperRun run(frame);
    EXPECT_EQ(run.run(prog(R"(
        r1 = r6
        r2 = 60
        r3 = 0
        call 38
        r0 = {ctx:len})")), 60u);
    auto expected = frame;
    expected.resize(60, 0);
    EXPECT_EQ(run.bytes(), expected);
    EXPECT_EQ(run.ctx.data_end - run.ctx.data, 60u) << "data_end follows";
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 20\nr3 = 0\ncall 38")), 0u);
    expected.resize(20);
    EXPECT_EQ(run.bytes(), expected);
}

TEST(SkbChangeTail, RefusesFlagsHeadersAndTheMaximum) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 60\nr3 = 1\ncall 38")), neg(-EINVAL)) << "flags";
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 13\nr3 = 0\ncall 38")), neg(-EINVAL)) << "into the MAC header (network at 14)";
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 14\nr3 = 0\ncall 38")), 0u);
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 16065\nr3 = 0\ncall 38")), neg(-EINVAL)) << "above BPF_SKB_MAX_LEN";
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 16064\nr3 = 0\ncall 38")), 0u);
    EXPECT_EQ(run.packet.size(), 16064u);
}

TEST(SkbChangeHead, PrependsZerosAndResetsTheMacHeader) {
    const auto frame = ipv4_udp_frame();
    HelperRun run(frame);
    EXPECT_EQ(run.run(prog(R"(
        r1 = r6
        r2 = 100
        r3 = 0
        call 43
        r0 = {ctx:len})")), 150u);
    std::vector<uint8_t> expected(100, 0);
    expected.insert(expected.end(), frame.begin(), frame.end());
    EXPECT_EQ(run.bytes(), expected) << "more than the 64 bytes of headroom: reallocated";
    EXPECT_EQ(run.packet.mac_header(), 0);
    EXPECT_EQ(run.packet.network_header(), 114) << "the network header stays on its bytes";
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 4\nr3 = 1\ncall 43")), neg(-EINVAL));
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = -1\nr3 = 0\ncall 43")), neg(-EINVAL)) << "length wraps";
}

TEST(HelpersKeepThePacketRegion, ProgramsMayUseTheReallocatedPacket) {
    HelperRun run(ipv4_udp_frame());
    // After growing the head past the headroom the program reloads data and writes through it; in
    // checked mode that is only allowed if the packet region moved with the buffer.
    EXPECT_EQ(run.run(prog(R"(
        r1 = r6
        r2 = 200
        r3 = 0
        call 43
        r2 = {ctx:data}
        r3 = {ctx:data_end}
        r4 = r2
        r4 += 250
        if r4 > r3 goto +2
        *(u8 *)(r2 + 249) = 0x77
        r0 = 1)")), 1u);
    EXPECT_EQ(run.bytes()[249], 0x77);
}

}  // namespace
}  // namespace tcbpf::helpers::test
