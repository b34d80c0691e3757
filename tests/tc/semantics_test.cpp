// shared/spec/cls-act-semantics.md row by row: hook verdicts (§2), filter order (§3), cls_bpf with and
// without direct-action (§4), action lists (§5), act_bpf (§6), classic programs (§7), default
// classids (§8), statistics (§9) and handles (§10). Programs come from progs/payload_driven.c, whose
// return value each frame chooses, and from cBPF bytecode.
#include <unistd.h>

#include <fstream>

#include "tests/tc/pipeline_fixture.h"

namespace tcbpf::test {
namespace {

using namespace tc;

class Semantics : public PipelineTest {
   protected:
    void SetUp() override {
        PipelineTest::SetUp();
        if (IsSkipped()) return;
        run("qdisc add dev eth0 clsact");
    }
    // An ingress da filter returning A.
    void da_returning_a(const std::string& extra = "") {
        run("filter add dev eth0 ingress " + extra + " bpf da obj " + kObject + " sec classifier");
    }
};

// §2: the hook's reaction to each verdict.
TEST_F(Semantics, OkPassesToThePeerAndSetsTcIndexFromTheClassidMinor) {
    run("filter add dev eth0 ingress bpf obj " + kObject + " sec classifier");  // classic mode: A is the classid
    send("eth0", frame(0x00010023));
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].tc_index, 0x23);
    EXPECT_EQ(fate(), "eth1 wire");
}

TEST_F(Semantics, ShotDropsAndCountsAQdiscDrop) {
    da_returning_a();
    send("eth0", frame(2));
    EXPECT_EQ(fate(), "none");
    EXPECT_EQ(clsact("eth0").drops, 1u);
    EXPECT_EQ(clsact("eth0").packets, 1u);
}

TEST_F(Semantics, StolenQueuedAndTrapConsumeWithoutCountingADrop) {
    run("filter add dev eth0 ingress bpf da bytecode '2,32 0 0 14,22 0 0 0,'");  // cBPF da: ld [14]; ret a
    for (uint32_t v : {4u, 8u}) {
        send("eth0", frame(v));
        EXPECT_EQ(fate(), "none") << v;
    }
    EXPECT_EQ(clsact("eth0").drops, 0u);
}

TEST_F(Semantics, QueuedFromADirectActionProgramBecomesUnspecAndPasses) {
    da_returning_a();
    send("eth0", frame(5));  // QUEUED is not in cls_bpf_exec_opcode's list
    EXPECT_EQ(fate(), "eth1 wire");
}

TEST_F(Semantics, UnspecAndPipeContinueNormally) {
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 1,' action pipe");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "eth1 wire");  // the final PIPE ends classification and the hook lets it go
}

TEST_F(Semantics, WithoutAPeerPassedPacketsGoToTheHost) {
    run("qdisc add dev eth2 clsact");
    run("filter add dev eth2 ingress bpf da obj " + kObject + " sec classifier");
    send("eth2", frame(0));
    EXPECT_EQ(fate(), "eth2 host");
}

TEST_F(Semantics, RedirectToAnotherPortsEgress) {
    run("filter add dev eth0 ingress bpf da obj " + kObject + " sec redirect");
    send("eth0", frame(4, 0));  // bpf_redirect(4 = eth2, egress)
    EXPECT_EQ(fate(), "eth2 wire");
}

TEST_F(Semantics, RedirectToAnotherPortsIngress) {
    run("filter add dev eth0 ingress bpf da obj " + kObject + " sec redirect");
    send("eth0", frame(4, 1));  // BPF_F_INGRESS: eth2 receives it and, alone, hands it to its host
    EXPECT_EQ(fate(), "eth2 host");
}

TEST_F(Semantics, RedirectToAMissingPortDropsThePacket) {
    run("filter add dev eth0 ingress bpf da obj " + kObject + " sec redirect");
    send("eth0", frame(99, 0));
    EXPECT_EQ(fate(), "none");
}

// §3: walking filters.
TEST_F(Semantics, LowerPrefRunsFirst) {
    run("filter add dev eth0 ingress pref 20 bpf da bytecode '1,6 0 0 0,'");   // OK
    run("filter add dev eth0 ingress pref 10 bpf da bytecode '1,6 0 0 2,'");   // SHOT
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "none");
}

TEST_F(Semantics, TheNewestHandleOfAPrefRunsFirst) {
    run("filter add dev eth0 ingress pref 5 handle 1 bpf da bytecode '1,6 0 0 2,'");   // SHOT
    run("filter add dev eth0 ingress pref 5 handle 2 bpf da bytecode '1,6 0 0 0,'");   // OK, added later
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "eth1 wire");
}

