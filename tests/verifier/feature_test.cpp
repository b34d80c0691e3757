// The verifier on tests/verifier/feature_cases.h: helper prototypes, variable stack offsets, local calls,
// precision, the raw program type and --strict, each case in its mode with its verdict and message.
#include <gtest/gtest.h>

#include "tcbpf/asm.h"
#include "tcbpf/verifier.h"
#include "tests/verifier/expect_verdict.h"
#include "tests/verifier/feature_cases.h"

namespace tcbpf::verifier {
namespace {

std::vector<MapInfo> feature_maps() {
    return {MapInfo{2, 4, 16, 1, 0},  MapInfo{3, 4, 4, 8, 0},  MapInfo{4, 4, 4, 8, 0},
            MapInfo{27, 0, 0, 4096, 0}, MapInfo{6, 4, 8, 1, 0}, MapInfo{22, 0, 8, 16, 0},
            MapInfo{2, 4, 8, 8, 0}};
}

Options options_for(test::Mode mode) {
    Options options;
    options.maps = feature_maps();
    if (mode == test::Mode::Strict) options.strict = true;
    if (mode == test::Mode::Raw) options.raw_memory_size = 16;
    if (mode == test::Mode::NonGpl) options.gpl_compatible = false;
    if (mode == test::Mode::Btf) options.btf_func_info = true;
    return options;
}

TEST(Features, CasesGiveTheStatedVerdictAndMessage) {
    for (const test::FeatureCase& c : test::kFeatureCases) {
        SCOPED_TRACE(c.name);
        test::expect_verdict(verify(isa::assemble(c.text), options_for(c.mode)), c.message, c.insn_idx);
    }
}

TEST(Features, ResultNamesTheHelpersCalled) {
    Result r = verify(isa::assemble("call 7\ncall 5\ncall 7\nr0 = 0\nexit\n"));
    ASSERT_TRUE(r.ok) << r.message;
    EXPECT_EQ(r.helpers_called, (std::vector<int32_t>{5, 7}));
}

TEST(Features, HelperNamesAndSupport) {
    EXPECT_EQ(helper_name(1), "map_lookup_elem");
    EXPECT_EQ(helper_name(84), "sk_lookup_tcp");
    EXPECT_EQ(helper_name(0x7cbf0002), "cbpf_nlattr");
    EXPECT_EQ(helper_name(5000), "");
    EXPECT_TRUE(helper_supported(69));
    EXPECT_FALSE(helper_supported(84));
}

TEST(Features, StatsReportEachFunctionsStack) {
    Result r = verify(isa::assemble("r0 = 0\n*(u64 *)(r10 - 16) = r0\ncall f\nexit\nf:\n*(u64 *)(r10 - 40) = r1\nr0 = 0\nexit\n"));
    ASSERT_TRUE(r.ok) << r.message;
    EXPECT_EQ(r.stats.subprog_stack_depth, (std::vector<int>{16, 40}));
    EXPECT_GT(r.stats.peak_states, 0u);
}

}  // namespace
}  // namespace tcbpf::verifier

namespace tcbpf::verifier {
namespace {

TEST(Log, RejectionShowsTheFailingPathStateInstructionAndReason) {
    Options options;
    options.log_level = 1;
    options.source_lines = {"int x = skb->len;", "int x = skb->len;", "if (x > 10)", "return *p;"};
    Result r = verify(isa::assemble("r2 = *(u32 *)(r1 + 0)\nr0 = 0\nif r2 > 10 goto +1\nexit\nr0 = *(u8 *)(r2 + 0)\nexit\n"),
                      options);
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.log.substr(0, r.log.find("processed")),
              "0: R1=ctx() R10=fp0\n"
              "; int x = skb->len;\n"
              "0: (61) w2 = *(u32 *)(r1 + 0)\n"
              "1: (b7) r0 = 0\n"
              "; if (x > 10)\n"
              "2: (25) if r2 > 10 goto +1\n"
              "from 2 to 4: R0=0 R1=ctx() R2=scalar(smin=umin=umin32=11,smax=umax=4294967295,var_off=(0x0; 0xffffffff)) R10=fp0\n"
              "4: R0=0 R1=ctx() R2=scalar(smin=umin=umin32=11,smax=umax=4294967295,var_off=(0x0; 0xffffffff)) R10=fp0\n"
              "4: (71) w0 = *(u8 *)(r2 + 0)\n"
              "R2 invalid mem access 'scalar'\n");
    EXPECT_NE(r.log.find("processed 5 insns (limit 1000000)"), std::string::npos) << r.log;
}

TEST(Log, LevelTwoShowsTheStateAfterEveryInstruction) {
    Options options;
    options.log_level = 2;
    Result r = verify(isa::assemble("r0 = 1\nr2 = r10\nr2 += -8\n*(u64 *)(r2 + 0) = r0\nexit\n"), options);
    ASSERT_TRUE(r.ok) << r.message;
    EXPECT_NE(r.log.find("2: R0=1 R1=ctx() R2=fp-8 R10=fp0\n"), std::string::npos) << r.log;
    EXPECT_NE(r.log.find("3: R0=1 R1=ctx() R2=fp-8 R10=fp0 fp-8=1\n"), std::string::npos) << r.log;
    EXPECT_NE(r.log.find("stack depth 8\n"), std::string::npos) << r.log;
}

TEST(Log, LevelZeroLeavesTheLogEmpty) {
    Result r = verify(isa::assemble("exit\n"));
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(r.log.empty());
}

}  // namespace
}  // namespace tcbpf::verifier
