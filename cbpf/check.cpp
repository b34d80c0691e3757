// The kernel's cBPF checker (bpf_check_classic and check_load_and_stores). Jumps only go forward, so
// termination is given; what remains is that every instruction is one Linux allows, every operand is in
// range, the program ends in a return, and no path reads a scratch word it has not written. That last
// rule is a forward dataflow over the jump graph: each instruction starts from the AND of the "written"
// masks of the jumps that reach it and of the instruction before it.
#include <fmt/format.h>

#include "cbpf/opcodes.h"
#include "tcbpf/cbpf.h"

namespace tcbpf::cbpf {
namespace {

[[noreturn]] void reject(size_t pc, const std::string& why) { throw Error(fmt::format("cBPF insn {}: {}", pc, why)); }

bool known_ancillary(uint32_t k) {
    const uint32_t id = k - static_cast<uint32_t>(kAdOff);
    return id <= kAdVlanTpid && id % 4 == 0;
}

void check_scratch_memory(const Program& prog) {
    std::vector<uint32_t> masks(prog.size(), ~0u);
    uint32_t valid = 0;
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        valid &= masks[pc];
        const Insn& insn = prog[pc];
        const Kind kind = find_opcode(insn.code)->kind;
        switch (kind) {
            case Kind::St:
            case Kind::Stx:
                valid |= 1u << insn.k;
                break;
            case Kind::LdMem:
            case Kind::LdxMem:
                if (!(valid & (1u << insn.k)))
                    reject(pc, fmt::format("scratch word M[{}] may be read before it is written", insn.k));
                break;
            case Kind::Ja:
                masks[pc + 1 + insn.k] &= valid;
                valid = ~0u;
                break;
            case Kind::Jcond:
                masks[pc + 1 + insn.jt] &= valid;
                masks[pc + 1 + insn.jf] &= valid;
                valid = ~0u;
                break;
            default:
                break;
        }
    }
}

}  // namespace

void check(const Program& prog) {
    if (prog.empty() || prog.size() > kMaxInsns)
        throw Error(fmt::format("cBPF program length {} is outside 1..{}", prog.size(), kMaxInsns));
    const size_t len = prog.size();
    for (size_t pc = 0; pc < len; ++pc) {
        const Insn& insn = prog[pc];
        const OpcodeRow* row = find_opcode(insn.code);
        if (row == nullptr) reject(pc, fmt::format("opcode 0x{:02x} is not allowed", insn.code));
        switch (row->kind) {
            case Kind::Alu:
                if (!(insn.code & kSrcX)) {
                    const uint16_t op = op_of(insn.code);
                    if ((op == 0x30 || op == 0x90) && insn.k == 0) reject(pc, "division by constant zero");
                    if ((op == 0x60 || op == 0x70) && insn.k >= 32)
                        reject(pc, fmt::format("shift by constant {} (must be below 32)", insn.k));
                }
                break;
            case Kind::LdMem:
            case Kind::LdxMem:
            case Kind::St:
            case Kind::Stx:
                if (insn.k >= kMemWords)
                    reject(pc, fmt::format("scratch index {} is outside M[0..{}]", insn.k, kMemWords - 1));
                break;
            case Kind::Ja:
                if (insn.k >= len - pc - 1)
                    reject(pc, fmt::format("jump by {} leaves the program of {} instructions", insn.k, len));
                break;
            case Kind::Jcond:
                if (pc + insn.jt + 1 >= len || pc + insn.jf + 1 >= len)
                    reject(pc, fmt::format("jump (jt {}, jf {}) leaves the program of {} instructions", insn.jt,
                                           insn.jf, len));
                break;
            case Kind::LdAbs:
                if (insn.k >= static_cast<uint32_t>(kAdOff) && !known_ancillary(insn.k))
                    reject(pc, fmt::format("unknown ancillary load SKF_AD_OFF+{}", insn.k - static_cast<uint32_t>(kAdOff)));
                break;
            default:
                break;
        }
    }
    const Kind last = find_opcode(prog.back().code)->kind;
    if (last != Kind::RetK && last != Kind::RetA) reject(len - 1, "the program does not end with a return");
    check_scratch_memory(prog);
}

}  // namespace tcbpf::cbpf