TEST_F(Semantics, AFilterForAnotherProtocolIsSkipped) {
    run("filter add dev eth0 ingress pref 1 protocol ipv6 bpf da bytecode '1,6 0 0 2,'");
    send("eth0", frame(0, 0, 0x0800));
    EXPECT_EQ(fate(), "eth1 wire");
    send("eth0", frame(0, 0, 0x86DD));
    EXPECT_EQ(fate(), "none");
}

TEST_F(Semantics, NoMatchingFilterLeavesThePacketAlone) {
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 0,'");  // classic: 0 = no match
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "eth1 wire");
    EXPECT_EQ(left.size(), 0u);
}

TEST_F(Semantics, ReclassifyRestartsUntilTheLimitThenDrops) {
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 1,' action reclassify");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "none");
    EXPECT_EQ(pipeline.action_stats(ActionKind::Gact, 1).packets, 17u);  // the first pass and 16 restarts
}

TEST_F(Semantics, GotoChainContinuesInThatChain) {
    run("filter add dev eth0 ingress chain 3 bpf da bytecode '1,6 0 0 2,'");
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 1,' action goto chain 3");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "none");
}

TEST_F(Semantics, GotoAMissingChainDrops) {
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 1,' action goto chain 7");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "none");
    EXPECT_EQ(clsact("eth0").drops, 1u);
}

// §4a: classic mode.
TEST_F(Semantics, ClassicZeroTriesTheNextProgram) {
    run("filter add dev eth0 ingress pref 1 handle 1 bpf bytecode '1,6 0 0 65537,'");  // 1:1
    run("filter add dev eth0 ingress pref 1 handle 2 bpf bytecode '1,6 0 0 0,'");      // runs first, no match
    send("eth0", frame(0));
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].tc_index, 1);
}

TEST_F(Semantics, ClassicMinusOneUsesTheConfiguredClassid) {
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 4294967295,' classid 1:42");
    send("eth0", frame(0));
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].tc_index, 0x42);
}

TEST_F(Semantics, ClassicMatchRunsTheActions) {
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 65537,' action drop");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "none");
    EXPECT_EQ(pipeline.action_stats(ActionKind::Gact, 1).drops, 1u);
}

TEST_F(Semantics, AnActionListEndingInContinueTriesTheNextProgram) {
    run("filter add dev eth0 ingress pref 1 handle 1 bpf da bytecode '1,6 0 0 2,'");
    run("filter add dev eth0 ingress pref 1 handle 2 bpf bytecode '1,6 0 0 65537,' action continue");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "none");  // continue = UNSPEC: handle 1 runs and drops
}

// §4b: direct-action.
TEST_F(Semantics, DirectActionClassidIsTheConfiguredMajorOrTheProgramsTcClassid) {
    run("filter add dev eth0 ingress bpf da obj " + kObject + " sec classid classid 7:0");
    send("eth0", frame(0x15, 0));  // tc_classid 0x15, OK → tc_index = minor 0x15
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].tc_index, 0x15);
}

TEST_F(Semantics, DirectActionTurnsReclassifyAndPipeIntoUnspec) {
    da_returning_a("pref 1");
    run("filter add dev eth0 ingress pref 2 bpf da bytecode '1,6 0 0 2,'");
    for (uint32_t v : {1u, 3u, 6u, 1234u}) {
        send("eth0", frame(v));
        EXPECT_EQ(fate(), "none") << "return " << v << " should fall through to the dropping filter";
    }
}

TEST_F(Semantics, DirectActionDoesNotRunAttachedActions) {
    run("filter add dev eth0 ingress bpf da bytecode '1,6 0 0 0,' action drop");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "eth1 wire");
    EXPECT_EQ(pipeline.action_stats(ActionKind::Gact, 1).packets, 0u);
}

TEST_F(Semantics, SkipSwWithDirectActionIsUnspec) {
    run("filter add dev eth0 ingress pref 1 bpf skip_sw da bytecode '1,6 0 0 0,'");
    run("filter add dev eth0 ingress pref 2 bpf da bytecode '1,6 0 0 2,'");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "none");
}

// §5: action lists.
TEST_F(Semantics, PipeRunsTheNextActionAndTheLastDecides) {
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 65537,' action pipe action pipe action drop");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "none");
    for (uint32_t i = 1; i <= 3; ++i) EXPECT_EQ(pipeline.action_stats(ActionKind::Gact, i).packets, 1u) << i;
}

TEST_F(Semantics, JumpIsAnAbsolutePositionInTheList) {
    // jump 2: continue at action order 3, skipping the drop at order 2.
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 65537,' action jump 2 action drop action pass");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "eth1 wire");
    EXPECT_EQ(pipeline.action_stats(ActionKind::Gact, 2).packets, 0u);
}

