// Maps in files: a second process opens the same map by path and both update it at once.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/maps/map_test_util.h"

namespace tcbpf::maps {
namespace {

class PinnedMap : public ::testing::Test {
   protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("tcbpf-maps-" + std::to_string(getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string path(const char* name) const { return (dir_ / name).string(); }
    std::filesystem::path dir_;
};

TEST_F(PinnedMap, ReopenedMapSeesTheSameEntries) {
    auto map = create_pinned_map(MapSpec{kMapHash, 4, 8, 16, 0, "flows"}, 2, path("flows"));
    uint32_t key = 3;
    uint64_t value = 33;
    ASSERT_EQ(map->update_user(&key, &value, kBpfAny), 0);
    auto again = open_pinned_map(path("flows"));
    EXPECT_EQ(again->spec().name, "flows");
    EXPECT_EQ(again->type(), kMapHash);
    EXPECT_EQ(again->ncpus(), 2u);
    uint64_t out = 0;
    ASSERT_EQ(again->lookup_user(&key, &out), 0);
    EXPECT_EQ(out, 33u);
    value = 44;
    ASSERT_EQ(again->update(&key, &value, kBpfExist, 0), 0);
    ASSERT_EQ(map->lookup_user(&key, &out), 0);
    EXPECT_EQ(out, 44u);
}

TEST_F(PinnedMap, CreatingOverAnExistingPathFailsAndBadFilesAreNamed) {
    create_pinned_map(MapSpec{kMapArray, 4, 4, 1, 0, "a"}, 1, path("a"));
    try {
        create_pinned_map(MapSpec{kMapArray, 4, 4, 1, 0, "a"}, 1, path("a"));
        FAIL() << "expected MapError";
    } catch (const MapError& e) {
        EXPECT_EQ(e.error(), -EEXIST);
    }
    try {
        open_pinned_map(path("missing"));
        FAIL() << "expected MapError";
    } catch (const MapError& e) {
        EXPECT_EQ(e.error(), -ENOENT);
        EXPECT_NE(std::string(e.what()).find(path("missing")), std::string::npos);
    }
    FILE* f = std::fopen(path("junk").c_str(), "w");
    std::string junk(4096, 'x');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
    try {
        open_pinned_map(path("junk"));
        FAIL() << "expected MapError";
    } catch (const MapError& e) {
        EXPECT_EQ(std::string(e.what()), path("junk") + " is not a tcbpf map (bad magic)");
    }
}

TEST_F(PinnedMap, TwoProcessesUpdateOneMapConcurrently) {
    constexpr uint32_t kRounds = 20000;
    {
        auto map = create_pinned_map(MapSpec{kMapHash, 4, 8, 64, 0, "shared"}, 2, path("shared"));
        uint64_t zero = 0;
        for (uint32_t key = 0; key < 2; ++key) ASSERT_EQ(map->update_user(&key, &zero, kBpfAny), 0);
    }
    pid_t child = fork();
    ASSERT_GE(child, 0);
    uint32_t mine = child == 0 ? 1 : 0;
    bool ok = true;
    {
        auto map = open_pinned_map(path("shared"));
        for (uint32_t i = 0; i < kRounds && ok; ++i) {
            // Counter under our own key, plus churn in a shared key range that both processes hit.
            uint64_t value = 0;
            ok &= map->lookup_user(&mine, &value) == 0;
            ++value;
            ok &= map->update_user(&mine, &value, kBpfExist) == 0;
            uint32_t churn = 10 + i % 40;
            map->update(&churn, &value, kBpfAny, mine);
            if (i % 3 == 0) map->delete_user(&churn);
        }
    }
    if (child == 0) _exit(ok ? 0 : 1);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_TRUE(ok);
    auto map = open_pinned_map(path("shared"));
    for (uint32_t key = 0; key < 2; ++key) {
        uint64_t value = 0;
        ASSERT_EQ(map->lookup_user(&key, &value), 0);
        EXPECT_EQ(value, kRounds) << "process " << key;
    }
    EXPECT_LE(map->keys().size(), 42u);
}

TEST_F(PinnedMap, RingBufferSharedWithAnotherProcess) {
    auto map = create_pinned_map(MapSpec{kMapRingbuf, 0, 0, 4096, 0, "events"}, 1, path("events"));
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto producer = open_pinned_map(path("events"));
        for (uint32_t i = 0; i < 100; ++i)
            while (producer->as_ringbuf()->output(&i, 4, 0) != 0) usleep(100);
        _exit(0);
    }
    uint32_t expected = 0;
    while (expected < 100) {
        map->as_ringbuf()->wait(1000);
        map->as_ringbuf()->consume([&](std::span<const uint8_t> s) {
            EXPECT_EQ(test::u32_at(s.data()), expected);
            ++expected;
            return 0;
        });
    }
    int status = 0;
    waitpid(child, &status, 0);
    EXPECT_EQ(expected, 100u);
}

TEST_F(PinnedMap, PinMapReusesAMatchingMapAndNamesEveryDifference) {
    const MapSpec spec{kMapHash, 4, 8, 16, 0, "flows"};
    auto first = pin_map(spec, 2, path("flows"));
    uint32_t key = 1;
    uint64_t value = 11;
    ASSERT_EQ(first->update_user(&key, &value, kBpfAny), 0);
    auto second = pin_map(spec, 2, path("flows"));
    uint64_t out = 0;
    ASSERT_EQ(second->lookup_user(&key, &out), 0);
    EXPECT_EQ(out, 11u);
    try {
        pin_map(MapSpec{kMapLruHash, 8, 8, 32, kFNoCommonLru, "flows"}, 2, path("flows"));
        FAIL() << "expected MapError";
    } catch (const MapError& e) {
        EXPECT_EQ(e.error(), -EINVAL);
        EXPECT_EQ(std::string(e.what()),
                  "the map pinned at " + path("flows") +
                      " differs (type lru_hash here, hash pinned, key_size 8 here, 4 pinned, max_entries 32 here, "
                      "16 pinned, flags 0x2 here, 0x0 pinned): Map specification differs from pinned file!");
    }
}

TEST_F(PinnedMap, PerCpuMapsAlsoNeedTheSameCpuCount) {
    pin_map(MapSpec{kMapPercpuArray, 4, 8, 4, 0, "c"}, 2, path("c"));
    EXPECT_NO_THROW(pin_map(MapSpec{kMapArray, 4, 8, 4, 0, "a"}, 2, path("a")));
    EXPECT_NO_THROW(pin_map(MapSpec{kMapArray, 4, 8, 4, 0, "a"}, 4, path("a")));  // ncpus shapes no value
    EXPECT_EQ(spec_difference(*open_pinned_map(path("c")), MapSpec{kMapPercpuArray, 4, 8, 4, 0, "c"}, 4),
              "CPU count 4 here, 2 pinned");
}

TEST_F(PinnedMap, ProcessesRacingToPinOneMapAllGetTheSameMap) {
    constexpr int kProcesses = 6;
    pid_t children[kProcesses];
    for (int i = 0; i < kProcesses; ++i) {
        children[i] = fork();
        ASSERT_GE(children[i], 0);
        if (children[i] == 0) {
            // Each adds its own key; all six keys must end up in one map.
            auto map = pin_map(MapSpec{kMapHash, 4, 8, 16, 0, "race"}, 1, path("race"));
            uint32_t key = static_cast<uint32_t>(i);
            uint64_t value = 100 + key;
            _exit(map->update_user(&key, &value, kBpfNoExist) == 0 ? 0 : 1);
        }
    }
    for (pid_t child : children) {
        int status = 0;
        ASSERT_EQ(waitpid(child, &status, 0), child);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    EXPECT_EQ(open_pinned_map(path("race"))->keys().size(), size_t(kProcesses));
    // Only the map's own file is left: blocks are built unnamed, so no temporary names linger.
    size_t files = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir_)) ++files;
    EXPECT_EQ(files, 1u);
}

}  // namespace
}  // namespace tcbpf::maps
