// `tc -j filter show`: the JSON iproute2 prints for bpf filters. The expected texts of the classic
// filters are what tc 6.1 printed for the same commands on Linux 6.18 (a veth in a namespace); that
// kernel has no act_* modules, so the actions' members follow iproute2's source (common members only).
#include <gtest/gtest.h>

#include "tests/tc/pipeline_fixture.h"

namespace tcbpf::test {
namespace {

using FilterJson = PipelineTest;

TEST_F(FilterJson, ClassicFiltersAtTheHooksAsTcPrintsThem) {
    run("qdisc add dev eth0 clsact");
    run("filter add dev eth0 ingress pref 20 bpf bytecode '1,6 0 0 4294967295' flowid 1:5");
    run("filter add dev eth0 egress pref 5 handle 7 bpf bytecode '1,6 0 0 0' classid 1:3 skip_hw");
    EXPECT_EQ(show("filter show dev eth0 ingress", false, true),
              R"([{"protocol":"all","pref":20,"kind":"bpf","chain":0},{"protocol":"all","pref":20,"kind":"bpf","chain":0,)"
              R"("options":{"handle":"0x1","flowid":"1:5","not_in_hw":true,"bytecode":{"length":1,"insns":[{"code":6,"jt":0,"jf":0,"k":4294967295}]}}}])"
              "\n");
    EXPECT_EQ(show("filter show dev eth0 egress", true, true),
              R"([{"protocol":"all","pref":5,"kind":"bpf","chain":0},{"protocol":"all","pref":5,"kind":"bpf","chain":0,)"
              R"("options":{"handle":"0x7","flowid":"1:3","skip_hw":true,"not_in_hw":true,"bytecode":{"length":1,"insns":[{"code":6,"jt":0,"jf":0,"k":0}]}}}])"
              "\n");
}

TEST_F(FilterJson, TheParentIsNamedOnlyWhenTheCommandGaveNone) {
    run("qdisc add dev eth1 root handle 1: htb");
    run("filter add dev eth1 parent 1: protocol ip pref 3 bpf bytecode '1,6 0 0 0'");
    EXPECT_EQ(show("filter show dev eth1", false, true),
              R"([{"parent":"1:","protocol":"ip","pref":3,"kind":"bpf","chain":0},{"parent":"1:","protocol":"ip","pref":3,"kind":"bpf","chain":0,)"
              R"("options":{"handle":"0x1","not_in_hw":true,"bytecode":{"length":1,"insns":[{"code":6,"jt":0,"jf":0,"k":0}]}}}])"
              "\n");
    EXPECT_EQ(show("filter show dev eth1 parent 1:", false, true),
              R"([{"protocol":"ip","pref":3,"kind":"bpf","chain":0},{"protocol":"ip","pref":3,"kind":"bpf","chain":0,)"
              R"("options":{"handle":"0x1","not_in_hw":true,"bytecode":{"length":1,"insns":[{"code":6,"jt":0,"jf":0,"k":0}]}}}])"
              "\n");
    run("qdisc add dev eth0 clsact");
    run("filter add dev eth0 egress pref 1 bpf bytecode '1,6 0 0 0'");
    EXPECT_NE(show("filter show dev eth0", false, true).find(R"({"egress":true,"protocol":"all","pref":1,)"), std::string::npos)
        << show("filter show dev eth0", false, true);
}

TEST_F(FilterJson, ObjectProgramsAndActionsWithTheirCounters) {
    run("qdisc add dev eth0 clsact");
    run("filter add dev eth0 ingress pref 10 bpf da obj " + kObject + " sec classifier");
    run("filter add dev eth0 ingress pref 20 bpf bytecode '1,6 0 0 4294967295' action gact drop index 9");
    const std::string before = show("filter show dev eth0 ingress", true, true);
    EXPECT_NE(before.find(R"("options":{"handle":"0x1","bpf_name":"payload_driven.o:[classifier]","direct-action":true,"not_in_hw":true,"prog":{"id":)"),
              std::string::npos)
        << before;
    EXPECT_NE(before.find(R"("actions":[{"order":1,"kind":"gact","index":9,"ref":1,"bind":1,"stats":{"bytes":0,"packets":0,"drops":0,)"),
              std::string::npos)
        << before;
    send("eth0", frame(0xffffffff));  // TC_ACT_UNSPEC from the da program: on to pref 20, which drops it
    const std::string after = show("filter show dev eth0 ingress", true, true);
    EXPECT_NE(after.find(R"("index":9,"ref":1,"bind":1,"stats":{"bytes":50,"packets":1,"drops":1,)"), std::string::npos) << after;
    EXPECT_EQ(show("filter show dev eth0 ingress", false, true).find("\"stats\""), std::string::npos) << "stats only with -s";
}

TEST_F(FilterJson, ActionTablesListTheirCountAndActions) {
    run("actions add action drop index 3");
    run("qdisc add dev eth0 clsact");
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 4294967295' action drop index 3");
    send("eth0", frame(0));
    EXPECT_EQ(show("actions ls action gact", true, true),
              R"([{"total acts":1},{"actions":[{"order":0,"kind":"gact","index":3,"ref":2,"bind":1,)"
              R"("stats":{"bytes":50,"packets":1,"drops":1,"overlimits":0,"requeues":0,"backlog":0,"qlen":0}}]}])"
              "\n");
    EXPECT_EQ(show("actions ls action mirred", false, true), R"([{"total acts":0},{"actions":[]}])" "\n");
}

}  // namespace
}  // namespace tcbpf::test
