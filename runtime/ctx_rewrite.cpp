// Context-access rewrite: the kernel's convert_ctx_accesses for tc programs.
//
// A tc program reads and writes `struct __sk_buff`, a virtual layout; what it really gets in r1 is the
// address of an skb::SkbContext. So, before a program runs, every load and store made *through the
// context pointer* must be checked against the verifier's rules (skb::check_ctx_access) and retargeted
// to the internal layout (skb::map_ctx_access). The hard part is knowing which registers hold the
// context pointer at each instruction. This file answers that with a small forward dataflow over
// register *kinds* — not a verifier: it tracks only "context pointer", "context pointer moved by a
// constant", "something else" and "differs between paths", in the eleven registers and in the 64
// eight-byte stack slots of the current frame (so spills and fills keep the kind). r1 is the context
// at the entry of the main program; a subprogram's r1..r5 are the join over its call sites. Kinds meet
// at branch targets; an access whose base register is the context on one path and something else on
// another is rejected as the kernel rejects it ("same insn cannot be used with different pointers").
// After the fixpoint, accesses through the context are replaced by their mapped sequences (a load and
// a shift/mask for narrow loads, a guard jump for queue_mapping stores) and every jump, local call and
// function reference is re-aimed at the moved instructions.
// Being path-insensitive, the pass is stricter than the verifier in one way: code that keeps the
// context in a register on one path and another pointer on a second path, and dereferences it at one
// instruction only under a condition that excludes the second path, is rejected here although the
// verifier (which explores paths separately) would accept it. Compilers rarely emit that shape.
#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "tcbpf/runtime.h"
#include "tcbpf/verifier.h"

namespace tcbpf::runtime {

namespace {

using isa::Insn;
using isa::Op;
using isa::Shape;

enum class Kind : uint8_t {
    Unset,     // no path has defined it yet (bottom of the lattice)
    Ctx,       // the context pointer itself
    CtxMoved,  // the context pointer after arithmetic (off known when `known`)
    Other,     // anything that is not the context
    Mixed,     // the context on some path, something else on another
};

struct Value {
    Kind kind = Kind::Unset;
    bool known = true;
    int64_t off = 0;
    bool operator==(const Value&) const = default;
    bool is_ctx_like() const { return kind == Kind::Ctx || kind == Kind::CtxMoved; }
};

constexpr int kSlots = isa::kStackSize / 8;

struct State {
    std::array<Value, isa::kNumRegs> regs{};
    std::array<Value, kSlots> slots{};
    bool operator==(const State&) const = default;
};

Value join(const Value& a, const Value& b) {
    if (a.kind == Kind::Unset) return b;
    if (b.kind == Kind::Unset || a == b) return a;
    if (a.kind == Kind::Other && b.kind == Kind::Other) return a;
    return Value{Kind::Mixed};
}

State join(const State& a, const State& b) {
    State out;
    for (int i = 0; i < isa::kNumRegs; ++i) out.regs[i] = join(a.regs[i], b.regs[i]);
    for (int i = 0; i < kSlots; ++i) out.slots[i] = join(a.slots[i], b.slots[i]);
    return out;
}

const Value kOther{Kind::Other};

State entry_state(const std::array<Value, 6>& args) {
    State s;
    s.regs.fill(kOther);
    for (int r = 1; r <= 5; ++r) s.regs[r] = args[r].kind == Kind::Unset ? kOther : args[r];
    s.slots.fill(kOther);
    return s;
}

// The stack slot an r10-relative access of `size` bytes at `off` touches, when it covers exactly one.
std::optional<int> whole_slot(int16_t off, int size) {
    if (size != 8 || off >= 0 || off < -isa::kStackSize || off % 8 != 0) return std::nullopt;
    return (off + isa::kStackSize) / 8;
}

// A store that is not a whole-slot spill leaves every slot it overlaps holding "something else".
void clobber_stack(State& s, int16_t off, int size) {
    for (int byte = off; byte < off + size; ++byte) {
        if (byte < -isa::kStackSize || byte >= 0) continue;
        s.slots[(byte + isa::kStackSize) / 8] = kOther;
    }
}

void clobber_call(State& s) {
    for (int r = 0; r <= 5; ++r) s.regs[r] = kOther;
}

bool is_load(Shape shape) { return shape == Shape::Ldx; }
bool is_store(Shape shape) { return shape == Shape::St || shape == Shape::Stx; }

Op load_op(int size) {
    switch (size) {
        case 1: return Op::LDX_B;
        case 2: return Op::LDX_H;
        case 4: return Op::LDX_W;
        default: return Op::LDX_DW;
    }
}
Op store_op(int size, bool from_register) {
    switch (size) {
        case 1: return from_register ? Op::STX_B : Op::ST_B;
        case 2: return from_register ? Op::STX_H : Op::ST_H;
        case 4: return from_register ? Op::STX_W : Op::ST_W;
        default: return from_register ? Op::STX_DW : Op::ST_DW;
    }
}

class Analysis {
   public:
    explicit Analysis(const isa::Program& prog)
        : prog_(prog), in_(prog.size()), callee_args_(prog.size()), queued_(prog.size(), false) {}

