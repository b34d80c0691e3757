// Seeded differential testing, interpreter vs JIT (see differential.h for what is compared and when):
// the generator's well-formed scalar programs (every ALU/JMP/END/memory/atomic form, results folded
// into memory), then random mutations of them — single-field changes the decoder still accepts, which
// reach register choices, offsets and immediates the generator avoids. Bounded to about ten seconds;
// a failure prints the seed and the program's bytes so it can be replayed.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "tests/jit/differential.h"
#include "tests/support/random_program.h"

namespace tcbpf::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string hex_of(const isa::Program& prog) {
    std::string text;
    for (uint8_t b : isa::encode_bytes(prog)) text += fmt::format("{:02x}", b);
    return text;
}

TEST(JitDifferential, GeneratedProgramsGiveTheInterpretersResults) {
    const auto deadline = Clock::now() + std::chrono::seconds(4);
    uint64_t seed = 0;
    for (; seed < 3000 && Clock::now() < deadline; ++seed) {
        const test::RandomProgram p = test::generate_random_program(seed);
        const std::vector<uint8_t> memory(test::kRandomProgramOutputSize, 0);
        for (const bool blind : {false, true}) {
            const DifferentialRun run = run_differential(p.memory, memory, {.blind_constants = blind});
            ASSERT_TRUE(run.compared) << "seed " << seed << ": the generator's programs always run";
            ASSERT_FALSE(run.mismatch) << "seed " << seed << (blind ? " (blinded)" : "") << ": " << *run.mismatch
                                       << "\nprogram " << hex_of(p.memory);
        }
    }
    EXPECT_GE(seed, 200u) << "too few programs in the time bound";
}

TEST(JitDifferential, MutatedProgramsGiveTheInterpretersResults) {
    const auto deadline = Clock::now() + std::chrono::seconds(6);
    std::mt19937_64 random(20261124);
    uint64_t compared = 0, tried = 0;
    for (; tried < 200000 && Clock::now() < deadline; ++tried) {
        const test::RandomProgram p = test::generate_random_program(random() % 100000, {.min_body = 8, .max_body = 40});
        std::vector<isa::RawInsn> raw = isa::encode(p.memory);
        for (int edits = 1 + static_cast<int>(random() % 3); edits > 0; --edits) {
            isa::RawInsn& slot = raw[p.body_begin + random() % (p.body_end - p.body_begin)];
            switch (random() % 5) {
                case 0: slot.regs = static_cast<uint8_t>(random()); break;
                case 1: slot.off = static_cast<int16_t>(random() % 2 ? random() : random() % 16 - 8); break;
                case 2: slot.imm = static_cast<int32_t>(random() % 2 ? random() : random() % 130 - 65); break;
                case 3: slot.opcode = static_cast<uint8_t>(random()); break;
                default: std::swap(slot, raw[p.body_begin + random() % (p.body_end - p.body_begin)]); break;
            }
        }
        isa::Program mutated;
        try {
            mutated = isa::decode(raw);
        } catch (const Error&) {
            continue;
        }
        std::vector<uint8_t> memory(test::kRandomProgramOutputSize);
        for (size_t i = 0; i < memory.size(); ++i) memory[i] = static_cast<uint8_t>(i * 37 + tried);
        const DifferentialRun run = run_differential(mutated, memory);
        compared += run.compared;
        ASSERT_FALSE(run.mismatch) << "mutation " << tried << ": " << *run.mismatch << "\nprogram " << hex_of(mutated);
    }
    EXPECT_GE(compared, 100u) << "of " << tried << " mutations";
}

}  // namespace
}  // namespace tcbpf::testing
