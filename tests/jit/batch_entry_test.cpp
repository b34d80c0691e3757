// jit::Program::batch_entry: one call runs a program once per frame, each run's context made of that
// frame's pointers and length. Every result must be what direct_entry gives the same program with a
// real context holding the frame (the low 32 bits, as bpf_prog_run returns them), whatever the program
// uses (its stack, divisions and shifts by register, which take the JIT's scratch registers), with
// blinded constants and zeroed frames too; and programs the loop cannot serve get no batch entry.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "tests/jit/jit_test_util.h"

namespace tcbpf::testing {
namespace {

// The context the test programs read: the packet fields where FrameFields kFields says.
struct PacketContext {
    uint64_t data;
    uint64_t data_end;
    uint32_t len;
    uint32_t unused;
};
constexpr jit::FrameFields kFields{.data = 0, .data_end = 8, .len = 16};

// r0 = len, then (non-empty frames) mixed with the first byte through the stack, a division by
// register, a shift by register, and a constant above 32 bits that the stored result drops.
const std::vector<Insn> kMixer{
    movx(0, 2),                          // r2 is 0 on entry: the loop must zero it per run
    ldx(Op::LDX_DW, 3, 1, 0),            // data
    ldx(Op::LDX_DW, 4, 1, 8),            // data_end
    ldx(Op::LDX_W, 5, 1, 16),            // len
    alux(Op::ADD64_X, 0, 5),
    jmpx(Op::JGE64_X, 3, 4, 10),         // empty frame: on to the lddw with r0 = len = 0
    ldx(Op::LDX_B, 4, 3, 0),
    stx(Op::STX_DW, 10, 4, -8),
    ldx(Op::LDX_DW, 4, 10, -8),
    alu(Op::LSH64_K, 0, 8),
    alux(Op::OR64_X, 0, 4),
    alu(Op::ADD64_K, 4, 1),
    movx(5, 0),
    alux(Op::DIV64_X, 5, 4),             // r5 = r0 / (byte + 1)
    alux(Op::XOR64_X, 0, 5),
    alux(Op::LSH64_X, 0, 4),             // shift count in rcx (r4)
    lddw(3, 0x500000000ull),
    alux(Op::ADD64_X, 0, 3),
    exit_insn(),
};

std::vector<std::vector<uint8_t>> test_frames() {
    std::vector<std::vector<uint8_t>> frames{{}, {0}, {0xff}, {7, 1, 2}};
    for (uint32_t n = 0; n < 60; ++n) {
        std::vector<uint8_t> bytes(n * 7 % 97 + 1);
        for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(n * 31 + i);
        frames.push_back(std::move(bytes));
    }
    return frames;
}

TEST(JitBatchEntry, EachFrameGetsWhatADirectRunWithThatFrameGives) {
    const auto frames = test_frames();
    std::vector<jit::Frame> batch;
    for (const auto& f : frames) batch.push_back({f.data(), f.size()});
    for (const jit::Options base : {jit::Options{}, jit::Options{.blind_constants = true},
                                    jit::Options{.zero_stack_frames = true}}) {
        jit::Options options = base;
        options.batch_frames = kFields;
        const auto compiled = jit::Program::compile(program(kMixer), {}, options);
        ASSERT_NE(compiled->batch_entry(), nullptr);
        std::vector<uint32_t> results(batch.size() + 1, 0xdeadbeef);
        compiled->batch_entry()(batch.data(), batch.size(), results.data());
        for (size_t i = 0; i < frames.size(); ++i) {
            const auto data = reinterpret_cast<uint64_t>(frames[i].data());
            PacketContext ctx{data, data + frames[i].size(), static_cast<uint32_t>(frames[i].size()), 0};
            const uint64_t direct = compiled->direct_entry()(reinterpret_cast<uint64_t>(&ctx), 0);
            ASSERT_GT(direct >> 32, 0u) << "frame " << i;  // the stored result is only the low half
            EXPECT_EQ(results[i], static_cast<uint32_t>(direct))
                << "frame " << i << (base.blind_constants ? ", blinded" : "") << (base.zero_stack_frames ? ", zeroed" : "");
        }
        EXPECT_EQ(results.back(), 0xdeadbeefu) << "nothing is written past the last frame";
    }
}

TEST(JitBatchEntry, ASelectBetweenConstantReturnsEndsARunLikeAnExit) {
    // `greater 4` as classic filters end: len >= 4 ? 0x40000 : 0, one select and one loop step.
    jit::Options options;
    options.batch_frames = kFields;
    const auto compiled = jit::Program::compile(
        program({ldx(Op::LDX_W, 0, 1, 16), jmp(Op::JLT32_K, 0, 4, 2), alu(Op::MOV32_K, 0, 0x40000), exit_insn(),
                 alu(Op::MOV32_K, 0, 0), exit_insn()}),
        {}, options);
    const auto frames = test_frames();
    std::vector<jit::Frame> batch;
    for (const auto& f : frames) batch.push_back({f.data(), f.size()});
    std::vector<uint32_t> results(batch.size());
    compiled->batch_entry()(batch.data(), batch.size(), results.data());
    for (size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(results[i], frames[i].size() >= 4 ? 0x40000u : 0u) << "frame " << i;
}

TEST(JitBatchEntry, NoFramesWriteNoResults) {
    jit::Options options;
    options.batch_frames = kFields;
    const auto compiled = jit::Program::compile(program({mov(0, 1), exit_insn()}), {}, options);
    uint32_t result = 7;
    const jit::Frame frame{nullptr, 0};
    compiled->batch_entry()(&frame, 0, &result);
    EXPECT_EQ(result, 7u);
}

TEST(JitBatchEntry, OnlyProgramsThatReadJustTheFrameFromTheirContextHaveOne) {
    jit::Options options;
    options.batch_frames = kFields;
    const std::vector<Insn> eligible{ldx(Op::LDX_DW, 2, 1, 0), ldx(Op::LDX_W, 0, 1, 16), exit_insn()};
    EXPECT_NE(jit::Program::compile(program(eligible), {}, options)->batch_entry(), nullptr);
    EXPECT_EQ(jit::Program::compile(program(eligible), {})->batch_entry(), nullptr) << "not asked for";
    const std::vector<std::vector<Insn>> refused{
        {mov(6, 1), movx(0, 6), exit_insn()},                             // r6..r9 hold the loop's state
        {call_local(1), exit_insn(), mov(0, 1), exit_insn()},             // calls
        {ldx(Op::LDX_W, 0, 1, 20), exit_insn()},                          // another context field
        {ldx(Op::LDX_W, 0, 1, 0), exit_insn()},                           // data, not as a pointer
        {st(Op::ST_W, 1, 16, 0), mov(0, 0), exit_insn()},                 // a store into the context
        {mov(0, 0), jmp(Op::JEQ64_K, 1, 0, 1), mov(0, 1), exit_insn()},   // r1's value itself
        {movx(2, 1), ldx(Op::LDX_W, 0, 2, 16), exit_insn()},              // the context through a copy
        {mov(1, 0), movx(0, 1), exit_insn()},                             // r1 overwritten
    };
    for (size_t i = 0; i < refused.size(); ++i)
        EXPECT_EQ(jit::Program::compile(program(refused[i]), {}, options)->batch_entry(), nullptr) << "program " << i;
}

}  // namespace
}  // namespace tcbpf::testing