    void run() {
        std::array<Value, 6> main_args{};
        main_args[1] = Value{Kind::Ctx};
        merge(0, entry_state(main_args));
        while (!work_.empty()) {
            const size_t pc = work_.front();
            work_.pop_front();
            queued_[pc] = false;
            step(pc, *in_[pc]);
        }
    }

    const std::optional<State>& state_at(size_t pc) const { return in_[pc]; }

   private:
    void merge(size_t pc, const State& s) {
        if (pc >= prog_.size()) return;  // decode and prepare reject such programs; nothing to analyse
        State joined = in_[pc] ? join(*in_[pc], s) : s;
        if (in_[pc] && joined == *in_[pc]) return;
        in_[pc] = joined;
        if (!queued_[pc]) {
            queued_[pc] = true;
            work_.push_back(pc);
        }
    }

    void step(size_t pc, State s) {
        const Insn& insn = prog_.insns[pc];
        if (insn.op == Op::LDDW_TAIL) return;
        const isa::OpInfo& row = isa::info(insn.op);
        switch (row.shape) {
            case Shape::Lddw:
                s.regs[insn.dst] = kOther;
                merge(pc + 2, s);
                return;
            case Shape::AluK:
            case Shape::AluX:
            case Shape::Neg:
            case Shape::MovSx:
            case Shape::End:
                alu(insn, s);
                break;
            case Shape::Ldx:
                if (insn.src == isa::kFrameReg) {
                    const auto slot = whole_slot(insn.off, isa::mem_size(insn.op));
                    s.regs[insn.dst] = slot ? s.slots[*slot] : kOther;
                } else {
                    s.regs[insn.dst] = kOther;
                }
                break;
            case Shape::St:
            case Shape::Stx:
                if (insn.dst == isa::kFrameReg) {
                    const int size = isa::mem_size(insn.op);
                    const auto slot = whole_slot(insn.off, size);
                    if (slot && row.shape == Shape::Stx)
                        s.slots[*slot] = s.regs[insn.src];
                    else
                        clobber_stack(s, insn.off, size);
                }
                break;
            case Shape::Atomic:
                if (insn.dst == isa::kFrameReg) clobber_stack(s, insn.off, isa::mem_size(insn.op));
                if (insn.op == Op::ATOMIC32_CMPXCHG || insn.op == Op::ATOMIC64_CMPXCHG)
                    s.regs[0] = kOther;
                else if (insn.imm & 0x01)  // BPF_FETCH: the old value lands in src
                    s.regs[insn.src] = kOther;
                break;
            case Shape::LdAbs:
            case Shape::LdInd:
            case Shape::Call:
            case Shape::Callx:
                if (insn.op == Op::CALL_LOCAL) enter_subprogram(pc, s);
                clobber_call(s);
                break;
            case Shape::Exit:
                return;
            case Shape::Ja:
            case Shape::Ja32:
                merge(static_cast<size_t>(isa::branch_target(insn, pc)), s);
                return;
            case Shape::JccK:
            case Shape::JccX:
                merge(static_cast<size_t>(isa::branch_target(insn, pc)), s);
                break;
        }
        merge(pc + 1, s);
    }

    void alu(const Insn& insn, State& s) {
        Value& dst = s.regs[insn.dst];
        if (insn.op == Op::MOV64_X) {
            dst = s.regs[insn.src];
            return;
        }
        if (insn.op == Op::MOV64_K || insn.op == Op::MOV32_K || insn.op == Op::MOV32_X ||
            isa::info(insn.op).shape == Shape::MovSx) {
            dst = kOther;
            return;
        }
        if ((insn.op == Op::ADD64_K || insn.op == Op::SUB64_K) && dst.is_ctx_like()) {
            if (!dst.known) return;
            const int64_t off = dst.off + (insn.op == Op::ADD64_K ? insn.imm : -int64_t{insn.imm});
            dst = off == 0 ? Value{Kind::Ctx} : Value{Kind::CtxMoved, true, off};
            return;
        }
        const bool src_ctx = isa::info(insn.op).shape == Shape::AluX && s.regs[insn.src].is_ctx_like();
        if ((insn.op == Op::ADD64_X || insn.op == Op::SUB64_X) && (dst.is_ctx_like() || src_ctx)) {
            dst = Value{Kind::CtxMoved, false, 0};
            return;
        }
        // Arithmetic on a register that is the context on some path keeps it suspect.
        if (dst.kind != Kind::Mixed) dst = kOther;
    }

