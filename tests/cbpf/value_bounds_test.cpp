// What the conversion proves about A and X: the bounds of X it relies on to read indexed loads
// directly (each test a program and the largest value X can hold at each instruction), and whether A
// or X is ever read before written (only then does the conversion set it to 0 first).
#include <gtest/gtest.h>

#include "cbpf/value_bounds.h"

using namespace tcbpf;
using cbpf::kUnbounded;

TEST(CbpfValueBounds, HeaderLengthLoadsBoundXBySixty) {
    // ldxb 4*([14]&0xf); ldh [x + 14]; ret a
    EXPECT_EQ(cbpf::x_upper_bounds({{0xb1, 0, 0, 14}, {0x48, 0, 0, 14}, {0x16, 0, 0, 0}}),
              (std::vector<uint64_t>{0, 60, 60}));
}

TEST(CbpfValueBounds, ValuesCarryThroughAAndScratchWords) {
    // ldb [23]; and #0x3f; add #4; st M[3]; ldx M[3]; txa; rsh #1; tax; ret a
    EXPECT_EQ(cbpf::x_upper_bounds({{0x30, 0, 0, 23}, {0x54, 0, 0, 0x3f}, {0x04, 0, 0, 4}, {0x02, 0, 0, 3},
                                    {0x61, 0, 0, 3}, {0x87, 0, 0, 0}, {0x74, 0, 0, 1}, {0x07, 0, 0, 0},
                                    {0x16, 0, 0, 0}}),
              (std::vector<uint64_t>{0, 0, 0, 0, 0, 0x43, 0x43, 0x43, 0x21}));
}

TEST(CbpfValueBounds, AJoinTakesTheLargerBoundOfItsPaths) {
    // 0: ldb [0]; 1: jeq #1 jt 2 jf 4; 2: ldx #100; 3: ja 5; 4: ldxb 4*([14]&0xf); 5: ret a
    EXPECT_EQ(cbpf::x_upper_bounds({{0x30, 0, 0, 0}, {0x15, 0, 2, 1}, {0x01, 0, 0, 100}, {0x05, 0, 0, 1},
                                    {0xb1, 0, 0, 14}, {0x16, 0, 0, 0}}),
              (std::vector<uint64_t>{0, 0, 0, 100, 0, 100}));
}

TEST(CbpfValueBounds, WhatCannotBeBoundedIsUnbounded) {
    // ld [0] (32 bits); tax; ldx len; ldx #5; txa; sub #1 (wraps below 0); tax; ret a. Nothing reaches
    // the last instruction (ret #0 before it), so its X is unbounded too.
    EXPECT_EQ(cbpf::x_upper_bounds({{0x20, 0, 0, 0}, {0x07, 0, 0, 0}, {0x81, 0, 0, 0}, {0x01, 0, 0, 5},
                                    {0x87, 0, 0, 0}, {0x14, 0, 0, 1}, {0x07, 0, 0, 0}, {0x06, 0, 0, 0},
                                    {0x16, 0, 0, 0}}),
              (std::vector<uint64_t>{0, 0, kUnbounded, kUnbounded, 5, 5, 5, kUnbounded, kUnbounded}));
}

TEST(CbpfInitialReads, OnlyAPathThatReadsBeforeWritingCounts) {
    // ldb [0]; tax; txa; ret a: both written first.
    auto reads = cbpf::initial_reads({{0x30, 0, 0, 0}, {0x07, 0, 0, 0}, {0x87, 0, 0, 0}, {0x16, 0, 0, 0}});
    EXPECT_FALSE(reads.a);
    EXPECT_FALSE(reads.x);
    // 0: ldb [0]; 1: jeq #1 jt 2 jf 3; 2: ldx #4; 3: txa; 4: ret a — the path 1 → 3 reads X unwritten.
    reads = cbpf::initial_reads({{0x30, 0, 0, 0}, {0x15, 0, 1, 1}, {0x01, 0, 0, 4}, {0x87, 0, 0, 0}, {0x16, 0, 0, 0}});
    EXPECT_FALSE(reads.a);
    EXPECT_TRUE(reads.x);
    // ld mark (ancillary loads count as reading both); ret a.
    reads = cbpf::initial_reads({{0x20, 0, 0, 0xfffff000u + cbpf::kAdMark}, {0x16, 0, 0, 0}});
    EXPECT_TRUE(reads.a);
    EXPECT_TRUE(reads.x);
    // jeq #0 jt 0 jf 0 reads A; ret #0.
    EXPECT_TRUE(cbpf::initial_reads({{0x15, 0, 0, 0}, {0x06, 0, 0, 0}}).a);
}
