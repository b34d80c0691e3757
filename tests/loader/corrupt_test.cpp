// Corrupt input never crashes the loader: every compiled object truncated at many lengths and with
// seeded random byte flips must either load or throw tcbpf::Error. Run under ASan
// (-DTCBPF_SANITIZE=ON) this also proves no out-of-bounds reads.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "objects.h"

namespace tcbpf::loader::test {
namespace {

enum class Outcome { Loaded, Rejected };

Outcome try_load(const std::vector<uint8_t>& bytes) {
    try {
        const Object o = load_object_bytes(bytes, "corrupt.o");
        return Outcome::Loaded;
    } catch (const Error&) {
        return Outcome::Rejected;
    }
}

class Corrupt : public ::testing::TestWithParam<std::string> {};

TEST_P(Corrupt, EveryTruncationLoadsOrThrows) {
    TCBPF_REQUIRE_OBJECTS();
    const auto bytes = read_bytes(object_path(GetParam()));
    ASSERT_GT(bytes.size(), 64u);
    size_t rejected = 0;
    const size_t step = std::max<size_t>(1, bytes.size() / 1500);
    for (size_t len = 0; len < bytes.size(); len += (len < 256 ? 1 : step)) {
        const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + len);
        if (try_load(cut) == Outcome::Rejected) ++rejected;
    }
    // The section header table sits at the end, so every proper prefix is truncated.
    EXPECT_GT(rejected, 0u);
    EXPECT_EQ(try_load(bytes), Outcome::Loaded);
}

TEST_P(Corrupt, SeededByteFlipsLoadOrThrow) {
    TCBPF_REQUIRE_OBJECTS();
    const auto bytes = read_bytes(object_path(GetParam()));
    std::mt19937 rng(0x7cbbf);
    std::uniform_int_distribution<size_t> where(0, bytes.size() - 1);
    std::uniform_int_distribution<int> value(0, 255), count(1, 4);
    size_t rejected = 0;
    for (int round = 0; round < 1500; ++round) {
        std::vector<uint8_t> mutated = bytes;
        for (int n = count(rng); n > 0; --n) mutated[where(rng)] = static_cast<uint8_t>(value(rng));
        if (try_load(mutated) == Outcome::Rejected) ++rejected;
    }
    EXPECT_GT(rejected, 0u);
}

TEST_P(Corrupt, FlipsInsideTheSectionTableLoadOrThrow) {
    // Random flips mostly land in DWARF; aim at the headers and tables the loader actually interprets.
    TCBPF_REQUIRE_OBJECTS();
    const auto bytes = read_bytes(object_path(GetParam()));
    uint64_t shoff;
    std::memcpy(&shoff, bytes.data() + 0x28, sizeof shoff);
    ASSERT_LT(shoff, bytes.size());
    std::mt19937 rng(42);
    std::uniform_int_distribution<size_t> where(shoff, bytes.size() - 1);
    std::uniform_int_distribution<int> value(0, 255);
    for (int round = 0; round < 1500; ++round) {
        std::vector<uint8_t> mutated = bytes;
        mutated[where(rng)] = static_cast<uint8_t>(value(rng));
        try_load(mutated);
    }
}

INSTANTIATE_TEST_SUITE_P(Objects, Corrupt,
                         ::testing::Values("legacy_maps", "legacy_mapdef", "btf_maps", "global_data", "calls"));

}  // namespace
}  // namespace tcbpf::loader::test
