// The netns test support itself: a veth pair that carries injected frames unchanged (VLAN tags
// included), tc running inside the namespace pinning its maps on the test's own bpffs, kernel maps read
// back, and nothing left behind. Skips with the reason where namespaces, tc or bpf() are unavailable.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "tcbpf/error.h"
#include "tests/support/netns.h"

namespace tcbpf::test {
namespace {

#define SKIP_WITHOUT_NETNS()                                                            \
    do {                                                                                \
        if (const std::string why = NetnsVeth::unavailable_reason(); !why.empty()) \
            GTEST_SKIP() << why;                                                        \
    } while (0)

// Ethernet + IPv4 10.0.0.1 → 10.0.0.2 + UDP sport → 53, 60 bytes; `vlan` > 0 adds an 802.1Q tag.
Frame udp_frame(uint16_t sport, uint16_t vlan = 0) {
    Frame f = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1};
    if (vlan) f.insert(f.end(), {0x81, 0x00, uint8_t(vlan >> 8), uint8_t(vlan)});
    f.insert(f.end(), {0x08, 0x00, 0x45, 0, 0, 46, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
                       uint8_t(sport >> 8), uint8_t(sport), 0, 53, 0, 26, 0, 0});
    f.resize(vlan ? 64 : 60, 0xab);
    return f;
}

TEST(Netns, InjectedFramesArriveAtThePeerUnchanged) {
    SKIP_WITHOUT_NETNS();
    NetnsVeth ns;
    EXPECT_NE(ns.ifindex("veth0"), ns.ifindex("veth1"));
    NetnsVeth::Capture capture(ns, "veth1");
    const std::vector<Frame> frames = {udp_frame(1000), udp_frame(1001, 42), udp_frame(1002)};
    ns.inject("veth0", frames);
    EXPECT_EQ(capture.collect(frames.size()), frames);
}

TEST(Netns, TcPinsItsMapsOnTheTestsBpffsAndTheyReadBack) {
    SKIP_WITHOUT_NETNS();
    NetnsVeth ns;
    ns.run_checked("tc qdisc add dev veth1 clsact");
    ns.run_checked(fmt::format("tc filter add dev veth1 ingress bpf da obj {}/policy.o sec tc", TCBPF_EXAMPLES_DIR));
    const std::string pinned = ns.bpffs() + "/tc/globals/policy_map";
    EXPECT_TRUE(kernel_map_entries(pinned).empty());
    // key: 40 bytes of 7, value: verdict 2 (shot), classid, priority, mark
    std::string key, value = " 2 0 0 0 1 0 1 0 5 0 0 0 9 0 0 0";
    for (int i = 0; i < 40; ++i) key += " 7";
    ASSERT_EQ(run_shell("bpftool map update pinned " + pinned + " key" + key + " value" + value).status, 0);
    const auto entries = kernel_map_entries(pinned);
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].first, Frame(40, 7));
    EXPECT_EQ(entries[0].second, (Frame{2, 0, 0, 0, 1, 0, 1, 0, 5, 0, 0, 0, 9, 0, 0, 0}));

    ns.inject("veth0", {udp_frame(1000), udp_frame(1001)});
    const std::string stats = ns.tc_json("qdisc show dev veth1 ingress");
    EXPECT_NE(stats.find("\"kind\":\"clsact\""), std::string::npos) << stats;
}

TEST(Netns, NothingIsLeftBehind) {
    SKIP_WITHOUT_NETNS();
    std::string name, bpffs;
    {
        NetnsVeth ns;
        name = ns.name();
        bpffs = ns.bpffs();
    }
    EXPECT_EQ(run_shell("ip netns list").out.find(name), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(bpffs));
}

TEST(Netns, FailingCommandsNameThemselves) {
    SKIP_WITHOUT_NETNS();
    NetnsVeth ns;
    try {
        ns.run_checked("tc qdisc add dev nosuch clsact");
        FAIL() << "expected an Error";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("tc qdisc add dev nosuch clsact: ", 0), 0u) << e.what();
    }
}

}  // namespace
}  // namespace tcbpf::test
