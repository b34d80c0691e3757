// LPM_TRIE: longest-prefix match (IPv4 and IPv6, overlapping prefixes), exact-prefix update/delete,
// the kernel's update flags and capacity error, and get_next_key in the kernel's postorder.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <array>
#include <cerrno>
#include <string>
#include <vector>

#include "tests/maps/map_test_util.h"

namespace tcbpf::maps {
namespace {

using test::u32_at;

struct V4Key {
    uint32_t prefixlen;
    uint8_t addr[4];
};
struct V6Key {
    uint32_t prefixlen;
    uint8_t addr[16];
};

V4Key v4(const char* text, uint32_t plen) {
    V4Key key{plen, {}};
    EXPECT_EQ(inet_pton(AF_INET, text, key.addr), 1) << text;
    return key;
}
V6Key v6(const char* text, uint32_t plen) {
    V6Key key{plen, {}};
    EXPECT_EQ(inet_pton(AF_INET6, text, key.addr), 1) << text;
    return key;
}

std::unique_ptr<Map> lpm(uint32_t key_size, uint32_t max_entries = 64) {
    return test::make(kMapLpmTrie, key_size, 4, max_entries, kFNoPrealloc);
}

// Value stored for the longest prefix matching a full-length address, or 0 for no match.
uint32_t match4(Map& map, const char* addr) {
    V4Key key = v4(addr, 32);
    void* p = map.lookup(&key, 0);
    return p ? u32_at(p) : 0;
}
uint32_t match6(Map& map, const char* addr) {
    V6Key key = v6(addr, 128);
    uint32_t out = 0;
    return map.lookup_user(&key, &out) == 0 ? out : 0;
}

TEST(LpmTrie, Ipv4LongestPrefixWinsAmongOverlappingPrefixes) {
    auto map = lpm(8);
    struct Route {
        const char* net;
        uint32_t plen, value;
    };
    for (Route r : {Route{"0.0.0.0", 0, 1}, Route{"10.0.0.0", 8, 2}, Route{"10.1.0.0", 16, 3},
                    Route{"10.1.2.0", 24, 4}, Route{"10.1.2.128", 25, 5}, Route{"10.1.2.200", 32, 6},
                    Route{"192.168.0.0", 16, 7}}) {
        V4Key key = v4(r.net, r.plen);
        ASSERT_EQ(map->update_user(&key, &r.value, kBpfAny), 0) << r.net << "/" << r.plen;
    }
    EXPECT_EQ(match4(*map, "8.8.8.8"), 1u);
    EXPECT_EQ(match4(*map, "10.200.0.1"), 2u);
    EXPECT_EQ(match4(*map, "10.1.99.1"), 3u);
    EXPECT_EQ(match4(*map, "10.1.2.3"), 4u);
    EXPECT_EQ(match4(*map, "10.1.2.129"), 5u);
    EXPECT_EQ(match4(*map, "10.1.2.200"), 6u);
    EXPECT_EQ(match4(*map, "10.1.2.201"), 5u);
    EXPECT_EQ(match4(*map, "192.168.255.255"), 7u);
    EXPECT_EQ(match4(*map, "192.169.0.0"), 1u);

    // The lookup key's own prefix length caps the match.
    V4Key capped = v4("10.1.2.200", 20);
    uint32_t out = 0;
    ASSERT_EQ(map->lookup_user(&capped, &out), 0);
    EXPECT_EQ(out, 3u);

    // Deleting a prefix exposes the next shorter one.
    V4Key key = v4("10.1.2.0", 24);
    ASSERT_EQ(map->delete_user(&key), 0);
    EXPECT_EQ(match4(*map, "10.1.2.3"), 3u);
    EXPECT_EQ(match4(*map, "10.1.2.129"), 5u);
    EXPECT_EQ(map->delete_user(&key), -ENOENT);
    key = v4("0.0.0.0", 0);
    ASSERT_EQ(map->remove(&key), 0);
    EXPECT_EQ(match4(*map, "8.8.8.8"), 0u);
}

TEST(LpmTrie, Ipv6LongestPrefixMatch) {
    auto map = lpm(20);
    struct Route {
        const char* net;
        uint32_t plen, value;
    };
    for (Route r : {Route{"2001:db8::", 32, 1}, Route{"2001:db8:1::", 48, 2}, Route{"2001:db8:1:2::", 64, 3},
                    Route{"2001:db8:1:2::1", 128, 4}, Route{"fe80::", 10, 5}}) {
        V6Key key = v6(r.net, r.plen);
        ASSERT_EQ(map->update_user(&key, &r.value, kBpfAny), 0) << r.net << "/" << r.plen;
    }
    EXPECT_EQ(match6(*map, "2001:db8:ffff::1"), 1u);
    EXPECT_EQ(match6(*map, "2001:db8:1:ffff::1"), 2u);
    EXPECT_EQ(match6(*map, "2001:db8:1:2::2"), 3u);
    EXPECT_EQ(match6(*map, "2001:db8:1:2::1"), 4u);
    EXPECT_EQ(match6(*map, "febf::1"), 5u);  // fe80::/10 covers fe80..febf
    EXPECT_EQ(match6(*map, "fec0::1"), 0u);
    EXPECT_EQ(match6(*map, "2001:db9::"), 0u);
}

TEST(LpmTrie, UpdateFlagsPrefixLimitAndCapacity) {
    auto map = lpm(8, 2);
    uint32_t value = 1;
    V4Key a = v4("10.0.0.0", 8), b = v4("10.0.0.0", 16), c = v4("10.0.0.0", 24);
    EXPECT_EQ(map->update_user(&a, &value, kBpfExist), -ENOENT);
    EXPECT_EQ(map->update_user(&a, &value, kBpfNoExist), 0);
    EXPECT_EQ(map->update_user(&a, &value, kBpfNoExist), -EEXIST);
    EXPECT_EQ(map->update_user(&b, &value, kBpfAny), 0);
    EXPECT_EQ(map->update_user(&c, &value, kBpfAny), -ENOSPC);  // full
    value = 2;
    EXPECT_EQ(map->update_user(&b, &value, kBpfAny), 0);  // replacing needs no room
    EXPECT_EQ(map->update_user(&b, &value, 8), -EINVAL);
    V4Key too_long = v4("10.0.0.0", 33);
    EXPECT_EQ(map->update_user(&too_long, &value, kBpfAny), -EINVAL);
    EXPECT_EQ(map->delete_user(&too_long), -EINVAL);
    EXPECT_EQ(map->lookup_user(&too_long, &value), -ENOENT);
    EXPECT_EQ(map->delete_user(&c), -ENOENT);
    EXPECT_EQ(map->lookup_and_delete(&b, &value), -kENOTSUPP);
}

std::vector<std::string> dump(const Map& map) {
    std::vector<std::string> out;
    for (const auto& key : map.keys()) {
        char text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, key.data() + 4, text, sizeof text);
        out.push_back(std::string(text) + "/" + std::to_string(u32_at(key.data())));
    }
    return out;
}

TEST(LpmTrie, GetNextKeyIsPostorderLikeTheKernel) {
    // The example from the kernel's lpm_trie.c: more specific prefixes come before the prefix that
    // contains them, and 0-bit branches before 1-bit branches.
    auto map = lpm(8);
    uint32_t value = 1;
    for (auto key : {v4("192.168.0.0", 16), v4("192.168.0.0", 24), v4("192.168.1.0", 24), v4("192.168.128.0", 24)})
        ASSERT_EQ(map->update_user(&key, &value, kBpfAny), 0);
    EXPECT_EQ(dump(*map), (std::vector<std::string>{"192.168.0.0/24", "192.168.1.0/24", "192.168.128.0/24",
                                                     "192.168.0.0/16"}));
    V4Key missing = v4("1.2.3.0", 24), next{};
    ASSERT_EQ(map->get_next_key(&missing, &next), 0);  // a missing key restarts at the first
    EXPECT_EQ(next.prefixlen, 24u);
    EXPECT_EQ(next.addr[2], 0u);
    V4Key last = v4("192.168.0.0", 16);
    EXPECT_EQ(map->get_next_key(&last, &next), -ENOENT);
}

TEST(LpmTrie, ManyPrefixesIterateExactlyOnceAndDeleteCleanly) {
    auto map = lpm(8, 600);
    std::vector<V4Key> keys;
    for (uint32_t i = 0; i < 256; ++i) keys.push_back(V4Key{24, {10, uint8_t(i), uint8_t(i * 7), 0}});
    for (uint32_t i = 0; i < 256; i += 3) keys.push_back(V4Key{16, {10, uint8_t(i), 0, 0}});
    keys.push_back(V4Key{8, {10, 0, 0, 0}});
    for (size_t i = 0; i < keys.size(); ++i) {
        uint32_t value = static_cast<uint32_t>(i);
        ASSERT_EQ(map->update_user(&keys[i], &value, kBpfNoExist), 0) << i;
    }
    EXPECT_EQ(map->keys().size(), keys.size());
    for (size_t i = 0; i < keys.size(); i += 2) ASSERT_EQ(map->delete_user(&keys[i]), 0) << i;
    EXPECT_EQ(map->keys().size(), keys.size() / 2);
    for (size_t i = 1; i < keys.size(); i += 2) {
        uint32_t out = 0;
        V4Key exact = keys[i];
        ASSERT_EQ(map->lookup_user(&exact, &out), 0) << i;
        EXPECT_EQ(out, i);
    }
    for (size_t i = 1; i < keys.size(); i += 2) ASSERT_EQ(map->delete_user(&keys[i]), 0) << i;
    V4Key next{};
    EXPECT_EQ(map->get_next_key(nullptr, &next), -ENOENT);
    // Every node went back to the pool: the trie can be filled to capacity again.
    for (uint32_t i = 0; i < 600; ++i) {
        V4Key key{32, {uint8_t(i >> 8), uint8_t(i), 1, 2}};
        ASSERT_EQ(map->update_user(&key, &i, kBpfAny), 0) << i;
    }
}

}  // namespace
}  // namespace tcbpf::maps
