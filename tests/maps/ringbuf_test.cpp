// RINGBUF: record layout, reserve/submit/discard ordering, positions, wraparound, capacity.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "tests/maps/map_test_util.h"

namespace tcbpf::maps {
namespace {

std::unique_ptr<Map> ring(uint32_t size = 4096) { return test::make(kMapRingbuf, 0, 0, size); }

std::vector<std::vector<uint8_t>> drain(RingBuffer& rb) {
    std::vector<std::vector<uint8_t>> out;
    rb.consume([&](std::span<const uint8_t> s) {
        out.emplace_back(s.begin(), s.end());
        return 0;
    });
    return out;
}

TEST(RingBuffer, KeyValueOperationsAreNotSupported) {
    auto map = ring();
    uint32_t x = 0;
    EXPECT_EQ(map->lookup_user(nullptr, &x), -kENOTSUPP);
    EXPECT_EQ(map->update_user(nullptr, &x, 0), -kENOTSUPP);
    EXPECT_EQ(map->delete_user(nullptr), -kENOTSUPP);
    EXPECT_EQ(map->get_next_key(nullptr, &x), -kENOTSUPP);
    EXPECT_EQ(map->lookup(nullptr, 0), nullptr);
    ASSERT_NE(map->as_ringbuf(), nullptr);
    EXPECT_EQ(map->as_perf_event_array(), nullptr);
}

TEST(RingBuffer, ReserveWritesTheKernelRecordHeader) {
    auto map = ring();
    RingBuffer& rb = *map->as_ringbuf();
    auto* sample = static_cast<uint8_t*>(rb.reserve(5, 0));
    ASSERT_NE(sample, nullptr);
    uint32_t len_word, pg_off;
    std::memcpy(&len_word, sample - 8, 4);
    std::memcpy(&pg_off, sample - 4, 4);
    EXPECT_EQ(len_word, 5u | kRingbufBusyBit);
    EXPECT_EQ(pg_off, 1u);  // data starts one page into the block
    EXPECT_EQ(rb.query(kRbProdPos), 16u);  // 8-byte header + 5 bytes, rounded to 8
    EXPECT_EQ(rb.query(kRbConsPos), 0u);
    EXPECT_EQ(rb.query(kRbAvailData), 16u);
    EXPECT_EQ(rb.query(kRbRingSize), 4096u);
    EXPECT_EQ(rb.query(99), 0u);
    EXPECT_TRUE(drain(rb).empty());  // still busy: nothing to read
    std::memcpy(sample, "hello", 5);
    RingBuffer::submit(sample, 0);
    std::memcpy(&len_word, sample - 8, 4);
    EXPECT_EQ(len_word, 5u);
    auto got = drain(rb);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(std::string(got[0].begin(), got[0].end()), "hello");
    EXPECT_EQ(rb.query(kRbConsPos), 16u);
    EXPECT_EQ(rb.query(kRbAvailData), 0u);
}

TEST(RingBuffer, RecordsAreReadInReservationOrderAndDiscardsSkipped) {
    auto map = ring();
    RingBuffer& rb = *map->as_ringbuf();
    auto* a = static_cast<uint8_t*>(rb.reserve(4, 0));
    auto* b = static_cast<uint8_t*>(rb.reserve(4, 0));
    auto* c = static_cast<uint8_t*>(rb.reserve(4, 0));
    ASSERT_TRUE(a && b && c);
    std::memcpy(a, "AAAA", 4);
    std::memcpy(b, "BBBB", 4);
    std::memcpy(c, "CCCC", 4);
    RingBuffer::submit(c, 0);
    RingBuffer::discard(b, 0);
    EXPECT_TRUE(drain(rb).empty());  // a, the oldest, is still busy
    uint32_t len_word;
    std::memcpy(&len_word, b - 8, 4);
    EXPECT_EQ(len_word, 4u | kRingbufDiscardBit);
    RingBuffer::submit(a, 0);
    auto got = drain(rb);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(std::string(got[0].begin(), got[0].end()), "AAAA");
    EXPECT_EQ(std::string(got[1].begin(), got[1].end()), "CCCC");
    EXPECT_EQ(rb.query(kRbConsPos), 48u);
}

TEST(RingBuffer, OutputFlagsAndFullBuffer) {
    auto map = ring();
    RingBuffer& rb = *map->as_ringbuf();
    uint8_t data[1000] = {};
    EXPECT_EQ(rb.output(data, 8, 4), -EINVAL);
    EXPECT_EQ(rb.reserve(8, 1), nullptr);  // reserve takes no flags
    // 1008-byte records; a 4096-byte ring holds at most 4095 bytes ahead of the consumer: 4 fit.
    for (int i = 0; i < 4; ++i) ASSERT_EQ(rb.output(data, 1000, kRbNoWakeup), 0) << i;
    EXPECT_EQ(rb.output(data, 1000, 0), -EAGAIN);
    EXPECT_EQ(rb.reserve(1000, 0), nullptr);
    EXPECT_EQ(rb.output(data, 48, kRbForceWakeup), 0);  // 56 more bytes still fit: 4032 + 56 ≤ 4095
    EXPECT_EQ(rb.output(data, 1, 0), -EAGAIN);           // 16 more do not
    EXPECT_EQ(rb.reserve(4096, 0), nullptr);  // can never fit
    EXPECT_EQ(drain(rb).size(), 5u);
    EXPECT_EQ(rb.output(data, 1000, 0), 0);  // room again
}

TEST(RingBuffer, RecordsWrapAroundContiguously) {
    auto map = ring();
    RingBuffer& rb = *map->as_ringbuf();
    std::vector<uint8_t> payload(1500);
    for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(round * 31 + i);
        auto* sample = static_cast<uint8_t*>(rb.reserve(payload.size(), 0));
        ASSERT_NE(sample, nullptr) << round;
        std::memcpy(sample, payload.data(), payload.size());  // crosses the end of the ring on some rounds
        RingBuffer::submit(sample, 0);
        auto got = drain(rb);
        ASSERT_EQ(got.size(), 1u);
        ASSERT_EQ(got[0], payload) << round;
    }
    EXPECT_EQ(rb.query(kRbProdPos), 20u * 1512u);
}

TEST(RingBuffer, ConsumerStopsWhenTheCallbackAsks) {
    auto map = ring();
    RingBuffer& rb = *map->as_ringbuf();
    for (uint32_t i = 0; i < 3; ++i) ASSERT_EQ(rb.output(&i, 4, 0), 0);
    size_t n = rb.consume([](std::span<const uint8_t>) { return 1; });
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(drain(rb).size(), 2u);
}

TEST(RingBuffer, WaitWakesWhenAProducerCommits) {
    auto map = ring();
    RingBuffer& rb = *map->as_ringbuf();
    EXPECT_FALSE(rb.wait(10));
    std::thread producer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        uint32_t v = 1;
        rb.output(&v, 4, 0);
    });
    EXPECT_TRUE(rb.wait(5000));
    producer.join();
    EXPECT_EQ(drain(rb).size(), 1u);
}

