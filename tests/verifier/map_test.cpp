// Direct map-value addresses (global data) against maps given by index, as the loader references them.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tcbpf/asm.h"
#include "tcbpf/verifier.h"
#include "tests/verifier/map_cases.h"

namespace tcbpf::verifier {
namespace {

Options two_arrays() {
    Options options;
    options.maps.push_back(MapInfo{2, 4, 16, 1, 0});
    options.maps.push_back(MapInfo{2, 4, 16, 1, 0x80});
    return options;
}

TEST(MapValue, CasesGiveTheStatedVerdictAndMessage) {
    Options options = two_arrays();
    for (const test::MapCase& c : test::kMapCases) {
        SCOPED_TRACE(c.name);
        std::string text = fmt::format(fmt::runtime(c.text), c.read_only_map ? "map[idx:1]" : "map[idx:0]");
        Result r = verify(isa::assemble(text), options);
        if (c.message[0] == '\0') {
            EXPECT_TRUE(r.ok) << r.message;
        } else {
            EXPECT_FALSE(r.ok);
            EXPECT_EQ(r.message, c.message);
            EXPECT_EQ(r.insn_idx, c.insn_idx);
        }
    }
}

TEST(MapValue, LookupResultsPointIntoTheMapThatWasLookedUp) {
    // Map 0 has 4-byte values, map 1 8-byte ones: an 8-byte read is fine only through map 1.
    Options options;
    options.maps.push_back(MapInfo{3, 4, 4, 3, 0});
    options.maps.push_back(MapInfo{2, 4, 8, 3, 0});
    const char* text = "r2 = 0\n*(u32 *)(r10 - 4) = r2\nr2 = r10\nr2 += -4\nr1 = map[idx:{}] ll\ncall 1\n"
                       "if r0 == 0 goto +1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit\n";
    EXPECT_TRUE(verify(isa::assemble(fmt::format(fmt::runtime(text), 1)), options).ok);
    options.maps[0].type = 2;
    Result r = verify(isa::assemble(fmt::format(fmt::runtime(text), 0)), options);
    EXPECT_EQ(r.message, "invalid access to map value, value_size=4 off=0 size=8\nR0 min value is outside of the allowed memory range");
}

TEST(MapValue, ProgramArraysCannotBeLookedUp) {
    Options options;
    options.maps.push_back(MapInfo{3, 4, 4, 3, 0});
    Result r = verify(isa::assemble("r2 = r10\nr2 += -4\nr1 = map[idx:0] ll\ncall 1\nr0 = 0\nexit\n"), options);
    EXPECT_EQ(r.message, "cannot pass map_type 3 into func bpf_map_lookup_elem#1");
}

TEST(TailCall, NeedsAProgramArrayAndLeavesR0Unset) {
    Options options;
    options.maps.push_back(MapInfo{3, 4, 4, 3, 0});  // prog array
    options.maps.push_back(MapInfo{2, 4, 8, 3, 0});  // array
    Result ok = verify(isa::assemble("r2 = map[idx:0] ll\nr3 = 1\ncall 12\nr0 = 0\nexit\n"), options);
    EXPECT_TRUE(ok.ok) << ok.message;
    Result unset = verify(isa::assemble("r2 = map[idx:0] ll\nr3 = 1\ncall 12\nexit\n"), options);
    EXPECT_EQ(unset.message, "R0 !read_ok");
    Result wrong = verify(isa::assemble("r2 = map[idx:1] ll\nr3 = 1\ncall 12\nr0 = 0\nexit\n"), options);
    EXPECT_EQ(wrong.message, "expected prog array map for tail call");
    Result no_index = verify(isa::assemble("r2 = map[idx:0] ll\ncall 12\nr0 = 0\nexit\n"), options);
    EXPECT_EQ(no_index.message, "R3 !read_ok");
}

TEST(MapValue, ReferencesMustNameAKnownMap) {
    Result r = verify(isa::assemble("r1 = map[idx:2] ll\nr0 = 0\nexit\n"), two_arrays());
    EXPECT_EQ(r.message, "map index 2 is not one of the program's 2 maps");
    r = verify(isa::assemble("r1 = map[fd:9] ll\nr0 = 0\nexit\n"), two_arrays());
    EXPECT_EQ(r.message, "fd 9 is not pointing to valid bpf_map");
    // The kernel resolves every map reference before exploring: one in dead code is refused too.
    r = verify(isa::assemble("r0 = 0\nif r0 == 0 goto +2\nr1 = map[fd:9] ll\nexit\n"), two_arrays());
    EXPECT_EQ(r.message, "fd 9 is not pointing to valid bpf_map");
    EXPECT_EQ(r.insn_idx, 2u);
}

TEST(MapValue, DeadCodeMayCallHelpersNoKernelHas) {
    Result r = verify(isa::assemble("r0 = 0\nif r0 == 0 goto +1\ncall 99999\nexit\n"), two_arrays());
    EXPECT_TRUE(r.ok) << r.message;
    EXPECT_FALSE(r.insn_seen[2]);
}

TEST(MapValue, MapPointersOnlyMoveByZero) {
    Result r = verify(isa::assemble("r1 = map[idx:0] ll\nr1 += 0\nr1 += 8\nr0 = 0\nexit\n"), two_arrays());
    EXPECT_EQ(r.message, "R1 pointer arithmetic on map_ptr prohibited");
    EXPECT_EQ(r.insn_idx, 3u);
}

TEST(MapValue, DirectAddressesNeedAOneEntryArray) {
    Options options;
    options.maps.push_back(MapInfo{1, 4, 16, 8, 0});  // hash
    Result r = verify(isa::assemble("r1 = map[idx:0][0]+0 ll\nr0 = 0\nexit\n"), options);
    EXPECT_EQ(r.message,
              "not supported yet: direct value addresses of maps other than one-entry arrays (insn 0)");
}

}  // namespace
}  // namespace tcbpf::verifier
