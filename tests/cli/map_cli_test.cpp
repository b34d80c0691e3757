// `tcbpf map` against bpftool's behaviour (outputs and statuses checked with bpftool 7.1 on kernel maps
// of the same shape): exact plain and JSON output, bpftool's errors and exit statuses, and batches that
// apply whole or not at all.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "tests/cli/cli_fixture.h"

namespace tcbpf::test {
namespace {

class MapCli : public CliFixture {
   protected:
    std::string map(const std::string& name) { return (dir / name).string(); }
    void create_hash(const std::string& name, const std::string& extra = "") {
        ASSERT_EQ(tcbpf("map create " + map(name) + " type hash key 4 value 8 entries 16 name " + name + extra).status, 0);
    }
};

TEST_F(MapCli, UpdateLookupDumpPrintAsBpftoolDoes) {
    create_hash("flows");
    const std::string m = map("flows");
    Outcome r = tcbpf("map update pinned " + m + " key 1 0 0 0 value hex 11 22 33 44 55 66 77 88");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "");
    r = tcbpf("map lookup pinned " + m + " key 0x01 00 0 0");
    EXPECT_EQ(r.out, "key: 01 00 00 00  value: 11 22 33 44 55 66 77 88\n");
    r = tcbpf("map dump pinned " + m);
    EXPECT_EQ(r.out, "key: 01 00 00 00  value: 11 22 33 44 55 66 77 88\nFound 1 element\n");
    r = tcbpf("map -j dump pinned " + m);
    EXPECT_EQ(r.out, "[{\"key\":[\"0x01\",\"0x00\",\"0x00\",\"0x00\"],\"value\":[\"0x11\",\"0x22\",\"0x33\",\"0x44\","
                     "\"0x55\",\"0x66\",\"0x77\",\"0x88\"]}]\n");
    // Abbreviated verbs, decimal and octal bytes, and bpftool keeping only the low byte of 300.
    EXPECT_EQ(tcbpf("map up pinned " + m + " key 2 0 0 0 value 010 0 0 0 0 0 0 300 noexist").status, 0);
    r = tcbpf("map look pinned " + m + " key 2 0 0 0");
    EXPECT_EQ(r.out, "key: 02 00 00 00  value: 08 00 00 00 00 00 00 2c\n");
}

TEST_F(MapCli, LongKeysBreakLinesAndPerCpuValuesPrintPerCpu) {
    ASSERT_EQ(tcbpf("map create " + map("big") + " type hash key 20 value 20 entries 4 name big flags 1").status, 0);
    ASSERT_EQ(tcbpf("map update pinned " + map("big") +
                    " key 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 value 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0")
                  .status,
              0);
    EXPECT_EQ(tcbpf("map dump pinned " + map("big")).out,
              "key:\n01 02 03 04 05 06 07 08  09 0a 0b 0c 0d 0e 0f 10\n11 12 13 14\nvalue:\n"
              "00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00\n00 00 00 00\nFound 1 element\n");

    ASSERT_EQ(tcbpf("map create " + map("pc") + " type percpu_hash key 4 value 12 entries 4 name pc").status, 0);
    ASSERT_EQ(tcbpf("map update pinned " + map("pc") + " key 1 0 0 0 value 1 2 3 4 5 6 7 8 9 10 11 12").status, 0);
    const Outcome r = tcbpf("map lookup pinned " + map("pc") + " key 1 0 0 0");
    std::string expected = "key:\n01 00 00 00\n";
    const unsigned ncpus = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned cpu = 0; cpu < ncpus; ++cpu)
        expected += fmt::format("value (CPU {:02}): 01 02 03 04 05 06 07 08  09 0a 0b 0c\n", cpu);
    EXPECT_EQ(r.out, expected);
    const Outcome j = tcbpf("map -j lookup pinned " + map("pc") + " key 1 0 0 0");
    EXPECT_EQ(j.out.rfind("{\"key\":[\"0x01\",\"0x00\",\"0x00\",\"0x00\"],\"values\":[{\"cpu\":0,\"value\":[\"0x01\",", 0), 0u)
        << j.out;
}

