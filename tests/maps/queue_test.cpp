// QUEUE (FIFO) and STACK (LIFO) through the helpers and the syscall mapping.
#include <gtest/gtest.h>

#include <cerrno>

#include "tests/maps/map_test_util.h"

namespace tcbpf::maps {
namespace {

using test::make;

TEST(QueueMap, FifoOrderFullAndOverwrite) {
    auto map = make(kMapQueue, 0, 4, 3);
    uint32_t out = 0;
    EXPECT_EQ(map->pop(&out), -ENOENT);
    EXPECT_EQ(map->peek(&out), -ENOENT);
    for (uint32_t v : {1u, 2u, 3u}) ASSERT_EQ(map->push(&v, kBpfAny), 0);
    uint32_t v = 4;
    EXPECT_EQ(map->push(&v, kBpfAny), -E2BIG);
    EXPECT_EQ(map->push(&v, kBpfNoExist), -EINVAL);
    EXPECT_EQ(map->push(&v, 3), -EINVAL);
    EXPECT_EQ(map->push(&v, kBpfExist), 0);  // drops the oldest (1)
    ASSERT_EQ(map->peek(&out), 0);
    EXPECT_EQ(out, 2u);
    for (uint32_t want : {2u, 3u, 4u}) {
        ASSERT_EQ(map->pop(&out), 0);
        EXPECT_EQ(out, want);
    }
    EXPECT_EQ(map->pop(&out), -ENOENT);
    EXPECT_EQ(map->lookup(nullptr, 0), nullptr);
}

TEST(StackMap, LifoOrderAndOverwriteDropsTheOldest) {
    auto map = make(kMapStack, 0, 4, 3);
    for (uint32_t v : {1u, 2u, 3u}) ASSERT_EQ(map->push(&v, kBpfAny), 0);
    uint32_t v = 4, out = 0;
    ASSERT_EQ(map->push(&v, kBpfExist), 0);
    ASSERT_EQ(map->peek(&out), 0);
    EXPECT_EQ(out, 4u);
    for (uint32_t want : {4u, 3u, 2u}) {
        ASSERT_EQ(map->pop(&out), 0);
        EXPECT_EQ(out, want);
    }
    EXPECT_EQ(map->pop(&out), -ENOENT);
}

TEST(QueueMap, SyscallViewMapsToPushPeekPop) {
    auto map = make(kMapQueue, 0, 8, 2);
    uint64_t v = 11, out = 0;
    EXPECT_EQ(map->lookup_user(nullptr, &out), -ENOENT);
    ASSERT_EQ(map->update_user(nullptr, &v, kBpfAny), 0);
    v = 12;
    ASSERT_EQ(map->update_user(nullptr, &v, kBpfAny), 0);
    EXPECT_EQ(map->update_user(nullptr, &v, kBpfAny), -E2BIG);
    EXPECT_EQ(map->update_user(nullptr, &v, kBpfNoExist), -EINVAL);
    ASSERT_EQ(map->lookup_user(nullptr, &out), 0);
    EXPECT_EQ(out, 11u);
    EXPECT_EQ(map->delete_user(nullptr), -EINVAL);
    EXPECT_EQ(map->get_next_key(nullptr, &out), -EINVAL);
    ASSERT_EQ(map->lookup_and_delete(nullptr, &out), 0);
    EXPECT_EQ(out, 11u);
    ASSERT_EQ(map->lookup_and_delete(nullptr, &out), 0);
    EXPECT_EQ(out, 12u);
    EXPECT_EQ(map->lookup_and_delete(nullptr, &out), -ENOENT);
}

TEST(QueueMap, WrapsAroundManyTimes) {
    auto map = make(kMapQueue, 0, 4, 5);
    uint32_t next_in = 0, next_out = 0, out = 0;
    for (int round = 0; round < 100; ++round) {
        for (int i = 0; i < 3; ++i, ++next_in) ASSERT_EQ(map->push(&next_in, kBpfAny), 0);
        for (int i = 0; i < 3; ++i, ++next_out) {
            ASSERT_EQ(map->pop(&out), 0);
            ASSERT_EQ(out, next_out);
        }
    }
}

}  // namespace
}  // namespace tcbpf::maps
