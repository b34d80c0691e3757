// The program's shape, checked before any value is tracked (the kernel's check_subprogs + check_cfg).
//
// Subprograms are found first: pc 0 and every target of a local call or of a `func` 64-bit load starts
// one, and each runs to the next start. Then, per subprogram, every jump must stay inside it and its last
// instruction must be `exit` or an unconditional jump, so execution can never fall or jump into another
// function. Finally a depth-first walk from pc 0 (following calls into their callees) finds instructions
// no path reaches, which the kernel rejects, and back-edges, which privileged loads accept: the
// exploration later proves every loop bounded by running it. The walk also marks prune points, where the
// exploration stores states to compare later paths against.
//
// check_call_chains runs after exploration, when each subprogram's stack depth is known: walking every
// chain of local calls from main, the frames (each rounded up to 16 bytes) must fit 512 bytes and at most
// 8 frames deep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tcbpf/isa.h"

namespace tcbpf::verifier {

inline constexpr int kMaxCallFrames = 8;
inline constexpr int kMaxStackBytes = 512;

struct Subprog {
    size_t start = 0;
    size_t end = 0;  // one past the last instruction
    // (call instruction, callee subprogram index) for each local call, in program order.
    std::vector<std::pair<size_t, size_t>> calls;
    // Subprograms whose address is taken by a `func` 64-bit load (callbacks), with the loading pc.
    std::vector<std::pair<size_t, size_t>> function_refs;
    bool has_tail_call = false;  // calls helper 12 (bpf_tail_call)
    bool has_ld_abs = false;     // uses LD_ABS / LD_IND
};

struct Cfg {
    std::vector<Subprog> subprogs;       // by start pc; [0] is the main program
    std::vector<uint32_t> subprog_of;    // pc → subprogram index
    std::vector<bool> prune_point;       // pc → states are stored here during exploration
    std::vector<std::pair<size_t, size_t>> back_edges;  // (from pc, to pc): loops
    // Subprogram index starting exactly at `pc`, if any.
    std::optional<size_t> subprog_starting_at(size_t pc) const;
};

// A rejection: the kernel's message and the pc it names (or the pc where the problem shows).
struct Rejection {
    std::string message;
    size_t insn_idx = 0;
};

struct CfgResult {
    Cfg cfg;
    std::optional<Rejection> error;
    bool ok() const { return !error; }
};

CfgResult build_cfg(const isa::Program& prog);

// Checks stack and frame limits over every call chain. `stack_depth[i]` is the bytes of stack subprogram i
// uses (its deepest access below r10).
std::optional<Rejection> check_call_chains(const Cfg& cfg, std::span<const int> stack_depth);

}  // namespace tcbpf::verifier
