// Every instruction form under the JIT against the interpreter, on the values where machine code and
// the ISA part ways: division by zero and INT_MIN / -1, shift counts ≥ the width and 0, sign and zero
// extension at 8/16/32 bits, 32-bit results that must clear the upper half. Each program runs every
// value pair for one (op, dst, src) and stores every result in memory, then dumps all ten registers,
// so a clobbered bystander register (rax and rdx around div, rcx around shifts) shows up too. Register
// choices include r0 (rax), r3 (rdx) and r4 (rcx), the ones x86 instructions use implicitly.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstring>
#include <utility>

#include "tests/jit/jit_test_util.h"

namespace tcbpf::testing {
namespace {

const uint64_t kValues[] = {0,
                            1,
                            ~uint64_t{0},
                            0x7fffffff,
                            0x80000000,
                            0xffffffff,
                            0x100000000,
                            0x8000000000000000,
                            0x7fffffffffffffff,
                            0xffffffff80000000,
                            31,
                            32,
                            63,
                            64,
                            0xdeadbeefcafebabe,
                            0x12345678};
const int32_t kImms[] = {0, 1, -1, 2, 7, 31, 32, 63, 64, INT32_MIN, INT32_MAX, 0x12345, -0x80};

// Registers that are neither operand get these values, and the final dump shows they survived.
uint64_t bystander(int r) { return 0x1111111111111111ull * static_cast<uint64_t>(r + 1); }

// r1 (memory) and r2 (scratch) are never operands. Results go to [r1 + 8i]; the registers follow.
struct Builder {
    std::vector<Insn> insns;
    int results = 0;
    Builder() {
        for (int r : {0, 3, 4, 5, 6, 7, 8, 9}) insns.push_back(lddw(r, bystander(r)));
    }
    void record(int reg) { insns.push_back(stx(Op::STX_DW, 1, reg, 8 * results++)); }
    std::vector<Insn> finish() {
        for (int r : {0, 3, 4, 5, 6, 7, 8, 9}) record(r);
        insns.push_back(mov(0, 0));
        insns.push_back(exit_insn());
        return insns;
    }
    std::vector<uint8_t> memory() const { return std::vector<uint8_t>(8 * (results + 8), 0); }
};

const std::pair<int, int> kPairs[] = {{3, 5}, {0, 3}, {3, 0}, {4, 3}, {3, 4}, {0, 4}, {6, 6}, {0, 0}, {4, 4}, {9, 7}};
const int kDsts[] = {0, 3, 4, 6, 9};

bool is_alu(isa::Shape shape) { return shape == isa::Shape::AluK || shape == isa::Shape::AluX; }

TEST(JitInstructions, AluFormsMatchTheInterpreterOnEdgeValues) {
    for (const isa::OpInfo& row : isa::all_ops()) {
        if (!is_alu(row.shape)) continue;
        if (row.shape == isa::Shape::AluX) {
            for (auto [dst, src] : kPairs) {
                Builder b;
                for (uint64_t x : kValues)
                    for (uint64_t y : kValues) {
                        b.insns.push_back(lddw(src, y));
                        if (dst != src) b.insns.push_back(lddw(dst, x));
                        b.insns.push_back(alux(row.op, dst, src));
                        b.record(dst);
                    }
                SCOPED_TRACE(fmt::format("{} r{}, r{}", row.id, dst, src));
                const std::vector<Insn> insns = b.finish();
                expect_same(insns, b.memory());
            }
        } else {
            for (int dst : kDsts) {
                Builder b;
                for (uint64_t x : kValues)
                    for (int32_t imm : kImms) {
                        b.insns.push_back(lddw(dst, x));
                        b.insns.push_back(alu(row.op, dst, imm));
                        b.record(dst);
                    }
                SCOPED_TRACE(fmt::format("{} r{}, imm", row.id, dst));
                const std::vector<Insn> insns = b.finish();
                expect_same(insns, b.memory());
            }
        }
    }
}

TEST(JitInstructions, NegMovsxAndByteSwapsMatchTheInterpreter) {
    for (const isa::OpInfo& row : isa::all_ops()) {
        if (row.shape != isa::Shape::Neg && row.shape != isa::Shape::MovSx && row.shape != isa::Shape::End) continue;
        for (auto [dst, src] : kPairs) {
            Builder b;
            for (uint64_t x : kValues)
                for (uint64_t y : {uint64_t{0x80}, uint64_t{0x7f}, uint64_t{0x8000}, uint64_t{0xff80ff7f}, x}) {
                    b.insns.push_back(lddw(src, y));
                    if (dst != src) b.insns.push_back(lddw(dst, x));
                    Insn i = insn(row.op, dst, row.shape == isa::Shape::MovSx ? src : 0);
                    b.insns.push_back(i);
                    b.record(dst);
                }
            SCOPED_TRACE(fmt::format("{} r{}, r{}", row.id, dst, src));
            const std::vector<Insn> insns = b.finish();
            expect_same(insns, b.memory());
        }
    }
}

TEST(JitInstructions, ConditionalJumpsMatchTheInterpreter) {
    for (const isa::OpInfo& row : isa::all_ops()) {
        if (row.shape != isa::Shape::JccK && row.shape != isa::Shape::JccX) continue;
        for (auto [dst, src] : kPairs) {
            if (row.shape == isa::Shape::JccK && dst != src) continue;  // K forms: one register
            Builder b;
            for (uint64_t x : kValues) {
                const size_t inner = row.shape == isa::Shape::JccK ? std::size(kImms) : std::size(kValues);
                for (size_t j = 0; j < inner; ++j) {
                    if (row.shape == isa::Shape::JccX) b.insns.push_back(lddw(src, kValues[j]));
                    if (row.shape == isa::Shape::JccK || dst != src) b.insns.push_back(lddw(dst, x));
                    b.insns.push_back(mov(2, 0));
                    b.insns.push_back(row.shape == isa::Shape::JccK ? jmp(row.op, dst, kImms[j], 1)
                                                                    : jmpx(row.op, dst, src, 1));
                    b.insns.push_back(mov(2, 1));
                    b.record(2);
                }
            }
            SCOPED_TRACE(fmt::format("{} r{}, r{}", row.id, dst, src));
            const std::vector<Insn> insns = b.finish();
            expect_same(insns, b.memory());
        }
    }
}

TEST(JitInstructions, LoadsAndStoresOfEveryWidthMatchTheInterpreter) {
    for (const isa::OpInfo& row : isa::all_ops()) {
        if (row.shape != isa::Shape::Ldx && row.shape != isa::Shape::St && row.shape != isa::Shape::Stx) continue;
        for (auto [base, value] : {std::pair{6, 3}, std::pair{0, 4}, std::pair{4, 0}, std::pair{10, 5}}) {
            Builder b;
            for (uint64_t x : kValues) {
                const int16_t off = base == 10 ? -16 : 8 * 60;
                if (base != 10) {
                    b.insns.push_back(movx(base, 1));
                } else {
                    b.insns.push_back(st(Op::ST_DW, 10, -16, 0));
                    b.insns.push_back(st(Op::ST_DW, 10, -8, 0));
                }
                b.insns.push_back(lddw(value, x));
                if (row.shape == isa::Shape::Ldx) {
                    b.insns.push_back(stx(Op::STX_DW, base, value, off));
                    b.insns.push_back(ldx(row.op, value, base, off + 1));
                    b.record(value);
                } else {
                    b.insns.push_back(row.shape == isa::Shape::St ? st(row.op, base, off + 3, static_cast<int32_t>(x))
                                                                  : stx(row.op, base, value, off + 3));
                    b.insns.push_back(ldx(Op::LDX_DW, 2, base, off));
                    b.record(2);
                    b.insns.push_back(ldx(Op::LDX_DW, 2, base, off + 8));
                    b.record(2);
                }
                if (base != 10) b.insns.push_back(mov(base, 0));  // no pointer in the register dump
            }
            SCOPED_TRACE(fmt::format("{} base r{}, value r{}", row.id, base, value));
            const std::vector<Insn> insns = b.finish();
            std::vector<uint8_t> memory = b.memory();
            memory.resize(std::max<size_t>(memory.size(), 8 * 64), 0);
            expect_same(insns, memory);
        }
    }
}

TEST(JitInstructions, AtomicsMatchTheInterpreterWithR0AsAnyOperand) {
    for (const isa::OpInfo& row : isa::all_ops()) {
        if (row.shape != isa::Shape::Atomic) continue;
        const bool cmpxchg = row.op == Op::ATOMIC32_CMPXCHG || row.op == Op::ATOMIC64_CMPXCHG;
        for (auto [base, value] : {std::pair{6, 3}, std::pair{0, 3}, std::pair{6, 0}, std::pair{4, 5}}) {
            if (cmpxchg && (value == 0 || base == 0)) continue;  // r0 is the comparand and the result
            Builder b;
            for (uint64_t x : kValues) {
                for (uint64_t old : {uint64_t{0}, x, ~x, uint64_t{0x00000000ffffffff} & x}) {
                    b.insns.push_back(movx(base, 1));
                    b.insns.push_back(lddw(2, old));
                    b.insns.push_back(stx(Op::STX_DW, base, 2, 8 * 400));
                    b.insns.push_back(lddw(value, x));
                    if (base != 0 && value != 0) b.insns.push_back(lddw(0, cmpxchg ? old : 0x5555));
                    b.insns.push_back(atomic(row.op, base, value, 8 * 400));
                    b.insns.push_back(ldx(Op::LDX_DW, 2, base, 8 * 400));
                    b.record(2);
                    if (base != 0) b.record(0);
                    b.insns.push_back(mov(base, 0));
                    b.record(value);
                }
            }
            SCOPED_TRACE(fmt::format("{} base r{}, value r{}", row.id, base, value));
            const std::vector<Insn> insns = b.finish();
            std::vector<uint8_t> memory = b.memory();
            memory.resize(std::max<size_t>(memory.size(), 8 * 401), 0);
            expect_same(insns, memory);
        }
    }
}

TEST(JitInstructions, LddwLoadsEveryWidthOfConstant) {
    Builder b;
    for (uint64_t x : kValues) {
        for (int r : {0, 3, 9}) {
            b.insns.push_back(lddw(r, x));
            b.record(r);
        }
    }
    const std::vector<Insn> insns = b.finish();
    const RunResult result = expect_same(insns, b.memory());
    uint64_t first;
    std::memcpy(&first, result.memory.data() + 8 * 3 * 14, 8);
    EXPECT_EQ(first, 0xdeadbeefcafebabeull);
}

TEST(JitInstructions, FarAndNearJumpsBothLandOnTheirTargets) {
    // A forward jump over 200 instructions cannot use the 8-bit form; one over 2 can. Both, and a
    // backward loop, must land exactly.
    std::vector<Insn> insns = {mov(0, 0), mov(3, 10), jmp(Op::JEQ64_K, 0, 0, 200)};
    for (int i = 0; i < 200; ++i) insns.push_back(alu(Op::ADD64_K, 0, 1000));
    insns.push_back(alu(Op::ADD64_K, 0, 1));                  // loop: r0 += 1
    insns.push_back(alu(Op::SUB64_K, 3, 1));
    insns.push_back(jmp(Op::JNE64_K, 3, 0, -3));              // back to the add
    insns.push_back(jmp(Op::JGT64_K, 0, 5, 1));
    insns.push_back(mov(0, 99));
    insns.push_back(exit_insn());
    const isa::Program prog = program(insns);
    EXPECT_EQ(run_jit(prog, {}, {}).r0, 10u);
    EXPECT_EQ(run_interpreter(prog, {}, {}).r0, 10u);
}

// `rD = rS; rD += K` compiles to one lea: 64-bit and 32-bit pairs (the 32-bit sum wraps and clears the
// upper half), r10 as the source, and a jump onto the add, which must keep the two apart.
TEST(JitInstructions, CopyThenAddPairsGiveTheSumsAndJumpsOntoTheAddStillWork) {
    for (const int32_t k : {5, -5, INT32_MAX, INT32_MIN}) {
        SCOPED_TRACE(k);
        const RunResult r = expect_same({
            lddw(2, 0xfffffffffffffff0ull), movx(3, 2), alu(Op::ADD64_K, 3, k), stx(Op::STX_DW, 1, 3, 0),
            alux(Op::MOV32_X, 4, 2), alu(Op::ADD32_K, 4, k), stx(Op::STX_DW, 1, 4, 8),
            movx(5, 10), alu(Op::ADD64_K, 5, -8), stx(Op::STX_DW, 5, 2, 0), ldx(Op::LDX_DW, 6, 10, -8),
            stx(Op::STX_DW, 1, 6, 16),
            mov(7, 1), jmp(Op::JEQ64_K, 7, 1, 1),  // onto the add below, skipping the copy: r8 = 0 + k
            movx(8, 2), alu(Op::ADD64_K, 8, k), stx(Op::STX_DW, 1, 8, 24),
            mov(0, 0), exit_insn(),
        }, std::vector<uint8_t>(32, 0));
        uint64_t out[4];
        std::memcpy(out, r.memory.data(), sizeof out);
        EXPECT_EQ(out[0], 0xfffffffffffffff0ull + static_cast<uint64_t>(static_cast<int64_t>(k)));
        EXPECT_EQ(out[1], static_cast<uint32_t>(0xfffffff0u + static_cast<uint32_t>(k)));
        EXPECT_EQ(out[2], 0xfffffffffffffff0ull);
        EXPECT_EQ(out[3], static_cast<uint64_t>(static_cast<int64_t>(k)));  // r8 was 0, the copy skipped
    }
}

TEST(JitInstructions, AByteSwapRightAfterA16BitLoadStillClearsTheUpperBitsWhenAJumpLandsOnIt) {
    // [r1] = 0x3412 (little-endian 0x12 0x34). r3 = 0x34 load and swap: 0x1234. r4 = -1, then a jump
    // from the load's predecessor straight onto the swap: the swap alone must clear bits 16..63.
    std::vector<uint8_t> memory(32, 0);
    memory[0] = 0x12, memory[1] = 0x34;
    const RunResult r = expect_same({
        ldx(Op::LDX_H, 3, 1, 0), insn(Op::BE16, 3, 0, 0, 16), stx(Op::STX_DW, 1, 3, 8),
        mov(4, -1), mov(5, 1), jmp(Op::JEQ64_K, 5, 1, 1),  // taken: skips the load
        ldx(Op::LDX_H, 4, 1, 0), insn(Op::BE16, 4, 0, 0, 16), stx(Op::STX_DW, 1, 4, 16),
        mov(0, 0), exit_insn(),
    }, memory);
    uint64_t out[2];
    std::memcpy(out, r.memory.data() + 8, sizeof out);
    EXPECT_EQ(out[0], 0x1234u);
    EXPECT_EQ(out[1], 0xffffu);
}

TEST(JitInstructions, AComparisonOfAContextValueBetweenTwoConstantReturnsSelectsTheRightOne) {
    // r0 = [r1] (the context), if r0 OP K goto +2, r0 = A, exit, r0 = B, exit: compiled as a select
    // (more code at the jump than a compare and branch), answering what the interpreter answers for
    // every condition, both widths and constants of every kind.
    const uint64_t values[] = {0, 1, 999, 1000, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, ~0ull};
    const int32_t imms[] = {0, 1000, -1, INT32_MIN};
    const std::pair<Insn, Insn> returns[] = {{alu(Op::MOV32_K, 0, 0x40000), alu(Op::MOV32_K, 0, 0)},
                                             {mov(0, -1), alu(Op::MOV32_K, 0, -1)},
                                             {mov(0, 0), mov(0, INT32_MIN)}};
    for (const isa::OpInfo& row : isa::all_ops()) {
        if (row.shape != isa::Shape::JccK) continue;
        for (const auto& [a, b] : returns)
            for (int32_t imm : imms) {
                const std::vector<Insn> insns{ldx(Op::LDX_DW, 0, 1, 0), jmp(row.op, 0, imm, 2), a, exit_insn(), b, exit_insn()};
                const auto compiled = jit::Program::compile(program(insns), {});
                EXPECT_GT(compiled->insn_offsets()[2] - compiled->insn_offsets()[1], 16u) << row.id << ": not a select";
                for (uint64_t value : values) {
                    std::vector<uint8_t> memory(8);
                    std::memcpy(memory.data(), &value, 8);
                    SCOPED_TRACE(fmt::format("{} #{} with r0 = {:#x}", row.id, imm, value));
                    expect_same(insns, memory);
                }
            }
    }
}

TEST(JitInstructions, CodeIsCompactForAnEmptyProgram) {
    const auto compiled = jit::Program::compile(program({mov(0, 0), exit_insn()}), {});
    vm::Context cx;
    EXPECT_EQ(compiled->run(cx, 1, 2), 0u);
    // entry (call + ret) and body (xor eax, eax + ret): a handful of bytes, no stack set-up.
    EXPECT_LE(compiled->code_size(), 16u);
}

}  // namespace
}  // namespace tcbpf::testing
