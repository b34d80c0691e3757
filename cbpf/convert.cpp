// cBPF → eBPF, after the kernel's bpf_convert_filter. A lives in w0, X in w7, the context in r6 and the
// scratch words in the stack; every cBPF instruction becomes a short, fixed eBPF sequence, and jumps are
// patched once every cBPF instruction has its eBPF position.
//
// The result is ordinary eBPF for the classifier/action program type that tcbpf's verifier accepts.
// Packet loads at offsets a 16-bit displacement can reach are direct packet accesses: one bounds check
// against data_end (r9), then a load from data (r8) and a byte swap — the kernel's own fast path for
// LD ABS, extended here to LD IND and LDX MSH. Since tcbpf packets are always linear, data_end - data is
// the whole skb->len, so "outside [data, data_end)" is exactly cBPF's "outside the packet → return 0".
// Other offsets (negative SKF_NET_OFF/SKF_LL_OFF bases, far offsets) use LD_ABS/LD_IND, whose failure
// semantics are cBPF's. Ancillary loads are __sk_buff reads or helper calls, and division by a zero X
// exits with 0 explicitly. Where the kernel differs from a naive mapping, the comments say so.
#include <fmt/format.h>

#include <algorithm>

#include "cbpf/opcodes.h"
#include "cbpf/value_bounds.h"
#include "tcbpf/cbpf.h"

