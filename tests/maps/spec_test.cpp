// Creation rules. Each expected errno is what Linux 6.18's BPF_MAP_CREATE returned for the same
// attributes (checked on the development machine); messages must name the field and the rule.
#include <gtest/gtest.h>

#include <cerrno>

#include "tcbpf/maps.h"

namespace tcbpf::maps {
namespace {

int check(uint32_t type, uint32_t key, uint32_t value, uint32_t max, uint32_t flags = 0) {
    return validate_spec(MapSpec{type, key, value, max, flags, "m"}).error;
}

TEST(MapSpec, HashRules) {
    EXPECT_EQ(check(kMapHash, 4, 4, 1), 0);
    EXPECT_EQ(check(kMapHash, 513, 4, 1), 0);  // keys may exceed the BPF stack
    EXPECT_EQ(check(kMapHash, 0, 4, 1), -EINVAL);
    EXPECT_EQ(check(kMapHash, 4, 0, 1), -EINVAL);
    EXPECT_EQ(check(kMapHash, 4, 4, 0), -EINVAL);
    EXPECT_EQ(check(kMapHash, 4, 1u << 22, 1), -E2BIG);
    EXPECT_EQ(check(kMapHash, 4, 4, 1, kFNoCommonLru), -EINVAL);  // only for LRU maps
    EXPECT_EQ(check(kMapHash, 4, 4, 1, 0x20), -EINVAL);           // BPF_F_STACK_BUILD_ID
    EXPECT_EQ(check(kMapHash, 4, 4, 1, kFMmapable), -EINVAL);
    EXPECT_EQ(check(kMapHash, 4, 4, 1, kFRdonly | kFWronly), -EINVAL);
    EXPECT_EQ(check(kMapHash, 4, 4, 1, kFNoPrealloc), 0);
    EXPECT_EQ(check(kMapLruHash, 4, 4, 1, kFNoPrealloc), -kENOTSUPP);
    EXPECT_EQ(check(kMapLruHash, 4, 4, 1, kFNoCommonLru), 0);
    EXPECT_EQ(check(kMapPercpuHash, 4, 32768, 1), 0);
    EXPECT_EQ(check(kMapPercpuHash, 4, 32769, 1), -E2BIG);
}

TEST(MapSpec, ArrayRules) {
    EXPECT_EQ(check(kMapArray, 4, 4, 1), 0);
    EXPECT_EQ(check(kMapArray, 8, 4, 1), -EINVAL);
    EXPECT_EQ(check(kMapArray, 4, 0, 1), -EINVAL);
    EXPECT_EQ(check(kMapArray, 4, 4, 0), -EINVAL);
    EXPECT_EQ(check(kMapArray, 4, 4, 1, kFNoPrealloc), -EINVAL);
    EXPECT_EQ(check(kMapArray, 4, 4, 1, kFMmapable), 0);
    EXPECT_EQ(check(kMapPercpuArray, 4, 4, 1, kFMmapable), -EINVAL);
    EXPECT_EQ(check(kMapArray, 4, 4, 1, kFPreserveElems), -EINVAL);
    EXPECT_EQ(check(kMapPercpuArray, 4, 32769, 1), -E2BIG);
    EXPECT_EQ(check(kMapArray, 4, 0x80000000u, 1), -E2BIG);
}

TEST(MapSpec, FdArrayRules) {
    EXPECT_EQ(check(kMapProgArray, 4, 4, 1), 0);
    EXPECT_EQ(check(kMapProgArray, 4, 8, 1), -EINVAL);
    EXPECT_EQ(check(kMapProgArray, 8, 4, 1), -EINVAL);
    EXPECT_EQ(check(kMapProgArray, 4, 4, 1, kFRdonlyProg), -EINVAL);
    EXPECT_EQ(check(kMapPerfEventArray, 4, 4, 1), 0);
    EXPECT_EQ(check(kMapPerfEventArray, 4, 4, 0), -EINVAL);
    EXPECT_EQ(check(kMapPerfEventArray, 4, 4, 1, kFPreserveElems), 0);
    EXPECT_EQ(check(kMapPerfEventArray, 4, 4, 1, kFRdonlyProg), -EINVAL);
}

TEST(MapSpec, LpmRules) {
    EXPECT_EQ(check(kMapLpmTrie, 8, 4, 1, kFNoPrealloc), 0);
    EXPECT_EQ(check(kMapLpmTrie, 8, 4, 1), -EINVAL);  // BPF_F_NO_PREALLOC is mandatory
    EXPECT_EQ(check(kMapLpmTrie, 4, 4, 1, kFNoPrealloc), -EINVAL);
    EXPECT_EQ(check(kMapLpmTrie, 260, 4, 1, kFNoPrealloc), 0);
    EXPECT_EQ(check(kMapLpmTrie, 261, 4, 1, kFNoPrealloc), -EINVAL);
    EXPECT_EQ(check(kMapLpmTrie, 8, 0, 1, kFNoPrealloc), -EINVAL);
    EXPECT_EQ(check(kMapLpmTrie, 8, 4, 0, kFNoPrealloc), -EINVAL);
    EXPECT_EQ(check(kMapLpmTrie, 8, 4, 1, kFNoPrealloc | kFNoCommonLru), -EINVAL);
}

TEST(MapSpec, QueueStackRules) {
    EXPECT_EQ(check(kMapQueue, 0, 4, 1), 0);
    EXPECT_EQ(check(kMapStack, 0, 4, 1), 0);
    EXPECT_EQ(check(kMapQueue, 4, 4, 1), -EINVAL);
    EXPECT_EQ(check(kMapQueue, 0, 0, 1), -EINVAL);
    EXPECT_EQ(check(kMapQueue, 0, 4, 0), -EINVAL);
    EXPECT_EQ(check(kMapQueue, 0, 4, 1, kFNoPrealloc), -EINVAL);
    EXPECT_EQ(check(kMapQueue, 0, 1u << 23, 1), -E2BIG);
}

TEST(MapSpec, RingbufRules) {
    EXPECT_EQ(check(kMapRingbuf, 0, 0, 4096), 0);
    EXPECT_EQ(check(kMapRingbuf, 0, 0, 8192), 0);
    EXPECT_EQ(check(kMapRingbuf, 0, 0, 12288), -EINVAL);  // not a power of 2
    EXPECT_EQ(check(kMapRingbuf, 0, 0, 2048), -EINVAL);   // not a page multiple
    EXPECT_EQ(check(kMapRingbuf, 0, 0, 0), -EINVAL);
    EXPECT_EQ(check(kMapRingbuf, 4, 0, 4096), -EINVAL);
    EXPECT_EQ(check(kMapRingbuf, 0, 0, 4096, kFNoPrealloc), -EINVAL);
}

TEST(MapSpec, UnknownTypeIsRejected) { EXPECT_EQ(check(99, 4, 4, 1), -EINVAL); }

TEST(MapSpec, MessagesNameTheMapFieldAndRule) {
    SpecCheck c = validate_spec(MapSpec{kMapArray, 8, 4, 16, 0, "counters"});
    EXPECT_EQ(c.error, -EINVAL);
    EXPECT_EQ(c.message, "map 'counters' (array): key_size (array index) must be 4 (got 8)");
    c = validate_spec(MapSpec{kMapLpmTrie, 8, 4, 16, 0, "routes"});
    EXPECT_EQ(c.message, "map 'routes' (lpm_trie): map_flags must include BPF_F_NO_PREALLOC (0x1) for an LPM trie");
    c = validate_spec(MapSpec{kMapRingbuf, 0, 0, 5000, 0, "events"});
    EXPECT_EQ(c.message,
              "map 'events' (ringbuf): max_entries 5000 must be a power of 2 and a multiple of the page size 4096");
}

TEST(MapSpec, FactoryThrowsWithTheKernelErrno) {
    try {
        create_map(MapSpec{kMapHash, 4, 0, 1, 0, "h"}, 2);
        FAIL() << "expected MapError";
    } catch (const MapError& e) {
        EXPECT_EQ(e.error(), -EINVAL);
        EXPECT_STREQ(e.what(), "map 'h' (hash): value_size must not be 0");
    }
    EXPECT_THROW(create_map(MapSpec{kMapHash, 4, 4, 1, 0, "h"}, 0), MapError);
}

TEST(MapSpec, LongNamesAreCutToFifteenCharacters) {
    auto map = create_map(MapSpec{kMapArray, 4, 4, 1, 0, "a_very_long_map_name"}, 1);
    EXPECT_EQ(map->spec().name, "a_very_long_map");
}

}  // namespace
}  // namespace tcbpf::maps
