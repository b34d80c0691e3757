// Internal: one instruction's checks and effects on one abstract state (the body of the kernel's
// do_check loop). The exploration (explore.cpp) owns paths, branching, pruning and budgets; the
// functions here only say whether the instruction is safe in `state`, update it, and name the successors.
#pragma once

#include <optional>

#include "tcbpf/isa.h"
#include "tcbpf/verifier.h"
#include "verifier/cfg.h"
#include "verifier/state.h"

namespace tcbpf::verifier::detail {

struct Step {
    std::optional<Rejection> error;
    bool ends = false;             // exit, or no successor can execute
    size_t next_pc = 0;            // where `state` continues (unless ends)
    std::optional<State> branch;   // a second successor (a conditional jump's taken side)
    size_t branch_pc = 0;
};

struct Context {
    const isa::Program& prog;
    const Options& options;
    int stack_depth = 0;  // deepest stack byte touched on any path
    uint32_t last_id = 0;  // scalar and packet ids handed out (unique across states, like the kernel's id_gen)
};

Step execute(Context& ctx, State& state, size_t pc);

// Pieces of execute, by instruction family.
std::optional<Rejection> execute_alu(Context& ctx, const isa::Insn& insn, State& state, size_t pc);
std::optional<Rejection> execute_load(Context& ctx, const isa::Insn& insn, State& state, size_t pc);
std::optional<Rejection> execute_store(Context& ctx, const isa::Insn& insn, State& state, size_t pc);
std::optional<Rejection> execute_helper_call(Context& ctx, const isa::Insn& insn, State& state, size_t pc);
// A helper's read (or write) of `size` bytes through the pointer in `reg` (stack, packet or map value).
// Stack bytes a helper writes become unknown data.
std::optional<Rejection> check_helper_memory(Context& ctx, State& state, int reg, int size, size_t pc,
                                             bool is_write = false);
std::optional<Rejection> execute_legacy_packet_load(const isa::Insn& insn, State& state, size_t pc);
std::optional<Rejection> execute_atomic(Context& ctx, const isa::Insn& insn, State& state, size_t pc);
Step execute_conditional_jump(const isa::Insn& insn, State& state, size_t pc);
// After a branch refined `reg`, every register and spill sharing its id learns the same.
void sync_linked(State& state, const Reg& reg);

// "R3 !read_ok" unless the register holds a value.
std::optional<Rejection> check_readable(const State& state, int reg, size_t pc);
// "frame pointer is read only" for r10.
std::optional<Rejection> check_writable(int reg, size_t pc);
Rejection not_supported(std::string_view what, size_t pc);

}  // namespace tcbpf::verifier::detail
