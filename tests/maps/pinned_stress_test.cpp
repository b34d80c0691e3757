// Two writers in other processes — `tcbpf map -batch` runs and an application using PinnedMap — update
// one pinned map while this process reads it: every value read is whole (its checksum matches), no key's
// sequence number ever goes backwards, and when the writers are done every key holds its last update.
// Labelled `stress` (seconds of churn): not part of the quick unit run.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include <fmt/format.h>

#include "tcbpf/pinned_map.h"
#include "tests/support/scratch_dir.h"

namespace tcbpf::maps {
namespace {

using test::ScratchDir;

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
    const ScratchDir scratch("stress");
    const std::string path = scratch.file("shared");
    create_pinned_map(MapSpec{kMapHash, 4, sizeof(Value), 64, 0, "shared"}, 2, path);

    // CLI writer: keys 0..15, one batch file per 25 rounds, each round updating every key.
    std::vector<std::string> batches;
    for (uint64_t first = 1; first <= kCliRounds; first += 25) {
        std::string text;
        for (uint64_t seq = first; seq < first + 25; ++seq)
            for (uint32_t key = 0; key < kKeysPerWriter; ++key)
                text += fmt::format("update pinned {} key {} 0 0 0 value{}\n", path, key, value_words(make_value(seq, 1, key)));
        batches.push_back(scratch.file(fmt::format("batch{}", first)));
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
}

// A writer tells kill_writers_midway that it has the map open (and may be killed from now on).
void signal_ready(int ready) {
    const char go = 1;
    if (write(ready, &go, 1) != 1) _exit(2);
}

// Runs `rounds` times: a child process runs `writer` (a tight update loop that never returns) and is
// killed with SIGKILL at a random moment; then a second child runs `check` under a 10 s alarm (a lock the
// dead writer left held would stop it) and exits with its verdict, 0 when the map is whole and usable.
template <typename Writer, typename Check>
void kill_writers_midway(int rounds, Writer writer, Check check, const char* verdicts) {
    std::mt19937 rng(12345);
    for (int round = 0; round < rounds; ++round) {
        int ready[2];
        ASSERT_EQ(pipe(ready), 0);
        const pid_t child = fork();
        ASSERT_GE(child, 0);
        if (child == 0) writer(ready[1]);  // writes one byte to the pipe once it has the map open
        char go = 0;
        ASSERT_EQ(read(ready[0], &go, 1), 1);
        close(ready[0]);
        close(ready[1]);
        usleep(std::uniform_int_distribution<unsigned>(0, 3000)(rng));
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);

        const pid_t checker = fork();
        ASSERT_GE(checker, 0);
        if (checker == 0) {
            alarm(10);
            _exit(check());
        }
        int status = 0;
        waitpid(checker, &status, 0);
        ASSERT_TRUE(WIFEXITED(status)) << "round " << round << ": the checker was stopped by signal "
                                       << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << " (SIGALRM: a lock stayed held)";
        ASSERT_EQ(WEXITSTATUS(status), 0) << "round " << round << ": " << verdicts;
    }
}

// A writer killed at a random moment of a tight update loop — often while holding a bucket lock or
// halfway through relinking a chain — must leave a map that the next process can use at once: no lock
// held forever, no torn value, no key listed twice, every key still there.
TEST(PinnedMapStress, WritersKilledMidUpdateLeaveTheMapWholeAndUsable) {
    const ScratchDir scratch("kill");
    const std::string path = scratch.file("shared");
    constexpr uint32_t kKeys = 32;
    {
        auto map = create_pinned_map(MapSpec{kMapHash, 4, sizeof(Value), 1024, 0, "shared"}, 2, path);
        for (uint32_t key = 0; key < kKeys; ++key) {
            const Value v = make_value(0, 0, key);
            ASSERT_EQ(map->update_user(&key, &v, kBpfAny), 0);
        }
    }
    kill_writers_midway(
        40,
        [&](int ready) {
            auto map = PinnedMap<uint32_t, Value>::open(path);
            signal_ready(ready);
            for (uint64_t seq = 1;; ++seq) {
                const uint32_t key = static_cast<uint32_t>(seq % kKeys);
                map.update(key, make_value(seq, 3, key));
                const uint32_t churn = kKeys + static_cast<uint32_t>(seq % 16);  // keys that come and go
                if (seq % 2) map.update(churn, make_value(seq, 3, churn));
                else map.remove(churn);
            }
        },
        [&] {
            auto map = PinnedMap<uint32_t, Value>::open(path);
            for (uint32_t key = 0; key < kKeys; ++key) {
                const auto v = map.lookup(key);
                if (!v) return 10;
                if (v->check != checksum(*v)) return 11;
                if (map.update(key, make_value(v->seq, 4, key)) != 0) return 12;
            }
            const auto keys = map.map().keys();
            if (std::set<std::vector<uint8_t>>(keys.begin(), keys.end()).size() != keys.size()) return 13;
            return 0;
        },
        "10 key missing, 11 torn value, 12 update failed, 13 key listed twice");
}

// The same for arrays and per-CPU arrays: an update cut off mid-copy is finished from the array's
// journal by the next process to touch the element (reader or writer), so every value read is some
// writer's whole value and nothing waits on the dead writer's odd sequence word.
TEST(PinnedMapStress, ArrayWritersKilledMidUpdateLeaveWholeValues) {
    const ScratchDir scratch("kill-array");
    constexpr uint32_t kKeys = 8;
    for (const uint32_t type : {kMapArray, kMapPercpuArray}) {
        const std::string path = scratch.file(fmt::format("array{}", type));
        auto created = create_pinned_map(MapSpec{type, 4, sizeof(Value), kKeys, 0, "array"}, 2, path);
        const size_t element = type == kMapPercpuArray ? 2 * sizeof(Value) : sizeof(Value);
        const auto fill = [&](Map& map, uint32_t key, uint64_t seq, uint64_t writer) {
            std::vector<Value> values(element / sizeof(Value), make_value(seq, writer, key));
            return map.update_user(&key, values.data(), kBpfAny);
        };
        for (uint32_t key = 0; key < kKeys; ++key) ASSERT_EQ(fill(*created, key, 0, 0), 0);
        created.reset();
        kill_writers_midway(
            30,
            [&](int ready) {
                auto map = open_pinned_map(path);
                signal_ready(ready);
                for (uint64_t seq = 1;; ++seq) {
                    const uint32_t key = static_cast<uint32_t>(seq % kKeys);
                    if (seq % 3) fill(*map, key, seq, 3);  // user updates: the whole element
                    else {
                        const Value v = make_value(seq, 3, key);  // a helper's update: one CPU's slot
                        map->update(&key, &v, kBpfAny, static_cast<uint32_t>(seq % 2));
                    }
                }
            },
            [&] {
                auto map = open_pinned_map(path);
                for (uint32_t key = 0; key < kKeys; ++key) {
                    std::vector<Value> values(element / sizeof(Value));
                    if (map->lookup_user(&key, values.data()) != 0) return 10;
                    for (const Value& v : values)
                        if (v.check != checksum(v)) return 11;
                    if (fill(*map, key, values[0].seq, 4) != 0) return 12;
                }
                return 0;
            },
            "10 lookup failed, 11 torn value, 12 update failed");
    }
}

// The same for an LPM trie: a writer killed while inserting or deleting leaves the trie lock to be
// taken over and its bookkeeping (free nodes, entry count) to be rebuilt, so afterwards every stable
// prefix still matches with a whole value and the trie holds exactly max_entries again — no node leaked,
// no entry miscounted.
TEST(PinnedMapStress, LpmWritersKilledMidUpdateLeaveATrieThatStillFillsUp) {
    const ScratchDir scratch("kill-lpm");
    const std::string path = scratch.file("trie");
    constexpr uint32_t kMax = 64, kStable = 8;
    struct Key {
        uint32_t prefixlen;
        uint8_t addr[4];
    };
    const auto key = [](uint32_t group, uint32_t n, uint32_t prefixlen) { return Key{prefixlen, {10, uint8_t(group), uint8_t(n), 0}}; };
    const auto value = [](uint64_t seq, uint64_t writer, uint32_t n) { return make_value(seq, writer, n); };
    {
        auto map = create_pinned_map(MapSpec{kMapLpmTrie, sizeof(Key), sizeof(Value), kMax, 1, "trie"}, 2, path);
        for (uint32_t n = 0; n < kStable; ++n) {
            const Key k = key(1, n, 24);
            const Value v = value(0, 0, n);
            ASSERT_EQ(map->update_user(&k, &v, kBpfAny), 0);
        }
    }
    kill_writers_midway(
        30,
        [&](int ready) {
            auto map = open_pinned_map(path);
            signal_ready(ready);
            for (uint64_t seq = 1;; ++seq) {
                const uint32_t n = static_cast<uint32_t>(seq % kStable);
                const Key stable = key(1, n, 24);
                const Value v = value(seq, 3, n);
                map->update_user(&stable, &v, kBpfAny);
                const Key churn = key(2, static_cast<uint32_t>(seq % 16), 16 + static_cast<uint32_t>(seq % 9));
                if (seq % 2) map->update_user(&churn, &v, kBpfAny);
                else map->delete_user(&churn);
            }
        },
        [&] {
            auto map = open_pinned_map(path);
            for (uint32_t n = 0; n < kStable; ++n) {
                const Key k = key(1, n, 32);  // the /24 is its longest match
                Value v{};
                if (map->lookup_user(&k, &v) != 0) return 10;
                if (v.check != checksum(v)) return 11;
            }
            for (const auto& k : map->keys()) {
                Key parsed;
                std::memcpy(&parsed, k.data(), sizeof parsed);
                if (parsed.addr[1] == 2 && map->delete_user(k.data()) != 0) return 12;
            }
            const Value v = value(1, 4, 0);
            for (uint32_t n = 0; n < kMax - kStable; ++n) {  // exactly as many as the trie still has room for
                const Key k = key(3, n, 24);
                if (map->update_user(&k, &v, kBpfAny) != 0) return 13;
            }
            const Key one_more = key(4, 0, 24);
            if (map->update_user(&one_more, &v, kBpfAny) != -ENOSPC) return 14;
            for (uint32_t n = 0; n < kMax - kStable; ++n) {
                const Key k = key(3, n, 24);
                if (map->delete_user(&k) != 0) return 15;
            }
            return 0;
        },
        "10 stable prefix lost, 11 torn value, 12 delete failed, 13 the trie filled up early (leaked nodes), "
        "14 it took more than max_entries, 15 delete failed");
}

// The same for an LRU hash churning far more keys than it holds (every update evicts): a writer killed
// while relinking the LRU list leaves it to be repaired by the next holder, so the map still takes
// updates (no -ENOMEM from a list that lost its tail), lists every key once and holds whole values.
TEST(PinnedMapStress, LruWritersKilledMidEvictionLeaveAUsableMap) {
    const ScratchDir scratch("kill-lru");
    const std::string path = scratch.file("lru");
    // Each kill can strand the element its writer had taken (capacity lost, as documented in maps.h):
    // room for every round's loss and still plenty to evict.
    constexpr uint32_t kMax = 128;
    create_pinned_map(MapSpec{kMapLruHash, 4, sizeof(Value), kMax, 0, "lru"}, 2, path).reset();
    kill_writers_midway(
        30,
        [&](int ready) {
            auto map = PinnedMap<uint32_t, Value>::open(path);
            signal_ready(ready);
            for (uint64_t seq = 1;; ++seq) {
                const uint32_t key = static_cast<uint32_t>(seq % (4 * kMax));
                map.update(key, make_value(seq, 3, key));
                if (seq % 3 == 0) map.lookup(static_cast<uint32_t>((seq / 3) % (4 * kMax)));  // marks it referenced
                if (seq % 7 == 0) map.remove(static_cast<uint32_t>((seq / 7) % (4 * kMax)));
            }
        },
        [&] {
            auto map = PinnedMap<uint32_t, Value>::open(path);
            for (uint32_t key = 1000; key < 1000 + 2 * kMax; ++key)
                if (map.update(key, make_value(1, 4, key)) != 0) return 12;
            for (const auto& k : map.map().keys()) {
                uint32_t key;
                std::memcpy(&key, k.data(), sizeof key);
                const auto v = map.lookup(key);
                if (v && v->check != checksum(*v)) return 11;
            }
            const auto keys = map.map().keys();
            if (std::set<std::vector<uint8_t>>(keys.begin(), keys.end()).size() != keys.size()) return 13;
            if (keys.empty() || keys.size() > kMax) return 14;
            return 0;
        },
        "11 torn value, 12 update failed, 13 key listed twice, 14 a key count an LRU map cannot hold");
}

TEST(PinnedMapApi, TypedAccessChecksSizes) {
    const ScratchDir scratch("api");
    const std::string path = scratch.file("m");
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
}

}  // namespace
}  // namespace tcbpf::maps