TEST_F(Semantics, JumpPastTheEndEndsTheListWithOk) {
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 65537,' action jump 9 action drop");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "eth1 wire");
}

// §6: act_bpf's mapping.
TEST_F(Semantics, ActBpfPassesOkPipeReclassifyAndRedirectThrough) {
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 65537,' action bpf obj " + kObject +
        " sec action action drop");
    send("eth0", frame(0));  // OK ends the list: the drop never runs
    EXPECT_EQ(fate(), "eth1 wire");
    send("eth0", frame(3));  // PIPE: the drop runs
    EXPECT_EQ(fate(), "none");
}

TEST_F(Semantics, ActBpfShotCountsAnActionDrop) {
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 65537,' action bpf obj " + kObject + " sec action");
    send("eth0", frame(2));
    EXPECT_EQ(fate(), "none");
    const Stats s = pipeline.action_stats(ActionKind::Bpf, 1);
    EXPECT_EQ(s.packets, 1u);
    EXPECT_EQ(s.drops, 1u);
}

TEST_F(Semantics, ActBpfUnspecTakesTheConfiguredDefault) {
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 65537,' action bpf obj " + kObject + " sec action drop");
    send("eth0", frame(0xFFFFFFFF));
    EXPECT_EQ(fate(), "none");
}

TEST_F(Semantics, ActBpfOtherValuesBecomeUnspecAndTheNextProgramRuns) {
    run("filter add dev eth0 ingress pref 1 handle 1 bpf da bytecode '1,6 0 0 2,'");
    run("filter add dev eth0 ingress pref 1 handle 2 bpf bytecode '1,6 0 0 65537,' action bpf obj " + kObject + " sec action");
    for (uint32_t v : {4u, 5u, 6u, 8u, 77u}) {
        send("eth0", frame(v));
        EXPECT_EQ(fate(), "none") << v;
    }
}

// §7: classic programs.
TEST_F(Semantics, ClassicRuntimeFaultReturnsZero) {
    // ld [1000] is outside the frame: the program returns 0, "no match" for a classifier.
    run("filter add dev eth0 ingress pref 1 bpf bytecode '2,32 0 0 1000,6 0 0 2,' action drop");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "eth1 wire");
}

TEST_F(Semantics, ALibpcapExpressionClassifies) {
    run("filter add dev eth0 ingress bpf expression 'ether proto 0x86dd' action drop");
    send("eth0", frame(0, 0, 0x86DD));
    EXPECT_EQ(fate(), "none");
    send("eth0", frame(0, 0, 0x0800));
    EXPECT_EQ(fate(), "eth1 wire");
}

TEST_F(Semantics, ABytecodeFileAsTcpdumpPrintsIt) {
    const auto path = std::filesystem::temp_directory_path() / ("tcbpf-bcf-" + std::to_string(::getpid()));
    std::ofstream(path) << "2\n32 0 0 14\n22 0 0 0\n";  // ld [14]; ret a (tcpdump -ddd form)
    run("filter add dev eth0 ingress bpf da bcf " + path.string());
    std::filesystem::remove(path);
    send("eth0", frame(2));
    EXPECT_EQ(fate(), "none");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "eth1 wire");
}

// §9: statistics.
TEST_F(Semantics, TheHookCountsEveryPacketAndItsBytes) {
    da_returning_a();
    send("eth0", frame(0));
    send("eth0", frame(2));
    const Stats s = clsact("eth0");
    EXPECT_EQ(s.packets, 2u);
    // skb->len at ingress: the MAC header was pulled before the hook (kernel_e2e_test measures it).
    EXPECT_EQ(s.bytes, 2u * (frame(0).size() - 14));
    EXPECT_EQ(s.drops, 1u);
}

// §10: handles.
TEST_F(Semantics, HandleZeroTakesTheLowestFreeId) {
    run("filter add dev eth0 ingress pref 1 handle 2 bpf da bytecode '1,6 0 0 0,'");
    run("filter add dev eth0 ingress pref 1 bpf da bytecode '1,6 0 0 0,'");
    run("filter add dev eth0 ingress pref 1 bpf da bytecode '1,6 0 0 0,'");
    const std::string shown = show("filter show dev eth0 ingress");
    EXPECT_NE(shown.find("handle 0x1 "), std::string::npos) << shown;
    EXPECT_NE(shown.find("handle 0x3 "), std::string::npos) << shown;
}

