// The x86-64 code generator: one pass over the instructions per emission, two emissions per program.
//
// Why asmjit (x86::Assembler) rather than an encoder of our own: x86 encoding is full of special cases
// (REX for sil/dil, SIB for rsp/r12 bases, rbp/r13 needing a displacement, imm8 vs imm32 forms, 32-bit
// zero-extending forms); asmjit gets them right and is already a packaged, tested dependency. We keep
// control of everything that matters for performance: register allocation (fixed), instruction choice,
// and jump sizes. asmjit only knows backward distances when it emits a jump, so every program is emitted
// twice: the first emission (forward jumps near) measures where each instruction lands, the second makes
// a forward jump short when its first-emission distance fits in 8 bits — the second emission can only be
// shorter between any two points, so that choice is always safe.
//
// Register mapping (the Linux JIT's): r0 rax, r1 rdi, r2 rsi, r3 rdx, r4 rcx, r5 r8, r6 rbx, r7 r13,
// r8 r14, r9 r15, r10 rbp. r1..r5 sit in the System V argument registers, so a helper call needs only
// the Context* in r9. Scratch: r11 (divisors, shift counts, blinded constants), r10 and r9 (values
// saved around divisions and atomics — moves between registers, never memory). r12 points at the
// per-run state block (runtime.h) in programs that call anything.
//
// Layout of the generated code:
//   entry:  push the callee-saved registers the program uses; reserve the 4 KiB eBPF stack (eight
//           512-byte frames, contiguous like the interpreter's) and the state block; zero r0, r3..r9;
//           `call body`; undo; ret. A program with nothing to push or reserve falls into its body.
//   body:   the instructions in program order. EXIT is `ret`, in the main program as in subprograms, so
//           a tail call can simply jump to another program's body with the caller's stack and state.
//   stubs:  cold fault paths after the body.
// The batch entry (Options::batch_frames, Program::batch_entry) is a second, separate copy: a loop
// around the body whose EXITs store r0 and go on with the next frame (emit_batch_entry).
// A local call pushes r6..r9 and the new frame's depth (exactly 48 bytes with the return address, so
// the native stack stays 16-byte aligned at every helper call), moves r10 to the new frame and calls.
// Programs that may tail call save all callee-saved registers, since the target may use any.
#include "jit/x86_64.h"

#include <asmjit/x86.h>

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <random>
#include <string>

#include <fmt/format.h>

#include "jit/runtime.h"
#include "tcbpf/error.h"

namespace tcbpf::jit::detail {
namespace {

namespace x86 = asmjit::x86;
using asmjit::Imm;
using asmjit::Label;
using isa::Op;
using CondCode = x86::CondCode;

constexpr int32_t kFrameBytes = isa::kStackSize;
constexpr int32_t kStackBytes = isa::kStackSize * isa::kMaxCallDepth;

const x86::Gpq kReg[isa::kNumRegs] = {x86::rax, x86::rdi, x86::rsi, x86::rdx, x86::rcx, x86::r8,
                                      x86::rbx, x86::r13, x86::r14, x86::r15, x86::rbp};

class RecordingErrorHandler : public asmjit::ErrorHandler {
   public:
    void handleError(asmjit::Error, const char* message, asmjit::BaseEmitter*) override {
        if (first.empty()) first = message;
    }
    std::string first;
};

bool is_shift_k(Op op) {
    return op == Op::LSH64_K || op == Op::RSH64_K || op == Op::ARSH64_K || op == Op::LSH32_K || op == Op::RSH32_K ||
           op == Op::ARSH32_K;
}

CondCode condition(Op op) {
    switch (op) {
        case Op::JEQ64_K: case Op::JEQ64_X: case Op::JEQ32_K: case Op::JEQ32_X: return CondCode::kE;
        case Op::JNE64_K: case Op::JNE64_X: case Op::JNE32_K: case Op::JNE32_X: return CondCode::kNE;
        case Op::JGT64_K: case Op::JGT64_X: case Op::JGT32_K: case Op::JGT32_X: return CondCode::kA;
        case Op::JGE64_K: case Op::JGE64_X: case Op::JGE32_K: case Op::JGE32_X: return CondCode::kAE;
        case Op::JLT64_K: case Op::JLT64_X: case Op::JLT32_K: case Op::JLT32_X: return CondCode::kB;
        case Op::JLE64_K: case Op::JLE64_X: case Op::JLE32_K: case Op::JLE32_X: return CondCode::kBE;
        case Op::JSGT64_K: case Op::JSGT64_X: case Op::JSGT32_K: case Op::JSGT32_X: return CondCode::kG;
        case Op::JSGE64_K: case Op::JSGE64_X: case Op::JSGE32_K: case Op::JSGE32_X: return CondCode::kGE;
        case Op::JSLT64_K: case Op::JSLT64_X: case Op::JSLT32_K: case Op::JSLT32_X: return CondCode::kL;
        case Op::JSLE64_K: case Op::JSLE64_X: case Op::JSLE32_K: case Op::JSLE32_X: return CondCode::kLE;
        default: return CondCode::kNZ;  // JSET
    }
}

// What the whole program needs from the entry sequence.
struct Needs {
    bool state = false;      // calls something: r12, state block
    bool stack = false;      // touches r10 (or gives frames to callees)
    bool tail_calls = false; // may continue in another program: save and zero everything
    bool reg_used[isa::kNumRegs] = {};
    std::vector<bool> jump_target;  // per pc: some jump or local call lands here
    bool written_first[isa::kNumRegs] = {};  // the entry need not zero it (find_written_first)
};

// Registers the straight-line start of the program (up to the first jump, jump target, call, exit or
// packet load) writes before anything reads them: zeroing them at entry could not be observed.
void find_written_first(const isa::Program& prog, Needs& needs) {
    bool touched[isa::kNumRegs] = {};
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        const isa::Insn& insn = prog.insns[pc];
        if (insn.op == Op::LDDW_TAIL) continue;
        if (needs.jump_target[pc]) return;
        const bool mov = insn.op == Op::MOV64_K || insn.op == Op::MOV32_K || insn.op == Op::MOV64_X || insn.op == Op::MOV32_X;
        bool reads_dst = false, reads_src = false, writes_dst = false;
        switch (isa::info(insn.op).shape) {
            case isa::Shape::AluK:
                reads_dst = !mov;
                writes_dst = true;
                break;
            case isa::Shape::AluX:
                reads_dst = !mov;
                reads_src = writes_dst = true;
                break;
            case isa::Shape::MovSx:
            case isa::Shape::Ldx: reads_src = writes_dst = true; break;
            case isa::Shape::Neg:
            case isa::Shape::End: reads_dst = writes_dst = true; break;
            case isa::Shape::Lddw: writes_dst = true; break;  // src is a pseudo type, not a register
            case isa::Shape::St: reads_dst = true; break;
            case isa::Shape::Stx: reads_dst = reads_src = true; break;
            default: return;
        }
        if (reads_src) touched[insn.src] = true;
        if (reads_dst) touched[insn.dst] = true;
        if (writes_dst && !touched[insn.dst]) needs.written_first[insn.dst] = touched[insn.dst] = true;
    }
}

Needs analyse(const isa::Program& prog) {
    Needs needs;
    needs.jump_target.assign(prog.size() + 1, false);
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        const isa::Insn& insn = prog.insns[pc];
        if (insn.op == Op::LDDW_TAIL) continue;
        if (isa::is_jump(insn.op) || insn.op == Op::CALL_LOCAL) {
            const int64_t target = isa::branch_target(insn, pc);
            if (target >= 0 && static_cast<size_t>(target) < prog.size()) needs.jump_target[static_cast<size_t>(target)] = true;
        }
        needs.reg_used[insn.dst] = needs.reg_used[insn.src] = true;
        switch (isa::info(insn.op).shape) {
            case isa::Shape::LdAbs: case isa::Shape::LdInd: needs.reg_used[6] = true; [[fallthrough]];
            case isa::Shape::Call: needs.state = true; break;
            case isa::Shape::Callx: needs.state = needs.tail_calls = true; break;
            default: break;
        }
        if (insn.op == Op::CALL_HELPER && insn.imm == vm::kHelperTailCall) needs.tail_calls = true;
    }
    if (needs.tail_calls) std::fill(std::begin(needs.reg_used), std::end(needs.reg_used), true);
    needs.stack = needs.reg_used[isa::kFrameReg] || needs.state;
    find_written_first(prog, needs);
    return needs;
}

