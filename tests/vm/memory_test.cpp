// Loads, stores and atomics (isa.md §4), on caller memory registered as a region and on the stack.
#include <gtest/gtest.h>

#include <cstring>

#include "tests/vm/vm_test_util.h"

namespace tcbpf::testing {
namespace {

uint64_t addr(const void* p) { return reinterpret_cast<uint64_t>(p); }

struct LoadCase {
    Op op;
    int off;  // relative to the middle of the buffer
    uint64_t expected;
};

TEST(Load, ZeroAndSignExtendPerWidth) {
    // Little-endian memory: bytes 80 ff 01 80 ff ff ff ff | 00 00 00 80 ...
    alignas(8) uint8_t buf[16] = {0x80, 0xff, 0x01, 0x80, 0xff, 0xff, 0xff, 0xff,
                                  0x00, 0x00, 0x00, 0x80, 0x11, 0x22, 0x33, 0x44};
    const LoadCase cases[] = {
        {Op::LDX_B, -8, 0x80},
        {Op::LDXS_B, -8, 0xffffffffffffff80},
        {Op::LDXS_B, -6, 0x01},
        {Op::LDX_H, -8, 0xff80},
        {Op::LDXS_H, -8, 0xffffffffffffff80},
        {Op::LDXS_H, -7, 0x01ff},
        {Op::LDX_W, -8, 0x8001ff80},
        {Op::LDXS_W, -8, 0xffffffff8001ff80},
        {Op::LDXS_W, 4, 0x44332211},
        {Op::LDX_DW, -8, 0xffffffff8001ff80},
        {Op::LDX_DW, 0, 0x4433221180000000},
        {Op::LDX_W, 1, 0x11800000},  // unaligned
    };
    for (const LoadCase& c : cases) {
        const uint64_t got = eval({lddw(0, 0xdeadbeefdeadbeef), ldx(c.op, 0, 1, c.off), exit_insn()},
                                  addr(buf + 8), 0, {region_of(buf, sizeof buf, false, "buf")});
        EXPECT_EQ(got, c.expected) << isa::info(c.op).id << " at " << c.off;
    }
}

TEST(Store, ImmediateStoresWriteOnlyTheirWidth) {
    struct Case {
        Op op;
        int32_t imm;
        uint8_t expected[9];  // the 8 bytes at r1 plus the byte after
    };
    const Case cases[] = {
        {Op::ST_B, 0x1234, {0x34, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa}},
        {Op::ST_H, -2, {0xfe, 0xff, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa}},
        {Op::ST_W, -1, {0xff, 0xff, 0xff, 0xff, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa}},
        {Op::ST_DW, -1, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xaa}},  // (s64)imm
        {Op::ST_DW, 0x7fffffff, {0xff, 0xff, 0xff, 0x7f, 0x00, 0x00, 0x00, 0x00, 0xaa}},
    };
    for (const Case& c : cases) {
        uint8_t buf[9];
        std::memset(buf, 0xaa, sizeof buf);
        eval({st(c.op, 1, 0, c.imm), mov(0, 0), exit_insn()}, addr(buf), 0,
             {region_of(buf, sizeof buf, true, "buf")});
        EXPECT_EQ(0, std::memcmp(buf, c.expected, sizeof buf)) << isa::info(c.op).id;
    }
}

TEST(Store, RegisterStoresWriteTheLowBitsOfSrc) {
    const Op ops[] = {Op::STX_B, Op::STX_H, Op::STX_W, Op::STX_DW};
    const size_t widths[] = {1, 2, 4, 8};
    for (int i = 0; i < 4; ++i) {
        uint8_t buf[10];
        std::memset(buf, 0xaa, sizeof buf);
        // Negative off: r1 points 2 bytes past the start.
        eval({lddw(2, 0x8877665544332211), stx(ops[i], 1, 2, -2), mov(0, 0), exit_insn()}, addr(buf + 2), 0,
             {region_of(buf, sizeof buf, true, "buf")});
        const uint8_t value[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
        EXPECT_EQ(0, std::memcmp(buf, value, widths[i])) << isa::info(ops[i]).id;
        for (size_t b = widths[i]; b < sizeof buf; ++b) EXPECT_EQ(buf[b], 0xaa) << isa::info(ops[i]).id << " byte " << b;
    }
}

TEST(Stack, R10IsTheTopOfA512ByteFrame) {
    // Store at the lowest and highest 8 bytes of the frame and read them back.
    EXPECT_EQ(eval({mov(1, 40), stx(Op::STX_DW, 10, 1, -512), mov(1, 2), stx(Op::STX_DW, 10, 1, -8),
                    ldx(Op::LDX_DW, 0, 10, -512), ldx(Op::LDX_DW, 2, 10, -8), alux(Op::ADD64_X, 0, 2),
                    exit_insn()}),
              42u);
}

// ---- atomics ----

struct AtomicCase {
    Op op;
    uint64_t memory_before;
    uint64_t src_before;
    uint64_t memory_after;
    uint64_t src_after;
};

// Names a failing case in test output instead of dumping its bytes.
void PrintTo(const AtomicCase& c, std::ostream* os) { *os << "{" << isa::info(c.op).id << ", memory 0x" << std::hex << c.memory_before << ", src 0x" << c.src_before << "}"; }

class Atomic : public ::testing::TestWithParam<AtomicCase> {};

// r2 = src; atomic op at *(r1 - 8); return r2 — the memory is checked after each run.
TEST_P(Atomic, UpdatesMemoryAndFetches) {
    const AtomicCase& c = GetParam();
    const bool is32 = isa::is_32bit(c.op);
    for (const bool checked : {false, true}) {
        alignas(8) uint64_t cell[3] = {0xaaaaaaaaaaaaaaaa, c.memory_before, 0xaaaaaaaaaaaaaaaa};
        auto prog = vm::Program::prepare(
            program({lddw(2, c.src_before), atomic(c.op, 1, 2, -8), movx(0, 2), exit_insn()}), {},
            {.checked = checked});
        vm::Context cx;
        cx.regions = {region_of(cell, sizeof cell, true, "cells")};
        EXPECT_EQ(prog->run(cx, addr(&cell[2])), c.src_after) << "checked " << checked;
        EXPECT_EQ(cx.fault, vm::Fault::None) << cx.fault_detail;
        const uint64_t expected_cell = is32 ? (c.memory_before & 0xffffffff00000000) | c.memory_after : c.memory_after;
        EXPECT_EQ(cell[1], expected_cell) << std::hex << "checked " << checked;
        EXPECT_EQ(cell[0], 0xaaaaaaaaaaaaaaaa);
        EXPECT_EQ(cell[2], 0xaaaaaaaaaaaaaaaa);
    }
}

// clang-format off
const AtomicCase kAtomicCases[] = {
    // 32-bit forms use and write only the low word (memory_after is that word); fetched values are
    // zero-extended, non-fetch forms leave src alone.
    {Op::ATOMIC32_ADD, 0x11111111ffffffff, 0xffffffff00000001, 0, 0xffffffff00000001},
    {Op::ATOMIC32_OR, 0x1111111100000f00, 0x00f0, 0x0ff0, 0x00f0},
    {Op::ATOMIC32_AND, 0x1111111100000ff0, 0xffffffff000000ff, 0xf0, 0xffffffff000000ff},
    {Op::ATOMIC32_XOR, 0x11111111ffffffff, 0x0f, 0xfffffff0, 0x0f},
    {Op::ATOMIC32_FETCH_ADD, 0x11111111fffffffe, 0xdead000000000003, 1, 0xfffffffe},
    {Op::ATOMIC32_FETCH_OR, 0x1111111180000000, 1, 0x80000001, 0x80000000},
    {Op::ATOMIC32_FETCH_AND, 0x11111111000000ff, 0x0f, 0x0f, 0xff},
    {Op::ATOMIC32_FETCH_XOR, 0x11111111000000ff, 0xff, 0, 0xff},
    {Op::ATOMIC32_XCHG, 0x11111111cafef00d, 0xffffffff00000007, 7, 0xcafef00d},
    // ---- 64-bit ----
    {Op::ATOMIC64_ADD, 0xffffffff, 1, 0x100000000, 1},
    {Op::ATOMIC64_OR, 0xf000000000000000, 0x0f, 0xf00000000000000f, 0x0f},
    {Op::ATOMIC64_AND, 0xff000000000000ff, 0x0f0000000000000f, 0x0f0000000000000f, 0x0f0000000000000f},
    {Op::ATOMIC64_XOR, ~uint64_t{0}, 0xff, 0xffffffffffffff00, 0xff},
    {Op::ATOMIC64_FETCH_ADD, 10, 5, 15, 10},
    {Op::ATOMIC64_FETCH_OR, 0x100000000, 1, 0x100000001, 0x100000000},
    {Op::ATOMIC64_FETCH_AND, 0xff00ff00ff00ff00, 0xffff0000ffff0000, 0xff000000ff000000, 0xff00ff00ff00ff00},
    {Op::ATOMIC64_FETCH_XOR, 0xf0f0f0f0f0f0f0f0, 0xffffffffffffffff, 0x0f0f0f0f0f0f0f0f, 0xf0f0f0f0f0f0f0f0},
    {Op::ATOMIC64_XCHG, 0x1122334455667788, 42, 42, 0x1122334455667788},
};
// clang-format on

std::string atomic_name(const ::testing::TestParamInfo<AtomicCase>& info) {
    return std::string(isa::info(info.param.op).id) + "_" + std::to_string(info.index);
}
INSTANTIATE_TEST_SUITE_P(Rows, Atomic, ::testing::ValuesIn(kAtomicCases), atomic_name);

struct CmpxchgCase {
    Op op;
    uint64_t memory_before;
    uint64_t r0_before;
    uint64_t memory_after;  // 32-bit: the low word
    uint64_t r0_after;
};

TEST(Cmpxchg, StoresOnlyOnMatchAndAlwaysReturnsTheOldValueInR0) {
    const uint64_t src = 0xffffffff0000abcd;  // 32-bit forms store its low word
    const CmpxchgCase cases[] = {
        {Op::ATOMIC64_CMPXCHG, 7, 7, src, 7},                 // success
        {Op::ATOMIC64_CMPXCHG, 7, 8, 7, 7},                   // failure: memory kept, r0 = old
        {Op::ATOMIC64_CMPXCHG, 0x100000007, 7, 0x100000007, 0x100000007},
        {Op::ATOMIC32_CMPXCHG, 0x2222222200000007, 0xffffffff00000007, 0xabcd, 7},  // compares low words
        {Op::ATOMIC32_CMPXCHG, 0x22222222fffffff0, 1, 0xfffffff0, 0xfffffff0},   // zero-extended old
    };
    for (const CmpxchgCase& c : cases) {
        for (const bool checked : {false, true}) {
            alignas(8) uint64_t cell = c.memory_before;
            auto prog = vm::Program::prepare(program({lddw(0, c.r0_before), lddw(2, src), atomic(c.op, 1, 2, 0), exit_insn()}),
                                             {}, {.checked = checked});
            vm::Context cx;
            cx.regions = {region_of(&cell, sizeof cell, true, "cell")};
            EXPECT_EQ(prog->run(cx, addr(&cell)), c.r0_after) << isa::info(c.op).id;
            const bool is32 = c.op == Op::ATOMIC32_CMPXCHG;
            EXPECT_EQ(cell, is32 ? (c.memory_before & 0xffffffff00000000) | c.memory_after : c.memory_after)
                << std::hex << isa::info(c.op).id << " r0 0x" << c.r0_before;
        }
    }
}

TEST(Cmpxchg, LeavesSrcUnchanged) {
    alignas(8) uint64_t cell = 5;
    EXPECT_EQ(eval({mov(0, 5), mov(2, 9), atomic(Op::ATOMIC64_CMPXCHG, 1, 2, 0), movx(0, 2), exit_insn()}, addr(&cell),
                   0, {region_of(&cell, sizeof cell, true, "cell")}),
              9u);
}

TEST(AtomicTable, EveryAtomicRowHasACase) {
    std::vector<bool> covered(isa::kOpCount, false);
    for (const AtomicCase& c : kAtomicCases) covered[static_cast<size_t>(c.op)] = true;
    covered[static_cast<size_t>(Op::ATOMIC32_CMPXCHG)] = covered[static_cast<size_t>(Op::ATOMIC64_CMPXCHG)] = true;
    for (const isa::OpInfo& row : isa::all_ops()) {
        if (row.shape == isa::Shape::Atomic) {
            EXPECT_TRUE(covered[static_cast<size_t>(row.op)]) << row.id;
        }
    }
}

}  // namespace
}  // namespace tcbpf::testing
