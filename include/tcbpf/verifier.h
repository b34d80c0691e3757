// The verifier: decides, before a program ever runs, that it is safe — every path ends, reads only
// initialised registers and stack, and touches memory only where the kernel's rules allow — by exploring
// all paths with abstract values (verifier.md). Verdicts and messages follow the Linux verifier for a
// privileged tc load (CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON).
//
// This version explores programs made of scalar ALU, conditional and unconditional jumps (loops
// included), stack loads/stores/spills/atomics, __sk_buff context loads/stores, direct packet access
// (constant and variable offsets), direct map-value addresses of array maps (global data), LD_ABS/LD_IND,
// and calls of helpers whose arguments are the context or plain values, ending in `exit`. Anything
// beyond that — map helpers, local calls, variable offsets on stack pointers — is rejected with a message saying what is "not supported yet", never
// accepted unchecked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
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
};

struct Stats {
    uint64_t insns_processed = 0;
    uint64_t states_stored = 0;   // checkpoints kept for pruning
    uint64_t paths_pruned = 0;    // paths stopped because a proven-safe state included them
    uint64_t peak_pending = 0;    // most branch states waiting at once
    int stack_depth = 0;          // bytes of stack the program uses
};

struct Result {
    bool ok = false;
    std::string message;  // the rejection, as the kernel prints it; empty when ok
    size_t insn_idx = 0;  // the instruction the rejection is about
    Stats stats;
    // Per instruction: whether some explored path reached it (the kernel's `seen`). Instructions never
    // reached are dead: every path to them was proven impossible. Filled for accepted programs.
    std::vector<bool> insn_seen;
};

Result verify(const isa::Program& prog, const Options& options = {});

}  // namespace tcbpf::verifier