TEST(RingBuffer, ConcurrentProducersLoseNothingThatWasAccepted) {
    auto map = ring(1 << 16);
    RingBuffer& rb = *map->as_ringbuf();
    constexpr int kThreads = 4, kPerThread = 20000;
    std::atomic<int> accepted{0};
    std::atomic<bool> done{false};
    std::vector<std::thread> producers;
    for (int t = 0; t < kThreads; ++t)
        producers.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                uint8_t record[24];
                std::memset(record, t * 16 + (i & 15), sizeof record);
                if (rb.output(record, sizeof record, 0) == 0) accepted.fetch_add(1);
            }
        });
    int received = 0;
    bool torn = false;
    std::thread consumer([&] {
        while (!done.load() || rb.query(kRbAvailData) > 0)
            received += static_cast<int>(rb.consume([&](std::span<const uint8_t> s) {
                for (uint8_t byte : s) torn |= byte != s[0] || s.size() != 24;
                return 0;
            }));
    });
    for (auto& p : producers) p.join();
    done.store(true);
    consumer.join();
    EXPECT_FALSE(torn);
    EXPECT_EQ(received, accepted.load());
    EXPECT_GT(accepted.load(), 0);
}

}  // namespace
}  // namespace tcbpf::maps

namespace tcbpf::maps {
namespace {

TEST(MapMemory, EveryDataPathPointerLiesInsideTheMapMemory) {
    auto inside = [](const Map& map, const void* p, size_t size) {
        auto range = map.memory();
        auto* b = static_cast<const uint8_t*>(p);
        return b >= range.data() && b + size <= range.data() + range.size();
    };
    auto hash = test::make(kMapHash, 4, 16, 8);
    uint32_t key = 1;
    uint8_t value[16] = {};
    ASSERT_EQ(hash->update_user(&key, value, kBpfAny), 0);
    EXPECT_TRUE(inside(*hash, hash->lookup(&key, 0), 16));
    auto rb = test::make(kMapRingbuf, 0, 0, 4096);
    EXPECT_EQ(rb->memory().size(), 4096u + 4096u + 4096u);  // header page, data, data's second mapping
    for (int i = 0; i < 5; ++i) {  // the fourth sample wraps into the second mapping
        void* sample = rb->as_ringbuf()->reserve(1000, 0);
        ASSERT_NE(sample, nullptr);
        EXPECT_TRUE(inside(*rb, sample, 1000)) << i;
        RingBuffer::submit(sample, 0);
        rb->as_ringbuf()->consume([](std::span<const uint8_t>) { return 0; });
    }
}

}  // namespace
}  // namespace tcbpf::maps