namespace tcbpf::cbpf {
namespace {

using isa::Insn;
using isa::Op;

constexpr uint8_t kA = 0, kFp = 10;

// Where the converted program keeps what it needs besides A. A program that calls something (a helper
// for an ancillary load, or the legacy LD_ABS/LD_IND) uses the kernel's mapping: X, the context and the
// packet pointers in r6..r9, which calls preserve, and the context in r6, where LD_ABS/LD_IND expect
// it. A program that calls nothing — most tcpdump filters — keeps everything in r1..r5, which no call
// clobbers when there are none: JIT-compiled, it then saves no register and needs no frame, and runs
// straight from the entry into its body.
struct Registers {
    uint8_t ctx, x, data, data_end, scratch;
};
constexpr Registers kCallingRegisters{.ctx = 6, .x = 7, .data = 8, .data_end = 9, .scratch = 2};
constexpr Registers kLeafRegisters{.ctx = 1, .x = 5, .data = 2, .data_end = 3, .scratch = 4};

// __sk_buff offsets of the fields ancillary loads read (skb-context.md).
constexpr int16_t kSkbData = 76, kSkbDataEnd = 80;
constexpr int16_t kSkbLen = 0, kSkbPktType = 4, kSkbMark = 8, kSkbQueue = 12, kSkbProtocol = 16,
                  kSkbVlanPresent = 20, kSkbVlanTci = 24, kSkbVlanProto = 28, kSkbIfindex = 40, kSkbHash = 68;
constexpr int32_t kHelperPrandom = 7, kHelperSmpProcessorId = 8;

Insn make(Op op, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0, int32_t imm = 0) {
    Insn i;
    i.op = op;
    i.dst = dst;
    i.src = src;
    i.off = off;
    i.imm = imm;
    return i;
}

int16_t scratch_offset(uint32_t k) { return static_cast<int16_t>(-static_cast<int32_t>((kMemWords - k) * 4)); }
// LDX MSH's slow path keeps A below the scratch words while LD_ABS overwrites r0.
constexpr int16_t kSavedA = -static_cast<int16_t>(kMemWords * 4 + 8);

Op ldx_op(uint32_t size) { return size == 4 ? Op::LDX_W : size == 2 ? Op::LDX_H : Op::LDX_B; }

// Which instructions some path reaches. cBPF may carry dead code (the kernel's checker allows it), but
// eBPF may not (the verifier's CFG check rejects unreachable instructions), so dead code is dropped.
std::vector<bool> reachable(const Program& prog) {
    std::vector<bool> live(prog.size(), false);
    if (!prog.empty()) live[0] = true;
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        if (!live[pc]) continue;
        const OpcodeRow* row = find_opcode(prog[pc].code);
        if (row == nullptr) continue;
        auto mark = [&](size_t target) {
            if (target < prog.size()) live[target] = true;
        };
        switch (row->kind) {
            case Kind::RetK:
            case Kind::RetA: break;
            case Kind::Ja: mark(pc + 1 + prog[pc].k); break;
            case Kind::Jcond:
                mark(pc + 1 + prog[pc].jt);
                mark(pc + 1 + prog[pc].jf);
                break;
            default: mark(pc + 1); break;
        }
    }
    return live;
}

bool uses_packet(const Program& prog) {
    for (const auto& insn : prog) {
        const OpcodeRow* row = find_opcode(insn.code);
        if (row == nullptr) continue;
        if (row->kind == Kind::LdInd || row->kind == Kind::LdxMsh) return true;
        if (row->kind == Kind::LdAbs && insn.k < static_cast<uint32_t>(kAdOff)) return true;
    }
    return false;
}

Op alu_op(uint16_t code) {
    const bool x = code & kSrcX;
    switch (op_of(code)) {
        case 0x00: return x ? Op::ADD32_X : Op::ADD32_K;
        case 0x10: return x ? Op::SUB32_X : Op::SUB32_K;
        case 0x20: return x ? Op::MUL32_X : Op::MUL32_K;
        case 0x30: return x ? Op::DIV32_X : Op::DIV32_K;
        case 0x90: return x ? Op::MOD32_X : Op::MOD32_K;
        case 0x50: return x ? Op::AND32_X : Op::AND32_K;
        case 0x40: return x ? Op::OR32_X : Op::OR32_K;
        case 0xa0: return x ? Op::XOR32_X : Op::XOR32_K;
        case 0x60: return x ? Op::LSH32_X : Op::LSH32_K;
        default: return x ? Op::RSH32_X : Op::RSH32_K;
    }
}

// The JMP32 compare for a cBPF condition, and its negation where eBPF has one (JSET has none).
Op jump_op(uint16_t code, bool negate) {
    const bool x = code & kSrcX;
    switch (op_of(code)) {
        case 0x10: return negate ? (x ? Op::JNE32_X : Op::JNE32_K) : (x ? Op::JEQ32_X : Op::JEQ32_K);
        case 0x20: return negate ? (x ? Op::JLE32_X : Op::JLE32_K) : (x ? Op::JGT32_X : Op::JGT32_K);
        case 0x30: return negate ? (x ? Op::JLT32_X : Op::JLT32_K) : (x ? Op::JGE32_X : Op::JGE32_K);
        default: return x ? Op::JSET32_X : Op::JSET32_K;
    }
}

Op ld_abs_op(uint16_t code) {
    const uint32_t size = size_of_load(code);
    return size == 4 ? Op::LD_ABS_W : size == 2 ? Op::LD_ABS_H : Op::LD_ABS_B;
}
Op ld_ind_op(uint16_t code) {
    const uint32_t size = size_of_load(code);
    return size == 4 ? Op::LD_IND_W : size == 2 ? Op::LD_IND_H : Op::LD_IND_B;
}

// A jump whose target is a cBPF pc (or kReturnZero); resolved once every cBPF instruction has its eBPF
// position.
struct Fixup {
    size_t ebpf_pc;
    size_t cbpf_target;
    size_t copy;  // which copy of the program the target lies in
};
constexpr size_t kReturnZero = SIZE_MAX;

class Converter {
   public:
    explicit Converter(const Program& prog)
        : prog_(prog), live_(reachable(prog)), x_bound_(x_upper_bounds(prog)),
          r_(calls_anything() ? kCallingRegisters : kLeafRegisters) {}