TEST_F(MapCli, GetNextAndShow) {
    ASSERT_EQ(tcbpf("map create " + map("arr") + " type array key 4 value 4 entries 2 name arr").status, 0);
    EXPECT_EQ(tcbpf("map getnext pinned " + map("arr")).out, "key: None\nnext key:\n00 00 00 00\n");
    EXPECT_EQ(tcbpf("map getnext pinned " + map("arr") + " key 0 0 0 0").out, "key:\n00 00 00 00\nnext key:\n01 00 00 00\n");
    EXPECT_EQ(tcbpf("map -j getnext pinned " + map("arr") + " key 0 0 0 0").out,
              "{\"key\":[\"0x00\",\"0x00\",\"0x00\",\"0x00\"],\"next_key\":[\"0x01\",\"0x00\",\"0x00\",\"0x00\"]}\n");
    const Outcome last = tcbpf("map getnext pinned " + map("arr") + " key 1 0 0 0");
    EXPECT_EQ(last.status, 254);
    EXPECT_EQ(last.err, "Error: can't get next key: No such file or directory\n");
    const Outcome show = tcbpf("map show pinned " + map("arr"));
    EXPECT_NE(show.out.find(": array  name arr  flags 0x0\n\tkey 4B  value 4B  max_entries 2  memlock "), std::string::npos)
        << show.out;
}

TEST_F(MapCli, FailuresSayWhatBpftoolSaysWithItsStatus) {
    create_hash("m");
    const std::string m = map("m");
    auto expect = [&](const std::string& args, int status, const std::string& err, const std::string& out = "") {
        const Outcome r = tcbpf(args);
        EXPECT_EQ(r.status, status) << args;
        EXPECT_EQ(r.err, err) << args;
        EXPECT_EQ(r.out, out) << args;
    };
    expect("map lookup pinned " + map("none") + " key 1 0 0 0", 255,
           "Error: bpf obj get (" + map("none") + "): No such file or directory\n");
    expect("map lookup pinned " + m + " key 2 0 0 0", 254, "", "key:\n02 00 00 00\n\nNot found\n");
    expect("map -j lookup pinned " + m + " key 2 0 0 0", 254, "", "null\n");
    expect("map update pinned " + m + " key 1 0 zz 0 value 1 2 3 4 5 6 7 8", 255, "Error: error parsing byte: zz\n");
    expect("map update pinned " + m + " key 1 0 0 value 1 2 3 4 5 6 7 8", 255, "Error: key expected 4 bytes got 3\n");
    expect("map update pinned " + m + " key 1 0 0 0 0 value 1 2 3 4 5 6 7 8", 255,
           "Error: expected key or value, got: 0\n");
    expect("map update pinned " + m + " key 1 0 0 0 value 1 2 3 4 5 6 7 8 bogus", 255,
           "Error: expected key or value, got: bogus\n");
    expect("map update pinned " + m + " key 9 0 0 0 value 1 2 3 4 5 6 7 8 exist", 254,
           "Error: update failed: No such file or directory\n");
    expect("map lookup pinned " + m, 255, "Error: did not find key\n");
    expect("map -j delete pinned " + m + " key 9 0 0 0", 254, "Error: delete failed: No such file or directory\n",
           "{\"error\":\"delete failed: No such file or directory\"}\n");
    ASSERT_EQ(tcbpf("map update pinned " + m + " key 1 0 0 0 value 1 2 3 4 5 6 7 8").status, 0);
    expect("map update pinned " + m + " key 1 0 0 0 value 1 2 3 4 5 6 7 8 noexist", 239,
           "Error: update failed: File exists\n");
    expect("map create " + m + " type hash key 4 value 8 entries 16 name m", 239,
           "Error: can't pin the object (" + m + "): File exists\n");
    expect("map create " + map("x") + " type hashy key 4 value 8 entries 16 name x", 255,
           "Error: unrecognized map type: hashy\n");
    expect("map lookup id 3 key 1 0 0 0", 255, "Error: tcbpf maps have no kernel id: address them as 'pinned FILE'\n");
}

TEST_F(MapCli, TenThousandUpdatesInOneBatch) {
    ASSERT_EQ(tcbpf("map create " + map("big") + " type hash key 4 value 8 entries 16384 name big").status, 0);
    std::string batch = "# every key gets its own index as value\n";
    for (unsigned i = 0; i < 10000; ++i)
        batch += fmt::format("map update pinned {} key {} {} 0 0 value {} {} 0 0 0 0 0 0\n", map("big"), i & 0xff, i >> 8,
                             i & 0xff, i >> 8);
    const Outcome r = tcbpf("map -batch " + write("updates", batch));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "processed 10000 commands\n");
    const Outcome dump = tcbpf("map dump pinned " + map("big"));
    EXPECT_NE(dump.out.find("Found 10000 elements\n"), std::string::npos);
    EXPECT_EQ(tcbpf("map lookup pinned " + map("big") + " key 0x0f 0x27 0 0").out,
              "key: 0f 27 00 00  value: 0f 27 00 00 00 00 00 00\n");
}

