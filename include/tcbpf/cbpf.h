// Classic BPF as tc accepts it: the three ways users write it (tc's `bytecode` string, `tcpdump -ddd`
// output given to `bytecode-file`, and a libpcap filter expression), the kernel's checker, and a
// reference interpreter with the semantics Linux gives a tc classifier or action.
//
// The reference interpreter is the oracle the cBPF→eBPF conversion is tested against; it reads the
// packet from the MAC header on, as tc programs see it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcbpf/error.h"
#include "tcbpf/isa.h"

namespace tcbpf::cbpf {

// struct sock_filter.
struct Insn {
    uint16_t code = 0;
    uint8_t jt = 0;
    uint8_t jf = 0;
    uint32_t k = 0;
    bool operator==(const Insn&) const = default;
};
using Program = std::vector<Insn>;

inline constexpr size_t kMaxInsns = 4096;  // BPF_MAXINSNS
inline constexpr uint32_t kMemWords = 16;  // BPF_MEMWORDS

// Negative offset bases of LD ABS/IND (uapi filter.h), as unsigned 32-bit k values.
inline constexpr int32_t kAdOff = -0x1000;    // SKF_AD_OFF: ancillary loads
inline constexpr int32_t kNetOff = -0x100000; // SKF_NET_OFF: relative to the network header
inline constexpr int32_t kLlOff = -0x200000;  // SKF_LL_OFF: relative to the MAC header

// Ancillary load ids (k = SKF_AD_OFF + id).
enum Ancillary : uint32_t {
    kAdProtocol = 0,
    kAdPktType = 4,
    kAdIfindex = 8,
    kAdNlattr = 12,
    kAdNlattrNest = 16,
    kAdMark = 20,
    kAdQueue = 24,
    kAdHatype = 28,
    kAdRxhash = 32,
    kAdCpu = 36,
    kAdAluXorX = 40,
    kAdVlanTag = 44,
    kAdVlanTagPresent = 48,
    kAdPayOffset = 52,
    kAdRandom = 56,
    kAdVlanTpid = 60,
};

// tc's `bytecode 'N,code jt jf k,...'`. Throws Error naming the tuple and what is wrong.
Program parse_bytecode(std::string_view text);
// tc's `bytecode-file`: the same text with newlines as separators, as `tcpdump -ddd` prints it.
// `name` prefixes error messages.
Program parse_bytecode_file(std::string_view text, std::string_view name);
// The tc bytecode string of a program ("N,c t f k,...,").
std::string format_bytecode(const Program& prog);

// Compiles a libpcap filter expression for Ethernet (optimised, as tcpdump does). libpcap's own
// message is passed through on error.
Program compile_filter(std::string_view expression);

// The kernel's checker (bpf_check_classic): length, allowed opcodes, constant division by zero,
// constant shifts ≥ 32, scratch indices, jump ranges, known ancillary offsets, a final return, and
// scratch memory written before it is read on every path. Throws Error "cBPF insn N: reason".
void check(const Program& prog);

// What a cBPF program can observe of an skb besides its bytes.
struct Packet {
    std::span<const uint8_t> data;  // from the MAC header to the end (skb->len bytes)
    uint32_t network_offset = 14;   // network header, for SKF_NET_OFF loads
    uint16_t protocol = 0;          // skb->protocol in host order (EtherType)
    uint32_t pkt_type = 0;
    uint32_t ifindex = 1;  // 0: no device (IFINDEX and HATYPE loads then end the program returning A)
    uint32_t mark = 0;
    uint32_t queue_mapping = 0;
    uint32_t hatype = 1;  // ARPHRD_ETHER
    uint32_t rxhash = 0;
    uint32_t cpu = 0;
    uint16_t vlan_tci = 0;
    bool vlan_present = false;
    uint16_t vlan_tpid = 0;     // host order
    uint32_t pay_offset = 0;    // the flow dissector's payload offset
    uint32_t random = 0;        // what SKF_AD_RANDOM returns for this run
};

// Runs a checked program with Linux's semantics: a packet load outside the packet or a division by a
// zero X ends the program returning 0; shifts by X use X & 31 (the eBPF interpreter's masking).
uint32_t run(const Program& prog, const Packet& packet);

// cBPF → eBPF for the classifier/action program type, after the kernel's bpf_convert_filter: A = w0,
// X = w7, the context in r6, scratch words on the stack; packet loads become LD_ABS/LD_IND, ancillary
// loads __sk_buff reads (protocol, mark, ...), helper calls (cpu, random) or tcbpf's internal helpers
// below (what the kernel computes with private functions). Checks the program first.
isa::Program convert(const Program& prog);

// Internal helpers the converted programs call with (ctx, A, X), as the kernel's conversion calls its
// private functions. Their ids lie outside the kernel's helper numbering.
inline constexpr int32_t kHelperCbpfPayOffset = 0x7cbf0001;
inline constexpr int32_t kHelperCbpfNlattr = 0x7cbf0002;
inline constexpr int32_t kHelperCbpfNlattrNest = 0x7cbf0003;
inline constexpr int32_t kHelperCbpfHatype = 0x7cbf0004;

// SKF_AD_NLATTR / SKF_AD_NLATTR_NEST: the offset of the netlink attribute of type `x` found from
// offset `a` of a linear packet (inside the attribute at `a` when `nested`), or 0.
uint32_t nlattr_offset(std::span<const uint8_t> data, uint32_t a, uint32_t x, bool nested);

// One instruction in tcpdump -d style ("ldh [12]", "jeq #0x800 jt 2 jf 5", "ret #262144").
std::string disassemble(const Insn& insn, size_t pc);
std::string disassemble(const Program& prog);

}  // namespace tcbpf::cbpf
