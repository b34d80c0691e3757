// The .data reader follows the reference runner's rules (shared/conformance/README.md), quirks included.
#include "tests/conformance/data_file.h"

#include <gtest/gtest.h>

#include "tcbpf/error.h"

namespace tcbpf::conformance {
namespace {

TEST(DataFile, ReadsAsmMemAndHexResult) {
    const DataFile file = parse_data_file(
        "# Copyright line before any header is ignored\n"
        "-- asm\n"
        "mov %r0, %r2  # trailing comment\n"
        "\n"
        "exit\n"
        "-- mem\n"
        "00 01 \n"
        "ff   7f\n"
        "-- result\n"
        "0x8\n",
        "t.data");
    EXPECT_EQ(file.skip_reason, "");
    EXPECT_EQ(file.asm_text, "mov %r0, %r2  \nexit\n");
    EXPECT_TRUE(file.has_mem);
    EXPECT_EQ(file.mem, (std::vector<uint8_t>{0x00, 0x01, 0xff, 0x7f}));
    EXPECT_EQ(file.result, 8u);
    EXPECT_FALSE(file.raw.has_value());
    EXPECT_FALSE(file.error.has_value());
}

TEST(DataFile, ResultIsTheLastNonEmptyLineAndDecimalIsUnsigned) {
    const DataFile file = parse_data_file("-- asm\nexit\n-- result\n5\n18446744073709551615\n\n", "t.data");
    EXPECT_EQ(file.result, UINT64_MAX);
}

TEST(DataFile, StripsCarriageReturnsAndHashesInsideHeaders) {
    const DataFile file = parse_data_file("-- asm\r\nexit\r\n-- result # the value\r\n0x1\r\n", "t.data");
    EXPECT_EQ(file.asm_text, "exit\n");
    EXPECT_EQ(file.result, 1u);
}

TEST(DataFile, RawReplacesAsmAndTakesHexOrDecimalSlots) {
    const DataFile file = parse_data_file(
        "-- asm\nlddw %r0, 0x1122334455667788\nexit\n"
        "-- raw\n0x5566778800000018 0x1122334400000000\n149\n"
        "-- result\n0x1122334455667788\n",
        "lddw.data");
    ASSERT_TRUE(file.raw.has_value());
    EXPECT_EQ(*file.raw, (std::vector<uint64_t>{0x5566778800000018, 0x1122334400000000, 0x95}));
    EXPECT_EQ(raw_bytes({0x0000000000000095}), (std::vector<uint8_t>{0x95, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(DataFile, NotesAndCSourceSectionsAreIgnored) {
    const DataFile file = parse_data_file(
        "-- asm\nexit\n-- no register offset\ncall instruction\n-- c\nint main() { return 0; }\n-- result\n0x0\n",
        "t.data");
    EXPECT_EQ(file.asm_text, "exit\n");
    EXPECT_EQ(file.result, 0u);
}

TEST(DataFile, HeaderPicksTheFirstNameInTheRunnersOrder) {
    // "-- mem result" names two sections; `result` comes first in the runner's list.
    const DataFile file = parse_data_file("-- asm\nexit\n-- mem result\n0x7\n", "t.data");
    EXPECT_EQ(file.result, 7u);
    EXPECT_FALSE(file.has_mem);
}

TEST(DataFile, ErrorSectionIsTheExpectedText) {
    const DataFile file = parse_data_file("-- asm\nexit\n-- error\n  Program failed to load  \n", "t.data");
    EXPECT_EQ(file.skip_reason, "");
    EXPECT_EQ(file.error, "Program failed to load");
    EXPECT_FALSE(file.result.has_value());
}

TEST(DataFile, UnknownDirectiveSkipsTheWholeFile) {
    const DataFile file = parse_data_file("-- asm\nexit\n-- bogus\n-- result\n0x0\n", "t.data");
    EXPECT_EQ(file.skip_reason, "Unknown directive at line 3: -- bogus");
}

TEST(DataFile, FileWithoutResultOrErrorIsSkipped) {
    EXPECT_EQ(parse_data_file("-- asm\nexit\n", "t.data").skip_reason, "no result or error section");
}

TEST(DataFile, MalformedNumbersNameFileAndLine) {
    try {
        parse_data_file("-- asm\nexit\n-- mem\n00 zz\n-- result\n0x0\n", "bad.data");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "bad.data:4: mem: 'zz' is not a hex byte");
    }
    try {
        parse_data_file("-- asm\nexit\n-- result\n0xnope\n", "bad.data");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "bad.data:4: result: '0xnope' is not a 64-bit number");
    }
}

}  // namespace
}  // namespace tcbpf::conformance
