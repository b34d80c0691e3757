// See random_program.h for the program shape. The instruction mix is drawn from the ISA table itself
// (opcodes.def), so a new row of a covered shape is exercised without touching this file. The only
// restrictions are the kernel verifier's rules for scalar programs:
//   - constant divisors are non-zero ("division by zero" is a load-time error for K forms);
//   - constant shift amounts lie in 0..width-1 ("invalid shift"); register amounts are unrestricted;
//   - r10 is only ever a memory base with a fixed, aligned, in-frame offset (no pointer arithmetic);
//   - r0..r9 are written by the prologue before the body reads them;
//   - jumps go forward and stay inside the body, so no back-edges and no unreachable code.
#include "tests/support/random_program.h"

#include <algorithm>
#include <array>
#include <vector>

namespace tcbpf::test {
namespace {

using isa::Insn;
using isa::Op;
using isa::Shape;

// SplitMix64: tiny, fast, and specified here, unlike std:: distributions whose output differs between
// standard libraries — repeatability across g++/clang is the point of a seed.
class Rng {
   public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform enough in [0, n) for test generation (n is tiny compared with 2^64).
    uint64_t below(uint64_t n) { return next() % n; }
    uint64_t between(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
    bool chance(unsigned percent) { return below(100) < percent; }
    template <typename T>
    const T& pick(const std::vector<T>& items) { return items[below(items.size())]; }

   private:
    uint64_t state_;
};

constexpr int kWorkRegs = 10;  // r0..r9; r10 is the frame pointer

uint8_t random_reg(Rng& rng) { return static_cast<uint8_t>(rng.below(kWorkRegs)); }

uint64_t edge_value64(Rng& rng) {
    static constexpr std::array<uint64_t, 12> kEdges = {
        0, 1, ~0ull, 0xffffffff80000000ull, 0x7fffffff, 0x8000000000000000ull, 0x7fffffffffffffffull,
        0x80000000, 0xffffffff, 2, 0xff, 0x8000,
    };
    switch (rng.below(4)) {
        case 0: return rng.next();
        case 1: return rng.below(65);  // small: shift amounts, tiny divisors
        case 2: return static_cast<uint32_t>(rng.next());
        default: return kEdges[rng.below(kEdges.size())];
    }
}

int32_t edge_value32(Rng& rng) {
    static constexpr std::array<uint32_t, 10> kEdges = {
        0, 1, 0xffffffff, 0x80000000, 0x7fffffff, 2, 0xff, 0x8000, 0xffff, 0xfffffffe,
    };
    switch (rng.below(3)) {
        case 0: return static_cast<int32_t>(rng.next());
        case 1: return static_cast<int32_t>(rng.below(65)) - (rng.chance(30) ? 32 : 0);
        default: return static_cast<int32_t>(kEdges[rng.below(kEdges.size())]);
    }
}

// The table rows the body draws from, grouped by how their operands are chosen.
struct OpPools {
    std::vector<Op> alu_k, alu_x, neg, movsx, end, ldx, st, stx, atomic, jcc_k, jcc_x;

