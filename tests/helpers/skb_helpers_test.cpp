// Redirects, hashing, packet type, ECN, timestamps, randomness, trace_printk, the string helpers and
// the socket/tunnel queries, run on a test_run skb. Expected values are the kernel's.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "tests/helpers/helper_run.h"

namespace tcbpf::helpers::test {
namespace {

constexpr uint64_t neg(int64_t v) { return static_cast<uint64_t>(v); }

std::string prog(std::string_view body) { return "r6 = r1\nr7 = r2\n" + std::string(body) + "\nexit\n"; }

TEST(Redirect, RecordsTheTargetAndReturnsTcActRedirect) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(prog("r1 = 5\nr2 = 1\ncall 23")), 7u);
    EXPECT_EQ(run.meta.redirect_ifindex, 5u);
    EXPECT_EQ(run.meta.redirect_flags, 1u);
    EXPECT_EQ(run.run(prog("r1 = 6\nr2 = 2\ncall 23")), 2u) << "unknown flags: TC_ACT_SHOT";
    EXPECT_EQ(run.meta.redirect_ifindex, 5u) << "and nothing recorded";
}

TEST(Redirect, NeighAndPeerRecordTheKernelsInternalFlags) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(prog("r1 = 4\nr2 = 0\nr3 = 0\nr4 = 0\ncall 152")), 7u);
    EXPECT_EQ(run.meta.redirect_ifindex, 4u);
    EXPECT_EQ(run.meta.redirect_flags, kRedirectNeigh);
    EXPECT_EQ(run.run(prog("r1 = 5\nr2 = r7\nr3 = 20\nr4 = 0\ncall 152")), 7u);
    EXPECT_EQ(run.meta.redirect_flags, kRedirectNeigh | kRedirectNexthop);
    EXPECT_EQ(run.run(prog("r1 = 5\nr2 = r7\nr3 = 8\nr4 = 0\ncall 152")), 2u) << "params shorter than bpf_redir_neigh";
    EXPECT_EQ(run.run(prog("r1 = 6\nr2 = 0\ncall 155")), 7u);
    EXPECT_EQ(run.meta.redirect_ifindex, 6u);
    EXPECT_EQ(run.meta.redirect_flags, kRedirectPeer);
    EXPECT_EQ(run.run(prog("r1 = 6\nr2 = 1\ncall 155")), 2u) << "no flags are defined";
}

TEST(CloneRedirect, HandsTheCurrentSkbToTheRuntime) {
    HelperRun run(ipv4_udp_frame());
    std::vector<std::pair<CloneRequest, uint32_t>> sent;
    std::function<long(const CloneRequest&)> sender = [&](const CloneRequest& request) -> long {
        if (request.ifindex != 3) return -EINVAL;
        sent.emplace_back(request, request.meta->mark);
        return 0;
    };
    run.env.clone_redirect = &sender;
    EXPECT_EQ(run.run(prog("r1 = 77\n*(u32 *)(r6 + " + std::to_string(offsetof(skb::SkbContext, mark)) +
                           ") = r1\nr1 = r6\nr2 = 3\nr3 = 1\ncall 13")),
              0u);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].first.flags, 1u);
    EXPECT_EQ(sent[0].second, 77u) << "the program's mark write travels with the clone";
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 4\nr3 = 0\ncall 13")), neg(-EINVAL)) << "no such device";
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 3\nr3 = 2\ncall 13")), neg(-EINVAL)) << "unknown flags";
    run.env.clone_redirect = nullptr;
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 3\nr3 = 0\ncall 13")), neg(-EINVAL)) << "no devices at all";
    EXPECT_EQ(sent.size(), 1u);
}

