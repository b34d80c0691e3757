// Round trip: for every encoding decode() accepts, disassemble -> assemble gives back the same bits.
//
// Jumps must land inside the program, so each instruction under test sits between runs of `exit`
// slots; distances that reach further than the padding are covered by one large program.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>

#include "tcbpf/asm.h"

using namespace tcbpf::isa;

namespace {

constexpr int kPad = 8;  // exits on each side: distances -9..+8 from the middle land on an instruction

RawInsn raw(uint8_t opcode, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    return RawInsn{opcode, static_cast<uint8_t>(dst | (src << 4)), off, imm};
}
const RawInsn kExit = raw(0x95, 0, 0, 0, 0);

std::vector<uint8_t> bytes_of(const std::vector<RawInsn>& slots) {
    std::vector<uint8_t> out(slots.size() * sizeof(RawInsn));
    std::memcpy(out.data(), slots.data(), out.size());
    return out;
}

std::vector<RawInsn> padded(const std::vector<RawInsn>& middle, int pad = kPad) {
    std::vector<RawInsn> slots(static_cast<size_t>(pad), kExit);
    slots.insert(slots.end(), middle.begin(), middle.end());
    slots.insert(slots.end(), static_cast<size_t>(pad), kExit);
    return slots;
}

// Decodes `slots`; if valid, asserts the text round trip and returns true.
bool round_trips_if_valid(const std::vector<RawInsn>& slots) {
    Program prog;
    try {
        prog = decode(slots);
    } catch (const tcbpf::Error&) {
        return false;
    }
    const std::string text = disassemble(prog);
    Program again;
    try {
        again = assemble(text, "roundtrip.s");
    } catch (const tcbpf::Error& e) {
        ADD_FAILURE() << "disassembly does not assemble: " << e.what() << "\n" << text;
        return true;
    }
    EXPECT_EQ(bytes_of(encode(again)), bytes_of(slots)) << text;
    EXPECT_TRUE(again.insns == prog.insns) << text;
    return true;
}

}  // namespace

// Every row of the table with small and edge field values; each row must produce valid variants.
TEST(AsmRoundTrip, EveryTableRowWithEdgeValues) {
    const uint8_t regs[] = {0, 1, 10};
    const int16_t offs[] = {0, 1, -1, kPad, -kPad - 1, 7, std::numeric_limits<int16_t>::max(), std::numeric_limits<int16_t>::min()};
    const int32_t imms[] = {0,  1, -1, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), 5, -kPad - 1,
                            16, 32, 64, 0x12345678};
    for (const OpInfo& row : all_ops()) {
        int valid = 0;
        for (uint8_t dst : regs)
            for (uint8_t src : regs)
                for (int16_t off : offs)
                    for (int32_t imm : imms) {
                        Insn insn{.op = row.op, .dst = dst, .src = src, .off = off, .imm = imm};
                        if (row.shape == Shape::Lddw) {
                            insn.src = static_cast<uint8_t>(src % 7);
                            insn.imm64 = static_cast<uint32_t>(imm) | (uint64_t{static_cast<uint32_t>(off)} << 32);
                        }
                        std::vector<RawInsn> middle;
                        encode_insn(insn, middle);
                        if (round_trips_if_valid(padded(middle))) ++valid;
                    }
        // `exit` has exactly one valid encoding; every other row uses fields that can vary.
        EXPECT_GE(valid, row.shape == Shape::Exit ? 1 : 3) << row.id << " has too few valid variants to prove anything";
    }
}

TEST(AsmRoundTrip, AllLddwPseudoSourcesAndValues) {
    const uint64_t values[] = {0, 1, ~uint64_t{0}, uint64_t{1} << 63, 0x1122334455667788ull, 0xffffffffull, 0x100000000ull,
                               static_cast<uint64_t>(-kPad - 1) & 0xffffffffull};
    int valid = 0;
    for (uint8_t src = 0; src <= 6; ++src)
        for (uint64_t value : values) {
            std::vector<RawInsn> middle;
            encode_insn(Insn{.op = Op::LDDW, .dst = 3, .src = src, .imm = static_cast<int32_t>(value), .imm64 = value}, middle);
            if (round_trips_if_valid(padded(middle))) ++valid;
        }
    // src 4 (func) is pc-relative: only the in-range values decode; every other combination is valid.
    EXPECT_GE(valid, 6 * 8 + 2);
}

