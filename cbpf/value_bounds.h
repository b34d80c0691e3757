// What the conversion can prove about A and X: upper bounds of X at each instruction of a checked
// cBPF program, and whether A or X is ever read before it is written.
//
// libpcap indexes the transport header with `ldxb 4*([14]&0xf)` and then loads `[x + k]`: X is at most
// 60 there, so X + k is a small offset the converted program can read directly, and the legacy LD_IND
// load (a call, which makes the whole program pay for a native frame and a run-state block) is
// unreachable. The analysis is one forward pass: cBPF jumps only forward, so every predecessor of an
// instruction is visited before it, and the state at a join is the larger bound of each value. A, X and
// the sixteen scratch words are tracked; anything the pass cannot bound is 0xffffffff. The second
// pass has the same shape: "written on every path so far" joins as a logical and.
#pragma once

#include <cstdint>
#include <vector>

#include "tcbpf/cbpf.h"

namespace tcbpf::cbpf {

inline constexpr uint64_t kUnbounded = 0xffffffff;

// The conversion's reach for direct packet access: constant offsets whose last byte a load's signed
// 16-bit displacement can address, and indexed offsets up to kMaxDirectIndexed, which keeps the
// verifier's packet range (MAX_PACKET_OFF) in reach. Beyond them it uses LD_ABS/LD_IND.
inline constexpr uint32_t kMaxDirectEnd = 0x7fff;
inline constexpr uint32_t kMaxDirectIndexed = 0xff00;

// Per instruction: the largest value X can hold when it starts (kUnbounded where nothing reaches it).
std::vector<uint64_t> x_upper_bounds(const Program& prog);

// Whether some path reads A (or X) before writing it, i.e. sees the 0 both start with. Only then does
// the converted program need its explicit `A = 0` (`X = 0`): the verifier refuses a read of a register
// nothing wrote, and the engines start every register at 0 anyway. Helper calls and the legacy loads'
// fallback count as reads of both (they pass or save them).
struct InitialReads {
    bool a = false, x = false;
};
InitialReads initial_reads(const Program& prog);

}  // namespace tcbpf::cbpf