    // `guarded`: when the packet is read at several constant offsets, the program is emitted twice —
    // a copy without bounds checks for those offsets, entered when one check at the start shows the
    // packet is long enough for all of them, and the fully checked copy for shorter packets. cBPF has
    // no side effects, so which copy runs cannot be observed.
    isa::Program run(bool guarded) {
        // Prologue: A and X start at 0 (explicitly only where some path reads that 0); the context
        // moves to r6 in programs that call, where LD_ABS/LD_IND expect it.
        const InitialReads initial = initial_reads(prog_);
        if (initial.a) emit(make(Op::MOV32_K, kA));
        if (initial.x) emit(make(Op::MOV32_K, r_.x));
        if (r_.ctx != 1) emit(make(Op::MOV64_X, r_.ctx, 1));
        if (uses_packet(prog_)) {
            load_field(r_.data, kSkbData);
            load_field(r_.data_end, kSkbDataEnd);
        }
        const std::vector<bool>& live = live_;
        const uint32_t span = guarded ? constant_span(live) : 0;
        if (span != 0) {
            emit(make(Op::MOV64_X, r_.scratch, r_.data));
            emit(make(Op::ADD64_K, r_.scratch, 0, 0, static_cast<int32_t>(span)));
            fixups_.push_back({out_.insns.size(), 0, 1});  // too short: the checked copy
            emit(make(Op::JGT64_X, r_.scratch, r_.data_end));
            emit_copy(live, 0, span);
            emit_copy(live, 1, 0);
        } else {
            emit_copy(live, 0, 0);
        }
        // The shared exit of every failed bounds check: a load outside the packet returns 0.
        size_t return_zero = 0;
        if (std::any_of(fixups_.begin(), fixups_.end(), [](const Fixup& f) { return f.cbpf_target == kReturnZero; })) {
            return_zero = out_.insns.size();
            emit(make(Op::MOV32_K, kA));
            emit(make(Op::EXIT));
        }
        for (const Fixup& f : fixups_) {
            const size_t target = f.cbpf_target == kReturnZero ? return_zero : position_[f.copy][f.cbpf_target];
            const int64_t off = static_cast<int64_t>(target) - static_cast<int64_t>(f.ebpf_pc) - 1;
            if (off > INT16_MAX) throw Error("cBPF program too large to convert: a jump exceeds eBPF's range");
            out_.insns[f.ebpf_pc].off = static_cast<int16_t>(off);
        }
        return std::move(out_);
    }

   private:
    // Whether the conversion of some reachable instruction calls: a helper for an ancillary load, or
    // the legacy LD_ABS/LD_IND for what direct access cannot reach.
    bool calls_anything() const {
        for (size_t pc = 0; pc < prog_.size(); ++pc) {
            const cbpf::Insn& in = prog_[pc];
            const OpcodeRow* row = find_opcode(in.code);
            if (!live_[pc] || row == nullptr) continue;
            switch (row->kind) {
                case Kind::LdAbs:
                    if (in.k >= static_cast<uint32_t>(kAdOff)) {
                        if (ancillary_calls(in.k - static_cast<uint32_t>(kAdOff))) return true;
                    } else if (in.k + size_of_load(in.code) > kMaxDirectEnd) {
                        return true;
                    }
                    break;
                case Kind::LdxMsh:
                    if (in.k >= kMaxDirectEnd) return true;
                    break;
                case Kind::LdInd:
                    if (!indexed_always_direct(pc)) return true;
                    break;
                default: break;
            }
        }
        return false;
    }
    static bool ancillary_calls(uint32_t id) {
        return id == kAdCpu || id == kAdRandom || id == kAdHatype || id == kAdPayOffset || id == kAdNlattr ||
               id == kAdNlattrNest;
    }
    // LD IND at pc reads directly whatever X holds: X + k stays within kMaxDirectIndexed (no 32-bit wrap,
    // so never one of the negative bases only LD_IND resolves).
    bool indexed_always_direct(size_t pc) const { return x_bound_[pc] + prog_[pc].k <= kMaxDirectIndexed; }
    void emit_copy(const std::vector<bool>& live, size_t copy, uint32_t known_length) {
        copy_ = copy;
        known_length_ = known_length;
        position_[copy].resize(prog_.size() + 1);
        for (size_t pc = 0; pc < prog_.size(); ++pc) {
            position_[copy][pc] = out_.insns.size();
            if (live[pc]) convert(pc, prog_[pc]);
        }
    }
    // The end of the furthest constant-offset direct load, if at least two are made; else 0.
    uint32_t constant_span(const std::vector<bool>& live) const {
        uint32_t span = 0, loads = 0;
        for (size_t pc = 0; pc < prog_.size(); ++pc) {
            const cbpf::Insn& in = prog_[pc];
            const OpcodeRow* row = find_opcode(in.code);
            if (!live[pc] || row == nullptr) continue;
            const uint32_t size = row->kind == Kind::LdAbs ? size_of_load(in.code) : row->kind == Kind::LdxMsh ? 1 : 0;
            if (size == 0 || in.k >= static_cast<uint32_t>(kAdOff) || in.k + size > kMaxDirectEnd) continue;
            span = std::max(span, in.k + size);
            ++loads;
        }
        return loads >= 2 ? span : 0;
    }

