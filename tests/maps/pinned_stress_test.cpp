// Two writers in other processes — `tcbpf map -batch` runs and an application using PinnedMap — update
// one pinned map while this process reads it: every value read is whole (its checksum matches), no key's
// sequence number ever goes backwards, and when the writers are done every key holds its last update.
// Labelled `stress` (seconds of churn): not part of the quick unit run.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include <fmt/format.h>

#include "tcbpf/pinned_map.h"

namespace tcbpf::maps {
namespace {

struct Value {
    uint64_t seq;
    uint64_t writer;
    uint64_t fill[5];
    uint64_t check;
};
static_assert(sizeof(Value) == 64);

uint64_t checksum(const Value& v) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ v.seq ^ (v.writer << 56);
    for (uint64_t f : v.fill) h = (h ^ f) * 0x100000001b3ull;
    return h;
}

Value make_value(uint64_t seq, uint64_t writer, uint32_t key) {
    Value v{seq, writer, {}, 0};
    for (int i = 0; i < 5; ++i) v.fill[i] = seq * 0x0101010101010101ull + key * 7 + static_cast<uint64_t>(i);
    v.check = checksum(v);
    return v;
}

constexpr uint32_t kKeysPerWriter = 16;
constexpr uint64_t kCliRounds = 150;   // per key, in batches of kKeysPerWriter × 25 lines
constexpr uint64_t kApiRounds = 20000;  // per key

std::string value_words(const Value& v) {
    std::string out;
    const auto* bytes = reinterpret_cast<const uint8_t*>(&v);
    for (size_t i = 0; i < sizeof v; ++i) out += fmt::format(" {}", bytes[i]);
    return out;
}

pid_t spawn(const std::function<int()>& body) {
    const pid_t pid = fork();
    if (pid == 0) _exit(body());
    return pid;
}

TEST(PinnedMapStress, CliAndApiWritersNeverShowATornOrOlderValue) {
    const auto dir = std::filesystem::temp_directory_path() / fmt::format("tcbpf-stress-{}", getpid());
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "shared").string();
    create_pinned_map(MapSpec{kMapHash, 4, sizeof(Value), 64, 0, "shared"}, 2, path);

    // CLI writer: keys 0..15, one batch file per 25 rounds, each round updating every key.
    std::vector<std::string> batches;
    for (uint64_t first = 1; first <= kCliRounds; first += 25) {
        std::string text;
        for (uint64_t seq = first; seq < first + 25; ++seq)
            for (uint32_t key = 0; key < kKeysPerWriter; ++key)
                text += fmt::format("update pinned {} key {} 0 0 0 value{}\n", path, key, value_words(make_value(seq, 1, key)));
        batches.push_back((dir / fmt::format("batch{}", first)).string());
        std::ofstream(batches.back()) << text;
    }
    const pid_t cli = spawn([&] {
        for (const auto& b : batches)
            if (std::system(fmt::format("{} map -batch {} >/dev/null", TCBPF_BINARY, b).c_str()) != 0) return 1;
        return 0;
    });
    // API writer: keys 16..31.
    const pid_t api = spawn([&] {
        auto map = PinnedMap<uint32_t, Value>::open(path);
        for (uint64_t seq = 1; seq <= kApiRounds; ++seq)
            for (uint32_t key = kKeysPerWriter; key < 2 * kKeysPerWriter; ++key)
                if (map.update(key, make_value(seq, 2, key)) != 0) return 1;
        return 0;
    });

    auto map = PinnedMap<uint32_t, Value>::open(path);
    std::array<uint64_t, 2 * kKeysPerWriter> last_seen{};
    uint64_t reads = 0, torn = 0, backwards = 0;
    int running = 2, failed = 0;
    while (running > 0) {
        for (uint32_t key = 0; key < 2 * kKeysPerWriter; ++key) {
            const auto v = map.lookup(key);
            if (!v) continue;
            ++reads;
            if (v->check != checksum(*v)) ++torn;
            if (v->seq < last_seen[key]) ++backwards;
            last_seen[key] = std::max(last_seen[key], v->seq);
        }
        int status = 0;
        for (pid_t pid = waitpid(-1, &status, WNOHANG); pid > 0; pid = waitpid(-1, &status, WNOHANG)) {
            --running;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
        }
    }
    (void)cli, (void)api;
    EXPECT_EQ(failed, 0);
    EXPECT_GT(reads, 1000u);
    EXPECT_EQ(torn, 0u);
    EXPECT_EQ(backwards, 0u);
    for (uint32_t key = 0; key < 2 * kKeysPerWriter; ++key) {
        const auto v = map.lookup(key);
        ASSERT_TRUE(v) << "key " << key;
        EXPECT_EQ(v->seq, key < kKeysPerWriter ? kCliRounds : kApiRounds) << "key " << key;
    }
    std::filesystem::remove_all(dir);
}

