// Which programs may run on a packet that still shares its frame (skb::Packet::borrow): the runtime's
// form of the kernel's choice between running on a cloned skb and adding the unclone prologue.
#pragma once

#include "tcbpf/isa.h"
#include "tcbpf/verifier.h"

namespace tcbpf::runtime::detail {

// True when, on every path the verifier explored, the program only reads packet bytes from data
// onwards: no direct write into the packet (the verifier's direct_packet_write), no helper that
// writes packet bytes or moves the data (those change the bytes under packet pointers the program
// already holds), no tail call (its target's needs are unknown here) and no legacy LD_ABS/LD_IND
// (they may read headroom, which a shared frame does not have). Unverified (`proof` null) or checked
// programs never qualify: the checked interpreter's packet region is writable.
bool reads_packet_only(const isa::Program& rewritten, const verifier::Result* proof, bool checked);

}  // namespace tcbpf::runtime::detail