class Compiler {
   public:
    // `short_forward[pc]`: the forward jump at pc may use the 8-bit form (from the previous emission).
    Compiler(const CodegenInput& input, const Needs& needs, asmjit::CodeHolder& code, const std::vector<bool>& short_forward,
             uint64_t blind_key, EntryKind entry)
        : in_(input), needs_(needs), code_(code), a_(&code), short_forward_(short_forward), key_(blind_key),
          batch_(entry == EntryKind::Batch) {}

    void emit() {
        const size_t n = in_.prog.size();
        labels_.resize(n);
        jump_end_.assign(n, -1);
        for (Label& label : labels_) label = a_.newLabel();
        fault_depth_ = a_.newLabel();
        fault_callx_ = a_.newLabel();
        if (batch_) emit_batch_entry();
        else emit_entry();
        for (size_t pc = 0; pc < n; ++pc) {
            a_.bind(labels_[pc]);
            pc_ = pc;
            if (pc + 1 < n && fuse_copy_and_add(in_.prog.insns[pc], in_.prog.insns[pc + 1], pc + 1)) {
                a_.bind(labels_[++pc]);  // the add's code is the lea just emitted
                continue;
            }
            emit_insn(in_.prog.insns[pc]);
        }
        if (batch_) emit_batch_end();
        cold_ = a_.newLabel();
        a_.bind(cold_);
        emit_stubs();
    }

    uint64_t label_offset(size_t pc) const { return code_.labelOffset(labels_[pc]); }
    uint64_t cold_offset() const { return code_.labelOffset(cold_); }
    int64_t jump_end(size_t pc) const { return jump_end_[pc]; }
    x86::Assembler& assembler() { return a_; }

   private:
    // ---- operands ----
    static x86::Gp reg(int r, bool wide) { return wide ? x86::Gp(kReg[r]) : x86::Gp(kReg[r].r32()); }
    x86::Mem mem(int base, int16_t off, int size) const { return x86::ptr(kReg[base], off, static_cast<uint32_t>(size)); }
    static x86::Gp sized(const x86::Gp& r, int size) {
        switch (size) {
            case 1: return r.r8();
            case 2: return r.r16();
            case 4: return r.r32();
            default: return r.r64();
        }
    }

    // Puts `value` into `dst` without the constant appearing in the code when blinding is on.
    void load_constant(const x86::Gpq& dst, uint64_t value) {
        if (in_.options.blind_constants && value != 0) {
            const uint64_t key = key_ ^ value * 0x9e3779b97f4a7c15ull;  // differs per constant too
            a_.mov(dst, Imm(static_cast<int64_t>(value ^ key)));
            a_.mov(x86::r11 == dst ? x86::r10 : x86::r11, Imm(static_cast<int64_t>(key)));
            a_.xor_(dst, x86::r11 == dst ? x86::r10 : x86::r11);
            return;
        }
        if (value == 0) a_.xor_(dst.r32(), dst.r32());
        else if (value <= UINT32_MAX) a_.mov(dst.r32(), Imm(value));
        else a_.mov(dst, Imm(static_cast<int64_t>(value)));
    }

    // The K operand as an ALU/JMP/ST reads it, folded into the instruction as imm32, or (blinding) in r11.
    template <typename F>
    void with_k(int32_t imm, bool wide, F&& use) {
        if (in_.options.blind_constants && imm != 0) {
            load_constant(x86::r11, static_cast<uint64_t>(static_cast<int64_t>(imm)));
            use(wide ? x86::Gp(x86::r11) : x86::Gp(x86::r11d));
        } else {
            use(Imm(imm));
        }
    }

    // `rD = rS; rD += K` (how clang forms pointer arithmetic) becomes one `lea`, unless something jumps
    // to the add. Same for the 32-bit pair: lea's 32-bit result is the zero-extended sum of the low halves.
    bool fuse_copy_and_add(const isa::Insn& copy, const isa::Insn& add, size_t add_pc) {
        const bool wide = copy.op == Op::MOV64_X && add.op == Op::ADD64_K;
        const bool narrow = copy.op == Op::MOV32_X && add.op == Op::ADD32_K;
        if (!(wide || narrow) || add.dst != copy.dst || copy.dst == copy.src || needs_.jump_target[add_pc]) return false;
        if (in_.options.blind_constants && add.imm != 0) return false;  // the constant must not appear in the code
        a_.lea(reg(copy.dst, wide), x86::ptr(kReg[copy.src], add.imm));
        return true;
    }

    // ---- jumps ----
    void jump(size_t target, CondCode cc, bool unconditional) {
        if (target == pc_ + 1) return;  // falls through either way (flags are not eBPF state)
        const bool short_form = target > pc_ && short_forward_[pc_];
        if (short_form) a_.short_();
        if (unconditional) a_.jmp(labels_[target]);
        else a_.j(cc, labels_[target]);
        jump_end_[pc_] = static_cast<int64_t>(a_.offset());
    }

