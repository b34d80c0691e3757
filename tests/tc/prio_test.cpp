// prio (classful-qdiscs.md §2): band selection from skb->priority, from filters at `parent 1:`, the
// priomap fallback, drops, and per-band statistics.
#include "tests/tc/pipeline_fixture.h"

namespace tcbpf::test {
namespace {

using namespace tc;

class Prio : public PipelineTest {
   protected:
    void SetUp() override {
        PipelineTest::SetUp();
        if (IsSkipped()) return;
        steer_from_payload();
        run("qdisc add dev eth1 root handle 1: prio");
    }
    uint64_t band_packets(uint32_t band) { return pipeline.class_stats("eth1", make_handle(0x10000, band)).packets; }
};

TEST_F(Prio, APriorityNamingABandPicksItWithoutFilters) {
    run("filter add dev eth1 parent 1: bpf da bytecode '1,6 0 0 2,'");  // would drop: must not run
    send("eth0", frame(0x10003));
    EXPECT_EQ(fate(), "eth1 wire");
    EXPECT_EQ(band_packets(3), 1u);
}

TEST_F(Prio, OtherPrioritiesGoThroughThePriomap) {
    send("eth0", frame(6));  // TC_PRIO_INTERACTIVE → priomap[6] = 0 → band 1:1
    send("eth0", frame(2));  // → priomap[2] = 2 → 1:3
    send("eth0", frame(0x20001));  // another qdisc's major: treated as priority 0 → priomap[0] = 1 → 1:2
    EXPECT_EQ(band_packets(1), 1u);
    EXPECT_EQ(band_packets(2), 1u);
    EXPECT_EQ(band_packets(3), 1u);
}

TEST_F(Prio, AFiltersClassidMinorPicksTheBandWhateverItsMajor) {
    run("filter add dev eth1 parent 1: bpf bytecode '1,6 0 0 589827,'");  // 9:3
    send("eth0", frame(0));
    EXPECT_EQ(band_packets(3), 1u);
}

TEST_F(Prio, AnOutOfRangeBandFallsBackToPriomapZero) {
    run("filter add dev eth1 parent 1: bpf bytecode '1,6 0 0 65545,'");  // 1:9 with 3 bands
    send("eth0", frame(0));
    EXPECT_EQ(band_packets(2), 1u);
}

TEST_F(Prio, ShotFromAFilterDropsAndCounts) {
    run("filter add dev eth1 parent 1: bpf da bytecode '1,6 0 0 2,'");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "none");
    EXPECT_EQ(pipeline.qdisc_stats("eth1", 0x10000).drops, 1u);
}

TEST_F(Prio, QdiscStatisticsCountSentBytesAtDequeue) {
    send("eth0", frame(0));
    send("eth0", frame(0));
    const Stats s = pipeline.qdisc_stats("eth1", 0x10000);
    EXPECT_EQ(s.packets, 2u);
    EXPECT_EQ(s.bytes, 2 * frame(0).size());
    EXPECT_EQ(s.backlog_packets, 0u);
}

TEST_F(Prio, ShowPrintsTcsLines) {
    EXPECT_EQ(show("qdisc show dev eth1"), "qdisc prio 1: root refcnt 2 bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1 \n");
    send("eth0", frame(0));
    const std::string expected =
        "class prio 1:1 parent 1: \n Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) \n backlog 0b 0p requeues 0\n"
        "class prio 1:2 parent 1: \n Sent 64 bytes 1 pkt (dropped 0, overlimits 0 requeues 0) \n backlog 0b 0p requeues 0\n";
    EXPECT_EQ(show("class show dev eth1", true).substr(0, expected.size()), expected);
}

TEST_F(Prio, JsonUsesTcsMemberNames) {
    EXPECT_EQ(show("qdisc show dev eth1", false, true),
              "[{\"kind\":\"prio\",\"handle\":\"1:\",\"root\":true,\"refcnt\":2,\"options\":{\"bands\":3,"
              "\"priomap\":[1,2,2,2,1,2,0,0,1,1,1,1,1,1,1,1],\"multiqueue\":false}}]\n");
    send("eth0", frame(0));
    const std::string with_stats = show("class show dev eth1", true, true);
    EXPECT_NE(with_stats.find("{\"class\":\"prio\",\"handle\":\"1:2\",\"parent\":\"1:\",\"bytes\":64,\"packets\":1,"
                              "\"drops\":0,\"overlimits\":0,\"requeues\":0,\"backlog\":0,\"qlen\":0}"),
              std::string::npos)
        << with_stats;
}

TEST_F(Prio, ChildQdiscsReplaceABandsDefaultFifo) {
    run("qdisc add dev eth1 parent 1:2 handle 20: pfifo limit 5");
    EXPECT_EQ(show("qdisc show dev eth1"),
              "qdisc prio 1: root refcnt 2 bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1 \n"
              "qdisc pfifo 20: parent 1:2 limit 5p \n");
    EXPECT_EQ(error_of("qdisc add dev eth1 parent 1:7 pfifo"), "Error: Specified class not found.\nRTNETLINK answers: No such file or directory");
    EXPECT_EQ(error_of("qdisc add dev eth1 root prio"), "Error: Exclusivity flag on, cannot modify.\nRTNETLINK answers: File exists");
    EXPECT_EQ(error_of("class add dev eth1 parent 1: classid 1:5 htb rate 1mbit"),
              "Error: Specified class kind does not match the qdisc's (prio).\nRTNETLINK answers: Invalid argument");
}

}  // namespace
}  // namespace tcbpf::test
