// Decoding and encoding, both generated from opcodes.def.
//
// For each opcode byte we keep the (few) table rows that use it; a slot decodes to the row whose match
// field holds the row's match value. The row's shape then says which of dst/src/off/imm the instruction
// uses, and any other non-zero field makes the encoding invalid — the kernel's "uses reserved fields".
#include <array>
#include <cstring>

#include "tcbpf/isa.h"
#include <fmt/format.h>

namespace tcbpf::isa {
namespace {

constexpr OpInfo kTable[] = {
#define TCBPF_OP(id, opcode, match, match_value, shape, group, text, conf) \
    {Op::id, #id, opcode, Match::match, match_value, Shape::shape, Group::group, text, conf},
#include "tcbpf/opcodes.def"
#undef TCBPF_OP
};
static_assert(std::size(kTable) == kOpCount);

struct OpcodeIndex {
    // rows[opcode] lists the table rows for that opcode byte; at most 10 (the atomics of one width).
    std::array<std::array<uint8_t, 10>, 256> rows{};
    std::array<uint8_t, 256> count{};
    OpcodeIndex() {
        for (const auto& row : kTable) {
            rows[row.opcode][count[row.opcode]++] = static_cast<uint8_t>(row.op);
        }
    }
};
const OpcodeIndex& opcode_index() {
    static const OpcodeIndex index;
    return index;
}

int32_t match_field(const RawInsn& raw, Match match) {
    switch (match) {
        case Match::None: return 0;
        case Match::Off: return raw.off;
        case Match::Imm: return raw.imm;
        case Match::Src: return raw.regs >> 4;
    }
    return 0;
}

struct Uses {
    bool dst, src, off, imm;
};

Uses uses(const OpInfo& row) {
    switch (row.shape) {
        case Shape::AluK: return {true, false, row.match == Match::Off, true};
        case Shape::AluX: return {true, true, row.match == Match::Off, false};
        case Shape::Neg: return {true, false, false, false};
        case Shape::MovSx: return {true, true, true, false};
        case Shape::End: return {true, false, false, true};
        case Shape::Ja: return {false, false, true, false};
        case Shape::Ja32: return {false, false, false, true};
        case Shape::JccK: return {true, false, true, true};
        case Shape::JccX: return {true, true, true, false};
        case Shape::Call: return {false, true, false, true};
        case Shape::Callx: return {true, false, false, false};
        case Shape::Exit: return {false, false, false, false};
        case Shape::Lddw: return {true, true, false, true};
        case Shape::LdAbs: return {false, false, false, true};
        case Shape::LdInd: return {false, true, false, true};
        case Shape::Ldx: return {true, true, true, false};
        case Shape::St: return {true, false, true, true};
        case Shape::Stx: return {true, true, true, false};
        case Shape::Atomic: return {true, true, true, true};
    }
    return {};
}

[[noreturn]] void fail(size_t pc, const std::string& why) { throw Error(fmt::format("pc {}: {}", pc, why)); }

}  // namespace

const OpInfo& info(Op op) {
    // The second slot of an LDDW has no row of its own; it describes itself as part of the LDDW so that
    // a consumer asking about it reads valid data instead of past the table.
    static constexpr OpInfo kLddwTail{Op::LDDW_TAIL, "LDDW_TAIL", 0x00, Match::None, 0, Shape::Lddw, Group::Base64, "", ""};
    if (op == Op::LDDW_TAIL) return kLddwTail;
    return kTable[static_cast<size_t>(op)];
}
std::span<const OpInfo> all_ops() { return kTable; }

Insn decode_insn(const RawInsn& raw, const RawInsn* next, size_t pc) {
    const auto& index = opcode_index();
    const uint8_t n = index.count[raw.opcode];
    if (n == 0) fail(pc, fmt::format("unknown opcode 0x{:02x}", raw.opcode));
    // Rows matching on a field (SDIV vs DIV, MOVSX vs MOV, END widths, atomics, call kinds) win over
    // the row of the same opcode that matches on nothing.
    const OpInfo* exact = nullptr;
    const OpInfo* fallback = nullptr;
    for (uint8_t i = 0; i < n; ++i) {
        const OpInfo& candidate = kTable[index.rows[raw.opcode][i]];
        if (candidate.match == Match::None)
            fallback = &candidate;
        else if (match_field(raw, candidate.match) == candidate.match_value)
            exact = &candidate;
    }
    const OpInfo* row = exact != nullptr ? exact : fallback;
    if (row == nullptr) {
        const Match m = kTable[index.rows[raw.opcode][0]].match;
        const char* field = m == Match::Imm ? "imm" : m == Match::Src ? "src" : "off";
        fail(pc, fmt::format("invalid {} {} for opcode 0x{:02x}", field, match_field(raw, m), raw.opcode));
    }

    Insn insn;
    insn.op = row->op;
    insn.dst = raw.regs & 0x0f;
    insn.src = raw.regs >> 4;
    insn.off = raw.off;
    insn.imm = raw.imm;

    const Uses u = uses(*row);
    // Fields consumed by the match are part of the opcode, not operands.
    const bool off_is_match = row->match == Match::Off;
    const bool imm_is_match = row->match == Match::Imm;
    const bool src_is_match = row->match == Match::Src;
    if (!u.off && !off_is_match && raw.off != 0) fail(pc, fmt::format("{} uses reserved field off={}", row->id, raw.off));
    if (off_is_match && raw.off != row->match_value) fail(pc, fmt::format("{} needs off={}", row->id, row->match_value));
    if (!u.imm && !imm_is_match && raw.imm != 0) fail(pc, fmt::format("{} uses reserved field imm={}", row->id, raw.imm));
    if (!u.dst && insn.dst != 0) fail(pc, fmt::format("{} uses reserved field dst=r{}", row->id, insn.dst));
    if (!u.src && !src_is_match && insn.src != 0) fail(pc, fmt::format("{} uses reserved field src=r{}", row->id, insn.src));
    if (insn.dst >= kNumRegs) fail(pc, fmt::format("invalid dst register r{}", insn.dst));
    if (u.src && row->shape != Shape::Call && row->shape != Shape::Lddw && insn.src >= kNumRegs)
        fail(pc, fmt::format("invalid src register r{}", insn.src));

    if (row->shape == Shape::Lddw) {
        if (insn.src > static_cast<uint8_t>(Pseudo::MapIdxValue))
            fail(pc, fmt::format("invalid pseudo source {} in 64-bit immediate load", insn.src));
        if (next == nullptr) fail(pc, "64-bit immediate load is missing its second slot");
        if (next->opcode != 0 || next->regs != 0 || next->off != 0)
            fail(pc + 1, "invalid second slot of 64-bit immediate load");
        insn.imm64 = static_cast<uint64_t>(static_cast<uint32_t>(raw.imm)) |
                     (static_cast<uint64_t>(static_cast<uint32_t>(next->imm)) << 32);
    }
    return insn;
}

Program decode(std::span<const RawInsn> raw) {
    Program prog;
    if (raw.empty()) throw Error("empty program");
    prog.insns.reserve(raw.size());
    for (size_t pc = 0; pc < raw.size(); ++pc) {
        const RawInsn* next = pc + 1 < raw.size() ? &raw[pc + 1] : nullptr;
        Insn insn = decode_insn(raw[pc], next, pc);
        prog.insns.push_back(insn);
        if (insn.op == Op::LDDW) {
            Insn tail;
            tail.op = Op::LDDW_TAIL;
            tail.imm = raw[pc + 1].imm;
            prog.insns.push_back(tail);
            ++pc;
        }
    }
    // Control-flow targets must land on a real instruction inside the program.
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        const Insn& insn = prog.insns[pc];
        const bool is_target_insn = is_jump(insn.op) || insn.op == Op::CALL_LOCAL ||
                                    (insn.op == Op::LDDW && insn.src == static_cast<uint8_t>(Pseudo::Func));
        if (!is_target_insn) continue;
        const int64_t target = branch_target(insn, pc);
        if (target < 0 || target >= static_cast<int64_t>(prog.size()))
            fail(pc, fmt::format("jump out of range: target {} outside 0..{}", target, prog.size() - 1));
        if (prog.insns[target].op == Op::LDDW_TAIL)
            fail(pc, fmt::format("jump into the middle of a 64-bit immediate load at {}", target));
    }
    return prog;
}

Program decode_bytes(std::span<const uint8_t> bytes) {
    if (bytes.size() % sizeof(RawInsn) != 0)
        throw Error(fmt::format("program size {} is not a multiple of 8 bytes", bytes.size()));
    std::vector<RawInsn> raw(bytes.size() / sizeof(RawInsn));
    if (!raw.empty()) std::memcpy(raw.data(), bytes.data(), bytes.size());
    return decode(raw);
}

void encode_insn(const Insn& insn, std::vector<RawInsn>& out) {
    if (insn.op == Op::LDDW_TAIL) return;  // emitted together with its LDDW
    const OpInfo& row = info(insn.op);
    RawInsn raw{};
    raw.opcode = row.opcode;
    raw.regs = static_cast<uint8_t>((insn.dst & 0x0f) | ((insn.src & 0x0f) << 4));
    raw.off = insn.off;
    raw.imm = insn.imm;
    if (row.match == Match::Off) raw.off = static_cast<int16_t>(row.match_value);
    if (row.match == Match::Imm) raw.imm = row.match_value;
    if (row.match == Match::Src) raw.regs = static_cast<uint8_t>((raw.regs & 0x0f) | (row.match_value << 4));
    if (insn.op == Op::LDDW) {
        raw.imm = static_cast<int32_t>(static_cast<uint32_t>(insn.imm64));
        out.push_back(raw);
        RawInsn tail{};
        tail.imm = static_cast<int32_t>(static_cast<uint32_t>(insn.imm64 >> 32));
        out.push_back(tail);
        return;
    }
    out.push_back(raw);
}

std::vector<RawInsn> encode(const Program& prog) {
    std::vector<RawInsn> out;
    out.reserve(prog.size());
    for (const Insn& insn : prog.insns) encode_insn(insn, out);
    return out;
}

std::vector<uint8_t> encode_bytes(const Program& prog) {
    const auto raw = encode(prog);
    std::vector<uint8_t> bytes(raw.size() * sizeof(RawInsn));
    if (!raw.empty()) std::memcpy(bytes.data(), raw.data(), bytes.size());
    return bytes;
}

bool is_jump(Op op) {
    if (op == Op::LDDW_TAIL) return false;  // not a table row: info() would read past the table
    const Shape s = info(op).shape;
    return s == Shape::Ja || s == Shape::Ja32 || s == Shape::JccK || s == Shape::JccX;
}

bool is_conditional_jump(Op op) {
    if (op == Op::LDDW_TAIL) return false;
    const Shape s = info(op).shape;
    return s == Shape::JccK || s == Shape::JccX;
}

int64_t branch_target(const Insn& insn, size_t pc) {
    const int64_t next = static_cast<int64_t>(pc) + 1;
    if (insn.op == Op::JA32 || insn.op == Op::CALL_LOCAL || insn.op == Op::LDDW) return next + insn.imm;
    return next + insn.off;
}

int mem_size(Op op) {
    if (op == Op::LDDW_TAIL) return 0;
    const OpInfo& row = info(op);
    switch (row.shape) {
        case Shape::LdAbs:
        case Shape::LdInd:
        case Shape::Ldx:
        case Shape::St:
        case Shape::Stx:
        case Shape::Atomic:
            switch (row.opcode & 0x18) {
                case 0x00: return 4;
                case 0x08: return 2;
                case 0x10: return 1;
                default: return 8;
            }
        default: return 0;
    }
}

bool is_32bit(Op op) {
    if (op == Op::LDDW_TAIL) return false;
    const OpInfo& row = info(op);
    switch (row.shape) {
        case Shape::AluK:
        case Shape::AluX:
        case Shape::Neg:
        case Shape::MovSx:
            return (row.opcode & 0x07) == 0x04;
        case Shape::JccK:
        case Shape::JccX:
            return (row.opcode & 0x07) == 0x06;
        case Shape::Atomic:
            return row.opcode == 0xc3;
        default:
            return false;
    }
}

}  // namespace tcbpf::isa