TEST_F(Semantics, AnExplicitHandleInUseIsRefused) {
    run("filter add dev eth0 ingress pref 1 handle 1 bpf da bytecode '1,6 0 0 0,'");
    EXPECT_EQ(error_of("filter add dev eth0 ingress pref 1 handle 1 bpf da bytecode '1,6 0 0 2,'"),
              "RTNETLINK answers: File exists\nWe have an error talking to the kernel");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "eth1 wire");
}

TEST_F(Semantics, ReplaceKeepsTheListPosition) {
    run("filter add dev eth0 ingress pref 1 handle 1 bpf da bytecode '1,6 0 0 0,'");
    run("filter add dev eth0 ingress pref 1 handle 2 bpf bytecode '1,6 0 0 0,'");  // newest: first, no match
    run("filter replace dev eth0 ingress pref 1 handle 1 bpf da bytecode '1,6 0 0 2,'");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "none");
}

TEST_F(Semantics, AutomaticPrefsCountDownFrom49152) {
    run("filter add dev eth0 ingress bpf da bytecode '1,6 0 0 0,'");
    run("filter add dev eth0 ingress bpf da bytecode '1,6 0 0 0,'");
    const std::string shown = show("filter show dev eth0 ingress");
    EXPECT_NE(shown.find("pref 49152 bpf"), std::string::npos) << shown;
    EXPECT_NE(shown.find("pref 49151 bpf"), std::string::npos) << shown;
}

// Bad input leaves nothing half-applied.
TEST_F(Semantics, AFailedFilterAddLeavesThePipelineAsItWas) {
    EXPECT_EQ(error_of("filter add dev eth0 ingress bpf da bytecode '1,6 0 0 2,' action mirred egress redirect dev nope"),
              "Cannot find device \"nope\"");
    EXPECT_EQ(show("filter show dev eth0 ingress"), "");
    send("eth0", frame(0));
    EXPECT_EQ(fate(), "eth1 wire");
    EXPECT_NE(error_of("filter add dev eth0 ingress bpf obj /nonexistent.o").find("/nonexistent.o"), std::string::npos);
    EXPECT_EQ(show("filter show dev eth0 ingress"), "");
}

TEST_F(Semantics, FiltersNeedTheirQdisc) {
    EXPECT_EQ(error_of("filter add dev eth1 ingress bpf da bytecode '1,6 0 0 0,'"),
              "Error: Parent Qdisc doesn't exists.\nWe have an error talking to the kernel");
    EXPECT_EQ(error_of("filter add dev eth9 ingress bpf da bytecode '1,6 0 0 0,'"), "Cannot find device \"eth9\"");
}

// mirred (classful-qdiscs.md §6).
TEST_F(Semantics, MirredEgressRedirectSendsThePacketOutOfTheTarget) {
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 65537,' action mirred egress redirect dev eth2");
    send("eth0", frame(0));
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(fate(), "eth2 wire");
}

TEST_F(Semantics, MirredMirrorSendsACopyAndTheOriginalGoesOn) {
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 65537,' action mirred egress mirror dev eth2");
    send("eth0", frame(0));
    ASSERT_EQ(left.size(), 2u);
    EXPECT_EQ(left[0].port, "eth2");
    EXPECT_EQ(left[1].port, "eth1");
}

// Shared actions: a filter binds to an existing index; removing the filter's qdisc lets go of it.
TEST_F(Semantics, FiltersBindToSharedActionsAndReleaseThem) {
    run("actions add action drop index 7");
    run("filter add dev eth0 ingress bpf bytecode '1,6 0 0 65537,' action drop index 7");
    EXPECT_NE(show("actions ls action gact").find("\t index 7 ref 2 bind 1\n"), std::string::npos) << show("actions ls action gact");
    send("eth0", frame(0));
    EXPECT_EQ(pipeline.action_stats(ActionKind::Gact, 7).drops, 1u);
    run("qdisc del dev eth0 clsact");
    EXPECT_EQ(show("actions ls action gact"),
              "total acts 1\n\n\taction order 0: gact action drop\n\t random type none pass val 0\n\t index 7 ref 1 bind 0\n");
    run("actions del action gact index 7");
    EXPECT_EQ(show("actions ls action gact"), "total acts 0\n");
}

// What crosses from ingress to the peer's egress: mark, priority and tc_index, not tc_classid.
TEST_F(Semantics, MarkPriorityAndTcIndexCrossToThePeersEgress) {
    run("filter add dev eth0 ingress pref 1 bpf obj " + kObject + " sec steer");
    send("eth0", frame(0x10002, 0xabc));
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].priority, 0x10002u);
    EXPECT_EQ(left[0].mark, 0xabcu);
}

}  // namespace
}  // namespace tcbpf::test
