// Data-path cost of map helpers, ns per call: hash and array lookups/updates, LPM lookups, LRU updates
// under eviction, ring buffer output. Multi-threaded runs show whether different keys scale (bucket
// locks, no global lock). Measure with CMAKE_BUILD_TYPE=Release.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>

#include "tcbpf/maps.h"

namespace {

using namespace tcbpf::maps;

std::unique_ptr<Map> make(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                          uint32_t flags = 0) {
    return create_map(MapSpec{type, key_size, value_size, max_entries, flags, "bench"}, 8);
}

void BM_HashLookup(benchmark::State& state) {
    static std::unique_ptr<Map> map;
    if (state.thread_index() == 0) {
        map = make(kMapHash, 4, 8, 65536);
        for (uint32_t k = 0; k < 65536; ++k) map->update_user(&k, &k, kBpfAny);
    }
    uint32_t key = static_cast<uint32_t>(state.thread_index()) * 7919;
    for (auto _ : state) {
        key = (key + 1) & 65535;
        benchmark::DoNotOptimize(map->lookup(&key, 0));
    }
}
BENCHMARK(BM_HashLookup)->Threads(1)->Threads(2);

void BM_HashUpdateExisting(benchmark::State& state) {
    auto map = make(kMapHash, 4, 8, 1024);
    for (uint32_t k = 0; k < 1024; ++k) map->update_user(&k, &k, kBpfAny);
    uint32_t key = 0;
    uint64_t value = 1;
    for (auto _ : state) {
        key = (key + 1) & 1023;
        benchmark::DoNotOptimize(map->update(&key, &value, kBpfAny, 0));
    }
}
BENCHMARK(BM_HashUpdateExisting);

void BM_ArrayLookup(benchmark::State& state) {
    auto map = make(kMapArray, 4, 8, 256);
    uint32_t key = 0;
    for (auto _ : state) {
        key = (key + 1) & 255;
        benchmark::DoNotOptimize(map->lookup(&key, 0));
    }
}
BENCHMARK(BM_ArrayLookup);

void BM_LruUpdateEvicting(benchmark::State& state) {
    auto map = make(kMapLruHash, 4, 8, 1024);
    uint32_t key = 0;
    uint64_t value = 1;
    for (auto _ : state) {
        ++key;  // always a new key: every update evicts
        benchmark::DoNotOptimize(map->update(&key, &value, kBpfAny, 0));
    }
}
BENCHMARK(BM_LruUpdateEvicting);

void BM_LpmLookupIpv4(benchmark::State& state) {
    auto map = make(kMapLpmTrie, 8, 4, 4096, kFNoPrealloc);
    for (uint32_t i = 0; i < 4096; ++i) {
        uint8_t key[8];
        uint32_t plen = 16 + i % 17;
        std::memcpy(key, &plen, 4);
        key[4] = 10;
        key[5] = static_cast<uint8_t>(i);
        key[6] = static_cast<uint8_t>(i >> 8);
        key[7] = 0;
        map->update_user(key, &i, kBpfAny);
    }
    uint8_t key[8] = {32, 0, 0, 0, 10, 0, 0, 1};
    for (auto _ : state) {
        ++key[5];
        benchmark::DoNotOptimize(map->lookup(key, 0));
    }
}
BENCHMARK(BM_LpmLookupIpv4);

void BM_RingbufOutputAndConsume(benchmark::State& state) {
    auto map = make(kMapRingbuf, 0, 0, 1 << 20);
    RingBuffer& rb = *map->as_ringbuf();
    uint8_t record[64] = {};
    size_t n = 0;
    for (auto _ : state) {
        if (rb.output(record, sizeof record, kRbNoWakeup) != 0)
            rb.consume([&](std::span<const uint8_t>) {
                ++n;
                return 0;
            });
    }
    benchmark::DoNotOptimize(n);
}
BENCHMARK(BM_RingbufOutputAndConsume);

}  // namespace

BENCHMARK_MAIN();
