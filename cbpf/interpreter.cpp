// The reference cBPF interpreter: Linux's semantics for a tc program, written for clarity, not speed
// (the fast path is the conversion to eBPF). It is the oracle of the conversion tests, so every
// behaviour the kernel defines is spelt out here: packet loads are big-endian and relative to the MAC
// header, negative offsets address the network or MAC header, a load outside the packet or a division
// by a zero X ends the program returning 0.
#include <optional>

#include "cbpf/opcodes.h"
#include "tcbpf/cbpf.h"

namespace tcbpf::cbpf {
namespace {

uint32_t read_be(std::span<const uint8_t> data, uint64_t at, uint32_t size) {
    uint32_t v = 0;
    for (uint32_t i = 0; i < size; ++i) v = v << 8 | data[at + i];
    return v;
}

// bpf_skb_load_helper_{8,16,32} with bpf_internal_load_pointer_neg_helper for negative offsets.
std::optional<uint32_t> load(const Packet& p, int32_t offset, uint32_t size) {
    int64_t at;
    if (offset >= 0)
        at = offset;
    else if (offset >= kNetOff)
        at = static_cast<int64_t>(p.network_offset) + (static_cast<int64_t>(offset) - kNetOff);
    else if (offset >= kLlOff)
        at = static_cast<int64_t>(offset) - kLlOff;
    else
        return std::nullopt;
    if (at + size > static_cast<int64_t>(p.data.size())) return std::nullopt;
    return read_be(p.data, static_cast<uint64_t>(at), size);
}

uint16_t u16_host(std::span<const uint8_t> d, uint64_t at) { return static_cast<uint16_t>(d[at] | d[at + 1] << 8); }

// nla_find over [start, start+len): the offset of the first attribute of `type`, or 0.
uint32_t find_nlattr(std::span<const uint8_t> d, uint64_t start, uint64_t len, uint32_t type) {
    constexpr uint32_t kHdr = 4, kTypeMask = 0x3fff;  // NLA_HDRLEN, ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER)
    while (len >= kHdr) {
        const uint16_t nla_len = u16_host(d, start);
        if (nla_len < kHdr || nla_len > len) return 0;
        if ((u16_host(d, start + 2) & kTypeMask) == type) return static_cast<uint32_t>(start);
        const uint64_t step = (nla_len + 3u) & ~3u;
        if (step >= len) return 0;
        start += step;
        len -= step;
    }
    return 0;
}

uint32_t ancillary(const Packet& p, uint32_t id, uint32_t a, uint32_t x) {
    switch (id) {
        case kAdProtocol: return p.protocol;
        case kAdPktType: return p.pkt_type;
        case kAdIfindex: return p.ifindex;
        case kAdNlattr: return nlattr_offset(p.data, a, x, false);
        case kAdNlattrNest: return nlattr_offset(p.data, a, x, true);
        case kAdMark: return p.mark;
        case kAdQueue: return p.queue_mapping;
        case kAdHatype: return p.hatype;
        case kAdRxhash: return p.rxhash;
        case kAdCpu: return p.cpu;
        case kAdAluXorX: return a ^ x;
        case kAdVlanTag: return p.vlan_tci;
        case kAdVlanTagPresent: return p.vlan_present ? 1 : 0;
        case kAdPayOffset: return p.pay_offset;
        case kAdRandom: return p.random;
        case kAdVlanTpid: return p.vlan_tpid;
        default: return 0;  // unreachable for checked programs
    }
}

}  // namespace

uint32_t nlattr_offset(std::span<const uint8_t> data, uint32_t a, uint32_t x, bool nested) {
    const uint64_t len = data.size();
    if (len < 4 || a > len - 4) return 0;
    if (!nested) return find_nlattr(data, a, len - a, x);
    const uint16_t outer = u16_host(data, a);
    if (outer > len - a || outer < 4) return 0;
    return find_nlattr(data, a + 4, outer - 4u, x);
}

uint32_t run(const Program& prog, const Packet& packet) {
    uint32_t a = 0, x = 0;
    uint32_t mem[kMemWords] = {};
    const uint32_t len = static_cast<uint32_t>(packet.data.size());
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        const Insn& insn = prog[pc];
        const OpcodeRow* row = find_opcode(insn.code);
        if (row == nullptr) return 0;  // check() refuses such programs
        const uint32_t src = (insn.code & kSrcX) ? x : insn.k;
        switch (row->kind) {
            case Kind::Alu:
                switch (op_of(insn.code)) {
                    case 0x00: a += src; break;
                    case 0x10: a -= src; break;
                    case 0x20: a *= src; break;
                    case 0x30: if (src == 0) return 0; a /= src; break;
                    case 0x90: if (src == 0) return 0; a %= src; break;
                    case 0x50: a &= src; break;
                    case 0x40: a |= src; break;
                    case 0xa0: a ^= src; break;
                    case 0x60: a <<= (src & 31); break;
                    case 0x70: a >>= (src & 31); break;
                }
                break;
            case Kind::Neg: a = 0u - a; break;
            case Kind::LdAbs:
                if (insn.k >= static_cast<uint32_t>(kAdOff)) {
                    const uint32_t id = insn.k - static_cast<uint32_t>(kAdOff);
                    // Without a device (ifindex 0) the kernel's conversion exits, returning A.
                    if ((id == kAdIfindex || id == kAdHatype) && packet.ifindex == 0) return a;
                    a = ancillary(packet, id, a, x);
                } else if (auto v = load(packet, static_cast<int32_t>(insn.k), size_of_load(insn.code))) {
                    a = *v;
                } else {
                    return 0;
                }
                break;
            case Kind::LdInd:
                if (auto v = load(packet, static_cast<int32_t>(x + insn.k), size_of_load(insn.code)))
                    a = *v;
                else
                    return 0;
                break;
            case Kind::LdLen: a = len; break;
            case Kind::LdImm: a = insn.k; break;
            case Kind::LdMem: a = mem[insn.k % kMemWords]; break;
            case Kind::LdxLen: x = len; break;
            case Kind::LdxMsh:
                if (auto v = load(packet, static_cast<int32_t>(insn.k), 1))
                    x = (*v & 0xf) << 2;
                else
                    return 0;
                break;
            case Kind::LdxImm: x = insn.k; break;
            case Kind::LdxMem: x = mem[insn.k % kMemWords]; break;
            case Kind::St: mem[insn.k % kMemWords] = a; break;
            case Kind::Stx: mem[insn.k % kMemWords] = x; break;
            case Kind::Tax: x = a; break;
            case Kind::Txa: a = x; break;
            case Kind::RetK: return insn.k;
            case Kind::RetA: return a;
            case Kind::Ja: pc += insn.k; break;
            case Kind::Jcond: {
                bool taken = false;
                switch (op_of(insn.code)) {
                    case 0x10: taken = a == src; break;
                    case 0x20: taken = a > src; break;
                    case 0x30: taken = a >= src; break;
                    case 0x40: taken = (a & src) != 0; break;
                }
                pc += taken ? insn.jt : insn.jf;
                break;
            }
        }
    }
    return 0;  // check() guarantees a return; an unchecked program falling off the end yields 0
}

}  // namespace tcbpf::cbpf