TEST(Hash, RecalcComputesOnceAndSetHashOverrides) {
    HelperRun run(ipv4_udp_frame());
    const uint64_t first = run.run(prog("r1 = r6\ncall 34"));
    EXPECT_NE(first, 0u);
    EXPECT_EQ(run.meta.hash, first);
    EXPECT_TRUE(run.meta.sw_hash);
    EXPECT_TRUE(run.meta.l4_hash) << "UDP ports were part of it";
    EXPECT_EQ(run.run(prog("r1 = r6\ncall 34\nr0 = {ctx:hash}")), first) << "the context shows it";
    HelperRun same_flow(ipv4_udp_frame(20));
    EXPECT_EQ(same_flow.run(prog("r1 = r6\ncall 34")), first) << "payload does not matter";
    HelperRun other_flow(ipv4_udp_frame(8, 9));
    EXPECT_NE(other_flow.run(prog("r1 = r6\ncall 34")), first);
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 0x5555\ncall 48\nr1 = r6\ncall 34")), 0x5555u);
    EXPECT_EQ(run.run(prog("r1 = r6\ncall 41\nr0 = {ctx:hash}")), 0u) << "set_hash_invalid";
}

TEST(SkbChangeType, OnlyAmongHostBroadcastMulticastOtherhost) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 3\ncall 32\nr0 = {ctx:pkt_type}")), 3u);
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 4\ncall 32")), neg(-EINVAL));
    run.meta.pkt_type = skb::kPacketOutgoing;
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 0\ncall 32")), neg(-EINVAL)) << "an outgoing packet keeps its type";
}

TEST(Prandom, DeterministicWhenSeeded) {
    HelperRun a(ipv4_udp_frame()), b(ipv4_udp_frame());
    const std::string two = prog("call 7\nr8 = r0\ncall 7\nr0 <<= 32\nr0 |= r8");
    const uint64_t x = a.run(two);
    EXPECT_EQ(x, b.run(two));
    EXPECT_NE(x >> 32, x & 0xffffffff);
    EXPECT_NE(a.run(two), x) << "the state advances";
}

std::string printk(std::string_view format, std::string_view args_code) {
    int fmt_at = 0;
    const std::string code = stack_string(format, &fmt_at);
    return prog(code + fmt::format("r1 = r10\nr1 += {}\nr2 = {}\n{}\ncall 6", fmt_at, -fmt_at, args_code));
}

TEST(TracePrintk, IntegersTakeTheLow32BitsUnlessLong) {
    HelperRun run(ipv4_udp_frame());
    const uint64_t written = run.run(printk("d=%d u=%u x=%lx\n", "r3 = -5\nr4 = -1\nr5 = -1"));
    ASSERT_EQ(run.trace.size(), 1u);
    EXPECT_EQ(run.trace[0], "d=-5 u=4294967295 x=ffffffffffffffff");
    EXPECT_EQ(written, run.trace[0].size() + 1) << "the newline counts";
}

TEST(TracePrintk, StringsWidthsAndPercent) {
    HelperRun run(ipv4_udp_frame());
    std::memcpy(run.out, "ok", 3);
    EXPECT_EQ(run.run(printk("[%s] [%5d] [%-3x] 100%%", "r3 = r7\nr4 = 42\nr5 = 10")), 23u);
    ASSERT_EQ(run.trace.size(), 1u);
    EXPECT_EQ(run.trace[0], "[ok] [   42] [a  ] 100%");
}