    void emit(const Insn& insn) { out_.insns.push_back(insn); }
    void emit_jump(Op op, size_t cbpf_target, int32_t imm = 0, uint8_t src = 0) {
        fixups_.push_back({out_.insns.size(), cbpf_target, copy_});
        emit(make(op, op == Op::JA ? 0 : kA, src, 0, imm));
    }
    void load_field(uint8_t dst, int16_t offset) { emit(make(Op::LDX_W, dst, r_.ctx, offset)); }
    // if (reg > data_end) return 0;
    void return_zero_if_beyond(uint8_t reg) {
        fixups_.push_back({out_.insns.size(), kReturnZero, copy_});
        emit(make(Op::JGT64_X, reg, r_.data_end));
    }
    // dst = big-endian `size` bytes at base + offset, known to lie inside the packet.
    void load_be(uint8_t dst, uint8_t base, int16_t offset, uint32_t size) {
        emit(make(ldx_op(size), dst, base, offset));
        if (size == 2) emit(make(Op::BE16, dst, 0, 0, 16));
        if (size == 4) emit(make(Op::BE32, dst, 0, 0, 32));
    }
    // A = P[k:size] for 0 <= k, k + size <= kMaxDirectEnd: one bounds check, one load.
    void load_abs_direct(uint8_t dst, uint32_t k, uint32_t size) {
        if (k + size <= known_length_) {  // the guard at the start covered it
            load_be(dst, r_.data, static_cast<int16_t>(k), size);
            return;
        }
        emit(make(Op::MOV64_X, r_.scratch, r_.data));
        emit(make(Op::ADD64_K, r_.scratch, 0, 0, static_cast<int32_t>(k + size)));
        return_zero_if_beyond(r_.scratch);
        load_be(dst, r_.data, static_cast<int16_t>(k), size);
    }
    // A = P[X+k:size]. The 32-bit sum X + k is the offset the kernel's helper receives; a small
    // non-negative one is read directly, anything else (negative bases, far offsets) through LD_IND —
    // unless the bounds of X prove the sum is always small, when the check stays only for the verifier.
    // A, about to be overwritten, holds the sum and then the end of the read.
    void load_ind(size_t pc, const cbpf::Insn& in) {
        const uint32_t size = size_of_load(in.code);
        const bool direct_only = indexed_always_direct(pc);
        emit(make(Op::MOV32_X, kA, r_.x));
        emit(make(Op::ADD32_K, kA, 0, 0, static_cast<int32_t>(in.k)));
        if (direct_only) {
            fixups_.push_back({out_.insns.size(), kReturnZero, copy_});
            emit(make(Op::JGT64_K, kA, 0, 0, static_cast<int32_t>(kMaxDirectIndexed)));
        } else {
            emit(make(Op::JGT64_K, kA, 0, size == 1 ? 7 : 8, static_cast<int32_t>(kMaxDirectIndexed)));
        }
        emit(make(Op::MOV64_X, r_.scratch, r_.data));
        emit(make(Op::ADD64_X, r_.scratch, kA));
        emit(make(Op::MOV64_X, kA, r_.scratch));
        emit(make(Op::ADD64_K, kA, 0, 0, static_cast<int32_t>(size)));
        return_zero_if_beyond(kA);
        load_be(kA, r_.scratch, 0, size);
        if (direct_only) return;
        emit(make(Op::JA, 0, 0, 1));
        emit(make(ld_ind_op(in.code), 0, r_.x, 0, static_cast<int32_t>(in.k)));
    }
    // X = 4 * (P[k] & 0xf).
    void load_msh(uint32_t k) {
        if (k < kMaxDirectEnd) {
            load_abs_direct(r_.x, k, 1);
            emit(make(Op::AND32_K, r_.x, 0, 0, 0xf));
            emit(make(Op::LSH32_K, r_.x, 0, 0, 2));
            return;
        }
        // LD_ABS writes r0, so A waits on the stack.
        emit(make(Op::STX_W, kFp, kA, kSavedA));
        emit(make(Op::LD_ABS_B, 0, 0, 0, static_cast<int32_t>(k)));
        emit(make(Op::AND32_K, kA, 0, 0, 0xf));
        emit(make(Op::LSH32_K, kA, 0, 0, 2));
        emit(make(Op::MOV32_X, r_.x, kA));
        emit(make(Op::LDX_W, kA, kFp, kSavedA));
    }
    void call(int32_t helper) {
        Insn c = make(Op::CALL_HELPER);
        c.imm = helper;
        emit(c);
    }
    // An internal helper taking (ctx, A, X) as the kernel's conversion calls its private functions.
    void call_with_ctx_a_x(int32_t helper) {
        emit(make(Op::MOV64_X, 1, r_.ctx));
        emit(make(Op::MOV64_X, 2, kA));
        emit(make(Op::MOV64_X, 3, r_.x));
        call(helper);
    }

