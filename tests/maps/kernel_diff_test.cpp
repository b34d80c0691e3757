// Differential tests against the running kernel's maps (the reference): the same random operation
// sequence goes to a kernel map through bpf() and to a tcbpf map; every return code, every value read
// and (where the kernel's order is deterministic) every get_next_key answer must agree.
// Skips with the reason where bpf() is unavailable.
#include <gtest/gtest.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <vector>

#include "tests/maps/map_test_util.h"
#include "tests/support/kernel_bpf.h"

namespace tcbpf::maps {
namespace {

#define SKIP_WITHOUT_BPF()                                                      \
    do {                                                                        \
        if (!kernel::probe().available) GTEST_SKIP() << kernel::probe().reason; \
    } while (0)

using Bytes = std::vector<uint8_t>;

// Keys as an ordered set of strings: comparing std::set<std::vector<uint8_t>> trips a false
// -Wstringop-overread in g++ 12's inlined vector comparison.
std::set<std::string> key_set(const std::vector<Bytes>& keys) {
    std::set<std::string> out;
    for (const Bytes& k : keys) out.emplace(k.begin(), k.end());
    return out;
}

struct Pair {
    kernel::Fd fd;
    std::unique_ptr<Map> ours;
};

Pair make_pair(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t flags = 0) {
    kernel::MapOptions options;
    options.type = static_cast<bpf_map_type>(type);
    options.key_size = key_size;
    options.value_size = value_size;
    options.max_entries = max_entries;
    options.flags = flags;
    auto created = kernel::create_map(options);
    EXPECT_TRUE(created.ok()) << kernel::errno_text(created.error);
    return {std::move(created.fd), test::make(type, key_size, value_size, max_entries, flags, 1)};
}

// Applies one update/delete/lookup to both maps and checks they answer alike.
void same_op(Pair& p, int op, const Bytes& key, const Bytes& value, uint64_t flags, const std::string& where) {
    if (op == 0) {
        int theirs = kernel::map_update(p.fd, key, value, flags);
        int ours = p.ours->update_user(key.data(), value.data(), flags);
        ASSERT_EQ(-theirs, ours) << where << " update flags " << flags;
    } else if (op == 1) {
        int theirs = kernel::map_delete(p.fd, key);
        int ours = p.ours->delete_user(key.data());
        ASSERT_EQ(-theirs, ours) << where << " delete";
    } else {
        Bytes a(p.ours->user_value_size()), b(a.size());
        int theirs = kernel::map_lookup(p.fd, key, a);
        int ours = p.ours->lookup_user(key.data(), b.data());
        ASSERT_EQ(-theirs, ours) << where << " lookup";
        if (ours == 0) {
            ASSERT_EQ(a, b) << where << " lookup value";
        }
    }
}

std::vector<Bytes> kernel_keys(const Pair& p, uint32_t key_size) {
    std::vector<Bytes> keys;
    Bytes next(key_size);
    Bytes prev;
    while (kernel::map_get_next_key(p.fd, prev, next) == 0 && keys.size() < 100000) {
        keys.push_back(next);
        prev = next;
    }
    return keys;
}

// BPF_MAP_LOOKUP_AND_DELETE_ELEM (pop), which the shared wrapper does not offer. Returns errno or 0.
int kernel_pop(const kernel::Fd& map, Bytes& value) {
    bpf_attr attr{};
    attr.map_fd = static_cast<uint32_t>(map.get());
    attr.value = reinterpret_cast<uint64_t>(value.data());
    return syscall(SYS_bpf, BPF_MAP_LOOKUP_AND_DELETE_ELEM, &attr, sizeof attr) < 0 ? errno : 0;
}

Bytes u32_bytes(uint32_t v) {
    Bytes b(4);
    std::memcpy(b.data(), &v, 4);
    return b;
}

TEST(KernelDifferential, HashOperationsAndKeySet) {
    SKIP_WITHOUT_BPF();
    Pair p = make_pair(kMapHash, 4, 8, 12);
    std::mt19937 rng(1);
    for (int i = 0; i < 4000; ++i) {
        Bytes key = u32_bytes(rng() % 20);
        Bytes value(8, static_cast<uint8_t>(rng()));
        uint64_t flags = rng() % 6;  // includes BPF_F_LOCK (4) and invalid 3, 5
        same_op(p, static_cast<int>(rng() % 3), key, value, flags, "op " + std::to_string(i));
        if (HasFatalFailure()) return;
    }
    auto theirs = kernel_keys(p, 4);
    auto ours = p.ours->keys();
    EXPECT_EQ(key_set(theirs), key_set(ours));
    EXPECT_EQ(theirs.size(), ours.size());
}

TEST(KernelDifferential, LruHashOperationsWithoutEviction) {
    // Few keys in a big map: nothing is evicted, so flags, errors and values must agree exactly.
    SKIP_WITHOUT_BPF();
    Pair p = make_pair(kMapLruHash, 4, 8, 1024);
    std::mt19937 rng(6);
    for (int i = 0; i < 3000; ++i) {
        Bytes key = u32_bytes(rng() % 24);
        Bytes value(8, static_cast<uint8_t>(rng()));
        same_op(p, static_cast<int>(rng() % 3), key, value, rng() % 6, "op " + std::to_string(i));
        if (HasFatalFailure()) return;
    }
    auto theirs = kernel_keys(p, 4);
    auto ours = p.ours->keys();
    EXPECT_EQ(key_set(theirs), key_set(ours));
}

TEST(KernelDifferential, ArrayOperationsAndGetNextKey) {
    SKIP_WITHOUT_BPF();
    Pair p = make_pair(kMapArray, 4, 4, 6);
    std::mt19937 rng(2);
    for (int i = 0; i < 2000; ++i) {
        Bytes key = u32_bytes(rng() % 9);
        Bytes value = u32_bytes(static_cast<uint32_t>(rng()));
        same_op(p, static_cast<int>(rng() % 3), key, value, rng() % 6, "op " + std::to_string(i));
        if (HasFatalFailure()) return;
    }
    for (uint32_t k : {0u, 3u, 5u, 6u, 100u}) {
        Bytes a(4), b(4);
        int theirs = kernel::map_get_next_key(p.fd, u32_bytes(k), a);
        int ours = p.ours->get_next_key(u32_bytes(k).data(), b.data());
        ASSERT_EQ(-theirs, ours) << k;
        if (ours == 0) {
            EXPECT_EQ(a, b) << k;
        }
    }
}

TEST(KernelDifferential, LpmOperationsLookupsAndIterationOrder) {
    SKIP_WITHOUT_BPF();
    Pair p = make_pair(kMapLpmTrie, 8, 4, 40, kFNoPrealloc);
    std::mt19937 rng(3);
    auto random_key = [&](bool full) {
        Bytes key(8);
        uint32_t plen = full ? 32 : (rng() % 36);  // includes over-long prefixes
        std::memcpy(key.data(), &plen, 4);
        key[4] = 10;
        key[5] = static_cast<uint8_t>(rng() % 4 * 64);
        key[6] = static_cast<uint8_t>(rng() % 2 * 128);
        key[7] = static_cast<uint8_t>(rng() % 4);
        return key;
    };
    for (int i = 0; i < 3000; ++i) {
        int op = static_cast<int>(rng() % 3);
        Bytes key = random_key(op == 2 && rng() % 2);
        same_op(p, op, key, u32_bytes(static_cast<uint32_t>(i)), rng() % 4, "op " + std::to_string(i));
        if (HasFatalFailure()) return;
        if (i % 100 == 99) {
            // The postorder iteration must match exactly, key by key.
            auto theirs = kernel_keys(p, 8);
            auto ours = p.ours->keys();
            ASSERT_EQ(theirs, ours) << "after op " << i;
            for (const Bytes& k : theirs) {
                Bytes a(8), b(8);
                int t = kernel::map_get_next_key(p.fd, k, a);
                ASSERT_EQ(-t, p.ours->get_next_key(k.data(), b.data()));
                if (t == 0) {
                    ASSERT_EQ(a, b);
                }
            }
        }
    }
}

TEST(KernelDifferential, QueueOperations) {
    SKIP_WITHOUT_BPF();
    Pair p = make_pair(kMapQueue, 0, 4, 5);
    std::mt19937 rng(4);
    for (int i = 0; i < 2000; ++i) {
        Bytes value = u32_bytes(static_cast<uint32_t>(i)), a(4), b(4);
        int op = static_cast<int>(rng() % 3);
        int theirs, ours;
        if (op == 0) {
            uint64_t flags = rng() % 4;
            theirs = kernel::map_update(p.fd, {}, value, flags);
            ours = p.ours->update_user(nullptr, value.data(), flags);
        } else if (op == 1) {
            theirs = kernel::map_lookup(p.fd, {}, a);
            ours = p.ours->lookup_user(nullptr, b.data());
        } else {
            theirs = kernel_pop(p.fd, a);
            ours = p.ours->lookup_and_delete(nullptr, b.data());
        }
        ASSERT_EQ(-theirs, ours) << "op " << i;
        if (ours == 0 && op != 0) {
            ASSERT_EQ(a, b) << "op " << i;
        }
    }
}

// Creation rules over a grid of attributes: validate_spec must give the kernel's errno.
TEST(KernelDifferential, CreationRulesGrid) {
    SKIP_WITHOUT_BPF();
    const uint32_t types[] = {kMapHash, kMapArray, kMapProgArray, kMapPerfEventArray, kMapPercpuHash,
                              kMapPercpuArray, kMapLruHash, kMapLruPercpuHash, kMapLpmTrie, kMapQueue,
                              kMapStack, kMapRingbuf};
    const uint32_t key_sizes[] = {0, 4, 8, 261};
    const uint32_t value_sizes[] = {0, 4, 8};
    const uint32_t max_entries[] = {0, 1, 4096, 12288};
    const uint32_t flags[] = {0, kFNoPrealloc, kFNoCommonLru, kFMmapable, kFRdonly | kFWronly,
                              kFRdonlyProg, kFPreserveElems, kFZeroSeed, 0x20};
    int compared = 0;
    for (uint32_t type : types)
        for (uint32_t k : key_sizes)
            for (uint32_t v : value_sizes)
                for (uint32_t m : max_entries)
                    for (uint32_t f : flags) {
                        kernel::MapOptions options;
                        options.type = static_cast<bpf_map_type>(type);
                        options.key_size = k;
                        options.value_size = v;
                        options.max_entries = m;
                        options.flags = f;
                        int theirs = kernel::create_map(options).error;
                        int ours = validate_spec(MapSpec{type, k, v, m, f, "grid"}).error;
                        EXPECT_EQ(-theirs, ours) << map_type_name(type) << " key " << k << " value " << v
                                                 << " max " << m << " flags 0x" << std::hex << f;
                        ++compared;
                    }
    EXPECT_EQ(compared, 12 * 4 * 3 * 4 * 9);
}

}  // namespace
}  // namespace tcbpf::maps