// Lines read back from the kernel's trace buffer (Linux 6.18) for the same calls.
TEST(TracePrintk, LinesAsTheKernelWritesThem) {
    struct Case {
        const char* format;
        const char* args;
        const char* line;
    };
    const Case cases[] = {
        {"tcbpf d=%d u=%u x=%lx\n", "r3 = -5\nr4 = -1\nr5 = -1", "tcbpf d=-5 u=4294967295 x=ffffffffffffffff"},
        {"tcbpf %lld %llu %llx", "r3 = -5\nr4 = -1\nr5 = -1", "tcbpf -5 18446744073709551615 ffffffffffffffff"},
        {"tcbpf i=%i X=%X +d=%+d", "r3 = -7\nr4 = 0xabc\nr5 = 3", "tcbpf i=-7 X=ABC +d=+3"},
        {"tcbpf [%5d] [%-3x] [%03u] 100%%", "r3 = 42\nr4 = 10\nr5 = 7", "tcbpf [   42] [a  ] [007] 100%"},
        {"tcbpf %pI4 %pi4", "*(u32 *)(r10 - 64) = 0x0100000a\nr3 = r10\nr3 += -64\nr4 = r3",
         "tcbpf 10.0.0.1 010.000.000.001"},
        {"tcbpf %pI6 %pi6",
         "*(u32 *)(r10 - 64) = 0xb80d0120\n*(u32 *)(r10 - 60) = 0\n*(u32 *)(r10 - 56) = 0\n"
         "*(u32 *)(r10 - 52) = 0x01000000\nr3 = r10\nr3 += -64\nr4 = r3",
         "tcbpf 2001:0db8:0000:0000:0000:0000:0000:0001 20010db8000000000000000000000001"},
        {"tcbpf %pI4", "r3 = 8", "tcbpf 0.0.0.0"},
    };
    for (const Case& c : cases) {
        HelperRun run(ipv4_udp_frame());
        const uint64_t written = run.run(printk(c.format, c.args));
        ASSERT_EQ(run.trace.size(), 1u) << c.format;
        EXPECT_EQ(run.trace[0], c.line);
        EXPECT_EQ(written, run.trace[0].size() + (std::string_view(c.format).ends_with("\n") ? 1 : 0));
    }
}

TEST(TracePrintk, UnreadableStringPrintsEmpty) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(printk("<%s>", "r3 = 8")), 2u);
    ASSERT_EQ(run.trace.size(), 1u);
    EXPECT_EQ(run.trace[0], "<>");
}

TEST(TracePrintk, RejectsWhatTheKernelRejects) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(printk("%d %d %d %d", "r3 = 1\nr4 = 2\nr5 = 3")), neg(-EINVAL)) << "four conversions";
    EXPECT_EQ(run.run(printk("%f", "r3 = 1")), neg(-EINVAL)) << "unknown conversion";
    EXPECT_EQ(run.run(printk("%pM", "r3 = r10")), neg(-EINVAL)) << "MAC addresses are not among the kernel's %p forms";
    EXPECT_EQ(run.run(printk("a\x01", "")), neg(-EINVAL)) << "non-printable character";
    // The size excludes the NUL: no terminator inside the format.
    EXPECT_EQ(run.run(prog("*(u32 *)(r10 - 4) = 0x41414141\nr1 = r10\nr1 += -4\nr2 = 4\ncall 6")), neg(-EINVAL));
    EXPECT_TRUE(run.trace.empty());
}

TEST(SkbEcnSetCe, MarksEctPacketsAndPatchesTheIpv4Checksum) {
    auto frame = ipv4_udp_frame();
    frame[15] = 0x02;  // ECT(0)
    frame[24] = frame[25] = 0;
    uint16_t check = skb::internet_checksum({frame.data() + 14, 20});
    std::memcpy(frame.data() + 24, &check, 2);
    HelperRun run(frame);
    EXPECT_EQ(run.run(prog("r1 = r6\ncall 97")), 1u);
    EXPECT_EQ(run.bytes()[15], 0x03) << "CE";
    EXPECT_EQ(skb::internet_checksum({run.bytes().data() + 14, 20}), 0u) << "header still verifies";
    EXPECT_EQ(run.run(prog("r1 = r6\ncall 97")), 1u) << "already CE";
    HelperRun not_ect(ipv4_udp_frame());
    EXPECT_EQ(not_ect.run(prog("r1 = r6\ncall 97")), 0u);
    EXPECT_EQ(not_ect.bytes(), ipv4_udp_frame());
}

TEST(SkbSetTstamp, TypesAndTheirRules) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 777\nr3 = 1\ncall 192\nr0 = {ctx:tstamp_type}")), 1u);
    EXPECT_EQ(run.meta.tstamp, 777u);
    EXPECT_EQ(run.ctx.tstamp, 777u);
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 0\nr3 = 2\ncall 192")), neg(-EINVAL)) << "TAI needs a time";
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 5\nr3 = 3\ncall 192")), neg(-EINVAL)) << "unknown clock";
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = 0\nr3 = 0\ncall 192")), 0u) << "realtime 0 clears";
    auto arp = ipv4_udp_frame();
    arp[13] = 0x06;
    HelperRun not_ip(arp);
    EXPECT_EQ(not_ip.run(prog("r1 = r6\nr2 = 5\nr3 = 0\ncall 192")), neg(-EOPNOTSUPP));
}

