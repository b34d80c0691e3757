// Internal: the kernel-style verifier log (verifier.md §7.2). States print as the kernel prints them
// (" R1=ctx() R2=fp-8 R3=pkt(r=14) fp-8=mmmmmmmm"), instructions as "N: (op) text", and the log keeps
// only the path that failed at level 1, as the kernel rewinds pending branches' text.
#pragma once

#include <string>

#include "tcbpf/isa.h"
#include "tcbpf/verifier.h"
#include "verifier/state.h"

namespace tcbpf::verifier::detail {

std::string format_state(const State& state, const Options& options);
// "N: (85) call 6" plus, before it, the instruction's source line when one is known and new.
std::string format_insn(const isa::Program& prog, size_t pc, const Options& options, size_t& last_line_pc);
std::string format_stats(const Stats& stats);

}  // namespace tcbpf::verifier::detail
