// The eBPF instruction set: the typed, decoded form every stage of tcbpf shares.
//
// Raw programs are arrays of 8-byte little-endian slots. `decode` turns them, once, into a `Program`: one
// `Insn` per slot whose `op` names a row of opcodes.def, with every field validated against that row's
// shape. Later stages (assembler, disassembler, verifier, interpreter, JIT) switch on `op` and never look
// at opcode bits again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcbpf/error.h"

namespace tcbpf::isa {

enum class Op : uint8_t {
#define TCBPF_OP(id, ...) id,
#include "tcbpf/opcodes.def"
#undef TCBPF_OP
    // Not a table row: the second slot of a 64-bit immediate load. It keeps pc numbering identical to
    // the raw program (jump offsets, error messages) while marking the slot as not an instruction.
    LDDW_TAIL,
};
inline constexpr size_t kOpCount = static_cast<size_t>(Op::LDDW_TAIL);

// Which field tells apart rows that share an opcode byte.
enum class Match : uint8_t { None, Off, Imm, Src };

// Which fields an instruction uses; every field not used must be zero in a valid encoding.
enum class Shape : uint8_t {
    AluK,    // dst op= imm
    AluX,    // dst op= src
    Neg,     // dst = -dst
    MovSx,   // dst = (sN)src, off = N
    End,     // byte swap of dst, imm = width
    Ja,      // goto off
    Ja32,    // goto imm
    JccK,    // if dst op imm goto off
    JccX,    // if dst op src goto off
    Call,    // call imm (src selects helper or local)
    Callx,   // call dst
    Exit,
    Lddw,    // dst = imm64, src = pseudo type
    LdAbs,   // r0 = packet[imm]
    LdInd,   // r0 = packet[src + imm]
    Ldx,     // dst = *(src + off)
    St,      // *(dst + off) = imm
    Stx,     // *(dst + off) = src
    Atomic,  // atomic op at (dst + off) with src, imm = operation
};

// RFC 9669 conformance groups (plus the suite's callx group).
enum class Group : uint8_t { Base32, Base64, Atomic32, Atomic64, Divmul32, Divmul64, Packet, Callx };

struct OpInfo {
    Op op;
    std::string_view id;  // "ADD64_K"
    uint8_t opcode;
    Match match;
    int32_t match_value;
    Shape shape;
    Group group;
    std::string_view text;        // llvm-objdump operator/word
    std::string_view conformance; // bpf_conformance mnemonic
};

// The row of `op`. Op::LDDW_TAIL, which has no row, gets a row of its own with shape Lddw and empty
// texts (consumers should still treat it as "not an instruction").
const OpInfo& info(Op op);
std::span<const OpInfo> all_ops();

// LDDW pseudo source values (src field of slot 0).
enum class Pseudo : uint8_t {
    None = 0,
    MapFd = 1,
    MapValue = 2,
    BtfId = 3,
    Func = 4,
    MapIdx = 5,
    MapIdxValue = 6,
};

inline constexpr int kNumRegs = 11;  // r0..r10
inline constexpr int kFrameReg = 10;
inline constexpr int kStackSize = 512;
inline constexpr int kMaxCallDepth = 8;

struct Insn {
    Op op = Op::EXIT;
    uint8_t dst = 0;
    uint8_t src = 0;
    int16_t off = 0;
    int32_t imm = 0;
    // LDDW only: the full 64-bit value (imm | next_imm << 32). For pseudo loads, next_imm holds the
    // value offset of MAP_VALUE forms and imm the map fd/index.
    uint64_t imm64 = 0;

    bool operator==(const Insn&) const = default;
};

// Raw slot as it sits in memory (little-endian host).
struct RawInsn {
    uint8_t opcode;
    uint8_t regs;  // dst in the low nibble, src in the high nibble
    int16_t off;
    int32_t imm;
};
static_assert(sizeof(RawInsn) == 8);

struct Program {
    std::vector<Insn> insns;  // one per slot; the second slot of LDDW is Op::LDDW_TAIL
    size_t size() const { return insns.size(); }
};

// Decodes and validates raw slots: unknown opcodes, bad registers, non-zero reserved fields, an LDDW
// missing its second slot, jumps and local calls out of range or into the middle of an LDDW. Throws
// tcbpf::Error naming the pc and the reason.
Program decode(std::span<const RawInsn> raw);
Program decode_bytes(std::span<const uint8_t> bytes);

// Encodes back to raw slots, bit for bit what decode read.
std::vector<RawInsn> encode(const Program& prog);
std::vector<uint8_t> encode_bytes(const Program& prog);

// Encodes one instruction (LDDW yields two slots).
void encode_insn(const Insn& insn, std::vector<RawInsn>& out);

// Decodes one slot (and its successor for LDDW) without program-level checks; throws on invalid.
// `next` is required for LDDW.
Insn decode_insn(const RawInsn& raw, const RawInsn* next, size_t pc);

// Small queries every consumer needs.
bool is_jump(Op op);          // any conditional or unconditional jump (not call/exit)
bool is_conditional_jump(Op op);
// Target pc of a jump at `pc`, or of a local call / LDDW pseudo func.
int64_t branch_target(const Insn& insn, size_t pc);
// Size in bytes of the memory access of a load/store/atomic form (1, 2, 4, 8), 0 otherwise.
int mem_size(Op op);
// True for 32-bit ALU/JMP32/32-bit atomic forms (results and compares on w registers).
bool is_32bit(Op op);

}  // namespace tcbpf::isa
