// Internal: one instruction's checks and effects on one abstract state (the body of the kernel's
// do_check loop). The exploration (explore.cpp) owns paths, branching, pruning and budgets; the
// functions here only say whether the instruction is safe in `state`, update it, and name the successors.
#pragma once

#include <array>
#include <optional>
#include <set>

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
    const Cfg& cfg;
    std::vector<int> stack_depth;  // per subprogram: deepest stack byte touched on any path
    uint32_t last_id = 0;  // scalar and packet ids handed out (unique across states, like the kernel's id_gen)
    std::set<int32_t> helpers_called;
    // Set while executing one instruction, read by the exploration after it (precision.h): registers of
    // the current frame whose values the instruction's safety or outcome depended on, and the stack slot
    // a fixed-offset stack access touched.
    uint16_t want_precise = 0;
    // Per load/store instruction: whether it has been reached with a ctx base (1) or another pointer
    // (2). The kernel rewrites ctx accesses per instruction, so one instruction may not serve both.
    std::vector<uint8_t> base_kind;
    int32_t touched_spi = -1;
    uint32_t touched_frame = 0;
    uint8_t touched_bytes = 0;  // of that slot, bit b: byte b

    // Stack bytes (frame, slot, bytes) the instruction's outcome depended on; want_slot -1: none.
    int32_t want_slot = -1;
    uint32_t want_slot_frame = 0;
    uint8_t want_slot_bytes = 0;
    // A variable-offset load that read known zeros: every byte of [lo, hi) in the frame must stay zero.
    std::optional<std::pair<int64_t, int64_t>> want_zero_range{};
    uint32_t want_zero_frame = 0;
    // Stack liveness (explore.cpp): per frame, the 8-byte slots the instruction read (bit i: slot i,
    // r10 - 8*(i+1)), and those it overwrote whole, so their earlier contents can matter to no one.
    std::array<uint64_t, kMaxCallFrames> slots_read{};
    std::array<uint64_t, kMaxCallFrames> slots_written{};
    bool direct_packet_write = false;  // the kernel's seen_direct_write (Result::direct_packet_write)
    void note_slots_read(uint32_t frame, int64_t lo, int64_t hi);

    void need_precise(int reg) { want_precise = static_cast<uint16_t>(want_precise | (1u << reg)); }

    bool raw() const { return options.raw_memory_size.has_value(); }
};

// Records that frame `frame` of `state` used its stack down to `lowest_off` (below its r10); `pc` is
// the instruction running (in the current frame's function).
void note_stack_use(Context& ctx, const State& state, uint32_t frame, size_t pc, int64_t lowest_off);

Step execute(Context& ctx, State& state, size_t pc);
// Every ld_imm64 map reference, reached or not, names a map of the program (the kernel resolves them all
// before exploring, so a bad one in dead code is still refused).
std::optional<Rejection> check_map_references(const isa::Program& prog, const Options& options);

// Pieces of execute, by instruction family.
std::optional<Rejection> execute_alu(Context& ctx, const isa::Insn& insn, State& state, size_t pc);
std::optional<Rejection> execute_load(Context& ctx, const isa::Insn& insn, State& state, size_t pc);
std::optional<Rejection> execute_store(Context& ctx, const isa::Insn& insn, State& state, size_t pc);
std::optional<Rejection> execute_helper_call(Context& ctx, const isa::Insn& insn, State& state, size_t pc);
// A helper's read (or write) of `size` bytes through the pointer in `reg` (stack, packet or map value).
// Stack bytes a helper writes become unknown data.
std::optional<Rejection> check_helper_memory(Context& ctx, State& state, int reg, int size, size_t pc,
                                             bool is_write = false, bool reads = true);
// bpf-to-bpf calls (check_frames.cpp): entering the callee, and `exit` (returning to the caller, or
// ending the program in frame 0). Both set the successor pc in `step`.
Step execute_local_call(Context& ctx, const isa::Insn& insn, State& state, size_t pc);
Step execute_exit(Context& ctx, State& state, size_t pc);
std::optional<Rejection> execute_callx(Context& ctx, const isa::Insn& insn, State& state, size_t pc);
// Stack loads, stores and helper accesses (check_stack.cpp), for a base register pointing to a stack.
std::optional<Rejection> stack_load(Context& ctx, State& state, const isa::Insn& insn, const Reg& base, int size,
                                    Reg& out, size_t pc);
std::optional<Rejection> stack_store(Context& ctx, State& state, const isa::Insn& insn, const Reg& base, int size,
                                     const std::optional<Reg>& value, size_t pc);
// An atomic read-modify-write of a stack word: checked as a read and a write; the word becomes unknown data.
std::optional<Rejection> stack_atomic(Context& ctx, State& state, const isa::Insn& insn, const Reg& base, int size,
                                      size_t pc);
std::optional<Rejection> stack_helper_access(Context& ctx, State& state, int reg, int size, bool reads, bool writes,
                                             size_t pc);
std::optional<Rejection> execute_legacy_packet_load(const isa::Insn& insn, State& state, size_t pc);
std::optional<Rejection> execute_atomic(Context& ctx, const isa::Insn& insn, State& state, size_t pc);
Step execute_conditional_jump(Context& ctx, const isa::Insn& insn, State& state, size_t pc);
// After a branch refined `reg`, every register and spill sharing its id learns the same.
void sync_linked(State& state, const Reg& reg);

// The kernel's check_reference_leak: refuses ending the program (`what`: "tail_call", ...) while a
// reference is held.
std::optional<Rejection> check_reference_leak(const State& state, std::string_view what, size_t pc);
// "R3 !read_ok" unless the register holds a value.
std::optional<Rejection> check_readable(const State& state, int reg, size_t pc);
// "frame pointer is read only" for r10.
std::optional<Rejection> check_writable(int reg, size_t pc);
Rejection not_supported(std::string_view what, size_t pc);
// A ctx pointer moved by a variable may be neither dereferenced nor passed to a helper.
std::optional<Rejection> check_ctx_var_off(const Reg& ctx_reg, size_t pc);

}  // namespace tcbpf::verifier::detail