    void enter_subprogram(size_t pc, const State& s) {
        const size_t target = static_cast<size_t>(isa::branch_target(prog_.insns[pc], pc));
        if (target >= prog_.size()) return;
        std::array<Value, 6>& args = callee_args_[target];
        for (int r = 1; r <= 5; ++r) args[r] = join(args[r], s.regs[r]);
        merge(target, entry_state(args));
    }

    const isa::Program& prog_;
    std::vector<std::optional<State>> in_;
    std::vector<std::array<Value, 6>> callee_args_;
    std::deque<size_t> work_;
    std::vector<bool> queued_;
};

[[noreturn]] void reject(size_t pc, const std::string& message) { throw Error(fmt::format("pc {}: {}", pc, message)); }

// The replacement of one context access (already known to go through a context register).
void rewrite_access(const Insn& insn, size_t pc, skb::ProgType type, std::vector<Insn>& out) {
    const isa::OpInfo& row = isa::info(insn.op);
    const int size = isa::mem_size(insn.op);
    const bool write = is_store(row.shape);
    const skb::CtxVerdict verdict = skb::check_ctx_access(type, insn.off, static_cast<uint32_t>(size), write);
    if (!verdict.ok) reject(pc, verdict.message);
    const skb::CtxMapping m = *skb::map_ctx_access(type, insn.off, static_cast<uint32_t>(size), write);
    const auto field_off = static_cast<int16_t>(m.offset);
    const bool sign_extend = insn.op == Op::LDXS_B || insn.op == Op::LDXS_H || insn.op == Op::LDXS_W;
    if (sign_extend && m.kind == skb::CtxKind::PacketPointer)
        reject(pc, fmt::format("invalid bpf_context access off={} size={}", insn.off, size));

    if (!write) {
        out.push_back(Insn{.op = load_op(m.size), .dst = insn.dst, .src = insn.src, .off = field_off});
        if (m.narrow) {
            if (m.shift != 0) out.push_back(Insn{.op = Op::RSH64_K, .dst = insn.dst, .imm = m.shift});
            if (m.mask_bytes >= 4)
                out.push_back(Insn{.op = Op::MOV32_X, .dst = insn.dst, .src = insn.dst});
            else
                out.push_back(Insn{.op = Op::AND64_K, .dst = insn.dst, .imm = (1 << (m.mask_bytes * 8)) - 1});
        }
        // A sign-extending load (BPF_MEMSX) gets the unsigned sequence and then, as the kernel emits
        // it, a sign-extending move of the access width.
        if (sign_extend)
            out.push_back(Insn{.op = size == 1 ? Op::MOVSX64_S8 : size == 2 ? Op::MOVSX64_S16 : Op::MOVSX64_S32,
                               .dst = insn.dst, .src = insn.dst, .off = static_cast<int16_t>(size * 8)});
        return;
    }
    if (row.shape == Shape::St) {
        // The kernel compares the instruction's signed immediate with NO_QUEUE_MAPPING and drops the
        // store outright when it is not below; a 1-slot no-op keeps the instruction count honest.
        if (m.store_limit != 0 && int64_t{insn.imm} >= int64_t{m.store_limit}) {
            out.push_back(Insn{.op = Op::JA, .off = 0});
            return;
        }
        out.push_back(Insn{.op = store_op(m.size, false), .dst = insn.dst, .off = field_off, .imm = insn.imm});
        return;
    }
    if (m.store_limit != 0)
        out.push_back(Insn{.op = Op::JGE64_K, .dst = insn.src, .off = 1, .imm = static_cast<int32_t>(m.store_limit)});
    out.push_back(Insn{.op = store_op(m.size, true), .dst = insn.dst, .src = insn.src, .off = field_off});
}

int16_t narrow_offset(int64_t value, size_t pc) {
    if (value < INT16_MIN || value > INT16_MAX)
        reject(pc, fmt::format("jump offset {} does not fit 16 bits after the context rewrite", value));
    return static_cast<int16_t>(value);
}

// Whether some path the verifier explored reaches `pc` (the second slot of an ld_imm64 goes with the first).
bool proven_reached(const verifier::Result& proof, const isa::Program& prog, size_t pc) {
    if (prog.insns[pc].op == Op::LDDW_TAIL && pc > 0) --pc;
    return pc < proof.insn_seen.size() && proof.insn_seen[pc];
}

// The verifier saw the base register of each access it explored, on every path: its answer replaces the
// path-insensitive guess (which may join in paths the verifier proved impossible). Code it proved
// unreachable becomes jumps to themselves, slot for slot: never executed, and nothing in it (an unknown
// helper, a map reference) is left for later stages to trip over.
isa::Program rewrite_with_proof(const isa::Program& prog, skb::ProgType type, const verifier::Result& proof,
                                std::vector<int64_t>& new_pc) {
    isa::Program out;
    out.insns.reserve(prog.size() + prog.size() / 4);
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        new_pc[pc] = static_cast<int64_t>(out.insns.size());
        const Insn& insn = prog.insns[pc];
        if (!proven_reached(proof, prog, pc))
            out.insns.push_back(Insn{.op = Op::JA, .off = -1});
        else if (pc < proof.insn_ctx_access.size() && proof.insn_ctx_access[pc])
            rewrite_access(insn, pc, type, out.insns);
        else
            out.insns.push_back(insn);
    }
    return out;
}

isa::Program rewrite_by_analysis(const isa::Program& prog, skb::ProgType type, std::vector<int64_t>& new_pc) {
    Analysis analysis(prog);
    analysis.run();

    isa::Program out;
    out.insns.reserve(prog.size() + prog.size() / 4);
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        new_pc[pc] = static_cast<int64_t>(out.insns.size());
        const Insn& insn = prog.insns[pc];
        const std::optional<State>& state = analysis.state_at(pc);
        if (insn.op == Op::LDDW_TAIL || !state) {
            out.insns.push_back(insn);
            continue;
        }
        const Shape shape = isa::info(insn.op).shape;
        const bool memory = is_load(shape) || is_store(shape) || shape == Shape::Atomic;
        const uint8_t base = is_load(shape) ? insn.src : insn.dst;
        const Value& v = memory ? state->regs[base] : kOther;
        if (v.kind == Kind::Mixed) reject(pc, "same insn cannot be used with different pointers");
        if (v.kind == Kind::CtxMoved) {
            if (!v.known) reject(pc, fmt::format("variable ctx access var_off=(unknown) disallowed (R{})", base));
            reject(pc, fmt::format("dereference of modified ctx ptr R{} off={} disallowed", base, v.off));
        }
        if (v.kind != Kind::Ctx) {
            out.insns.push_back(insn);
            continue;
        }
        if (shape == Shape::Atomic) reject(pc, fmt::format("BPF_ATOMIC stores into R{} ctx is not allowed", base));
        rewrite_access(insn, pc, type, out.insns);
    }
    return out;
}

}  // namespace

