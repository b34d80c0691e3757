// Many threads at once, as programs on several CPUs and user-space tools use a map together.
// Values are written with every byte equal, so any torn copy shows as mixed bytes; counters live in
// distinct keys per thread, so any lost update shows in the final sums. Each test is time-bounded.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "tests/maps/map_test_util.h"

namespace tcbpf::maps {
namespace {

using test::make;
using Clock = std::chrono::steady_clock;

constexpr auto kDuration = std::chrono::milliseconds(700);

bool uniform(const uint8_t* bytes, size_t n) {
    for (size_t i = 1; i < n; ++i)
        if (bytes[i] != bytes[0]) return false;
    return true;
}

// Writers update (data path and user space), readers copy out; deleters make keys come and go.
void torn_value_stress(Map& map, uint32_t keys) {
    constexpr uint32_t kValue = 64;
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> torn{0}, reads{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
        threads.emplace_back([&, t] {
            uint8_t value[kValue];
            for (uint32_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
                uint32_t key = i % keys;
                std::memset(value, static_cast<int>((i * 7 + t) & 0xff), kValue);
                if (t == 0)
                    map.update_user(&key, value, kBpfAny);
                else
                    map.update(&key, value, kBpfAny, static_cast<uint32_t>(t));
            }
        });
    threads.emplace_back([&] {
        for (uint32_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
            uint32_t key = (i * 13) % keys;
            if (map.type() != kMapArray) map.delete_user(&key);
        }
    });
    for (int r = 0; r < 2; ++r)
        threads.emplace_back([&] {
            uint8_t out[kValue];
            for (uint32_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
                uint32_t key = i % keys;
                if (map.lookup_user(&key, out) == 0) {
                    reads.fetch_add(1, std::memory_order_relaxed);
                    if (!uniform(out, kValue)) torn.fetch_add(1);
                }
            }
        });
    std::this_thread::sleep_for(kDuration);
    stop.store(true);
    for (auto& t : threads) t.join();
    EXPECT_EQ(torn.load(), 0u);
    EXPECT_GT(reads.load(), 0u);
}

TEST(MapConcurrency, ArrayCopiesAreNeverTorn) {
    auto map = make(kMapArray, 4, 64, 8);
    torn_value_stress(*map, 8);
}

TEST(MapConcurrency, HashCopiesAreNeverTorn) {
    auto map = make(kMapHash, 4, 64, 16);
    torn_value_stress(*map, 32);  // more keys than room: updates also hit -E2BIG
}

TEST(MapConcurrency, LruHashCopiesAreNeverTorn) {
    auto map = make(kMapLruHash, 4, 64, 8);
    torn_value_stress(*map, 32);  // constant eviction
}

TEST(MapConcurrency, LpmCopiesAreNeverTorn) {
    auto map = make(kMapLpmTrie, 8, 64, 64, kFNoPrealloc);
    constexpr uint32_t kValue = 64;
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> torn{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
        threads.emplace_back([&, t] {
            uint8_t value[kValue];
            for (uint32_t i = 0; !stop.load(); ++i) {
                uint8_t key[8] = {0, 0, 0, 0, 10, uint8_t(i % 32), 0, 0};
                uint32_t plen = 8 + (i % 3) * 8;
                std::memcpy(key, &plen, 4);
                std::memset(value, static_cast<int>(i + t), kValue);
                if (i % 5 == 4) map->delete_user(key);
                else map->update(key, value, kBpfAny, 0);
            }
        });
    threads.emplace_back([&] {
        uint8_t out[kValue];
        for (uint32_t i = 0; !stop.load(); ++i) {
            uint8_t key[8] = {32, 0, 0, 0, 10, uint8_t(i % 32), 1, 1};
            if (map->lookup_user(key, out) == 0 && !uniform(out, kValue)) torn.fetch_add(1);
        }
    });
    std::this_thread::sleep_for(kDuration);
    stop.store(true);
    for (auto& t : threads) t.join();
    EXPECT_EQ(torn.load(), 0u);
}

// Each thread owns some keys and counts with read-modify-write updates; nothing may be lost.
void no_lost_updates(uint32_t type, uint32_t max_entries) {
    constexpr int kThreads = 4, kKeysPerThread = 8, kRounds = 3000;
    auto map = make(type, 4, 8, max_entries);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int round = 0; round < kRounds; ++round)
                for (int k = 0; k < kKeysPerThread; ++k) {
                    uint32_t key = static_cast<uint32_t>(t * kKeysPerThread + k);
                    uint64_t value = 0;
                    if (round > 0) {
                        ASSERT_EQ(map->lookup_user(&key, &value), 0);
                    }
                    ++value;
                    if (k % 2) {
                        ASSERT_EQ(map->update(&key, &value, kBpfAny, static_cast<uint32_t>(t)), 0);
                    } else {
                        ASSERT_EQ(map->update_user(&key, &value, kBpfAny), 0);
                    }
                }
        });
    auto started = Clock::now();
    for (auto& t : threads) t.join();
    EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
    uint64_t total = 0;
    for (uint32_t key = 0; key < kThreads * kKeysPerThread; ++key) {
        uint64_t value = 0;
        ASSERT_EQ(map->lookup_user(&key, &value), 0) << key;
        EXPECT_EQ(value, uint64_t(kRounds)) << key;
        total += value;
    }
    EXPECT_EQ(total, uint64_t(kThreads) * kKeysPerThread * kRounds);
}

TEST(MapConcurrency, HashLosesNoUpdates) { no_lost_updates(kMapHash, 32); }
TEST(MapConcurrency, ArrayLosesNoUpdates) { no_lost_updates(kMapArray, 32); }
TEST(MapConcurrency, LruHashWithRoomLosesNoUpdates) { no_lost_updates(kMapLruHash, 64); }

TEST(MapConcurrency, PercpuCountersFromEveryCpuAddUp) {
    // Programs on each CPU increment their own slot through the lookup pointer (no atomics needed,
    // as in the kernel); user space sums the per-CPU values.
    constexpr uint32_t kCpus = 4;
    constexpr uint64_t kIncrements = 200000;
    auto map = make(kMapPercpuHash, 4, 8, 4, 0, kCpus);
    uint32_t key = 1;
    uint64_t zero = 0;
    ASSERT_EQ(map->update(&key, &zero, kBpfNoExist, 0), 0);
    std::vector<std::thread> cpus;
    for (uint32_t cpu = 0; cpu < kCpus; ++cpu)
        cpus.emplace_back([&, cpu] {
            for (uint64_t i = 0; i < kIncrements; ++i) ++*static_cast<uint64_t*>(map->lookup(&key, cpu));
        });
    for (auto& t : cpus) t.join();
    uint64_t all[kCpus];
    ASSERT_EQ(map->lookup_user(&key, all), 0);
    for (uint32_t cpu = 0; cpu < kCpus; ++cpu) EXPECT_EQ(all[cpu], kIncrements) << cpu;
}

TEST(MapConcurrency, HashInsertDeleteChurnKeepsCapacityExact) {
    // Threads insert and delete their own disjoint keys in a map exactly as big as all keys together:
    // if elements leaked or were double-freed, inserts would start failing or keys would collide.
    constexpr int kThreads = 4;
    constexpr uint32_t kKeys = 16;
    auto map = make(kMapHash, 4, 8, kThreads * kKeys);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            auto end = Clock::now() + kDuration;
            while (Clock::now() < end)
                for (uint32_t k = 0; k < kKeys; ++k) {
                    uint32_t key = t * kKeys + k;
                    uint64_t value = key;
                    if (map->update(&key, &value, kBpfNoExist, 0) != 0) failures.fetch_add(1);
                    uint64_t out = 0;
                    if (map->lookup_and_delete(&key, &out) != 0 || out != key) failures.fetch_add(1);
                }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_TRUE(map->keys().empty());
    uint64_t value = 1;
    for (uint32_t key = 0; key < kThreads * kKeys; ++key) ASSERT_EQ(map->update_user(&key, &value, kBpfNoExist), 0);
    uint32_t extra = 9999;
    EXPECT_EQ(map->update_user(&extra, &value, kBpfAny), -E2BIG);
}

TEST(MapConcurrency, QueueDeliversEveryValueOnce) {
    constexpr int kProducers = 3;
    constexpr uint32_t kPerProducer = 20000;
    auto map = make(kMapQueue, 0, 8, 64);
        std::vector<uint8_t> seen(kProducers * kPerProducer, 0);
    std::vector<std::thread> threads;
    for (int p = 0; p < kProducers; ++p)
        threads.emplace_back([&, p] {
            for (uint32_t i = 0; i < kPerProducer; ++i) {
                uint64_t v = uint64_t(p) * kPerProducer + i;
                while (map->push(&v, kBpfAny) == -E2BIG) std::this_thread::yield();
            }
        });
    uint64_t v;
    size_t received = 0;
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (received < seen.size() && Clock::now() < deadline) {
        if (map->pop(&v) == 0) {
            ASSERT_LT(v, seen.size());
            ++seen[v];
            ++received;
        } else {
            std::this_thread::yield();
        }
    }
    EXPECT_EQ(map->pop(&v), -ENOENT);
    for (auto& t : threads) t.join();
    for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], 1) << i;
}

}  // namespace
}  // namespace tcbpf::maps