    // ---- entry sequence ----
    void emit_entry() {
        static const x86::Gpq kCalleeSaved[] = {x86::rbx, x86::rbp, x86::r12, x86::r13, x86::r14, x86::r15};
        const bool want[] = {needs_.reg_used[6], needs_.stack, needs_.state, needs_.reg_used[7], needs_.reg_used[8],
                             needs_.reg_used[9]};
        for (int i = 0; i < 6; ++i)
            if (want[i]) saved_.push_back(kCalleeSaved[i]);
        for (const x86::Gpq& r : saved_) a_.push(r);
        // Entry rsp ≡ 8 (mod 16); the body must start at ≡ 0, i.e. rsp ≡ 8 right before `call body`.
        // With the stack: [rsp+8, rsp+8+4096) is the eBPF stack (its top 16-byte aligned, like the
        // interpreter's), the state block follows it.
        if (needs_.stack) {
            frame_ = 8 + kStackBytes + kStateSize;
            if ((frame_ + 8 * static_cast<int32_t>(saved_.size())) % 16 != 0) frame_ += 8;
            a_.sub(x86::rsp, frame_);
            a_.lea(x86::rbp, x86::ptr(x86::rsp, 8 + kStackBytes));
        } else if (saved_.size() % 2 != 0) {
            frame_ = 8;
            a_.sub(x86::rsp, frame_);
        }
        if (needs_.state) {
            a_.mov(x86::r12, x86::rbp);  // state block right above the stack top
            a_.mov(x86::qword_ptr(x86::r12, kStateContext), x86::rdx);
            a_.mov(x86::dword_ptr(x86::r12, kStateDepth), 0);
            a_.mov(x86::qword_ptr(x86::r12, kStateStackTop), x86::rbp);
            a_.lea(x86::r11, x86::ptr(x86::rsp, -8));
            a_.mov(x86::qword_ptr(x86::r12, kStateFaultRsp), x86::r11);
        }
        if (needs_.stack && in_.options.zero_stack_frames) zero_frame();
        zero_registers_read_first({0, 3, 4, 5, 6, 7, 8, 9});
        // Nothing to undo: the body follows, and its EXIT returns straight to the caller.
        if (saved_.empty() && frame_ == 0) return;
        a_.call(labels_[0]);
        if (frame_ != 0) a_.add(x86::rsp, frame_);
        for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) a_.pop(*it);
        a_.ret();
    }

    void zero_registers_read_first(std::initializer_list<int> regs) {
        for (int r : regs)
            if (needs_.reg_used[r] && !needs_.written_first[r]) a_.xor_(kReg[r].r32(), kReg[r].r32());
    }

    // ---- the batch entry (batch_eligible programs only) ----
    // (const Frame* frames, count, uint32_t* results): one run per frame, the body inline in a loop.
    // r1 is the frame cursor: the program reads its context only as the frame's pointers and length
    // (frame_load) and never writes r1. rbx holds the end of the frames and r13 the next result:
    // callee-saved registers the program cannot touch, since it uses none of r6..r9.
    void emit_batch_entry() {
        saved_ = {x86::rbx, x86::r13};
        if (needs_.stack) saved_.push_back(x86::rbp);
        for (const x86::Gpq& r : saved_) a_.push(r);
        if (needs_.stack) {
            // One 4 KiB stack for every run, its top 16-byte aligned as the normal entry leaves it.
            frame_ = kStackBytes + (saved_.size() % 2 == 0 ? 8 : 0);
            a_.sub(x86::rsp, frame_);
            a_.lea(x86::rbp, x86::ptr(x86::rsp, kStackBytes));
        }
        static_assert(sizeof(Frame) == 16);
        a_.shl(x86::rsi, 4);
        a_.lea(x86::rbx, x86::ptr(x86::rdi, x86::rsi));
        a_.mov(x86::r13, x86::rdx);
        batch_loop_ = a_.newLabel();
        batch_done_ = a_.newLabel();
        a_.cmp(x86::rdi, x86::rbx);
        a_.jae(batch_done_);
        a_.bind(batch_loop_);
        // Each run starts as direct_entry(context, 0) would.
        zero_registers_read_first({0, 2, 3, 4, 5});
        if (needs_.stack && in_.options.zero_stack_frames) zero_frame();
    }

    // A context load in the batch entry, from the frame at r1 instead (batch_eligible allows no other).
    void frame_load(const isa::Insn& insn) {
        const FrameFields& fields = *in_.options.batch_frames;
        const x86::Gpq d = kReg[insn.dst];
        if (insn.off == fields.data) {
            a_.mov(d, x86::qword_ptr(x86::rdi, offsetof(Frame, data)));
        } else if (insn.off == fields.data_end) {
            a_.mov(d, x86::qword_ptr(x86::rdi, offsetof(Frame, size)));
            a_.add(d, x86::qword_ptr(x86::rdi, offsetof(Frame, data)));
        } else {
            a_.mov(d.r32(), x86::dword_ptr(x86::rdi, offsetof(Frame, size)));
        }
    }

    // EXIT in the batch entry: record r0 and go on with the next frame (the loop's tail at every exit,
    // so a run ends in one taken branch).
    void emit_batch_exit() {
        a_.mov(x86::dword_ptr(x86::r13), x86::eax);
        a_.add(x86::r13, 4);
        a_.add(x86::rdi, sizeof(Frame));
        a_.cmp(x86::rdi, x86::rbx);
        a_.jb(batch_loop_);
        a_.jmp(batch_done_);
    }

    void emit_batch_end() {
        a_.bind(batch_done_);
        if (frame_ != 0) a_.add(x86::rsp, frame_);
        for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) a_.pop(*it);
        a_.ret();
    }

    // Zeroes [r10 - 512, r10) (Options::zero_stack_frames).
    void zero_frame() {
        const Label loop = a_.newLabel();
        a_.mov(x86::r11, -kFrameBytes);
        a_.bind(loop);
        a_.mov(x86::qword_ptr(x86::rbp, x86::r11), 0);
        a_.add(x86::r11, 8);
        a_.short_().jnz(loop);
    }

    // ---- cold paths ----
    struct Stub {
        Label label;
        uint32_t pc;
        bool callx;
    };

    Label stub(bool callx) {
        stubs_.push_back({a_.newLabel(), static_cast<uint32_t>(pc_), callx});
        return stubs_.back().label;
    }

    void emit_stubs() {
        for (const Stub& s : stubs_) {
            a_.bind(s.label);
            a_.mov(x86::esi, s.pc);
            if (s.callx) a_.mov(x86::rdx, x86::r11);
            a_.jmp(s.callx ? fault_callx_ : fault_depth_);
        }
        // Record the fault, then unwind to the main body's return address and "return" 0 from it.
        for (const auto& [label, fn] : {std::pair{fault_depth_, reinterpret_cast<uint64_t>(&fault_call_depth)},
                                        std::pair{fault_callx_, reinterpret_cast<uint64_t>(&fault_callx)}}) {
            a_.bind(label);
            if (!needs_.state) continue;  // no call sites, no stubs
            a_.mov(x86::rdi, x86::qword_ptr(x86::r12, kStateContext));
            a_.mov(x86::rsp, x86::qword_ptr(x86::r12, kStateFaultRsp));
            a_.mov(x86::r10, Imm(fn));
            a_.call(x86::r10);
            a_.xor_(x86::eax, x86::eax);
            a_.ret();
        }
    }

    // ---- calls ----
    void call_absolute(const void* fn) {
        a_.mov(x86::r10, Imm(reinterpret_cast<uint64_t>(fn)));
        a_.call(x86::r10);
    }

    void call_helper(vm::HelperFn fn) {
        a_.mov(x86::r9, x86::qword_ptr(x86::r12, kStateContext));
        call_absolute(reinterpret_cast<const void*>(fn));
    }

    // Every register is kept, as by the interpreter; on success control continues in the target's body.
    void tail_call() {
        const x86::Gpq kept[] = {x86::rax, x86::rdi, x86::rsi, x86::rdx, x86::rcx, x86::r8};  // 48 bytes
        for (const x86::Gpq& r : kept) a_.push(r);
        a_.mov(x86::rdi, x86::qword_ptr(x86::r12, kStateContext));  // rsi = r2, rdx = r3 already
        call_absolute(reinterpret_cast<const void*>(&tail_call_target));
        a_.mov(x86::r11, x86::rax);
        for (auto it = std::rbegin(kept); it != std::rend(kept); ++it) a_.pop(*it);
        const Label empty = a_.newLabel();
        a_.test(x86::r11, x86::r11);
        a_.short_().jz(empty);
        a_.jmp(x86::r11);
        a_.bind(empty);
    }

    void call_local(size_t target) {
        a_.mov(x86::r11d, x86::dword_ptr(x86::r12, kStateDepth));
        a_.cmp(x86::r11d, isa::kMaxCallDepth - 1);
        a_.jae(stub(false));
        a_.inc(x86::r11d);
        a_.mov(x86::dword_ptr(x86::r12, kStateDepth), x86::r11d);
        a_.shl(x86::r11d, 9);
        for (const x86::Gpq& r : {x86::rbx, x86::r13, x86::r14, x86::r15, x86::r11}) a_.push(r);
        // r10 comes from the depth, not from the caller's r10, exactly as in the interpreter.
        a_.mov(x86::rbp, x86::qword_ptr(x86::r12, kStateStackTop));
        a_.sub(x86::rbp, x86::r11);
        if (in_.options.zero_stack_frames) zero_frame();
        a_.call(labels_[target]);
        a_.pop(x86::r11);
        for (const x86::Gpq& r : {x86::r15, x86::r14, x86::r13, x86::rbx}) a_.pop(r);
        a_.dec(x86::dword_ptr(x86::r12, kStateDepth));
        a_.mov(x86::rbp, x86::qword_ptr(x86::r12, kStateStackTop));
        a_.sub(x86::rbp, x86::r11);
        a_.add(x86::rbp, kFrameBytes);
    }

    void callx(int dst) {
        a_.mov(x86::r11, kReg[dst]);
        const Label not_tail = a_.newLabel(), done = a_.newLabel();
        a_.cmp(x86::r11, vm::kHelperTailCall);
        a_.short_().jne(not_tail);
        tail_call();
        a_.jmp(done);
        a_.bind(not_tail);
        const Label fault = stub(true);
        a_.cmp(x86::r11, Imm(static_cast<int64_t>(in_.helper_table_size)));
        a_.jae(fault);
        a_.mov(x86::r10, Imm(reinterpret_cast<uint64_t>(in_.helper_table)));
        a_.mov(x86::r10, x86::qword_ptr(x86::r10, x86::r11, 3));
        a_.test(x86::r10, x86::r10);
        a_.jz(fault);
        a_.mov(x86::r9, x86::qword_ptr(x86::r12, kStateContext));
        a_.call(x86::r10);
        a_.bind(done);
    }

    // LD_ABS / LD_IND: r0 = packet bytes, r1..r5 zeroed; failure returns 0 from the current frame.
    void packet_load(const isa::Insn& insn, int size, bool indirect) {
        if (indirect) {
            a_.mov(x86::r11d, kReg[insn.src].r32());
            a_.add(x86::r11d, insn.imm);
            a_.movsxd(x86::rdx, x86::r11d);
        } else {
            a_.mov(x86::rdx, Imm(static_cast<int64_t>(insn.imm)));
        }
        a_.mov(x86::rdi, x86::qword_ptr(x86::r12, kStateContext));
        a_.mov(x86::rsi, x86::rbx);
        a_.mov(x86::ecx, size);
        call_absolute(reinterpret_cast<const void*>(&load_packet));
        for (const x86::Gpq& r : {x86::rdi, x86::rsi, x86::rdx, x86::rcx, x86::r8}) a_.xor_(r.r32(), r.r32());
        const Label ok = a_.newLabel();
        a_.cmp(x86::rax, -1);
        a_.short_().jne(ok);
        a_.xor_(x86::eax, x86::eax);
        a_.ret();
        a_.bind(ok);
    }

    // ---- division: x86 div/idiv need rax/rdx; r0 and r3 are parked in r10/r9 around it ----
    enum class DivKind { Div, Mod, SDiv, SMod };

    void divide_by_r11(int dst, bool wide, DivKind kind) {
        const x86::Gpq d = kReg[dst];
        if (d != x86::rax) a_.mov(x86::r10, x86::rax);
        if (d != x86::rdx) a_.mov(x86::r9, x86::rdx);
        if (d != x86::rax) a_.mov(reg(0, wide), reg(dst, wide));
        const bool is_signed = kind == DivKind::SDiv || kind == DivKind::SMod;
        if (is_signed) {
            if (wide) a_.cqo();
            else a_.cdq();
            a_.idiv(wide ? x86::Gp(x86::r11) : x86::Gp(x86::r11d));
        } else {
            a_.xor_(x86::edx, x86::edx);
            a_.div(wide ? x86::Gp(x86::r11) : x86::Gp(x86::r11d));
        }
        const x86::Gpq result = (kind == DivKind::Div || kind == DivKind::SDiv) ? x86::rax : x86::rdx;
        if (d != result) a_.mov(reg(dst, wide), wide ? x86::Gp(result) : x86::Gp(result.r32()));
        if (d != x86::rax) a_.mov(x86::rax, x86::r10);
        if (d != x86::rdx) a_.mov(x86::rdx, x86::r9);
    }

    // Division by zero and signed division by -1 as the ISA defines them (no trap, ever).
    void divide_special(int dst, bool wide, DivKind kind, bool by_zero) {
        const x86::Gp d = reg(dst, wide);
        const bool quotient = kind == DivKind::Div || kind == DivKind::SDiv;
        if (by_zero) {
            if (quotient) a_.xor_(d.r32(), d.r32());   // x / 0 = 0
            else if (!wide) a_.mov(d.r32(), d.r32());  // x % 0 = x (32-bit: truncated)
        } else {
            if (quotient) a_.neg(d);                   // x / -1 = -x, INT_MIN wraps
            else a_.xor_(d.r32(), d.r32());            // x % -1 = 0
        }
    }

    void divide(const isa::Insn& insn, bool wide, DivKind kind, bool k_form) {
        const bool is_signed = kind == DivKind::SDiv || kind == DivKind::SMod;
        if (k_form) {
            const int64_t divisor = wide ? static_cast<int64_t>(insn.imm) : static_cast<int64_t>(static_cast<int32_t>(insn.imm));
            if (divisor == 0) return divide_special(insn.dst, wide, kind, true);
            if (is_signed && divisor == -1) return divide_special(insn.dst, wide, kind, false);
            load_constant(x86::r11, wide ? static_cast<uint64_t>(divisor) : static_cast<uint32_t>(insn.imm));
            return divide_by_r11(insn.dst, wide, kind);
        }
        if (wide) a_.mov(x86::r11, kReg[insn.src]);
        else a_.mov(x86::r11d, kReg[insn.src].r32());
        const Label by_zero = a_.newLabel(), by_minus_one = a_.newLabel(), normal = a_.newLabel(), done = a_.newLabel();
        a_.test(wide ? x86::Gp(x86::r11) : x86::Gp(x86::r11d), wide ? x86::Gp(x86::r11) : x86::Gp(x86::r11d));
        a_.short_().jz(by_zero);
        if (is_signed) {
            a_.cmp(wide ? x86::Gp(x86::r11) : x86::Gp(x86::r11d), -1);
            a_.short_().je(by_minus_one);
        }
        a_.bind(normal);
        divide_by_r11(insn.dst, wide, kind);
        a_.short_().jmp(done);
        a_.bind(by_zero);
        divide_special(insn.dst, wide, kind, true);
        if (is_signed) {
            a_.short_().jmp(done);
            a_.bind(by_minus_one);
            divide_special(insn.dst, wide, kind, false);
        }
        a_.bind(done);
    }

    // ---- shifts: x86 masks the count to 5/6 bits exactly as the ISA does ----
    enum class ShiftKind { Left, Right, Arith };

    void shift_by(const x86::Gp& d, ShiftKind kind, const auto& count) {
        switch (kind) {
            case ShiftKind::Left: a_.shl(d, count); break;
            case ShiftKind::Right: a_.shr(d, count); break;
            case ShiftKind::Arith: a_.sar(d, count); break;
        }
    }

    void shift(const isa::Insn& insn, bool wide, ShiftKind kind, bool k_form) {
        const x86::Gp d = reg(insn.dst, wide);
        if (k_form) {
            const int amount = insn.imm & (wide ? 63 : 31);
            if (amount != 0) shift_by(d, kind, Imm(amount));
            else if (!wide) a_.mov(d, d);  // the 32-bit result is still zero-extended
            return;
        }
        const x86::Gp scratch = wide ? x86::Gp(x86::r11) : x86::Gp(x86::r11d);
        if (insn.src == 4) {
            shift_by(d, kind, x86::cl);
        } else if (insn.dst == 4) {
            a_.mov(scratch, d);
            a_.mov(x86::ecx, kReg[insn.src].r32());
            shift_by(scratch, kind, x86::cl);
            a_.mov(d, scratch);
        } else {
            a_.mov(x86::r11, x86::rcx);
            a_.mov(x86::ecx, kReg[insn.src].r32());
            shift_by(d, kind, x86::cl);
            a_.mov(x86::rcx, x86::r11);
        }
        if (!wide) a_.mov(d, d);  // a count of 0 must still zero-extend
    }

    // ---- atomics ----
    enum class AtomicOp { Add, Or, And, Xor };

    void atomic_rmw(const x86::Mem& m, const x86::Gp& value, AtomicOp op, bool locked) {
        if (locked) a_.lock();
        switch (op) {
            case AtomicOp::Add: a_.add(m, value); break;
            case AtomicOp::Or: a_.or_(m, value); break;
            case AtomicOp::And: a_.and_(m, value); break;
            case AtomicOp::Xor: a_.xor_(m, value); break;
        }
    }

    void atomic(const isa::Insn& insn, bool wide, AtomicOp op, bool fetch) {
        const int size = wide ? 8 : 4;
        const x86::Mem m = mem(insn.dst, insn.off, size);
        const x86::Gp value = sized(kReg[insn.src], size);
        if (!fetch) return atomic_rmw(m, value, op, true);
        if (op == AtomicOp::Add) {
            a_.lock().xadd(m, value);
            return;
        }
        atomic_fetch(insn, size, op);
    }

    // Fetching or/and/xor have no x86 instruction: a cmpxchg loop, which needs rax (r0 parked in r10).
    void atomic_fetch(const isa::Insn& insn, int size, AtomicOp op) {
        a_.mov(x86::r10, x86::rax);
        const x86::Gpq base = insn.dst == 0 ? x86::r10 : kReg[insn.dst];
        const x86::Gp operand = sized(insn.src == 0 ? x86::r10 : kReg[insn.src], size);
        const x86::Mem m = x86::ptr(base, insn.off, static_cast<uint32_t>(size));
        const x86::Gp old = sized(x86::rax, size), next = sized(x86::r11, size);
        a_.mov(old, m);
        const Label retry = a_.newLabel();
        a_.bind(retry);
        a_.mov(next, old);
        switch (op) {
            case AtomicOp::Or: a_.or_(next, operand); break;
            case AtomicOp::And: a_.and_(next, operand); break;
            default: a_.xor_(next, operand); break;
        }
        a_.lock().cmpxchg(m, next);
        a_.short_().jne(retry);
        a_.mov(sized(kReg[insn.src], size), old);
        if (insn.src != 0) a_.mov(x86::rax, x86::r10);
    }

    // ---- returns ----
    // The value `r0 = K; exit` at pc returns, if that is what pc holds.
    std::optional<uint64_t> constant_return(size_t pc) const {
        if (pc + 1 >= in_.prog.size() || in_.prog.insns[pc + 1].op != Op::EXIT) return std::nullopt;
        const isa::Insn& mov = in_.prog.insns[pc];
        if (mov.dst != 0) return std::nullopt;
        if (mov.op == Op::MOV32_K) return static_cast<uint32_t>(mov.imm);
        if (mov.op == Op::MOV64_K) return static_cast<uint64_t>(static_cast<int64_t>(mov.imm));
        return std::nullopt;
    }

    // Whether `reg` at pc_ holds what its last write in the straight-line code before pc_ loaded from
    // the context (r1): a value the run's caller has just written, so already at hand.
    bool loaded_from_context(int reg) const {
        for (size_t pc = pc_; pc-- > 0;) {
            const isa::Insn& insn = in_.prog.insns[pc];
            if (isa::is_jump(insn.op) || insn.op == Op::EXIT || needs_.jump_target[pc + 1]) return false;
            if (insn.dst == reg && insn.op != Op::LDDW_TAIL && isa::info(insn.op).shape != isa::Shape::Stx &&
                isa::info(insn.op).shape != isa::Shape::St)
                return isa::info(insn.op).shape == isa::Shape::Ldx && insn.src == 1;
        }
        return false;
    }

    // A conditional jump (flags already set) between two constant returns, comparing a value loaded
    // from the context with a constant — a classic filter's `ld #len; jge #K, ret #a, ret #b` — becomes
    // a select and one exit: no branch to mispredict. Only for such values: a select waits for its
    // operand, and a packet byte may still be on its way from memory when a predicted branch would
    // already have moved on (a select on the ethertype made `ip` 12-35 % slower in bench_cbpf, one on the
    // length made `greater 1000` 30 % faster). The two returns stay in place for whatever else
    // reaches them.
    bool select_return(const isa::Insn& jcc, size_t target, CondCode cc) {
        if (in_.options.blind_constants) return false;  // the constants must not appear in the code
        if (isa::info(jcc.op).shape != isa::Shape::JccK || !loaded_from_context(jcc.dst)) return false;
        const std::optional<uint64_t> taken = constant_return(target), fallthrough = constant_return(pc_ + 1);
        if (!taken || !fallthrough) return false;
        // mov leaves the flags alone (xor would not).
        const auto load = [&](const x86::Gpq& dst, uint64_t value) {
            if (value <= UINT32_MAX) a_.mov(dst.r32(), Imm(value));
            else a_.mov(dst, Imm(static_cast<int64_t>(value)));
        };
        load(x86::rax, *fallthrough);
        load(x86::r11, *taken);
        a_.cmov(cc, x86::rax, x86::r11);
        if (batch_) emit_batch_exit();
        else a_.ret();
        return true;
    }

    // ---- one instruction ----
    void emit_insn(const isa::Insn& insn);

    const CodegenInput& in_;
    const Needs& needs_;
    asmjit::CodeHolder& code_;
    x86::Assembler a_;
    const std::vector<bool>& short_forward_;
    uint64_t key_;
    std::vector<Label> labels_;
    std::vector<int64_t> jump_end_;
    std::vector<Stub> stubs_;
    std::vector<x86::Gpq> saved_;
    int32_t frame_ = 0;
    Label fault_depth_, fault_callx_, cold_;
    size_t pc_ = 0;
    const bool batch_;
    Label batch_loop_, batch_done_;
};