isa::Program rewrite_ctx_accesses(const isa::Program& prog, skb::ProgType type, const verifier::Result* proof) {
    std::vector<int64_t> new_pc(prog.size() + 1, 0);
    isa::Program out = proof ? rewrite_with_proof(prog, type, *proof, new_pc) : rewrite_by_analysis(prog, type, new_pc);
    new_pc[prog.size()] = static_cast<int64_t>(out.insns.size());

    for (size_t pc = 0; pc < prog.size(); ++pc) {
        const Insn& old = prog.insns[pc];
        const bool jump = isa::is_jump(old.op);
        const bool local_call = old.op == Op::CALL_LOCAL;
        const bool func_ref = old.op == Op::LDDW && old.src == static_cast<uint8_t>(isa::Pseudo::Func);
        if (!jump && !local_call && !func_ref) continue;
        if (proof && !proven_reached(*proof, prog, pc)) continue;  // sanitized
        const int64_t target = isa::branch_target(old, pc);
        if (target < 0 || target > static_cast<int64_t>(prog.size())) continue;  // left for prepare to reject
        Insn& moved = out.insns[static_cast<size_t>(new_pc[pc])];
        const int64_t distance = new_pc[static_cast<size_t>(target)] - new_pc[pc] - 1;
        if (old.op == Op::JA32 || local_call || func_ref) {
            moved.imm = static_cast<int32_t>(distance);
            if (func_ref) moved.imm64 = static_cast<uint32_t>(moved.imm);
        } else {
            moved.off = narrow_offset(distance, pc);
        }
    }
    return out;
}

}  // namespace tcbpf::runtime
