// Map, queue, ring buffer and perf event helpers, called by programs on a test_run skb. Expected
// values are the kernel's (errno per map type, record layouts).
#include <gtest/gtest.h>

#include <cerrno>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "tcbpf/asm.h"
#include "tests/helpers/helper_run.h"

namespace tcbpf::helpers::test {
namespace {

constexpr uint64_t neg(int64_t v) { return static_cast<uint64_t>(v); }

std::string prog(std::string_view body) { return "r6 = r1\nr7 = r2\n" + std::string(body) + "\nexit\n"; }

std::unique_ptr<maps::Map> make_map(uint32_t type, uint32_t key, uint32_t value, uint32_t entries) {
    maps::MapSpec spec;
    spec.type = type;
    spec.key_size = key;
    spec.value_size = value;
    spec.max_entries = entries;
    return maps::create_map(spec, 2);
}

TEST(MapHelpers, LookupUpdateDeleteOnAHash) {
    auto map = make_map(maps::kMapHash, 4, 8, 4);
    HelperRun run(ipv4_udp_frame());
    run.maps.push_back(map.get());
    const std::string m = HelperRun::address(map.get());
    // key 7 → value 0x1122 (BPF_NOEXIST), again with NOEXIST (-EEXIST), look it up, delete it twice.
    const std::string body = fmt::format(R"(
        *(u32 *)(r10 - 4) = 7
        *(u64 *)(r10 - 16) = 0x1122
        r1 = {0} ll
        r2 = r10
        r2 += -4
        r3 = r10
        r3 += -16
        r4 = 1
        call 2
        *(u64 *)(r7 + 0) = r0
        r1 = {0} ll
        r2 = r10
        r2 += -4
        r3 = r10
        r3 += -16
        r4 = 1
        call 2
        *(u64 *)(r7 + 8) = r0
        r1 = {0} ll
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto +2
        r1 = *(u64 *)(r0 + 0)
        *(u64 *)(r7 + 16) = r1
        r1 = {0} ll
        r2 = r10
        r2 += -4
        call 3
        *(u64 *)(r7 + 24) = r0
        r1 = {0} ll
        r2 = r10
        r2 += -4
        call 3
        *(u64 *)(r7 + 32) = r0
        r1 = {0} ll
        r2 = r10
        r2 += -4
        call 1)", m);
    EXPECT_EQ(run.run(prog(body)), 0u) << "looked up after deletion: NULL";
    uint64_t results[5];
    std::memcpy(results, run.out, sizeof results);
    EXPECT_EQ(results[0], 0u);
    EXPECT_EQ(results[1], neg(-EEXIST));
    EXPECT_EQ(results[2], 0x1122u);
    EXPECT_EQ(results[3], 0u);
    EXPECT_EQ(results[4], neg(-ENOENT));
}

TEST(MapHelpers, ArrayValuesAreWritableInPlaceAndCannotBeDeleted) {
    auto map = make_map(maps::kMapArray, 4, 8, 4);
    HelperRun run(ipv4_udp_frame());
    run.maps.push_back(map.get());
    const std::string body = fmt::format(R"(
        *(u32 *)(r10 - 4) = 2
        r1 = {0} ll
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto +8
        r1 = 99
        *(u64 *)(r0 + 0) = r1
        r1 = {0} ll
        r2 = r10
        r2 += -4
        call 3
        goto +1
        r0 = 1)", HelperRun::address(map.get()));
    EXPECT_EQ(run.run(prog(body)), neg(-EINVAL));
    const uint32_t key = 2;
    uint64_t value = 0;
    ASSERT_EQ(map->lookup_user(&key, &value), 0);
    EXPECT_EQ(value, 99u);
}

TEST(MapHelpers, PerCpuSlotsFollowTheContextCpu) {
    auto map = make_map(maps::kMapPercpuArray, 4, 8, 1);
    HelperRun run(ipv4_udp_frame());
    run.maps.push_back(map.get());
    run.cx.cpu = 1;
    const std::string body = fmt::format(R"(
        *(u32 *)(r10 - 4) = 0
        r1 = {0} ll
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto +2
        r1 = 5
        *(u64 *)(r0 + 0) = r1
        r1 = {0} ll
        r2 = r10
        r2 += -4
        r3 = 2
        call 195)", HelperRun::address(map.get()));
    EXPECT_EQ(run.run(prog(body)), 0u) << "lookup_percpu_elem for CPU 2 of 2 is NULL";
    const uint32_t key = 0;
    uint64_t values[2] = {};
    ASSERT_EQ(map->lookup_user(&key, values), 0);
    EXPECT_EQ(values[0], 0u);
    EXPECT_EQ(values[1], 5u);
    EXPECT_EQ(run.run(prog("call 8")), 1u) << "get_smp_processor_id";
}

TEST(MapHelpers, QueuePushPopPeek) {
    auto map = make_map(maps::kMapQueue, 0, 8, 2);
    HelperRun run(ipv4_udp_frame());
    run.maps.push_back(map.get());
    const std::string body = fmt::format(R"(
        *(u64 *)(r10 - 8) = 11
        r1 = {0} ll
        r2 = r10
        r2 += -8
        r3 = 0
        call 87
        *(u64 *)(r10 - 8) = 22
        r1 = {0} ll
        r2 = r10
        r2 += -8
        r3 = 0
        call 87
        r1 = {0} ll
        r2 = r10
        r2 += -8
        r3 = 0
        call 87
        *(u64 *)(r7 + 0) = r0
        r1 = {0} ll
        r2 = r7
        r2 += 8
        call 89
        r1 = {0} ll
        r2 = r7
        r2 += 16
        call 88
        r1 = {0} ll
        r2 = r7
        r2 += 24
        call 88
        r1 = {0} ll
        r2 = r7
        r2 += 32
        call 88)", HelperRun::address(map.get()));
    EXPECT_EQ(run.run(prog(body)), neg(-ENOENT)) << "popping an empty queue";
    uint64_t results[4];
    std::memcpy(results, run.out, sizeof results);
    EXPECT_EQ(results[0], neg(-E2BIG)) << "a full queue without BPF_EXIST";
    EXPECT_EQ(results[1], 11u) << "peek";
    EXPECT_EQ(results[2], 11u);
    EXPECT_EQ(results[3], 22u);
}

TEST(RingbufHelpers, OutputReserveSubmitDiscardQuery) {
    auto map = make_map(maps::kMapRingbuf, 0, 0, 4096);
    maps::RingBuffer* rb = map->as_ringbuf();
    ASSERT_NE(rb, nullptr);
    HelperRun run(ipv4_udp_frame());
    run.maps.push_back(map.get());
    const std::string body = fmt::format(R"(
        *(u64 *)(r10 - 8) = 0x61
        r1 = {0} ll
        r2 = r10
        r2 += -8
        r3 = 8
        r4 = 0
        call 130
        *(u64 *)(r7 + 0) = r0
        r1 = {0} ll
        r2 = 8
        r3 = 0
        call 131
        if r0 == 0 goto +4
        r1 = 0x62
        *(u64 *)(r0 + 0) = r1
        r1 = r0
        r2 = 0
        call 132
        r1 = {0} ll
        r2 = 8
        r3 = 0
        call 131
        if r0 == 0 goto +3
        r1 = r0
        r2 = 0
        call 133
        r1 = {0} ll
        r2 = 8
        r3 = 1
        call 131
        *(u64 *)(r7 + 8) = r0
        r1 = {0} ll
        r2 = 0
        call 134)", HelperRun::address(map.get()));
    // Three 16-byte records (8-byte header + 8-byte sample) are in the ring, unconsumed.
    EXPECT_EQ(run.run(prog(body)), 48u);
    uint64_t results[2];
    std::memcpy(results, run.out, sizeof results);
    EXPECT_EQ(results[0], 0u);
    EXPECT_EQ(results[1], 0u) << "reserve with flags != 0 is NULL";
    std::vector<uint64_t> samples;
    rb->consume([&](std::span<const uint8_t> sample) {
        uint64_t v;
        std::memcpy(&v, sample.data(), 8);
        samples.push_back(v);
        return 0;
    });
    EXPECT_EQ(samples, (std::vector<uint64_t>{0x61, 0x62})) << "the discarded record is skipped";
}

TEST(PerfEventOutput, AppendsRequestedPacketBytes) {
    auto map = make_map(maps::kMapPerfEventArray, 4, 4, 2);
    maps::PerfEventArray* perf = map->as_perf_event_array();
    ASSERT_NE(perf, nullptr);
    ASSERT_EQ(perf->open_buffer(0, 0, 4096), 0);
    HelperRun run(ipv4_udp_frame());
    auto call = [&](uint64_t flags) {
        return run.run(prog(fmt::format(R"(
            *(u32 *)(r10 - 4) = 0xabcd
            r1 = r6
            r2 = {} ll
            r3 = {:#x} ll
            r4 = r10
            r4 += -4
            r5 = 4
            call 25)", HelperRun::address(map.get()), flags)));
    };
    EXPECT_EQ(call(0xffffffffull | (14ull << 32)), 0u) << "current CPU (0), 14 packet bytes";
    EXPECT_EQ(call(51ull << 32), neg(-EFAULT)) << "more packet bytes than the packet has";
    EXPECT_EQ(call(1ull << 60), neg(-EINVAL));
    EXPECT_EQ(call(1), neg(-ENOENT)) << "no buffer at index 1";
    std::vector<std::vector<uint8_t>> samples;
    perf->consume(0, [&](std::span<const uint8_t> s) { samples.emplace_back(s.begin(), s.end()); });
    ASSERT_EQ(samples.size(), 1u);
    ASSERT_EQ(samples[0].size(), 20u) << "4 + 14 bytes padded to round_up(18 + 4, 8) - 4";
    EXPECT_EQ(samples[0][0], 0xcd);
    EXPECT_EQ(samples[0][4], 0x02) << "the destination MAC follows";
    EXPECT_EQ(samples[0][16], 0x08);
}

// A program that takes bpf_spin_lock while another CPU holds it waits until it is released, then
// does its update and releases the lock. The value is {u32 lock; u32 pad; u64 counter}.
TEST(SpinLock, WaitsForTheHolderThenReleases) {
    auto map = make_map(maps::kMapArray, 4, 16, 1);
    const std::string body = fmt::format(R"(
        *(u32 *)(r10 - 4) = 0
        r1 = {0} ll
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto +7
        r6 = r0
        r1 = r6
        call 93
        r2 = *(u64 *)(r6 + 8)
        r2 += 1
        *(u64 *)(r6 + 8) = r2
        r1 = r6
        call 94
        r0 = 0
        exit)", HelperRun::address(map.get()));
    vm::HelperRegistry registry;
    register_tc_helpers(registry);
    const auto program = vm::Program::prepare(isa::assemble(body), registry);
    const uint32_t key = 0;
    auto* value = static_cast<uint64_t*>(map->lookup(&key, 0));
    ASSERT_NE(value, nullptr);
    std::atomic_ref<uint32_t> lock_word(*reinterpret_cast<uint32_t*>(value));
    std::atomic_ref<uint64_t> counter(value[1]);
    lock_word.store(1);  // held elsewhere
    std::thread runner([&] {
        vm::Context cx;
        program->run(cx, 0);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(counter.load(), 0u) << "the program must wait for the lock";
    lock_word.store(0);
    runner.join();
    EXPECT_EQ(counter.load(), 1u);
    EXPECT_EQ(lock_word.load(), 0u) << "released again";
}

}  // namespace
}  // namespace tcbpf::helpers::test
