// Random sets of concrete 64-bit values with the shapes verifier facts have in real programs: a few
// values differing in chosen bits (a tnum), a short interval, values around the signed/unsigned and 32-bit
// boundaries, or anything. Property tests abstract such a set, run an abstract operation and check every
// concrete result against the abstract one.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace tcbpf::verifier::test {

inline uint64_t interesting_value(std::mt19937_64& rng) {
    static constexpr uint64_t kEdges[] = {0,
                                          1,
                                          2,
                                          7,
                                          0xff,
                                          0x7fff,
                                          0xffff,
                                          0x7fffffff,
                                          0x80000000,
                                          0xffffffff,
                                          0x100000000,
                                          0x7fffffffffffffff,
                                          0x8000000000000000,
                                          0xfffffffffffffffe,
                                          0xffffffffffffffff,
                                          0xffffffff80000000,
                                          0xffffffff7fffffff};
    switch (rng() % 4) {
        case 0: return kEdges[rng() % std::size(kEdges)];
        case 1: return kEdges[rng() % std::size(kEdges)] + (rng() % 9) - 4;
        case 2: return rng() % 64;
        default: return rng();
    }
}

// 1..8 values sharing a random structure.
inline std::vector<uint64_t> sample_set(std::mt19937_64& rng) {
    std::vector<uint64_t> out;
    size_t count = 1 + rng() % 8;
    uint64_t base = interesting_value(rng);
    switch (rng() % 4) {
        case 0: {  // a tnum: a few unknown bits
            uint64_t mask = 0;
            for (int i = 0, n = 1 + static_cast<int>(rng() % 5); i < n; ++i) mask |= uint64_t{1} << (rng() % 64);
            if (rng() % 2) mask = rng() & (rng() % 2 ? 0xff : 0xffffffff);
            for (size_t i = 0; i < count; ++i) out.push_back((base & ~mask) | (rng() & mask));
            break;
        }
        case 1: {  // a short interval
            uint64_t width = 1 + rng() % (rng() % 2 ? 16 : 100000);
            for (size_t i = 0; i < count; ++i) out.push_back(base + rng() % width);
            break;
        }
        case 2:  // unrelated values
            for (size_t i = 0; i < count; ++i) out.push_back(interesting_value(rng));
            break;
        default:  // a constant
            out.push_back(base);
            break;
    }
    return out;
}

}  // namespace tcbpf::verifier::test
