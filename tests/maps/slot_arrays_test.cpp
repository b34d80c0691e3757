// PROG_ARRAY slots and PERF_EVENT_ARRAY output, with the kernel's error codes.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "tests/maps/map_test_util.h"

namespace tcbpf::maps {
namespace {

using test::make;

TEST(ProgArray, SlotsHoldProgramsAndReportIds) {
    auto map = make(kMapProgArray, 4, 4, 4);
    ProgArray& progs = *map->as_prog_array();
    auto program = std::make_shared<const int>(1234);
    uint32_t key = 1, id = 0;
    EXPECT_EQ(progs.program_at(1), nullptr);
    EXPECT_EQ(map->lookup_user(&key, &id), -ENOENT);
    ASSERT_EQ(progs.set_program(1, program, 77), 0);
    EXPECT_EQ(progs.program_at(1), program.get());
    EXPECT_EQ(progs.program_at(4), nullptr);
    ASSERT_EQ(map->lookup_user(&key, &id), 0);
    EXPECT_EQ(id, 77u);
    EXPECT_EQ(progs.set_program(4, program, 1), -E2BIG);
    EXPECT_EQ(map->lookup(&key, 0), nullptr);  // programs cannot look up prog arrays

    std::weak_ptr<const int> weak = program;
    program.reset();
    ASSERT_EQ(map->delete_user(&key), 0);
    EXPECT_EQ(progs.program_at(1), nullptr);
    EXPECT_FALSE(weak.expired());  // a running tail call may still be inside it
    EXPECT_EQ(map->delete_user(&key), -ENOENT);
    key = 9;
    EXPECT_EQ(map->delete_user(&key), -E2BIG);
    EXPECT_EQ(progs.clear_program(9), -E2BIG);
    uint32_t next = 5;
    ASSERT_EQ(map->get_next_key(nullptr, &next), 0);
    EXPECT_EQ(next, 0u);
    map.reset();
    EXPECT_TRUE(weak.expired());
}

std::vector<std::vector<uint8_t>> drain(PerfEventArray& perf, uint32_t index) {
    std::vector<std::vector<uint8_t>> out;
    perf.consume(index, [&](std::span<const uint8_t> s) { out.emplace_back(s.begin(), s.end()); });
    return out;
}

TEST(PerfEventArray, OutputGoesToTheSelectedSlot) {
    auto map = make(kMapPerfEventArray, 4, 4, 4, 0, 4);
    PerfEventArray& perf = *map->as_perf_event_array();
    ASSERT_EQ(perf.open_buffer(2, 2, 4096), 0);
    const char meta[] = "abcdef";  // 6 bytes
    EXPECT_EQ(perf.output(kFCurrentCpu, 2, meta, 6), 0);
    EXPECT_EQ(perf.output(2, 2, meta, 3, "XY", 2), 0);
    auto got = drain(perf, 2);
    ASSERT_EQ(got.size(), 2u);
    // Raw samples are padded so that 4-byte size + data is a multiple of 8.
    EXPECT_EQ(got[0], (std::vector<uint8_t>{'a', 'b', 'c', 'd', 'e', 'f', 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(got[1], (std::vector<uint8_t>{'a', 'b', 'c', 'X', 'Y', 0, 0, 0, 0, 0, 0, 0}));
    EXPECT_TRUE(drain(perf, 2).empty());
}

TEST(PerfEventArray, ErrorCodes) {
    auto map = make(kMapPerfEventArray, 4, 4, 4, 0, 4);
    PerfEventArray& perf = *map->as_perf_event_array();
    uint32_t v = 0;
    EXPECT_EQ(perf.output(1, 1, &v, 4), -ENOENT);            // no buffer in the slot
    EXPECT_EQ(perf.output(4, 1, &v, 4), -E2BIG);             // index ≥ max_entries
    EXPECT_EQ(perf.output(kFCurrentCpu, 7, &v, 4), -E2BIG);  // current CPU 7 ≥ max_entries
    EXPECT_EQ(perf.output(1ull << 52, 1, &v, 4), -EINVAL);   // bits beyond index and ctx length
    ASSERT_EQ(perf.open_buffer(1, 1, 64), 0);
    EXPECT_EQ(perf.output(1, 0, &v, 4), -EOPNOTSUPP);  // the event belongs to CPU 1
    EXPECT_EQ(perf.output(1, 1, &v, 4), 0);
    EXPECT_EQ(perf.output(1ull | (5ull << 32), 1, &v, 4), 0);  // ctx length bits are the helper's business
    EXPECT_EQ(perf.open_buffer(4, 0, 64), -E2BIG);
    EXPECT_EQ(perf.open_buffer(0, 9, 64), -EINVAL);
    uint32_t key = 1;
    EXPECT_EQ(map->lookup_user(&key, &v), -kENOTSUPP);
    ASSERT_EQ(map->delete_user(&key), 0);
    EXPECT_EQ(map->delete_user(&key), -ENOENT);
    key = 4;
    EXPECT_EQ(map->delete_user(&key), -E2BIG);
}

TEST(PerfEventArray, FullBufferCountsLostSamples) {
    auto map = make(kMapPerfEventArray, 4, 4, 1, 0, 1);
    PerfEventArray& perf = *map->as_perf_event_array();
    ASSERT_EQ(perf.open_buffer(0, 0, 64), 0);
    uint8_t data[28] = {};
    EXPECT_EQ(perf.output(0, 0, data, 28), 0);  // 32 bytes with its size word
    EXPECT_EQ(perf.output(0, 0, data, 28), 0);
    EXPECT_EQ(perf.output(0, 0, data, 28), -ENOSPC);
    EXPECT_EQ(perf.lost(0), 1u);
    EXPECT_EQ(drain(perf, 0).size(), 2u);
    for (int i = 0; i < 10; ++i) {  // the ring wraps cleanly
        data[0] = static_cast<uint8_t>(i);
        ASSERT_EQ(perf.output(0, 0, data, 20), 0);
        auto got = drain(perf, 0);
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0].size(), 20u);
        EXPECT_EQ(got[0][0], i);
    }
}

}  // namespace
}  // namespace tcbpf::maps