TEST_F(MapCli, AFailingBatchLineUndoesTheWholeBatch) {
    create_hash("m");
    const std::string m = map("m");
    ASSERT_EQ(tcbpf("map update pinned " + m + " key 1 0 0 0 value 1 1 1 1 1 1 1 1").status, 0);
    const std::string file = write("b", "update pinned " + m + " key 1 0 0 0 value 2 2 2 2 2 2 2 2\n" +
                                            "update pinned " + m + " key 2 0 0 0 value 2 2 2 2 2 2 2 2\n" +
                                            "delete pinned " + m + " key 1 0 0 0\n" + "create " + map("n") +
                                            " type array key 4 value 4 entries 1 name n\n" +
                                            "update pinned " + m + " key 3 0 0 0 value 3 3 3 3 3 3 3 3 exist\n");
    const Outcome r = tcbpf("map -batch " + file);
    EXPECT_EQ(r.status, 254);
    EXPECT_EQ(r.err, "Error: " + file + ":5: update failed: No such file or directory; no line of the batch was applied\n");
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(tcbpf("map dump pinned " + m).out, "key: 01 00 00 00  value: 01 01 01 01 01 01 01 01\nFound 1 element\n");
    EXPECT_FALSE(std::filesystem::exists(map("n")));

    const Outcome syntax = tcbpf("map -batch " + write("c", "update pinned " + m + " key 5 0 0 0 value 1 1 1 1 1 1 1 1\n\n  lookup\n"));
    EXPECT_EQ(syntax.status, 255);
    EXPECT_EQ(syntax.err, "Error: " + dir.string() + "/c:3: expected 'pinned FILE': tcbpf maps are addressed by the path they are pinned at\n");
    EXPECT_EQ(tcbpf("map lookup pinned " + m + " key 5 0 0 0").status, 254);
}

TEST_F(MapCli, BatchJsonShowsEachCommandAndItsOutput) {
    create_hash("m");
    const std::string m = map("m");
    const Outcome r = tcbpf("map -j -batch " + write("b", "map update pinned " + m + " key 1 0 0 0 value 1 0 0 0 0 0 0 0  # one\n" +
                                                        "lookup pinned " + m + " key 1 0 0 0\n"));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "[{\"command\":[\"map\",\"update\",\"pinned\",\"" + m +
                         "\",\"key\",\"1\",\"0\",\"0\",\"0\",\"value\",\"1\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\"],"
                         "\"output\":null},{\"command\":[\"map\",\"lookup\",\"pinned\",\"" + m +
                         "\",\"key\",\"1\",\"0\",\"0\",\"0\"],\"output\":{\"key\":[\"0x01\",\"0x00\",\"0x00\",\"0x00\"],"
                         "\"value\":[\"0x01\",\"0x00\",\"0x00\",\"0x00\",\"0x00\",\"0x00\",\"0x00\",\"0x00\"]}}]\n");
}

TEST_F(MapCli, QueuesPushPeekAndPopAsBpftoolDoes) {
    ASSERT_EQ(tcbpf("map create " + map("q") + " type queue key 0 value 4 entries 2 name q").status, 0);
    const std::string q = map("q");
    Outcome r = tcbpf("map peek pinned " + q);
    EXPECT_EQ(r.status, 254);
    EXPECT_EQ(r.out, "key:\n\n\nNot found\n");
    EXPECT_EQ(tcbpf("map push pinned " + q + " value 1 0 0 0").status, 0);
    EXPECT_EQ(tcbpf("map enqueue pinned " + q + " value 2 0 0 0").status, 0);
    r = tcbpf("map push pinned " + q + " value 3 0 0 0");
    EXPECT_EQ(r.status, 249);
    EXPECT_EQ(r.err, "Error: update failed: Argument list too long\n");
    EXPECT_EQ(tcbpf("map peek pinned " + q).out, "value: 01 00 00 00\n");
    EXPECT_EQ(tcbpf("map -j peek pinned " + q).out, "{\"key\":[],\"value\":[\"0x01\",\"0x00\",\"0x00\",\"0x00\"]}\n");
    EXPECT_EQ(tcbpf("map pop pinned " + q).out, "value: 01 00 00 00\n");
    EXPECT_EQ(tcbpf("map dequeue pinned " + q).out, "value: 02 00 00 00\n");
    r = tcbpf("map pop pinned " + q);
    EXPECT_EQ(r.status, 254);
    EXPECT_EQ(r.err, "Error: empty map\n");
    r = tcbpf("map -j pop pinned " + q);
    EXPECT_EQ(r.status, 254);
    EXPECT_EQ(r.out, "null\n");
    r = tcbpf("map dump pinned " + q);
    EXPECT_EQ(r.status, 234);
    EXPECT_EQ(r.out, "Found 0 elements\n");
}

}  // namespace
}  // namespace tcbpf::test