// A writer killed with SIGKILL at a random moment of a tight update loop — often while holding a bucket
// lock or halfway through relinking a chain — must leave a map that the next process can use at once:
// no lock held forever (the checker runs under an alarm), no torn value, no key listed twice, every
// key still there.
TEST(PinnedMapStress, WritersKilledMidUpdateLeaveTheMapWholeAndUsable) {
    const auto dir = std::filesystem::temp_directory_path() / fmt::format("tcbpf-kill-{}", getpid());
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "shared").string();
    constexpr uint32_t kKeys = 32;
    {
        auto map = create_pinned_map(MapSpec{kMapHash, 4, sizeof(Value), 1024, 0, "shared"}, 2, path);
        for (uint32_t key = 0; key < kKeys; ++key) {
            const Value v = make_value(0, 0, key);
            ASSERT_EQ(map->update_user(&key, &v, kBpfAny), 0);
        }
    }
    std::mt19937 rng(12345);
    for (int round = 0; round < 40; ++round) {
        int ready[2];
        ASSERT_EQ(pipe(ready), 0);
        const pid_t writer = fork();
        ASSERT_GE(writer, 0);
        if (writer == 0) {
            auto map = PinnedMap<uint32_t, Value>::open(path);
            char go = 1;
            if (write(ready[1], &go, 1) != 1) _exit(2);
            for (uint64_t seq = 1;; ++seq) {
                const uint32_t key = static_cast<uint32_t>(seq % kKeys);
                map.update(key, make_value(seq, 3, key));
                const uint32_t churn = kKeys + static_cast<uint32_t>(seq % 16);  // keys that come and go
                if (seq % 2) map.update(churn, make_value(seq, 3, churn));
                else map.remove(churn);
            }
        }
        char go = 0;
        ASSERT_EQ(read(ready[0], &go, 1), 1);
        close(ready[0]);
        close(ready[1]);
        usleep(std::uniform_int_distribution<unsigned>(0, 3000)(rng));
        kill(writer, SIGKILL);
        waitpid(writer, nullptr, 0);

        const pid_t checker = fork();
        ASSERT_GE(checker, 0);
        if (checker == 0) {
            alarm(10);  // a lock the dead writer left held would stop us here
            auto map = PinnedMap<uint32_t, Value>::open(path);
            for (uint32_t key = 0; key < kKeys; ++key) {
                const auto v = map.lookup(key);
                if (!v) _exit(10);
                if (v->check != checksum(*v)) _exit(11);
                if (map.update(key, make_value(v->seq, 4, key)) != 0) _exit(12);
            }
            const auto keys = map.map().keys();
            if (std::set<std::vector<uint8_t>>(keys.begin(), keys.end()).size() != keys.size()) _exit(13);
            _exit(0);
        }
        int status = 0;
        waitpid(checker, &status, 0);
        ASSERT_TRUE(WIFEXITED(status)) << "round " << round << ": the checker was stopped by signal "
                                       << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << " (SIGALRM: a lock stayed held)";
        ASSERT_EQ(WEXITSTATUS(status), 0) << "round " << round
                                          << ": 10 key missing, 11 torn value, 12 update failed, 13 key listed twice";
    }
    std::filesystem::remove_all(dir);
}

TEST(PinnedMapApi, TypedAccessChecksSizes) {
    const auto dir = std::filesystem::temp_directory_path() / fmt::format("tcbpf-api-{}", getpid());
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "m").string();
    create_pinned_map(MapSpec{kMapPercpuHash, 4, 4, 8, 0, "m"}, 2, path);
    try {
        PinnedMap<uint32_t, uint64_t>::open(path);
        FAIL() << "expected MapError";
    } catch (const MapError& e) {
        EXPECT_EQ(std::string(e.what()), path + ": the map has 4-byte keys and 4-byte values, not 4 and 8");
    }
    auto map = PinnedMap<uint32_t, uint32_t>::open(path);
    EXPECT_EQ(map.update(7, 70, kBpfNoExist), 0);
    EXPECT_EQ(map.update(7, 71, kBpfNoExist), -EEXIST);
    EXPECT_EQ(map.lookup_per_cpu(7), (std::vector<uint32_t>{70, 70}));
    EXPECT_TRUE(map.lookup_per_cpu(8).empty());
    int seen = 0;
    map.for_each([&](const uint32_t& k, const uint32_t& v) { seen += (k == 7 && v == 70); });
    EXPECT_EQ(seen, 1);
    EXPECT_EQ(map.remove(7), 0);
    EXPECT_EQ(map.remove(7), -ENOENT);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tcbpf::maps
