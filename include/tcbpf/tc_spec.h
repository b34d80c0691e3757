// tc commands as typed values: what `tc qdisc|class|filter|action ...` and tcbpf's `port ...` say,
// after parsing and before anything is applied.
//
// The parser (tc/parse_*.cpp) turns tc's words into these specs with iproute2's rules — prefix matching
// through `matches`, the few exact keywords, handles and class ids read and printed as tc_util.c does,
// tc's own error messages — and `tc::Pipeline::apply` applies one spec atomically. Keeping the two apart
// lets a C++ application build a pipeline without going through text, and lets the parser be tested
// against tc's syntax without a pipeline.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tcbpf/cbpf.h"

namespace tcbpf::tc {

// ---------------------------------------------------------------------------------------------------
// Handles and class ids (pkt_sched.h).

inline constexpr uint32_t kHandleRoot = 0xFFFFFFFF;     // TC_H_ROOT
inline constexpr uint32_t kHandleIngress = 0xFFFFFFF1;  // TC_H_INGRESS = TC_H_CLSACT
inline constexpr uint32_t kMinIngress = 0xFFF2;         // TC_H_MIN_INGRESS: clsact's ingress filters
inline constexpr uint32_t kMinEgress = 0xFFF3;          // TC_H_MIN_EGRESS: clsact's egress filters
inline constexpr uint32_t kClsactHandle = 0xFFFF0000;   // the `ffff:` handle of ingress and clsact

constexpr uint32_t handle_major(uint32_t h) { return h & 0xFFFF0000u; }
constexpr uint32_t handle_minor(uint32_t h) { return h & 0x0000FFFFu; }
constexpr uint32_t make_handle(uint32_t major, uint32_t minor) { return (major & 0xFFFF0000u) | (minor & 0xFFFFu); }

// tc_util.c's get_qdisc_handle / get_tc_classid; they throw tcbpf::Error with tc's wording.
uint32_t parse_qdisc_handle(std::string_view text);
uint32_t parse_classid(std::string_view text);
// print_tc_classid: `root`, `none`, `:10`, `1:`, `1:a`.
std::string format_classid(uint32_t id);

// ---------------------------------------------------------------------------------------------------
// TC_ACT_* verdicts (pkt_cls.h).

inline constexpr int32_t kActUnspec = -1;
inline constexpr int32_t kActOk = 0;
inline constexpr int32_t kActReclassify = 1;
inline constexpr int32_t kActShot = 2;
inline constexpr int32_t kActPipe = 3;
inline constexpr int32_t kActStolen = 4;
inline constexpr int32_t kActQueued = 5;
inline constexpr int32_t kActRepeat = 6;
inline constexpr int32_t kActRedirect = 7;
inline constexpr int32_t kActTrap = 8;
inline constexpr int32_t kActJump = 1 << 28;       // | n: skip to action n+1
inline constexpr int32_t kActGotoChain = 2 << 28;  // | chain
inline constexpr int32_t kActExtValMask = (1 << 28) - 1;
constexpr int32_t act_opcode(int32_t v) { return v & ~kActExtValMask; }
// tc's names for a control value: continue, pass, drop, reclassify, pipe, stolen, trap, `goto chain N`,
// `jump N`, else the number (action_n2a).
std::string format_control(int32_t control);

inline constexpr uint16_t kEthPAll = 0x0003;  // ETH_P_ALL: a filter for every protocol

// ---------------------------------------------------------------------------------------------------
// Specs.

enum class Verb : uint8_t { Add, Replace, Change, Delete, Show, Get };

// Where a program comes from. `bytecode`, `bytecode-file` and `expression` are classic BPF; an object
// is an eBPF ELF file with a section (`sec`) or function name (`program`).
struct ProgramSource {
    enum class Kind : uint8_t { Object, Bytecode, BytecodeFile, Expression } kind = Kind::Object;
    std::string object;       // object-file path
    std::string section;      // empty: tc's default (`classifier` for filters, `action` for actions)
    std::string program;      // libpcap loader's `program NAME`
    std::string text;         // bytecode string, bytecode file path, or filter expression as given
    cbpf::Program bytecode;   // the parsed classic program (all classic kinds)
    bool verbose = false;
    // TCA_BPF_NAME as tc builds it: "basename:[section]" for objects; empty for classic programs.
    std::string annotation() const;
};

enum class ActionKind : uint8_t { Gact, Bpf, Mirred };
enum class MirredKind : uint8_t { EgressRedirect = 1, EgressMirror = 2, IngressRedirect = 3, IngressMirror = 4 };

struct ActionSpec {
    ActionKind kind = ActionKind::Gact;
    // gact: CONTROL; bpf: the default action (PIPE unless given); mirred: the retval (STOLEN for a
    // redirect, PIPE or the given CONTROL for a mirror).
    int32_t control = kActPipe;
    uint32_t index = 0;  // 0: allocate
    // gact random: ptype 0 none, 1 netrand, 2 determ.
    uint16_t random_type = 0;
    uint16_t random_value = 0;
    int32_t random_control = kActOk;
    // bpf
    ProgramSource program;
    // mirred
    MirredKind mirred = MirredKind::EgressRedirect;
    std::string mirred_dev;
};

struct PrioOptions {
    uint32_t bands = 3;
    std::array<uint8_t, 16> priomap = {1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
};
struct HtbOptions {
    uint32_t default_minor = 0;  // `default` (hex)
    uint32_t r2q = 10;
    std::optional<uint32_t> direct_qlen;
};
struct FifoOptions {
    std::optional<uint32_t> limit;  // packets (pfifo) or bytes (bfifo); unset: the device default
};

struct QdiscSpec {
    Verb verb = Verb::Add;
    std::string dev;                 // empty for `show` without dev
    uint32_t parent = kHandleRoot;   // TC_H_ROOT, TC_H_INGRESS (ingress/clsact) or a class id
    uint32_t handle = 0;             // 0: allocate (or ffff: for ingress/clsact)
    std::string kind;                // clsact, ingress, prio, htb, pfifo, bfifo; empty for show/del
    PrioOptions prio;
    HtbOptions htb;
    FifoOptions fifo;
    bool stats = false;              // show: -s
    bool json = false;               // show: -j
};

struct HtbClassOptions {
    uint64_t rate = 0;   // bytes per second
    uint64_t ceil = 0;   // 0: = rate
    uint32_t burst = 0;  // bytes; 0: rate/hz + mtu (= mtu with hz = 1e9)
    uint32_t cburst = 0;
    uint32_t prio = 0;
    uint32_t quantum = 0;  // 0: rate / r2q clamped to [1000, 200000]
    uint32_t mtu = 1600;
    uint32_t mpu = 0;
    int32_t overhead = 0;
};

struct ClassSpec {
    Verb verb = Verb::Add;
    std::string dev;
    uint32_t parent = 0;   // as typed; resolved against the qdisc when applied
    uint32_t classid = 0;
    std::string kind;      // htb
    HtbClassOptions htb;
    bool stats = false;
    bool json = false;
};

struct FilterSpec {
    Verb verb = Verb::Add;
    std::string dev;
    uint32_t parent = 0;       // ffff:fff2 (ingress), ffff:fff3 (egress), ffff: or a classful qdisc/class
    uint32_t handle = 0;       // 0: allocate
    uint32_t pref = 0;         // 0: allocate (49152 for the first)
    uint16_t protocol = kEthPAll;  // host order
    bool protocol_given = false;
    uint32_t chain = 0;
    std::string kind;          // bpf
    ProgramSource program;
    std::optional<uint32_t> classid;
    bool direct_action = false;
    bool skip_hw = false;
    bool skip_sw = false;
    std::vector<ActionSpec> actions;
    bool stats = false;
    bool json = false;
};

// `tc actions add|replace|del|ls action KIND ...` on the shared action tables.
struct ActionCommandSpec {
    Verb verb = Verb::Add;
    std::vector<ActionSpec> actions;
    std::optional<ActionKind> list_kind;  // ls/show: which table
    bool stats = false;
    bool json = false;
};

// Where a port's frames come from and go to. Pcap: captures (offline runs). The live types need a
// live runner (include/tcbpf/live.h): AfPacket binds to an existing interface, AfXdp opens AF_XDP
// sockets on its queues (io::open_afxdp), Tap creates a TAP device named `dev` that tcbpf owns. A new live type is one more value here, one word in parse_port and one
// case in live/open_port.cpp.
enum class PortType : uint8_t { Pcap, AfPacket, Tap, AfXdp };
const char* port_type_name(PortType type);  // "pcap", "afpacket", "tap", "afxdp"

// `port add NAME type pcap in FILE [out FILE] [host FILE] [ifindex N] [vlan-offload on|off]` or
// `port add NAME dev IFACE type afpacket|afxdp|tap [workers N] [vlan-offload on|off]`.
struct PortSpec {
    PortType type = PortType::Pcap;
    std::string dev;       // live ports: the interface (afpacket, afxdp) or the TAP device to create (tap)
    uint32_t workers = 1;  // live ports: fanout receive queues, one per worker
    std::string name;
    std::string in;    // input capture (may be empty: a port that only transmits)
    std::string out;   // frames leaving egress
    std::string host;  // frames delivered to the local stack when there is no peer
    uint32_t ifindex = 0;  // 0: next free, counting from 2
    bool vlan_offload = true;
};
struct PeerSpec {
    std::string a, b;
};

using Command = std::variant<PortSpec, PeerSpec, QdiscSpec, ClassSpec, FilterSpec, ActionCommandSpec>;

// tc's global options that may precede a command (`-s`, `-j`, `-d`, `-p`).
struct GlobalOptions {
    bool stats = false;
    bool json = false;
    bool details = false;
    bool pretty = false;
};

// True for `show`/`get`/`ls` commands, which read the configuration instead of changing it.
bool command_is_show(const Command& command);
// True when such a command asks for counters (-s).
bool command_shows_stats(const Command& command);

// Parses one command's words: {"filter", "add", "dev", "eth0", "ingress", "bpf", "da", ...}, or
// {"port", "add", ...}. Files named by `bytecode-file` are read here. Throws tcbpf::Error with tc's
// message ("What is \"foo\"?", "Illegal \"classid\"", ...).
Command parse_command(const std::vector<std::string>& words, const GlobalOptions& globals = {});

// One line of a `-batch` file split as tc's makeargs does: whitespace separates words, double or
// single quotes group, `#` starts a comment, a backslash escapes the next character.
std::vector<std::string> split_batch_line(std::string_view line);

}  // namespace tcbpf::tc
