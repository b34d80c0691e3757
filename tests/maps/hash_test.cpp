// HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH: flags, capacity, deletion, iteration, eviction.
#include <gtest/gtest.h>

#include <cerrno>
#include <set>

#include "tests/maps/map_test_util.h"

namespace tcbpf::maps {
namespace {

using test::make;
using test::u32_at;
using test::u64_at;

TEST(HashMap, InsertReplaceAndFlags) {
    auto map = make(kMapHash, 4, 8, 2);
    uint32_t key = 1;
    uint64_t value = 10, out = 0;
    EXPECT_EQ(map->lookup_user(&key, &out), -ENOENT);
    EXPECT_EQ(map->lookup(&key, 0), nullptr);
    EXPECT_EQ(map->update_user(&key, &value, kBpfExist), -ENOENT);
    EXPECT_EQ(map->update_user(&key, &value, kBpfNoExist), 0);
    EXPECT_EQ(map->update_user(&key, &value, kBpfNoExist), -EEXIST);
    value = 11;
    EXPECT_EQ(map->update_user(&key, &value, kBpfExist), 0);
    ASSERT_EQ(map->lookup_user(&key, &out), 0);
    EXPECT_EQ(out, 11u);
    EXPECT_EQ(map->update_user(&key, &value, 3), -EINVAL);
    EXPECT_EQ(map->update_user(&key, &value, kBpfFLock), -EINVAL);
}

TEST(HashMap, FullMapRejectsNewKeysButStillReplaces) {
    auto map = make(kMapHash, 4, 4, 2);
    uint32_t value = 1;
    for (uint32_t key = 1; key <= 2; ++key) ASSERT_EQ(map->update_user(&key, &value, kBpfAny), 0);
    uint32_t key = 3;
    EXPECT_EQ(map->update_user(&key, &value, kBpfAny), -E2BIG);
    EXPECT_EQ(map->update(&key, &value, kBpfAny, 0), -E2BIG);
    key = 1;
    value = 2;
    for (int i = 0; i < 100; ++i) ASSERT_EQ(map->update_user(&key, &value, kBpfAny), 0);
    ASSERT_EQ(map->delete_user(&key), 0);
    key = 3;
    EXPECT_EQ(map->update_user(&key, &value, kBpfAny), 0);  // room again after a delete
}

TEST(HashMap, ReplacingLeavesAHeldPointerWithTheOldValue) {
    // Like the kernel's preallocated hash: an update links a new element; the old one keeps its bytes
    // until recycled, so a program never sees a half-replaced value through its pointer.
    auto map = make(kMapHash, 4, 8, 4);
    uint32_t key = 5;
    uint64_t v1 = 1, v2 = 2;
    ASSERT_EQ(map->update_user(&key, &v1, kBpfAny), 0);
    void* held = map->lookup(&key, 0);
    ASSERT_EQ(map->update_user(&key, &v2, kBpfAny), 0);
    EXPECT_EQ(u64_at(held), 1u);
    EXPECT_EQ(u64_at(map->lookup(&key, 0)), 2u);
}

TEST(HashMap, DeleteAndLookupAndDelete) {
    auto map = make(kMapHash, 4, 4, 4);
    uint32_t key = 7, value = 70, out = 0;
    EXPECT_EQ(map->delete_user(&key), -ENOENT);
    EXPECT_EQ(map->remove(&key), -ENOENT);
    ASSERT_EQ(map->update(&key, &value, kBpfAny, 0), 0);
    ASSERT_EQ(map->lookup_and_delete(&key, &out), 0);
    EXPECT_EQ(out, 70u);
    EXPECT_EQ(map->lookup_and_delete(&key, &out), -ENOENT);
    ASSERT_EQ(map->update(&key, &value, kBpfAny, 0), 0);
    EXPECT_EQ(map->remove(&key), 0);
    EXPECT_EQ(map->lookup(&key, 0), nullptr);
}

TEST(HashMap, GetNextKeyVisitsEveryKeyExactlyOnce) {
    auto map = make(kMapHash, 4, 4, 1000);
    for (uint32_t key = 0; key < 1000; ++key) ASSERT_EQ(map->update_user(&key, &key, kBpfAny), 0);
    uint32_t next = 0;
    uint32_t missing = 5000;  // a missing key restarts from the first key
    ASSERT_EQ(map->get_next_key(&missing, &next), 0);
    uint32_t first = 0;
    ASSERT_EQ(map->get_next_key(nullptr, &first), 0);
    EXPECT_EQ(next, first);

    std::multiset<uint32_t> seen;
    uint32_t cur = first;
    seen.insert(cur);
    while (map->get_next_key(&cur, &next) == 0) {
        seen.insert(next);
        cur = next;
    }
    EXPECT_EQ(seen.size(), 1000u);
    for (uint32_t key = 0; key < 1000; ++key) EXPECT_EQ(seen.count(key), 1u) << key;
    auto empty = make(kMapHash, 4, 4, 4);
    EXPECT_EQ(empty->get_next_key(nullptr, &next), -ENOENT);
}

TEST(HashMap, IterationDeletingAsWeGoStillVisitsEveryKey) {
    // bpftool-style "dump and delete": get the next key first, then delete the current one.
    auto map = make(kMapHash, 8, 4, 256);
    for (uint64_t key = 0; key < 256; ++key) ASSERT_EQ(map->update_user(&key, &key, kBpfAny), 0);
    uint64_t cur = 0, next = 0;
    size_t count = 0;
    int rc = map->get_next_key(nullptr, &cur);
    while (rc == 0) {
        rc = map->get_next_key(&cur, &next);
        ASSERT_EQ(map->delete_user(&cur), 0);
        ++count;
        cur = next;
    }
    EXPECT_EQ(count, 256u);
    EXPECT_EQ(map->get_next_key(nullptr, &cur), -ENOENT);
}

TEST(PercpuHashMap, DataPathWritesOneCpuAndNewKeysZeroTheOthers) {
    auto map = make(kMapPercpuHash, 4, 4, 8, 0, 2);
    EXPECT_EQ(map->user_value_size(), 16u);
    uint32_t key = 1, value = 42;
    ASSERT_EQ(map->update(&key, &value, kBpfAny, 1), 0);
    uint8_t all[16];
    ASSERT_EQ(map->lookup_user(&key, all), 0);
    EXPECT_EQ(u32_at(all), 0u);
    EXPECT_EQ(u32_at(all + 8), 42u);
    value = 7;
    ASSERT_EQ(map->update(&key, &value, kBpfExist, 0), 0);  // existing key: only CPU 0 changes
    ASSERT_EQ(map->lookup_user(&key, all), 0);
    EXPECT_EQ(u32_at(all), 7u);
    EXPECT_EQ(u32_at(all + 8), 42u);
    EXPECT_EQ(u32_at(map->lookup(&key, 1)), 42u);
    EXPECT_EQ(map->lookup(&key, 2), nullptr);

    uint8_t set[16] = {};
    set[0] = 3;
    set[8] = 4;
    uint32_t key2 = 2;
    ASSERT_EQ(map->update_user(&key2, set, kBpfNoExist), 0);
    EXPECT_EQ(u32_at(map->lookup(&key2, 0)), 3u);
    EXPECT_EQ(u32_at(map->lookup(&key2, 1)), 4u);
    ASSERT_EQ(map->lookup_and_delete(&key2, all), 0);
    EXPECT_EQ(u32_at(all + 8), 4u);
}

TEST(LruHashMap, UpdateIntoAFullMapEvictsTheLeastRecentlyUsed) {
    auto map = make(kMapLruHash, 4, 4, 4);
    for (uint32_t key = 0; key < 4; ++key) ASSERT_EQ(map->update_user(&key, &key, kBpfAny), 0);
    // Touch 0, 2, 3 from the data path: 1 is the only unreferenced key.
    for (uint32_t key : {0u, 2u, 3u}) ASSERT_NE(map->lookup(&key, 0), nullptr);
    uint32_t key = 10;
    ASSERT_EQ(map->update_user(&key, &key, kBpfAny), 0);
    uint32_t out;
    EXPECT_EQ(map->lookup_user(&key, &out), 0);
    key = 1;
    EXPECT_EQ(map->lookup_user(&key, &out), -ENOENT);
    for (uint32_t kept : {0u, 2u, 3u}) EXPECT_EQ(map->lookup_user(&kept, &out), 0) << kept;
}

TEST(LruHashMap, EveryUpdateSucceedsAndTheMapNeverExceedsItsSize) {
    auto map = make(kMapLruHash, 4, 4, 16);
    for (uint32_t key = 0; key < 1000; ++key) ASSERT_EQ(map->update(&key, &key, kBpfAny, 0), 0) << key;
    auto keys = map->keys();
    EXPECT_EQ(keys.size(), 16u);
    uint32_t key = 999, out = 0;
    ASSERT_EQ(map->lookup_user(&key, &out), 0);  // the newest key survived
    EXPECT_EQ(out, 999u);
    EXPECT_EQ(map->update_user(&key, &key, kBpfNoExist), -EEXIST);
    key = 5000;
    EXPECT_EQ(map->update_user(&key, &key, kBpfExist), -ENOENT);
}

TEST(LruPercpuHashMap, EvictsAndKeepsPerCpuLayout) {
    auto map = make(kMapLruPercpuHash, 4, 8, 2, 0, 2);
    uint64_t value = 9;
    for (uint32_t key = 0; key < 3; ++key) ASSERT_EQ(map->update(&key, &value, kBpfAny, 1), 0);
    EXPECT_EQ(map->keys().size(), 2u);
    uint32_t key = 2;
    uint8_t all[16];
    ASSERT_EQ(map->lookup_user(&key, all), 0);
    EXPECT_EQ(u64_at(all), 0u);
    EXPECT_EQ(u64_at(all + 8), 9u);
}

TEST(HashMap, NoPreallocFlagIsAcceptedWithTheSameSemantics) {
    auto map = make(kMapHash, 4, 4, 1, kFNoPrealloc);
    uint32_t key = 1;
    EXPECT_EQ(map->update_user(&key, &key, kBpfAny), 0);
    key = 2;
    EXPECT_EQ(map->update_user(&key, &key, kBpfAny), -E2BIG);
}

}  // namespace
}  // namespace tcbpf::maps

