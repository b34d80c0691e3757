// The verifier: decides, before a program ever runs, that it is safe — every path ends, reads only
// initialised registers and stack, and touches memory only where the kernel's rules allow — by exploring
// all paths with abstract values (verifier.md). Verdicts and messages follow the Linux verifier for a
// privileged tc load (CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON).
//
// It explores scalar ALU, conditional and unconditional jumps (loops included), stack loads/stores/spills/
// atomics (constant and bounded variable offsets), __sk_buff context loads/stores, direct packet access,
// map pointers and map values (direct addresses and lookup results, null-checked), LD_ABS/LD_IND, calls of
// every helper in the prototype table (helper_name() names them; helpers.md minus what needs sockets,
// dynptrs, callbacks, timers or locks), ring buffer reservations as references released on every path,
// bpf-to-bpf calls with their frames, and the `raw`
// program type of the conformance suite. Anything beyond that is rejected with a message saying what is
// "not supported yet", never accepted unchecked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcbpf/isa.h"
#include "tcbpf/skb.h"

namespace tcbpf::verifier {

// A map the program may reference: by position (`map[idx:N]`, what the loader emits) or by file
// descriptor (`map[fd:N]`, raw programs loaded against kernel maps).
struct MapInfo {
    uint32_t type = 0;  // uapi BPF_MAP_TYPE_*
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t flags = 0;  // uapi BPF_F_* (BPF_F_RDONLY_PROG 0x80, BPF_F_WRONLY_PROG 0x100)
    int32_t fd = -1;
};

struct Options {
    skb::ProgType prog_type = skb::ProgType::Classifier;
    std::vector<MapInfo> maps;
    // Processed-instruction budget (the kernel's BPF_COMPLEXITY_LIMIT_INSNS).
    uint64_t insn_budget = 1'000'000;
    // The unprivileged rules on top (`--strict`): no pointer may leave the program (stored into a map
    // value or the packet, passed to a helper as a plain value, returned), no read of stack bytes never
    // written, no variable-offset stack access.
    bool strict = false;
    // The `raw` program type of the conformance suite, instead of prog_type: r1 points to this many
    // bytes of readable and writable memory, r2 holds the count; shift immediates are masked to the
    // width instead of rejected, callx is allowed, any return value is fine.
    std::optional<uint32_t> raw_memory_size;
    // Whether the license is GPL-compatible; GPL-only helpers are refused otherwise.
    bool gpl_compatible = true;
    // Whether the program comes with BTF function info (loader::ProgramDef::funcs non-empty). Without
    // it, as for any raw load, the kernel refuses tail calls and LD_ABS/LD_IND inside subprograms.
    bool btf_func_info = false;
    // 0: no log; 1: on rejection, the failing path (each instruction with the registers it changed)
    // and the reason; 2: the full state at every instruction processed. The statistics line is
    // appended at levels ≥ 1.
    int log_level = 0;
    // Optional C source line of each instruction (BTF line info), by instruction index; empty strings
    // (or a shorter vector) mean none. Shown in the log as "; <line>".
    std::vector<std::string> source_lines;
};

struct Stats {
    uint64_t insns_processed = 0;
    uint64_t states_stored = 0;   // checkpoints kept for pruning
    uint64_t paths_pruned = 0;    // paths stopped because a proven-safe state included them
    uint64_t peak_pending = 0;    // most branch states waiting at once
    uint64_t peak_states = 0;     // most checkpoints and pending states alive at once (the kernel's peak_states)
    uint64_t peak_bytes = 0;      // memory those states took at the peak, approximately
    uint64_t precision_steps = 0; // instructions precision tracking walked back over (its share of the work)
    int stack_depth = 0;          // bytes of stack the main program uses
    std::vector<int> subprog_stack_depth;  // per subprogram, by start pc (the kernel's "stack depth a+b")
    uint64_t verification_usec = 0;
};

struct Result {
    bool ok = false;
    std::string message;  // the rejection, as the kernel prints it; empty when ok
    size_t insn_idx = 0;  // the instruction the rejection is about
    Stats stats;
    // Per instruction: whether some explored path reached it (the kernel's `seen`). Instructions never
    // reached are dead: every path to them was proven impossible. Filled for accepted programs.
    std::vector<bool> insn_seen;
    // Per instruction: a load, store or atomic whose base register is the context pointer on every path
    // that reaches it (the verifier refuses an instruction reached with the context and another pointer).
    // The context rewrite uses this instead of guessing from the program text. Filled for accepted programs.
    std::vector<bool> insn_ctx_access;
    // Helper ids the program calls (on explored paths), sorted, once each.
    std::vector<int32_t> helpers_called;
    // The kernel's seen_direct_write: a store, or a helper filling memory it was given, writes packet
    // bytes through a packet pointer on some explored path. Filled for accepted programs.
    bool direct_packet_write = false;
    // The kernel-style log (Options::log_level).
    std::string log;
};

Result verify(const isa::Program& prog, const Options& options = {});

// The kernel's name of a helper id without the "bpf_" prefix ("map_lookup_elem"), tcbpf's internal cBPF
// helpers included ("cbpf_pay_offset"); empty for ids no helper has.
std::string_view helper_name(int32_t id);
// Whether the verifier knows the helper's prototype (so programs calling it can be verified).
bool helper_supported(int32_t id);

}  // namespace tcbpf::verifier