    // The kernel loads skb->dev and, when it is NULL, exits returning A as it stands. skb->dev is
    // NULL exactly when the ifindex the context shows is 0; the ifindex stays in r_.scratch.
    void leave_without_device() {
        load_field(r_.scratch, kSkbIfindex);
        emit(make(Op::JNE32_K, r_.scratch, 0, 1, 0));
        emit(make(Op::EXIT));
    }

    void convert_ancillary(uint32_t id) {
        switch (id) {
            case kAdProtocol:
                load_field(kA, kSkbProtocol);
                emit(make(Op::BE16, kA));  // the field holds the EtherType in network order
                break;
            case kAdVlanTpid:
                load_field(kA, kSkbVlanProto);
                emit(make(Op::BE16, kA));
                break;
            case kAdPktType: load_field(kA, kSkbPktType); break;
            case kAdIfindex:
                leave_without_device();
                emit(make(Op::MOV32_X, kA, r_.scratch));
                break;
            case kAdMark: load_field(kA, kSkbMark); break;
            case kAdQueue: load_field(kA, kSkbQueue); break;
            case kAdRxhash: load_field(kA, kSkbHash); break;
            case kAdVlanTag: load_field(kA, kSkbVlanTci); break;
            case kAdVlanTagPresent: load_field(kA, kSkbVlanPresent); break;
            case kAdCpu: call(kHelperSmpProcessorId); break;
            case kAdRandom: call(kHelperPrandom); break;
            case kAdAluXorX: emit(make(Op::XOR32_X, kA, r_.x)); break;
            case kAdHatype:
                leave_without_device();
                call_with_ctx_a_x(kHelperCbpfHatype);
                break;
            case kAdPayOffset: call_with_ctx_a_x(kHelperCbpfPayOffset); break;
            case kAdNlattr: call_with_ctx_a_x(kHelperCbpfNlattr); break;
            case kAdNlattrNest: call_with_ctx_a_x(kHelperCbpfNlattrNest); break;
            default: throw Error(fmt::format("unknown ancillary load SKF_AD_OFF+{}", id));
        }
    }

