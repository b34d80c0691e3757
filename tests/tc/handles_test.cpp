// Handles, class ids, controls, rates and sizes as iproute2 reads and prints them
// (classful-qdiscs.md §1.2, §1.3, §7.4; tc-cli.md §4).
#include <gtest/gtest.h>

#include "tc/parse_util.h"
#include "tcbpf/tc_spec.h"

namespace tcbpf::tc {
namespace {

TEST(Handles, ClassidsParseAsTcUtilDoes) {
    EXPECT_EQ(parse_classid("root"), 0xFFFFFFFFu);
    EXPECT_EQ(parse_classid("none"), 0u);
    EXPECT_EQ(parse_classid("1:10"), 0x00010010u);  // minor is hex
    EXPECT_EQ(parse_classid(":10"), 0x00000010u);
    EXPECT_EQ(parse_classid("1:"), 0x00010000u);
    EXPECT_EQ(parse_classid("10010"), 0x00010010u);  // a bare number is the raw value, in hex
    EXPECT_EQ(parse_classid("ffff:fff2"), 0xFFFFFFF2u);
    for (const char* bad : {"", "1:2:3", "10000:1", "1:10000", "x", "1:z", "1:1 "})
        EXPECT_THROW(parse_classid(bad), Error) << bad;
}

TEST(Handles, QdiscHandlesTakeTheMajorOnly) {
    EXPECT_EQ(parse_qdisc_handle("1:"), 0x10000u);
    EXPECT_EQ(parse_qdisc_handle("1"), 0x10000u);
    EXPECT_EQ(parse_qdisc_handle("ffff:"), 0xFFFF0000u);
    EXPECT_EQ(parse_qdisc_handle("1:5"), 0x10000u);  // text after ':' is ignored
    EXPECT_EQ(parse_qdisc_handle("none"), 0u);
    try {
        parse_qdisc_handle("10000:");
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "Error: argument \"10000:\" is wrong: invalid qdisc ID");
    }
}

TEST(Handles, ClassidsPrintAsPrintTcClassid) {
    EXPECT_EQ(format_classid(0xFFFFFFFF), "root");
    EXPECT_EQ(format_classid(0), "none");
    EXPECT_EQ(format_classid(0x10), ":10");
    EXPECT_EQ(format_classid(0x10000), "1:");
    EXPECT_EQ(format_classid(0x1000a), "1:a");
    EXPECT_EQ(format_classid(0xFFFFFFF2), "ffff:fff2");
}

TEST(Handles, ControlNames) {
    EXPECT_EQ(format_control(kActUnspec), "continue");
    EXPECT_EQ(format_control(kActOk), "pass");
    EXPECT_EQ(format_control(kActShot), "drop");
    EXPECT_EQ(format_control(kActPipe), "pipe");
    EXPECT_EQ(format_control(kActStolen), "stolen");
    EXPECT_EQ(format_control(kActGotoChain | 5), "goto chain 5");
    EXPECT_EQ(format_control(kActJump | 2), "jump 2");
    EXPECT_EQ(format_control(42), "42");
}

TEST(Units, RatesParseToBytesPerSecondAndPrintInTcsUnits) {
    EXPECT_EQ(detail::parse_rate("1mbit"), 125000u);
    EXPECT_EQ(detail::parse_rate("8000"), 1000u);
    EXPECT_EQ(detail::parse_rate("1Kibit"), 128u);
    EXPECT_EQ(detail::parse_rate("2MBps"), 2000000u);
    EXPECT_FALSE(detail::parse_rate("fast"));
    EXPECT_EQ(detail::format_rate(125000), "1Mbit");
    EXPECT_EQ(detail::format_rate(187500), "1500Kbit");
    EXPECT_EQ(detail::format_rate(987648 / 8), "987648bit");
}

TEST(Units, SizesParseWithBinarySuffixesAndPrintAsPrintSize) {
    EXPECT_EQ(detail::parse_size("1600"), 1600u);
    EXPECT_EQ(detail::parse_size("2k"), 2048u);
    EXPECT_EQ(detail::parse_size("1kbit"), 128u);
    EXPECT_EQ(detail::format_size(1600), "1600b");
    EXPECT_EQ(detail::format_size(2048), "2Kb");
    EXPECT_EQ(detail::format_size(1514000), "1514000b");
    EXPECT_EQ(detail::format_size(3u << 20), "3Mb");
}

}  // namespace
}  // namespace tcbpf::tc
