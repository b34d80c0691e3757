// Upper bounds of the X register at each instruction of a checked cBPF program, for the conversion.
//
// libpcap indexes the transport header with `ldxb 4*([14]&0xf)` and then loads `[x + k]`: X is at most
// 60 there, so X + k is a small offset the converted program can read directly, and the legacy LD_IND
// load (a call, which makes the whole program pay for a native frame and a run-state block) is
// unreachable. The analysis is one forward pass: cBPF jumps only forward, so every predecessor of an
// instruction is visited before it, and the state at a join is the larger bound of each value. A, X and
// the sixteen scratch words are tracked; anything the pass cannot bound is 0xffffffff.
#pragma once

#include <cstdint>
#include <vector>

#include "tcbpf/cbpf.h"

namespace tcbpf::cbpf {

inline constexpr uint64_t kUnbounded = 0xffffffff;

// Per instruction: the largest value X can hold when it starts (kUnbounded where nothing reaches it).
std::vector<uint64_t> x_upper_bounds(const Program& prog);

}  // namespace tcbpf::cbpf