void Compiler::emit_insn(const isa::Insn& insn) {
    const Op op = insn.op;
    const bool wide = !isa::is_32bit(op);
    const bool k_form = op != Op::LDDW_TAIL &&
                        (isa::info(op).shape == isa::Shape::AluK || isa::info(op).shape == isa::Shape::JccK);
    const x86::Gp d = reg(insn.dst, wide);
    const x86::Gp s = reg(insn.src, wide);
    // Two-operand ALU instruction with the K operand folded in (or blinded into r11).
    const auto alu = [&](auto&& instruction) {
        if (k_form) with_k(insn.imm, wide, [&](const auto& operand) { instruction(d, operand); });
        else instruction(d, s);
    };
    if (batch_ && isa::info(op).shape == isa::Shape::Ldx && insn.src == 1) return frame_load(insn);
    switch (op) {
        case Op::ADD64_K: case Op::ADD64_X: case Op::ADD32_K: case Op::ADD32_X:
            alu([&](const x86::Gp& x, const auto& y) { a_.add(x, y); });
            break;
        case Op::SUB64_K: case Op::SUB64_X: case Op::SUB32_K: case Op::SUB32_X:
            alu([&](const x86::Gp& x, const auto& y) { a_.sub(x, y); });
            break;
        case Op::OR64_K: case Op::OR64_X: case Op::OR32_K: case Op::OR32_X:
            alu([&](const x86::Gp& x, const auto& y) { a_.or_(x, y); });
            break;
        case Op::AND64_K: case Op::AND64_X: case Op::AND32_K: case Op::AND32_X:
            alu([&](const x86::Gp& x, const auto& y) { a_.and_(x, y); });
            break;
        case Op::XOR64_K: case Op::XOR64_X: case Op::XOR32_K: case Op::XOR32_X:
            alu([&](const x86::Gp& x, const auto& y) { a_.xor_(x, y); });
            break;
        case Op::MUL64_K: case Op::MUL64_X: case Op::MUL32_K: case Op::MUL32_X:
            alu([&](const x86::Gp& x, const auto& y) {
                if constexpr (std::is_same_v<std::decay_t<decltype(y)>, Imm>) a_.imul(x, x, y);
                else a_.imul(x, y);
            });
            break;
        case Op::MOV64_X: a_.mov(d, s); break;
        case Op::MOV32_X: a_.mov(d, s); break;
        case Op::MOV64_K: load_constant(kReg[insn.dst], static_cast<uint64_t>(static_cast<int64_t>(insn.imm))); break;
        case Op::MOV32_K: load_constant(kReg[insn.dst], static_cast<uint32_t>(insn.imm)); break;
        case Op::LDDW: load_constant(kReg[insn.dst], insn.imm64); break;
        case Op::LDDW_TAIL: break;

        case Op::DIV64_K: case Op::DIV32_K: divide(insn, wide, DivKind::Div, true); break;
        case Op::DIV64_X: case Op::DIV32_X: divide(insn, wide, DivKind::Div, false); break;
        case Op::MOD64_K: case Op::MOD32_K: divide(insn, wide, DivKind::Mod, true); break;
        case Op::MOD64_X: case Op::MOD32_X: divide(insn, wide, DivKind::Mod, false); break;
        case Op::SDIV64_K: case Op::SDIV32_K: divide(insn, wide, DivKind::SDiv, true); break;
        case Op::SDIV64_X: case Op::SDIV32_X: divide(insn, wide, DivKind::SDiv, false); break;
        case Op::SMOD64_K: case Op::SMOD32_K: divide(insn, wide, DivKind::SMod, true); break;
        case Op::SMOD64_X: case Op::SMOD32_X: divide(insn, wide, DivKind::SMod, false); break;

        case Op::LSH64_K: case Op::LSH32_K: case Op::LSH64_X: case Op::LSH32_X:
            shift(insn, wide, ShiftKind::Left, is_shift_k(op));
            break;
        case Op::RSH64_K: case Op::RSH32_K: case Op::RSH64_X: case Op::RSH32_X:
            shift(insn, wide, ShiftKind::Right, is_shift_k(op));
            break;
        case Op::ARSH64_K: case Op::ARSH32_K: case Op::ARSH64_X: case Op::ARSH32_X:
            shift(insn, wide, ShiftKind::Arith, is_shift_k(op));
            break;

        case Op::NEG64: case Op::NEG32: a_.neg(d); break;
        case Op::MOVSX64_S8: a_.movsx(d, kReg[insn.src].r8()); break;
        case Op::MOVSX64_S16: a_.movsx(d, kReg[insn.src].r16()); break;
        case Op::MOVSX64_S32: a_.movsxd(d, kReg[insn.src].r32()); break;
        case Op::MOVSX32_S8: a_.movsx(d, kReg[insn.src].r8()); break;
        case Op::MOVSX32_S16: a_.movsx(d, kReg[insn.src].r16()); break;

        // Little-endian host: "to little endian" only truncates.
        case Op::LE16: a_.movzx(d.r32(), d.r16()); break;
        case Op::LE32: a_.mov(d.r32(), d.r32()); break;
        case Op::LE64: break;
        case Op::BE16: case Op::BSWAP16:
            a_.ror(d.r16(), 8);
            // Right after a 16-bit load into the same register (and with no jump landing in between)
            // bits 16..63 are already zero: cBPF's `ldh` becomes exactly this pair.
            if (!(pc_ > 0 && !needs_.jump_target[pc_] && in_.prog.insns[pc_ - 1].op == Op::LDX_H &&
                  in_.prog.insns[pc_ - 1].dst == insn.dst))
                a_.movzx(d.r32(), d.r16());
            break;
        case Op::BE32: case Op::BSWAP32: a_.bswap(d.r32()); break;
        case Op::BE64: case Op::BSWAP64: a_.bswap(d.r64()); break;

        case Op::JA: case Op::JA32:
            jump(static_cast<size_t>(isa::branch_target(insn, pc_)), CondCode::kE, true);
            break;

        case Op::CALL_HELPER:
            if (insn.imm == vm::kHelperTailCall) tail_call();
            else call_helper(in_.helper_at[pc_]);
            break;
        case Op::CALL_LOCAL: call_local(static_cast<size_t>(isa::branch_target(insn, pc_))); break;
        case Op::CALLX: callx(insn.dst); break;
        case Op::EXIT:
            if (batch_) emit_batch_exit();
            else a_.ret();
            break;

        case Op::LD_ABS_B: packet_load(insn, 1, false); break;
        case Op::LD_ABS_H: packet_load(insn, 2, false); break;
        case Op::LD_ABS_W: packet_load(insn, 4, false); break;
        case Op::LD_IND_B: packet_load(insn, 1, true); break;
        case Op::LD_IND_H: packet_load(insn, 2, true); break;
        case Op::LD_IND_W: packet_load(insn, 4, true); break;

        case Op::LDX_B: a_.movzx(d.r32(), mem(insn.src, insn.off, 1)); break;
        case Op::LDX_H: a_.movzx(d.r32(), mem(insn.src, insn.off, 2)); break;
        case Op::LDX_W: a_.mov(d.r32(), mem(insn.src, insn.off, 4)); break;
        case Op::LDX_DW: a_.mov(d.r64(), mem(insn.src, insn.off, 8)); break;
        case Op::LDXS_B: a_.movsx(d.r64(), mem(insn.src, insn.off, 1)); break;
        case Op::LDXS_H: a_.movsx(d.r64(), mem(insn.src, insn.off, 2)); break;
        case Op::LDXS_W: a_.movsxd(d.r64(), mem(insn.src, insn.off, 4)); break;

        case Op::ST_B: case Op::ST_H: case Op::ST_W: case Op::ST_DW: {
            const int size = isa::mem_size(op);
            const x86::Mem m = mem(insn.dst, insn.off, size);
            const int32_t value = size == 1 ? static_cast<int8_t>(insn.imm) : size == 2 ? static_cast<int16_t>(insn.imm) : insn.imm;
            if (in_.options.blind_constants && value != 0) {
                load_constant(x86::r11, static_cast<uint64_t>(static_cast<int64_t>(value)));
                a_.mov(m, sized(x86::r11, size));
            } else {
                a_.mov(m, Imm(value));
            }
            break;
        }
        case Op::STX_B: case Op::STX_H: case Op::STX_W: case Op::STX_DW: {
            const int size = isa::mem_size(op);
            a_.mov(mem(insn.dst, insn.off, size), sized(kReg[insn.src], size));
            break;
        }

        case Op::ATOMIC32_ADD: case Op::ATOMIC64_ADD: atomic(insn, wide, AtomicOp::Add, false); break;
        case Op::ATOMIC32_OR: case Op::ATOMIC64_OR: atomic(insn, wide, AtomicOp::Or, false); break;
        case Op::ATOMIC32_AND: case Op::ATOMIC64_AND: atomic(insn, wide, AtomicOp::And, false); break;
        case Op::ATOMIC32_XOR: case Op::ATOMIC64_XOR: atomic(insn, wide, AtomicOp::Xor, false); break;
        case Op::ATOMIC32_FETCH_ADD: case Op::ATOMIC64_FETCH_ADD: atomic(insn, wide, AtomicOp::Add, true); break;
        case Op::ATOMIC32_FETCH_OR: case Op::ATOMIC64_FETCH_OR: atomic(insn, wide, AtomicOp::Or, true); break;
        case Op::ATOMIC32_FETCH_AND: case Op::ATOMIC64_FETCH_AND: atomic(insn, wide, AtomicOp::And, true); break;
        case Op::ATOMIC32_FETCH_XOR: case Op::ATOMIC64_FETCH_XOR: atomic(insn, wide, AtomicOp::Xor, true); break;
        case Op::ATOMIC32_XCHG: case Op::ATOMIC64_XCHG: {
            const int size = wide ? 8 : 4;
            a_.xchg(mem(insn.dst, insn.off, size), sized(kReg[insn.src], size));  // implicitly locked
            break;
        }
        case Op::ATOMIC32_CMPXCHG: case Op::ATOMIC64_CMPXCHG: {
            const int size = wide ? 8 : 4;
            a_.lock().cmpxchg(mem(insn.dst, insn.off, size), sized(kReg[insn.src], size));
            // A successful 32-bit cmpxchg leaves rax's upper half alone; r0 must be the zero-extended old value.
            if (!wide) a_.mov(x86::eax, x86::eax);
            break;
        }

        default: {
            // Every conditional jump: compare (or test for JSET), then branch.
            const CondCode cc = condition(op);
            const bool is_set = op == Op::JSET64_K || op == Op::JSET64_X || op == Op::JSET32_K || op == Op::JSET32_X;
            if (k_form) {
                if (insn.imm == 0 && !is_set) {
                    a_.test(d, d);
                } else {
                    with_k(insn.imm, wide, [&](const auto& operand) {
                        if (is_set) a_.test(d, operand);
                        else a_.cmp(d, operand);
                    });
                }
            } else {
                if (is_set) a_.test(d, s);
                else a_.cmp(d, s);
            }
            const auto target = static_cast<size_t>(isa::branch_target(insn, pc_));
            if (!select_return(insn, target, cc)) jump(target, cc, false);
            break;
        }
    }
}

