// Corrupt input never crashes the loader: every compiled object truncated at many lengths and with
// seeded random byte flips must either load or throw tcbpf::Error. Run under ASan
// (-DTCBPF_SANITIZE=ON) this also proves no out-of-bounds reads.
#include <bpf/libbpf.h>
#include <elf.h>
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

// Byte ranges of the sections the loader interprets (everything except DWARF), plus the section table.
std::vector<std::pair<size_t, size_t>> interpreted_ranges(const std::vector<uint8_t>& bytes) {
    Elf64_Ehdr eh;
    std::memcpy(&eh, bytes.data(), sizeof eh);
    std::vector<Elf64_Shdr> headers(eh.e_shnum);
    std::memcpy(headers.data(), bytes.data() + eh.e_shoff, eh.e_shnum * sizeof(Elf64_Shdr));
    const char* names = reinterpret_cast<const char*>(bytes.data() + headers[eh.e_shstrndx].sh_offset);
    std::vector<std::pair<size_t, size_t>> out{{eh.e_shoff, eh.e_shnum * sizeof(Elf64_Shdr)}};
    for (const Elf64_Shdr& h : headers) {
        const std::string name = names + h.sh_name;
        if (h.sh_type == SHT_NOBITS || h.sh_size == 0 || name.find(".debug") != std::string::npos) continue;
        out.emplace_back(h.sh_offset, h.sh_size);
    }
    return out;
}

class Corrupt : public ::testing::TestWithParam<std::string> {
   protected:
    // libbpf reports each malformed BTF it rejects on stderr; thousands of those drown the test log.
    void SetUp() override { previous_ = libbpf_set_print(nullptr); }
    void TearDown() override { libbpf_set_print(previous_); }

   private:
    libbpf_print_fn_t previous_ = nullptr;
};

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

TEST_P(Corrupt, FlipsInInterpretedSectionsLoadOrThrow) {
    // Random flips mostly land in DWARF; aim at the section table, code, relocations, symbols, maps, BTF.
    TCBPF_REQUIRE_OBJECTS();
    const auto bytes = read_bytes(object_path(GetParam()));
    const auto ranges = interpreted_ranges(bytes);
    std::mt19937 rng(42);
    std::uniform_int_distribution<size_t> pick(0, ranges.size() - 1);
    std::uniform_int_distribution<int> value(0, 255), count(1, 3);
    size_t rejected = 0;
    for (int round = 0; round < 3000; ++round) {
        std::vector<uint8_t> mutated = bytes;
        for (int n = count(rng); n > 0; --n) {
            const auto& [offset, size] = ranges[pick(rng)];
            mutated[offset + std::uniform_int_distribution<size_t>(0, size - 1)(rng)] = static_cast<uint8_t>(value(rng));
        }
        if (try_load(mutated) == Outcome::Rejected) ++rejected;
    }
    EXPECT_GT(rejected, 300u) << "flips in interpreted data should often be detected";
}

INSTANTIATE_TEST_SUITE_P(Objects, Corrupt,
                         ::testing::Values("legacy_maps", "legacy_mapdef", "btf_maps", "global_data", "calls"));

}  // namespace
}  // namespace tcbpf::loader::test