namespace tcbpf::maps {
namespace {

TEST(MapAccessFlags, ReadOnlyAndWriteOnlyMapsRefuseUserSpaceWithEperm) {
    // As the kernel answers through the fd BPF_MAP_CREATE returns: -EPERM before any other check.
    auto ro = test::make(kMapHash, 4, 4, 4, kFRdonly);
    uint32_t key = 1, value = 5, next = 0;
    EXPECT_EQ(ro->update_user(&key, &value, kBpfAny), -EPERM);
    EXPECT_EQ(ro->update_user(&key, &value, 99), -EPERM);
    EXPECT_EQ(ro->delete_user(&key), -EPERM);
    EXPECT_EQ(ro->lookup_and_delete(&key, &value), -EPERM);
    EXPECT_EQ(ro->lookup_user(&key, &value), -ENOENT);
    EXPECT_EQ(ro->get_next_key(nullptr, &next), -ENOENT);
    EXPECT_EQ(ro->update(&key, &value, kBpfAny, 0), 0);  // programs may still write (no RDONLY_PROG)

    auto wo = test::make(kMapHash, 4, 4, 4, kFWronly);
    EXPECT_EQ(wo->update_user(&key, &value, kBpfAny), 0);
    EXPECT_EQ(wo->lookup_user(&key, &value), -EPERM);
    EXPECT_EQ(wo->get_next_key(nullptr, &next), -EPERM);
    EXPECT_EQ(wo->lookup_and_delete(&key, &value), -EPERM);
    EXPECT_EQ(wo->delete_user(&key), 0);

    auto queue = test::make(kMapQueue, 0, 4, 4, kFRdonly);
    EXPECT_EQ(queue->update_user(nullptr, &value, kBpfAny), -EPERM);
    EXPECT_EQ(queue->lookup_and_delete(nullptr, &value), -EPERM);
}

}  // namespace
}  // namespace tcbpf::maps

namespace tcbpf::maps {
namespace {

TEST(HashMap, BigMapsCostMemoryOnlyAsTheyFill) {
    // 2^22 entries of 1 KiB would be 4 GiB if creation touched every element; elements are handed
    // out on first use instead, so this map is cheap until it fills.
    auto map = test::make(kMapHash, 4, 1024, 1u << 22);
    std::vector<uint8_t> value(1024, 0x5a), out(1024);
    for (uint32_t key = 0; key < 1000; ++key) ASSERT_EQ(map->update_user(&key, value.data(), kBpfAny), 0);
    uint32_t key = 999;
    ASSERT_EQ(map->lookup_user(&key, out.data()), 0);
    EXPECT_EQ(out, value);
    EXPECT_EQ(map->keys().size(), 1000u);
}

}  // namespace
}  // namespace tcbpf::maps