    OpPools() {
        for (const isa::OpInfo& row : isa::all_ops()) {
            switch (row.shape) {
                case Shape::AluK: alu_k.push_back(row.op); break;
                case Shape::AluX: alu_x.push_back(row.op); break;
                case Shape::Neg: neg.push_back(row.op); break;
                case Shape::MovSx: movsx.push_back(row.op); break;
                case Shape::End: end.push_back(row.op); break;
                case Shape::Ldx: ldx.push_back(row.op); break;
                case Shape::St: st.push_back(row.op); break;
                case Shape::Stx: stx.push_back(row.op); break;
                case Shape::Atomic: atomic.push_back(row.op); break;
                case Shape::JccK: jcc_k.push_back(row.op); break;
                case Shape::JccX: jcc_x.push_back(row.op); break;
                default: break;  // calls, exits, unconditional jumps, packet loads: not in the body
            }
        }
    }
};

const OpPools& pools() {
    static const OpPools p;
    return p;
}

bool is_div_or_mod(Op op) {
    const uint8_t code = isa::info(op).opcode & 0xf0;
    return code == 0x30 || code == 0x90;
}

bool is_shift(Op op) {
    const uint8_t code = isa::info(op).opcode & 0xf0;
    return code == 0x60 || code == 0x70 || code == 0xc0;
}

// A stack offset inside the scratch area, aligned to `size`.
int16_t scratch_offset(Rng& rng, int size) {
    const int slots = (kTraceOffset - kScratchOffset) / size;
    return static_cast<int16_t>(kScratchOffset + size * static_cast<int>(rng.below(slots)));
}

Insn make(Op op, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0, int32_t imm = 0) {
    Insn insn;
    insn.op = op;
    insn.dst = dst;
    insn.src = src;
    insn.off = off;
    insn.imm = imm;
    return insn;
}

Insn make_lddw(uint8_t dst, uint64_t value) {
    Insn insn = make(Op::LDDW, dst);
    insn.imm = static_cast<int32_t>(static_cast<uint32_t>(value));
    insn.imm64 = value;
    return insn;
}

Insn load_constant(Rng& rng, uint8_t dst) {
    switch (rng.below(3)) {
        case 0: return make(Op::MOV64_K, dst, 0, 0, edge_value32(rng));
        case 1: return make(Op::MOV32_K, dst, 0, 0, edge_value32(rng));
        default: return make_lddw(dst, edge_value64(rng));
    }
}

// One body instruction. Jumps get a placeholder offset; the caller resolves it.
Insn body_insn(Rng& rng, bool* is_jump) {
    const OpPools& p = pools();
    *is_jump = false;
    const uint64_t kind = rng.below(100);
    if (kind < 22) {
        const Op op = rng.pick(p.alu_k);
        int32_t imm = edge_value32(rng);
        if (is_shift(op)) imm = static_cast<int32_t>(rng.below(isa::is_32bit(op) ? 32 : 64));
        if (is_div_or_mod(op) && imm == 0) imm = rng.chance(50) ? -1 : 3;
        return make(op, random_reg(rng), 0, 0, imm);
    }
    if (kind < 44) return make(rng.pick(p.alu_x), random_reg(rng), random_reg(rng));
    if (kind < 47) return make(rng.pick(p.neg), random_reg(rng));
    if (kind < 52) return make(rng.pick(p.movsx), random_reg(rng), random_reg(rng));
    if (kind < 57) return make(rng.pick(p.end), random_reg(rng));
    if (kind < 60) return make_lddw(random_reg(rng), edge_value64(rng));
    if (kind < 67) {
        const Op op = rng.pick(p.ldx);
        return make(op, random_reg(rng), isa::kFrameReg, scratch_offset(rng, isa::mem_size(op)));
    }
    if (kind < 71) {
        const Op op = rng.pick(p.st);
        return make(op, isa::kFrameReg, 0, scratch_offset(rng, isa::mem_size(op)), edge_value32(rng));
    }
    if (kind < 77) {
        const Op op = rng.pick(p.stx);
        return make(op, isa::kFrameReg, random_reg(rng), scratch_offset(rng, isa::mem_size(op)));
    }
    if (kind < 85) {
        const Op op = rng.pick(p.atomic);
        return make(op, isa::kFrameReg, random_reg(rng), scratch_offset(rng, isa::mem_size(op)));
    }
    *is_jump = true;
    if (kind < 92) return make(rng.pick(p.jcc_k), random_reg(rng), 0, 0, edge_value32(rng));
    return make(rng.pick(p.jcc_x), random_reg(rng), random_reg(rng));
}

// The register an instruction writes, or -1.
int written_register(const Insn& insn) {
    switch (isa::info(insn.op).shape) {
        case Shape::AluK:
        case Shape::AluX:
        case Shape::Neg:
        case Shape::MovSx:
        case Shape::End:
        case Shape::Lddw:
        case Shape::Ldx: return insn.dst;
        case Shape::Atomic:
            if (insn.op == Op::ATOMIC32_CMPXCHG || insn.op == Op::ATOMIC64_CMPXCHG) return 0;
            return (insn.imm & 0x01) != 0 ? insn.src : -1;  // BPF_FETCH forms write the old value to src
        default: return -1;
    }
}

void append(std::vector<isa::RawInsn>& out, const Insn& insn) { isa::encode_insn(insn, out); }

size_t slots(const Insn& insn) { return insn.op == Op::LDDW ? 2 : 1; }

}  // namespace

RandomProgram generate_random_program(uint64_t seed, const RandomProgramOptions& options) {
    Rng rng(seed);
    RandomProgram result;
    result.seed = seed;

    std::vector<isa::RawInsn> prologue;
    append(prologue, make(Op::STX_DW, isa::kFrameReg, 1, kSavedPointerOffset));
    for (uint8_t reg = 0; reg < kWorkRegs; ++reg) append(prologue, load_constant(rng, reg));
    for (int off = kScratchOffset; off < kRegisterSpillOffset; off += 8) {  // scratch and trace slots
        if (rng.chance(50))
            append(prologue, make(Op::ST_DW, isa::kFrameReg, 0, static_cast<int16_t>(off), edge_value32(rng)));
        else
            append(prologue, make(Op::STX_DW, isa::kFrameReg, random_reg(rng), static_cast<int16_t>(off)));
    }

    // Body: jump targets are chosen as instruction indices after the jump (or the body's end) and
    // turned into slot offsets once every instruction's slot position is known.
    const size_t length = static_cast<size_t>(rng.between(options.min_body, options.max_body));
    std::vector<Insn> body;
    std::vector<bool> jumps;
    std::vector<size_t> jump_distance;  // in body instructions, resolved against the final body below
    for (size_t i = 0; i < length; ++i) {
        bool is_jump = false;
        const Insn insn = body_insn(rng, &is_jump);
        body.push_back(insn);
        jumps.push_back(is_jump);
        // Mostly short hops, so most of the body still runs.
        jump_distance.push_back(is_jump ? 1 + rng.below(rng.chance(95) ? 6 : length) : 0);
        const int written = written_register(insn);
        if (written >= 0 && rng.chance(75)) {
            const Op fold = rng.chance(50) ? Op::ATOMIC64_ADD : Op::ATOMIC64_XOR;
            const auto slot = static_cast<int16_t>(kTraceOffset + 8 * static_cast<int>(i % kTraceSlots));
            body.push_back(make(fold, isa::kFrameReg, static_cast<uint8_t>(written), slot));
            jumps.push_back(false);
            jump_distance.push_back(0);
        }
    }
    const size_t count = body.size();
    std::vector<size_t> target(count, 0);
    for (size_t i = 0; i < count; ++i) target[i] = std::min(count, i + jump_distance[i]);
    std::vector<size_t> slot_at(count + 1, 0);
    for (size_t i = 0; i < count; ++i) slot_at[i + 1] = slot_at[i] + slots(body[i]);
    std::vector<isa::RawInsn> body_raw;
    for (size_t i = 0; i < count; ++i) {
        if (jumps[i]) body[i].off = static_cast<int16_t>(slot_at[target[i]] - slot_at[i] - 1);
        append(body_raw, body[i]);
    }

    std::vector<isa::RawInsn> spill;
    for (uint8_t reg = 0; reg < kWorkRegs; ++reg)
        append(spill, make(Op::STX_DW, isa::kFrameReg, reg, static_cast<int16_t>(kRegisterSpillOffset + 8 * reg)));

    // r2 = output buffer; copy the frame into it 8 bytes at a time; return 0.
    std::vector<isa::RawInsn> copy_out;
    for (size_t at = 0; at < kRandomProgramOutputSize; at += 8) {
        append(copy_out, make(Op::LDX_DW, 5, isa::kFrameReg, static_cast<int16_t>(kScratchOffset + static_cast<int>(at))));
        append(copy_out, make(Op::STX_DW, 2, 5, static_cast<int16_t>(at)));
    }
    std::vector<isa::RawInsn> finish;
    append(finish, make(Op::MOV64_K, 0));
    append(finish, make(Op::EXIT));

    constexpr int32_t kSkbData = 76, kSkbDataEnd = 80;  // offsetof(struct __sk_buff, data / data_end)
    std::vector<isa::RawInsn> kernel_output;
    append(kernel_output, make(Op::LDX_DW, 6, isa::kFrameReg, kSavedPointerOffset));
    append(kernel_output, make(Op::LDX_W, 2, 6, kSkbData));
    append(kernel_output, make(Op::LDX_W, 3, 6, kSkbDataEnd));
    append(kernel_output, make(Op::MOV64_X, 4, 2));
    append(kernel_output, make(Op::ADD64_K, 4, 0, 0, static_cast<int32_t>(kRandomProgramOutputSize)));
    append(kernel_output, make(Op::JGT64_X, 4, 3, static_cast<int16_t>(copy_out.size())));

    std::vector<isa::RawInsn> memory_output;
    append(memory_output, make(Op::LDX_DW, 2, isa::kFrameReg, kSavedPointerOffset));

    auto assemble = [&](const std::vector<isa::RawInsn>& output_setup) {
        std::vector<isa::RawInsn> raw = prologue;
        const std::initializer_list<const std::vector<isa::RawInsn>*> parts = {&body_raw, &spill, &output_setup,
                                                                               &copy_out, &finish};
        for (const auto* part : parts)
            raw.insert(raw.end(), part->begin(), part->end());
        return isa::decode(raw);
    };
    result.kernel = assemble(kernel_output);
    result.memory = assemble(memory_output);
    result.body_begin = prologue.size();
    result.body_end = prologue.size() + body_raw.size();
    return result;
}

}  // namespace tcbpf::test