// Distances at the limits of the 16-bit offset and beyond it for gotol, local calls and func pointers.
TEST(AsmRoundTrip, LongDistances) {
    constexpr int kHalf = 40000;
    std::vector<RawInsn> slots(2 * kHalf, kExit);
    const int mid = kHalf;
    slots[mid + 0] = raw(0x05, 0, 0, std::numeric_limits<int16_t>::min(), 0);
    slots[mid + 1] = raw(0x05, 0, 0, std::numeric_limits<int16_t>::max(), 0);
    slots[mid + 2] = raw(0xbe, 1, 2, std::numeric_limits<int16_t>::min(), 0);
    slots[mid + 3] = raw(0x06, 0, 0, 0, kHalf - 10);
    slots[mid + 4] = raw(0x06, 0, 0, 0, -(mid + 5));
    slots[mid + 5] = raw(0x85, 0, 1, 0, kHalf - 10);
    slots[mid + 6] = raw(0x18, 2, 4, 0, -(mid + 7));
    slots[mid + 7] = raw(0x00, 0, 0, 0, 0);
    EXPECT_TRUE(round_trips_if_valid(slots));
}

// Random 8- and 16-byte slots, biased towards real opcodes and small or edge field values.
TEST(AsmRoundTrip, RandomSlotsThatDecodeRoundTrip) {
    std::mt19937_64 rng(20260124);
    std::vector<uint8_t> opcodes;
    std::vector<int32_t> match_imms;
    for (const OpInfo& row : all_ops()) {
        opcodes.push_back(row.opcode);
        if (row.match == Match::Imm) match_imms.push_back(row.match_value);
    }
    auto pick = [&](uint64_t n) { return static_cast<size_t>(rng() % n); };
    auto field16 = [&]() -> int16_t {
        switch (pick(4)) {
            case 0: return 0;
            case 1: return static_cast<int16_t>(static_cast<int>(pick(2 * kPad + 2)) - kPad - 1);
            case 2: return static_cast<int16_t>(std::array<int, 4>{1, 8, 16, 32}[pick(4)]);
            default: return static_cast<int16_t>(rng());
        }
    };
    auto field32 = [&]() -> int32_t {
        switch (pick(5)) {
            case 0: return 0;
            case 1: return static_cast<int32_t>(pick(2 * kPad + 2)) - kPad - 1;
            case 2: return match_imms[pick(match_imms.size())];
            case 3: return std::array<int32_t, 4>{std::numeric_limits<int32_t>::min(), -1, std::numeric_limits<int32_t>::max(), 0x80}[pick(4)];
            default: return static_cast<int32_t>(rng());
        }
    };
    auto reg = [&]() -> uint8_t { return pick(3) == 0 ? 0 : static_cast<uint8_t>(pick(pick(4) == 0 ? 16 : 11)); };
    int valid = 0;
    constexpr int kIterations = 200000;
    for (int i = 0; i < kIterations; ++i) {
        const uint8_t opcode = pick(8) == 0 ? static_cast<uint8_t>(rng()) : opcodes[pick(opcodes.size())];
        std::vector<RawInsn> middle{raw(opcode, reg(), reg(), field16(), field32())};
        if (pick(2) == 0) middle.push_back(pick(2) == 0 ? raw(0, 0, 0, 0, field32()) : raw(opcodes[pick(opcodes.size())], reg(), reg(), field16(), field32()));
        if (round_trips_if_valid(padded(middle))) ++valid;
        if (::testing::Test::HasFailure()) break;
    }
    // Most random slots set some reserved field; a twentieth that decode accepts is still ~10k programs.
    EXPECT_GT(valid, kIterations / 20) << "generator too far from valid encodings to prove anything";
}