namespace tcbpf::maps {
namespace {

TEST(RingBuffer, ConcurrentReserveSubmitDiscardDeliversExactlyTheSubmitted) {
    // Producers hold reservations for a while and commit out of order, some by discarding; the
    // consumer must see every submitted sample once, whole, and no discarded one.
    auto map = test::make(kMapRingbuf, 0, 0, 1 << 14);
    RingBuffer& rb = *map->as_ringbuf();
    constexpr int kThreads = 3, kPerThread = 10000;
    std::atomic<uint64_t> submitted{0};
    std::atomic<bool> done{false};
    std::vector<std::thread> producers;
    for (int t = 0; t < kThreads; ++t)
        producers.emplace_back([&, t] {
            void* held[3] = {};
            auto commit = [&](void*& slot) {
                if (!slot) return;
                if (static_cast<uint8_t*>(slot)[0] == 0xdd) {
                    RingBuffer::discard(slot, 0);
                } else {
                    RingBuffer::submit(slot, 0);
                    submitted.fetch_add(1);
                }
                slot = nullptr;
            };
            for (int i = 0; i < kPerThread; ++i) {
                uint32_t size = 8 + (i * 7 + t) % 120;
                // Commit the one reserved three steps ago first: several stay busy at a time.
                commit(held[i % 3]);
                auto* sample = static_cast<uint8_t*>(rb.reserve(size, 0));
                if (!sample) {  // full: the consumer waits behind busy records, so release ours
                    for (void*& slot : held) commit(slot);
                    std::this_thread::yield();
                    continue;
                }
                std::memset(sample, i % 5 != 0 ? 0x40 + t : 0xdd, size);
                held[i % 3] = sample;
            }
            for (void*& slot : held) commit(slot);
        });
    uint64_t received = 0, bad = 0;
    std::thread consumer([&] {
        while (!done.load() || rb.query(kRbAvailData) > 0)
            rb.consume([&](std::span<const uint8_t> s) {
                ++received;
                if (s.size() < 8 || s.size() > 127 || s[0] == 0xdd) ++bad;
                for (uint8_t byte : s) bad += byte != s[0];
                return 0;
            });
    });
    for (auto& p : producers) p.join();
    done.store(true);
    consumer.join();
    EXPECT_EQ(bad, 0u);
    EXPECT_EQ(received, submitted.load());
    EXPECT_GT(received, 0u);
    EXPECT_EQ(rb.query(kRbConsPos), rb.query(kRbProdPos));
}

}  // namespace
}  // namespace tcbpf::maps