uint64_t random_key() {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) | device();
}

// Whether `insn` uses r1 other than as a context load batch_entry can serve from a Frame: any other
// read sees the cursor instead of the context, a store would write the context, a write ends the
// cursor. (Calls and legacy packet loads are already excluded: they make the program call something.)
bool uses_r1_otherwise(const isa::Insn& insn, const FrameFields& fields) {
    switch (isa::info(insn.op).shape) {
        case isa::Shape::Ldx:
            if (insn.dst == 1) return true;
            if (insn.src != 1) return false;
            return !((insn.op == Op::LDX_DW && (insn.off == fields.data || insn.off == fields.data_end)) ||
                     (insn.op == Op::LDX_W && insn.off == fields.len));
        case isa::Shape::AluX: case isa::Shape::MovSx: case isa::Shape::JccX: case isa::Shape::Stx:
        case isa::Shape::Atomic:
            return insn.dst == 1 || insn.src == 1;
        case isa::Shape::AluK: case isa::Shape::Neg: case isa::Shape::End: case isa::Shape::JccK:
        case isa::Shape::Lddw: case isa::Shape::St:
            return insn.dst == 1 && insn.op != Op::LDDW_TAIL;
        default: return false;
    }
}

}  // namespace

bool batch_eligible(const isa::Program& prog, const FrameFields& fields) {
    const Needs needs = analyse(prog);
    if (needs.state || needs.reg_used[6] || needs.reg_used[7] || needs.reg_used[8] || needs.reg_used[9]) return false;
    for (const isa::Insn& insn : prog.insns)
        if (uses_r1_otherwise(insn, fields)) return false;
    return true;
}