namespace tcbpf::maps {
namespace {

// The kernel presents per-CPU values for every possible CPU; read their number like libbpf does.
uint32_t possible_cpus() {
    FILE* f = std::fopen("/sys/devices/system/cpu/possible", "r");
    if (!f) return 0;
    uint32_t count = 0;
    unsigned a = 0, b = 0;
    char sep = 0;
    while (std::fscanf(f, "%u", &a) == 1) {
        b = a;
        if (std::fscanf(f, "%c", &sep) == 1 && sep == '-') {
            if (std::fscanf(f, "%u", &b) != 1) break;
            if (std::fscanf(f, "%c", &sep) != 1) sep = 0;
        }
        count += b - a + 1;
        if (sep != ',') break;
    }
    std::fclose(f);
    return count;
}

void percpu_differential(uint32_t type, uint32_t max_entries, uint32_t key_range) {
    uint32_t ncpus = possible_cpus();
    if (ncpus == 0) GTEST_SKIP() << "cannot read /sys/devices/system/cpu/possible";
    kernel::MapOptions options;
    options.type = static_cast<bpf_map_type>(type);
    options.key_size = 4;
    options.value_size = 4;  // padded to 8 per CPU in the user-space layout
    options.max_entries = max_entries;
    auto created = kernel::create_map(options);
    ASSERT_TRUE(created.ok()) << kernel::errno_text(created.error);
    auto ours = create_map(MapSpec{type, 4, 4, max_entries, 0, "pcpu"}, ncpus);
    ASSERT_EQ(ours->user_value_size(), ncpus * 8);
    std::mt19937 rng(5);
    for (int i = 0; i < 1000; ++i) {
        Bytes key = u32_bytes(rng() % key_range);
        Bytes value(ncpus * 8);
        for (auto& byte : value) byte = static_cast<uint8_t>(rng());  // padding bytes too: must not stick
        int op = static_cast<int>(rng() % 3);
        if (op == 0) {
            uint64_t flags = rng() % 3;
            ASSERT_EQ(-kernel::map_update(created.fd, key, value, flags), ours->update_user(key.data(), value.data(), flags))
                << "op " << i;
        } else if (op == 1) {
            ASSERT_EQ(-kernel::map_delete(created.fd, key), ours->delete_user(key.data())) << "op " << i;
        } else {
            Bytes a(value.size()), b(value.size());
            int theirs = kernel::map_lookup(created.fd, key, a);
            ASSERT_EQ(-theirs, ours->lookup_user(key.data(), b.data())) << "op " << i;
            if (theirs == 0) {
                ASSERT_EQ(a, b) << "op " << i;
            }
        }
    }
}

TEST(KernelDifferential, PercpuArrayUserLayout) {
    SKIP_WITHOUT_BPF();
    percpu_differential(kMapPercpuArray, 4, 6);
}

TEST(KernelDifferential, PercpuHashUserLayout) {
    SKIP_WITHOUT_BPF();
    percpu_differential(kMapPercpuHash, 4, 6);
}

TEST(KernelDifferential, LruPercpuHashUserLayoutWithoutEviction) {
    SKIP_WITHOUT_BPF();
    percpu_differential(kMapLruPercpuHash, 512, 8);
}

}  // namespace
}  // namespace tcbpf::maps
