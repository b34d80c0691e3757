// Human-readable cBPF in the style of `tcpdump -d`: jump targets are absolute instruction numbers and
// ancillary loads are named (`ld #proto`), so a listing can be read without the opcode table.
#include <fmt/format.h>

#include "cbpf/opcodes.h"
#include "tcbpf/cbpf.h"

namespace tcbpf::cbpf {
namespace {

const char* ancillary_name(uint32_t id) {
    switch (id) {
        case kAdProtocol: return "proto";
        case kAdPktType: return "type";
        case kAdIfindex: return "ifidx";
        case kAdNlattr: return "nla";
        case kAdNlattrNest: return "nlan";
        case kAdMark: return "mark";
        case kAdQueue: return "queue";
        case kAdHatype: return "hatype";
        case kAdRxhash: return "rxhash";
        case kAdCpu: return "cpu";
        case kAdAluXorX: return "xor_x";
        case kAdVlanTag: return "vlan_tci";
        case kAdVlanTagPresent: return "vlan_avail";
        case kAdPayOffset: return "poff";
        case kAdRandom: return "rand";
        case kAdVlanTpid: return "vlan_tpid";
        default: return nullptr;
    }
}

std::string operand(const Insn& insn, size_t pc) {
    const OpcodeRow* row = find_opcode(insn.code);
    const bool x = insn.code & kSrcX;
    switch (row->kind) {
        case Kind::Alu: return x ? "x" : fmt::format("#0x{:x}", insn.k);
        case Kind::Neg:
        case Kind::Tax:
        case Kind::Txa: return "";
        case Kind::LdAbs:
            if (insn.k >= static_cast<uint32_t>(kAdOff)) {
                const char* name = ancillary_name(insn.k - static_cast<uint32_t>(kAdOff));
                return name ? fmt::format("#{}", name) : fmt::format("[{}]", static_cast<int32_t>(insn.k));
            }
            return fmt::format("[{}]", static_cast<int32_t>(insn.k));
        case Kind::LdInd: return fmt::format("[x + {}]", static_cast<int32_t>(insn.k));
        case Kind::LdLen:
        case Kind::LdxLen: return "#pktlen";
        case Kind::LdImm:
        case Kind::LdxImm: return fmt::format("#0x{:x}", insn.k);
        case Kind::LdMem:
        case Kind::LdxMem:
        case Kind::St:
        case Kind::Stx: return fmt::format("M[{}]", insn.k);
        case Kind::LdxMsh: return fmt::format("4*([{}]&0xf)", insn.k);
        case Kind::RetK: return fmt::format("#{}", insn.k);
        case Kind::RetA: return "a";
        case Kind::Ja: return fmt::format("{}", pc + 1 + insn.k);
        case Kind::Jcond:
            return fmt::format("{:<16} jt {}\tjf {}", x ? "x" : fmt::format("#0x{:x}", insn.k), pc + 1 + insn.jt,
                               pc + 1 + insn.jf);
    }
    return "";
}

}  // namespace

std::string disassemble(const Insn& insn, size_t pc) {
    const OpcodeRow* row = find_opcode(insn.code);
    if (row == nullptr)
        return fmt::format("({:03}) .word 0x{:04x} jt {} jf {} k 0x{:x}", pc, insn.code, insn.jt, insn.jf, insn.k);
    const std::string ops = operand(insn, pc);
    return ops.empty() ? fmt::format("({:03}) {}", pc, row->mnemonic)
                       : fmt::format("({:03}) {:<8} {}", pc, row->mnemonic, ops);
}

std::string disassemble(const Program& prog) {
    std::string out;
    for (size_t pc = 0; pc < prog.size(); ++pc) out += disassemble(prog[pc], pc) + "\n";
    return out;
}

}  // namespace tcbpf::cbpf