TEST(StringHelpers, StrtolStrtoulAndStrncmp) {
    HelperRun run(ipv4_udp_frame());
    std::memcpy(run.out + 8, " -0x1fz", 7);
    // strtol(" -0x1fz", 7, base auto, out): 6 bytes consumed, -31.
    EXPECT_EQ(run.run(prog("r1 = r7\nr1 += 8\nr2 = 7\nr3 = 0\nr4 = r7\ncall 105")), 6u);
    int64_t value;
    std::memcpy(&value, run.out, 8);
    EXPECT_EQ(value, -31);
    EXPECT_EQ(run.run(prog("r1 = r7\nr1 += 8\nr2 = 7\nr3 = 0\nr4 = r7\ncall 106")), neg(-EINVAL)) << "strtoul of a negative";
    std::memcpy(&value, run.out, 8);
    EXPECT_EQ(value, 0) << "the result is cleared on failure";
    std::memcpy(run.out + 16, "abd\0", 4);
    std::memcpy(run.out + 24, "abc\0", 4);
    EXPECT_EQ(run.run(prog("r1 = r7\nr1 += 16\nr2 = 4\nr3 = r7\nr3 += 24\ncall 182")), 1u);
    EXPECT_EQ(run.run(prog("r1 = r7\nr1 += 24\nr2 = 4\nr3 = r7\nr3 += 16\ncall 182")), neg(-1));
    EXPECT_EQ(run.run(prog("r1 = r7\nr1 += 24\nr2 = 2\nr3 = r7\nr3 += 16\ncall 182")), 0u) << "first two only";
}

TEST(NoSocketNoTunnel, QueriesGiveTheKernelsEmptyAnswers) {
    HelperRun run(ipv4_udp_frame());
    EXPECT_EQ(run.run(prog("r1 = r6\ncall 17")), 0u) << "get_cgroup_classid";
    EXPECT_EQ(run.run(prog("r1 = r6\ncall 24")), 0u) << "get_route_realm";
    EXPECT_EQ(run.run(prog("r1 = r6\ncall 46")), 0u) << "get_socket_cookie";
    EXPECT_EQ(run.run(prog("r1 = r6\ncall 47")), 65534u) << "get_socket_uid: overflowuid";
    std::memset(run.out, 0xff, sizeof run.out);
    EXPECT_EQ(run.run(prog("r1 = r6\nr2 = r7\nr3 = 28\nr4 = 0\ncall 20")), neg(-EINVAL)) << "skb_get_tunnel_key";
    EXPECT_EQ(run.out[0], 0);
    EXPECT_EQ(run.out[27], 0);
    EXPECT_EQ(run.out[28], 0xff);
}

TEST(HelperNames, ByKernelId) {
    EXPECT_EQ(helper_name(1), "map_lookup_elem");
    EXPECT_EQ(helper_name(12), "tail_call");
    EXPECT_EQ(helper_name(50), "skb_adjust_room");
    EXPECT_EQ(helper_name(211), "cgrp_storage_delete");
    EXPECT_EQ(helper_name(0), "");
    EXPECT_EQ(helper_name(212), "");
    EXPECT_EQ(helper_name(-1), "");
}

TEST(HelperNames, TheRegistryCoversTheCoreSetExceptTailCall) {
    vm::HelperRegistry registry;
    register_tc_helpers(registry);
    for (int32_t id : {1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 13, 17, 18, 19, 23, 24, 25, 26, 28, 31, 33, 34, 38, 39, 50,
                       130, 131, 132, 133, 134}) {
        const vm::Helper* helper = registry.find(id);
        ASSERT_NE(helper, nullptr) << id;
        EXPECT_EQ(helper->name, helper_name(id));
    }
    EXPECT_EQ(registry.find(12), nullptr) << "the interpreter runs tail calls itself";
}

}  // namespace
}  // namespace tcbpf::helpers::test
