// prepare: isa::Program → the interpreter's Slot array (see slot.h), done once per program.
//
// The input may come straight from code (tests, the cBPF converter) rather than from isa::decode, so
// everything the interpreter relies on for its own memory safety is re-checked here: registers in
// range, control flow landing on real instructions inside the program, no way to run off its end.
// Whether the program's *memory accesses* are safe is the verifier's job (or checked mode's).
#include <fmt/format.h>

#include <algorithm>

#include "vm/slot.h"

namespace tcbpf::vm {
namespace {

using detail::Slot;
using isa::Op;
using isa::Shape;

[[noreturn]] void fail(size_t pc, const std::string& why) { throw Error(fmt::format("pc {}: {}", pc, why)); }

void validate(const isa::Program& prog) {
    if (prog.insns.empty()) throw Error("empty program");
    const size_t n = prog.size();
    for (size_t pc = 0; pc < n; ++pc) {
        const isa::Insn& insn = prog.insns[pc];
        if (insn.op == Op::LDDW_TAIL) {
            if (pc == 0 || prog.insns[pc - 1].op != Op::LDDW)
                fail(pc, "second slot of a 64-bit immediate load without its first slot");
            continue;
        }
        if (static_cast<size_t>(insn.op) >= isa::kOpCount) fail(pc, "invalid operation");
        if (insn.dst >= isa::kNumRegs) fail(pc, fmt::format("invalid dst register r{}", insn.dst));
        if (insn.src >= isa::kNumRegs) fail(pc, fmt::format("invalid src register r{}", insn.src));
        if (insn.op == Op::LDDW && (pc + 1 >= n || prog.insns[pc + 1].op != Op::LDDW_TAIL))
            fail(pc, "64-bit immediate load is missing its second slot");
        if (isa::is_jump(insn.op) || insn.op == Op::CALL_LOCAL) {
            const int64_t target = isa::branch_target(insn, pc);
            if (target < 0 || target >= static_cast<int64_t>(n))
                fail(pc, fmt::format("jump out of range: target {} outside 0..{}", target, n - 1));
            if (prog.insns[target].op == Op::LDDW_TAIL)
                fail(pc, fmt::format("jump into the middle of a 64-bit immediate load at {}", target));
        }
    }
    // Every instruction but these continues at pc + 1, so only they may end the program.
    const Op last = prog.insns.back().op;
    if (last != Op::EXIT && last != Op::JA && last != Op::JA32)
        fail(n - 1, "last instruction is not an exit or jump");
}

bool is_shift(Op op) {
    switch (op) {
        case Op::LSH64_K: case Op::RSH64_K: case Op::ARSH64_K:
        case Op::LSH32_K: case Op::RSH32_K: case Op::ARSH32_K:
            return true;
        default:
            return false;
    }
}

// The K operand as the op reads it: ALU and JMP32 use the 32 bits of imm, shifts their masked amount,
// everything else (ALU64, JMP, stores, packet offsets) imm sign-extended to 64 bits.
uint64_t operand(const isa::Insn& insn) {
    if (insn.op == Op::LDDW) return insn.imm64;
    const uint64_t sign_extended = static_cast<uint64_t>(static_cast<int64_t>(insn.imm));
    const uint64_t low32 = static_cast<uint32_t>(insn.imm);
    if (is_shift(insn.op)) return isa::is_32bit(insn.op) ? (low32 & 31) : (sign_extended & 63);
    const Shape shape = isa::info(insn.op).shape;
    if ((shape == Shape::AluK || shape == Shape::JccK) && isa::is_32bit(insn.op)) return low32;
    return sign_extended;
}

}  // namespace

std::unique_ptr<Program> Program::prepare(const isa::Program& prog, const HelperRegistry& helpers,
                                          PrepareOptions options) {
    validate(prog);
    auto impl = std::make_unique<Impl>();
    impl->source = prog;
    impl->checked = options.checked;

    impl->helpers_by_id = helpers.callx_table();

    const detail::ExecuteFn execute = options.checked ? detail::execute<true> : detail::execute<false>;
    const auto* labels = reinterpret_cast<const void* const*>(execute(nullptr, nullptr, 0, 0));

    const size_t n = prog.size();
    impl->slots.resize(n);
    for (size_t pc = 0; pc < n; ++pc) {
        const isa::Insn& insn = prog.insns[pc];
        Slot& slot = impl->slots[pc];
        slot.dst = insn.dst;
        slot.src = insn.src;
        slot.off = insn.off;
        slot.pc = static_cast<uint32_t>(pc);
        slot.target = nullptr;
        if (insn.op == Op::LDDW_TAIL) {
            slot.handler = labels[detail::kHandlerLddwTail];
            slot.imm = 0;
            continue;
        }
        slot.handler = labels[static_cast<size_t>(insn.op)];
        slot.imm = operand(insn);
        if (isa::is_jump(insn.op) || insn.op == Op::CALL_LOCAL) {
            slot.target = &impl->slots[static_cast<size_t>(isa::branch_target(insn, pc))];
        } else if (insn.op == Op::CALL_HELPER) {
            if (insn.imm == kHelperTailCall) {
                slot.handler = labels[detail::kHandlerTailCall];
                continue;
            }
            const Helper* helper = helpers.find(insn.imm);
            if (helper == nullptr) fail(pc, fmt::format("call to unknown helper id {}", insn.imm));
            slot.helper = helper->fn;
        } else if (insn.op == Op::CALLX) {
            slot.helper_table = impl->helpers_by_id.data();
            slot.imm = impl->helpers_by_id.size();
        }
    }
    return std::unique_ptr<Program>(new Program(std::move(impl)));
}

Program::Program(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Program::~Program() = default;

uint64_t Program::run(Context& cx, uint64_t r1, uint64_t r2) const {
    const Impl& impl = *impl_;
    if (impl.checked) return detail::execute<true>(impl.slots.data(), &cx, r1, r2);
    return detail::execute<false>(impl.slots.data(), &cx, r1, r2);
}

bool Program::checked() const { return impl_->checked; }
const isa::Program& Program::source() const { return impl_->source; }

}  // namespace tcbpf::vm
