// ARRAY and PERCPU_ARRAY as the kernel defines them: every index exists from creation (zeroed), no
// deletion, updates beyond max_entries are -E2BIG, iteration is by index.
#include <gtest/gtest.h>

#include <cerrno>

#include "tests/maps/map_test_util.h"

namespace tcbpf::maps {
namespace {

using test::make;
using test::u32_at;
using test::u64_at;

TEST(ArrayMap, ElementsExistZeroedFromCreation) {
    auto map = make(kMapArray, 4, 8, 4);
    uint32_t key = 3;
    uint64_t value = 99;
    ASSERT_EQ(map->lookup_user(&key, &value), 0);
    EXPECT_EQ(value, 0u);
    void* p = map->lookup(&key, 0);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(u64_at(p), 0u);
}

TEST(ArrayMap, UpdateFlagsAndBoundsFollowTheKernel) {
    auto map = make(kMapArray, 4, 4, 4);
    uint32_t key = 1, value = 7;
    EXPECT_EQ(map->update_user(&key, &value, kBpfAny), 0);
    EXPECT_EQ(map->update_user(&key, &value, kBpfExist), 0);
    EXPECT_EQ(map->update_user(&key, &value, kBpfNoExist), -EEXIST);
    EXPECT_EQ(map->update_user(&key, &value, 3), -EINVAL);
    EXPECT_EQ(map->update_user(&key, &value, kBpfFLock), -EINVAL);
    key = 9;
    EXPECT_EQ(map->update_user(&key, &value, kBpfAny), -E2BIG);
    EXPECT_EQ(map->update_user(&key, &value, kBpfNoExist), -E2BIG);  // bounds before NOEXIST
    EXPECT_EQ(map->lookup_user(&key, &value), -ENOENT);
    EXPECT_EQ(map->lookup(&key, 0), nullptr);
    EXPECT_EQ(map->delete_user(&key), -EINVAL);
    key = 1;
    EXPECT_EQ(map->delete_user(&key), -EINVAL);
    EXPECT_EQ(map->remove(&key), -EINVAL);
    EXPECT_EQ(map->lookup_and_delete(&key, &value), -kENOTSUPP);
}

TEST(ArrayMap, DataPathUpdateIsVisibleToUserSpace) {
    auto map = make(kMapArray, 4, 4, 2);
    uint32_t key = 0, value = 0xabcd;
    EXPECT_EQ(map->update(&key, &value, kBpfAny, 0), 0);
    uint32_t out = 0;
    ASSERT_EQ(map->lookup_user(&key, &out), 0);
    EXPECT_EQ(out, 0xabcdu);
    // Programs write through the looked-up pointer.
    *static_cast<uint32_t*>(map->lookup(&key, 0)) = 5;
    ASSERT_EQ(map->lookup_user(&key, &out), 0);
    EXPECT_EQ(out, 5u);
}

TEST(ArrayMap, GetNextKeyWalksIndices) {
    auto map = make(kMapArray, 4, 4, 3);
    uint32_t next = 77;
    ASSERT_EQ(map->get_next_key(nullptr, &next), 0);
    EXPECT_EQ(next, 0u);
    uint32_t key = 0;
    ASSERT_EQ(map->get_next_key(&key, &next), 0);
    EXPECT_EQ(next, 1u);
    key = 2;
    EXPECT_EQ(map->get_next_key(&key, &next), -ENOENT);
    key = 100;  // out of range restarts at 0
    ASSERT_EQ(map->get_next_key(&key, &next), 0);
    EXPECT_EQ(next, 0u);
    EXPECT_EQ(map->keys().size(), 3u);
}

TEST(PercpuArrayMap, UserSpaceSeesEveryCpuRoundedToEightBytes) {
    auto map = make(kMapPercpuArray, 4, 4, 2, 0, 3);
    EXPECT_EQ(map->user_value_size(), 24u);  // 3 CPUs × round_up(4, 8)
    uint32_t key = 1;
    for (uint32_t cpu = 0; cpu < 3; ++cpu) {
        uint32_t v = 100 + cpu;
        ASSERT_EQ(map->update(&key, &v, kBpfAny, cpu), 0);
    }
    EXPECT_EQ(u32_at(map->lookup(&key, 2)), 102u);
    EXPECT_EQ(map->lookup(&key, 3), nullptr);  // no such CPU
    uint8_t all[24];
    ASSERT_EQ(map->lookup_user(&key, all), 0);
    EXPECT_EQ(u32_at(all + 0), 100u);
    EXPECT_EQ(u32_at(all + 8), 101u);
    EXPECT_EQ(u32_at(all + 16), 102u);

    uint8_t set[24] = {};
    for (int cpu = 0; cpu < 3; ++cpu) set[cpu * 8] = static_cast<uint8_t>(cpu + 1);
    ASSERT_EQ(map->update_user(&key, set, kBpfAny), 0);
    EXPECT_EQ(u32_at(map->lookup(&key, 0)), 1u);
    EXPECT_EQ(u32_at(map->lookup(&key, 1)), 2u);
    EXPECT_EQ(u32_at(map->lookup(&key, 2)), 3u);
}

}  // namespace
}  // namespace tcbpf::maps