namespace tcbpf::maps {
namespace {

TEST(MapConcurrency, LocklessLookupsNeverMissStableKeysWhileOthersChurn) {
    // Stable keys keep their values (the plain hash replaces them with equal values, which links new
    // elements); churning keys are inserted and deleted so elements are recycled into other buckets. A data-path lookup walking a chain while an
    // element moves must restart, never report a stable key missing or an absent key present.
    for (uint32_t type : {kMapHash, kMapLruHash}) {
        auto map = test::make(type, 8, 8, 64);
        for (uint64_t key = 0; key < 16; ++key) ASSERT_EQ(map->update_user(&key, &key, kBpfAny), 0);
        std::atomic<bool> stop{false};
        std::atomic<uint64_t> misses{0}, phantoms{0}, lookups{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 2; ++t)
            threads.emplace_back([&, t] {
                for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
                    uint64_t key = 1000 + t * 100 + i % 24;  // 48 churning keys + 16 stable fit in 64
                    map->update(&key, &key, kBpfAny, 0);
                    if (i % 2) map->remove(&key);
                    // Stable keys are replaced too (same value, new element): never invisible meanwhile.
                    uint64_t stable = i % 16;
                    if (type == kMapHash) map->update(&stable, &stable, kBpfExist, 0);
                }
            });
        for (int r = 0; r < 2; ++r)
            threads.emplace_back([&] {
                for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
                    uint64_t key = i % 16;
                    void* p = map->lookup(&key, 0);
                    if (!p) misses.fetch_add(1);
                    uint64_t absent = 500 + i % 16;
                    if (map->lookup(&absent, 0)) phantoms.fetch_add(1);
                    lookups.fetch_add(1, std::memory_order_relaxed);
                }
            });
        std::this_thread::sleep_for(kDuration);
        stop.store(true);
        for (auto& t : threads) t.join();
        // An LRU map may evict stable keys, so only the plain hash promises no misses. A pointer to a
        // replaced element may show a recycled value later (kernel semantics), so values are not checked.
        if (type == kMapHash) {
            EXPECT_EQ(misses.load(), 0u);
        }
        EXPECT_EQ(phantoms.load(), 0u) << map_type_name(type);
        EXPECT_GT(lookups.load(), 1000u);
    }
}

}  // namespace
}  // namespace tcbpf::maps