GeneratedCode generate_x86_64(const CodegenInput& input, EntryKind entry) {
    const Needs needs = analyse(input.prog);
    if (entry == EntryKind::Batch && !(input.options.batch_frames && batch_eligible(input.prog, *input.options.batch_frames)))
        throw Unsupported("JIT: a batch entry needs a program that calls nothing, uses none of r6..r9 and reads "
                          "only the frame's pointers and length from its context");
    const size_t n = input.prog.size();
    const uint64_t key = input.options.blind_constants ? random_key() : 0;
    const asmjit::Environment environment(asmjit::Arch::kX64);

    // First emission: every forward jump near; it tells how far each one really goes.
    std::vector<bool> short_forward(n, false);
    {
        asmjit::CodeHolder code;
        code.init(environment);
        RecordingErrorHandler errors;
        code.setErrorHandler(&errors);
        Compiler measure(input, needs, code, short_forward, key, entry);
        measure.emit();
        if (!errors.first.empty()) throw Unsupported(fmt::format("JIT: cannot encode the program: {}", errors.first));
        for (size_t pc = 0; pc < n; ++pc) {
            const int64_t end = measure.jump_end(pc);
            if (end < 0) continue;
            const int64_t target = isa::branch_target(input.prog.insns[pc], pc);
            if (target <= static_cast<int64_t>(pc)) continue;
            short_forward[pc] = static_cast<int64_t>(measure.label_offset(static_cast<size_t>(target))) - end <= 127;
        }
    }

    asmjit::CodeHolder code;
    code.init(environment);
    RecordingErrorHandler errors;
    code.setErrorHandler(&errors);
    Compiler compiler(input, needs, code, short_forward, key, entry);
    compiler.emit();
    if (errors.first.empty()) code.flatten();
    if (errors.first.empty()) code.resolveUnresolvedLinks();
    if (!errors.first.empty()) throw Unsupported(fmt::format("JIT: cannot encode the program: {}", errors.first));

    GeneratedCode generated;
    generated.tail_entry_offset = compiler.label_offset(0);
    generated.uses_context = needs.state;
    for (size_t pc = 0; pc < n; ++pc) generated.insn_offsets.push_back(static_cast<uint32_t>(compiler.label_offset(pc)));
    generated.insn_offsets.push_back(static_cast<uint32_t>(compiler.cold_offset()));
    const size_t size = code.codeSize();
    if (input.options.code_limit != 0 && size > input.options.code_limit)
        throw Unsupported(fmt::format("JIT: the program needs {} bytes of code, above the limit of {}", size,
                                      input.options.code_limit));
    generated.memory = CodeMemory::create(size, [&](std::span<uint8_t> bytes) {
        code.relocateToBase(reinterpret_cast<uint64_t>(bytes.data()));
        code.copyFlattenedData(bytes.data(), bytes.size(), asmjit::CopySectionFlags::kPadSectionBuffer);
    });
    if (!errors.first.empty()) throw Unsupported(fmt::format("JIT: cannot place the program's code: {}", errors.first));
    return generated;
}

}  // namespace tcbpf::jit::detail
