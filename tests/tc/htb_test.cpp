// htb in virtual time (classful-qdiscs.md §3): a class sends at its rate, a leaf borrows up to its
// ceil from a parent with spare rate, saturated siblings each get their own rate, unclassified traffic
// goes to the default class or the direct queue. Rates are measured from the departure times of
// 1000-byte frames and must be within 2 % of the configured ones.
#include <cmath>

#include "tests/tc/pipeline_fixture.h"

namespace tcbpf::test {
namespace {

using namespace tc;

constexpr size_t kFrameBytes = 1000;

std::vector<uint8_t> sized(uint32_t priority) { return frame(priority, 0, 0x0800, kFrameBytes - 22); }

class Htb : public PipelineTest {
   protected:
    void SetUp() override {
        PipelineTest::SetUp();
        if (IsSkipped()) return;
        steer_from_payload();  // the htb on eth1 picks the class the priority names
        run("qdisc add dev eth1 root handle 1: htb default 30");
        run("class add dev eth1 parent 1: classid 1:1 htb rate 10mbit ceil 10mbit");
        run("class add dev eth1 parent 1:1 classid 1:10 htb rate 2mbit ceil 10mbit");
        run("class add dev eth1 parent 1:1 classid 1:20 htb rate 8mbit ceil 10mbit");
        run("class add dev eth1 parent 1:1 classid 1:30 htb rate 1mbit ceil 1mbit");
    }

    // Bytes per second of the frames of `classid` that left eth1, measured between the 20th and the
    // last departure (past the initial burst).
    double measured_rate(uint32_t priority) {
        std::vector<uint64_t> times;
        for (const Left& l : left)
            if (l.priority == priority) times.push_back(l.time_ns);
        if (times.size() < 40) return 0;
        const double bytes = static_cast<double>((times.size() - 1 - 20) * kFrameBytes);
        return bytes / (static_cast<double>(times.back() - times[20]) / 1e9);
    }
    static void expect_near_rate(double measured, double bytes_per_second) {
        EXPECT_LT(std::fabs(measured - bytes_per_second) / bytes_per_second, 0.02)
            << "measured " << measured << " B/s, configured " << bytes_per_second << " B/s";
    }
};

TEST_F(Htb, ALeafWithoutSpareFromItsParentSendsAtItsRate) {
    for (int i = 0; i < 200; ++i) send("eth0", sized(0x10030), 0);
    pipeline.drain();
    expect_near_rate(measured_rate(0x10030), 125000);  // 1mbit, ceil 1mbit: no borrowing
}

TEST_F(Htb, ALoneLeafBorrowsUpToItsCeil) {
    for (int i = 0; i < 600; ++i) send("eth0", sized(0x10010), 0);
    pipeline.drain();
    expect_near_rate(measured_rate(0x10010), 1250000);  // rate 2mbit, ceil 10mbit, parent idle otherwise
    const HtbXstats x = pipeline.htb_xstats("eth1", 0x10010);
    EXPECT_GT(x.borrows, 0u);
    EXPECT_GT(pipeline.htb_xstats("eth1", 0x10001).lends, 0u);
}

TEST_F(Htb, SaturatedSiblingsEachGetTheirOwnRate) {
    for (int i = 0; i < 800; ++i) {
        send("eth0", sized(0x10010), 0);
        send("eth0", sized(0x10020), 0);
    }
    // Measure while both are backlogged: the first 0.5 s of virtual time.
    pipeline.advance(500'000'000);
    expect_near_rate(measured_rate(0x10010), 250000);
    expect_near_rate(measured_rate(0x10020), 1000000);
}

TEST_F(Htb, UnclassifiedTrafficGoesToTheDefaultClass) {
    send("eth0", sized(0), 0);
    pipeline.drain();
    EXPECT_EQ(pipeline.class_stats("eth1", 0x10030).packets, 1u);
}

TEST_F(Htb, WithoutADefaultClassTrafficTakesTheDirectQueue) {
    run("qdisc add dev eth2 root handle 2: htb");
    run("qdisc add dev eth2 clsact");
    run("class add dev eth2 parent 2: classid 2:1 htb rate 1mbit");
    pipeline.receive(pipeline.ifindex("eth2"), sized(0), 0);  // eth2 has no peer: to its host
    EXPECT_EQ(show("qdisc show dev eth2").substr(0, 73),
              "qdisc htb 2: root refcnt 2 r2q 10 default 0 direct_packets_stat 0 direct_");
}

TEST_F(Htb, TheCeilingCountsOverlimits) {
    for (int i = 0; i < 50; ++i) send("eth0", sized(0x10030), 0);
    pipeline.drain();
    EXPECT_GT(pipeline.class_stats("eth1", 0x10030).overlimits, 0u);
    EXPECT_EQ(pipeline.qdisc_stats("eth1", 0x10000).overlimits, pipeline.class_stats("eth1", 0x10030).overlimits +
                                                                     pipeline.class_stats("eth1", 0x10001).overlimits +
                                                                     pipeline.class_stats("eth1", 0x10010).overlimits +
                                                                     pipeline.class_stats("eth1", 0x10020).overlimits);
}

TEST_F(Htb, ClassesShowAsTcPrintsThem) {
    const std::string shown = show("class show dev eth1");
    EXPECT_NE(shown.find("class htb 1:1 root rate 10Mbit ceil 10Mbit burst 1600b cburst 1600b\n"), std::string::npos) << shown;
    EXPECT_NE(shown.find("class htb 1:10 parent 1:1 prio 0 rate 2Mbit ceil 10Mbit burst 1600b cburst 1600b\n"), std::string::npos)
        << shown;
}

TEST_F(Htb, ClassesInJsonCarryRatesInBytesPerSecond) {
    EXPECT_NE(show("class show dev eth1", false, true)
                  .find("{\"class\":\"htb\",\"handle\":\"1:10\",\"parent\":\"1:1\",\"prio\":0,\"rate\":250000,"
                        "\"ceil\":1250000,\"burst\":1600,\"cburst\":1600}"),
              std::string::npos);
}

TEST_F(Htb, ClassRules) {
    EXPECT_EQ(error_of("class del dev eth1 classid 1:1"), "Error: HTB class in use\nRTNETLINK answers: Device or resource busy");
    EXPECT_EQ(error_of("class add dev eth1 parent 1:1 classid 1:10 htb rate 1mbit"), "RTNETLINK answers: File exists");
    EXPECT_EQ(error_of("class add dev eth1 parent 1:99 classid 1:40 htb rate 1mbit"),
              "Error: htb: parent class not found.\nRTNETLINK answers: Invalid argument");
    run("class change dev eth1 parent 1:1 classid 1:30 htb rate 3mbit ceil 3mbit");
    EXPECT_NE(show("class show dev eth1").find("class htb 1:30 parent 1:1 prio 0 rate 3Mbit ceil 3Mbit"), std::string::npos);
    run("class del dev eth1 classid 1:30");
    EXPECT_EQ(show("class show dev eth1").find("1:30"), std::string::npos);
}

}  // namespace
}  // namespace tcbpf::test