namespace tcbpf::maps {
namespace {

TEST(MapConcurrency, LocklessLpmLookupsSeeStablePrefixesWhileOthersChurn) {
    // 10.0.0.0/8 → 8 and 10.1.0.0/16 → 16 stay; /24 and /32 prefixes under them come and go (nodes are
    // recycled, intermediate nodes appear and vanish). A data-path lookup of an address that no
    // churning prefix covers must always find the stable /16 (or /8), never nothing or a freed node.
    auto map = test::make(kMapLpmTrie, 8, 8, 256, kFNoPrealloc);
    auto put = [&](uint32_t plen, uint8_t b1, uint8_t b2, uint8_t b3, uint64_t value) {
        uint8_t key[8] = {0, 0, 0, 0, 10, b1, b2, b3};
        std::memcpy(key, &plen, 4);
        return map->update_user(key, &value, kBpfAny);
    };
    ASSERT_EQ(put(8, 0, 0, 0, 8), 0);
    ASSERT_EQ(put(16, 1, 0, 0, 16), 0);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> bad{0}, lookups{0};
    std::vector<std::thread> threads;
    threads.emplace_back([&] {
        for (uint32_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
            uint8_t key[8] = {0, 0, 0, 0, 10, uint8_t(i % 2), uint8_t(i % 64), uint8_t(i % 7)};
            uint32_t plen = i % 3 ? 24 : 32;
            std::memcpy(key, &plen, 4);
            uint64_t value = plen;
            if (i % 4 == 3)
                map->delete_user(key);
            else
                map->update(key, &value, kBpfAny, 0);
        }
    });
    for (int r = 0; r < 2; ++r)
        threads.emplace_back([&] {
            for (uint32_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
                // Third byte ≥ 64: no churning prefix covers it.
                uint8_t key[8] = {32, 0, 0, 0, 10, uint8_t(i % 2), uint8_t(64 + i % 100), 1};
                void* p = map->lookup(key, 0);
                uint64_t want = i % 2 ? 16 : 8;
                if (!p || test::u64_at(p) != want) bad.fetch_add(1);
                lookups.fetch_add(1, std::memory_order_relaxed);
            }
        });
    std::this_thread::sleep_for(kDuration);
    stop.store(true);
    for (auto& t : threads) t.join();
    EXPECT_EQ(bad.load(), 0u);
    EXPECT_GT(lookups.load(), 1000u);
}

}  // namespace
}  // namespace tcbpf::maps