    void convert(size_t pc, const cbpf::Insn& in) {
        const OpcodeRow* row = find_opcode(in.code);
        if (row == nullptr) throw Error(fmt::format("cBPF insn {}: opcode 0x{:02x} is not allowed", pc, in.code));
        const int32_t k = static_cast<int32_t>(in.k);
        switch (row->kind) {
            case Kind::Alu: {
                const uint16_t op = op_of(in.code);
                if ((in.code & kSrcX) && (op == 0x30 || op == 0x90)) {
                    // Division by a zero X ends the program returning 0.
                    emit(make(Op::JNE32_K, r_.x, 0, 2, 0));
                    emit(make(Op::MOV32_K, kA));
                    emit(make(Op::EXIT));
                }
                emit(make(alu_op(in.code), kA, (in.code & kSrcX) ? r_.x : 0, 0, (in.code & kSrcX) ? 0 : k));
                break;
            }
            case Kind::Neg: emit(make(Op::NEG32, kA)); break;
            case Kind::LdAbs:
                if (in.k >= static_cast<uint32_t>(kAdOff))
                    convert_ancillary(in.k - static_cast<uint32_t>(kAdOff));
                else if (in.k + size_of_load(in.code) <= kMaxDirectEnd)
                    load_abs_direct(kA, in.k, size_of_load(in.code));
                else
                    emit(make(ld_abs_op(in.code), 0, 0, 0, k));
                break;
            case Kind::LdInd: load_ind(pc, in); break;
            case Kind::LdLen: load_field(kA, kSkbLen); break;
            case Kind::LdxLen: load_field(r_.x, kSkbLen); break;
            case Kind::LdImm: emit(make(Op::MOV32_K, kA, 0, 0, k)); break;
            case Kind::LdxImm: emit(make(Op::MOV32_K, r_.x, 0, 0, k)); break;
            case Kind::LdMem: emit(make(Op::LDX_W, kA, kFp, scratch_offset(in.k))); break;
            case Kind::LdxMem: emit(make(Op::LDX_W, r_.x, kFp, scratch_offset(in.k))); break;
            case Kind::St: emit(make(Op::STX_W, kFp, kA, scratch_offset(in.k))); break;
            case Kind::Stx: emit(make(Op::STX_W, kFp, r_.x, scratch_offset(in.k))); break;
            case Kind::LdxMsh: load_msh(in.k); break;
            case Kind::Tax: emit(make(Op::MOV64_X, r_.x, kA)); break;
            case Kind::Txa: emit(make(Op::MOV64_X, kA, r_.x)); break;
            case Kind::RetK:
                emit(make(Op::MOV32_K, kA, 0, 0, k));
                emit(make(Op::EXIT));
                break;
            case Kind::RetA: emit(make(Op::EXIT)); break;
            case Kind::Ja:
                if (in.k != 0) emit_jump(Op::JA, pc + 1 + in.k);
                break;
            case Kind::Jcond: {
                const size_t t = pc + 1 + in.jt, f = pc + 1 + in.jf;
                const bool x = in.code & kSrcX;
                const int32_t imm = x ? 0 : k;
                const uint8_t src = x ? r_.x : 0;
                if (t == f) {
                    if (in.jt != 0) emit_jump(Op::JA, t);
                } else if (in.jf == 0) {
                    emit_jump(jump_op(in.code, false), t, imm, src);
                } else if (in.jt == 0 && op_of(in.code) != 0x40) {
                    emit_jump(jump_op(in.code, true), f, imm, src);
                } else {
                    emit_jump(jump_op(in.code, false), t, imm, src);
                    emit_jump(Op::JA, f);
                }
                break;
            }
        }
    }

    const Program& prog_;
    const std::vector<bool> live_;
    const std::vector<uint64_t> x_bound_;
    const Registers r_;
    isa::Program out_;
    std::vector<size_t> position_[2];  // per copy: where each cBPF instruction starts
    std::vector<Fixup> fixups_;
    size_t copy_ = 0;
    uint32_t known_length_ = 0;  // packet bytes the copy being emitted may read unchecked
};

}  // namespace

isa::Program convert(const Program& prog) {
    check(prog);
    try {
        return Converter(prog).run(true);
    } catch (const Error&) {
        return Converter(prog).run(false);  // two copies did not fit eBPF's jump range; one may
    }
}

}  // namespace tcbpf::cbpf
