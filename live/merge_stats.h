// Statistics output of several workers' replicas merged into one, as `tc -s` would print it for the
// whole port. The replicas have the same configuration, so their show texts differ only in counters
// (and in per-replica state such as htb tokens or an action's last use): lines that are equal are
// kept, and in lines that differ the counters are summed — the numbers tc prints after `Sent`,
// `bytes`, `dropped`, `overlimits`, `requeues`, `backlog` (both), `lended:`, `borrowed:`, `giants:`,
// and in JSON the members bytes, packets, drops, overlimits, requeues, backlog, qlen, lended, borrowed,
// giants. Every other number is worker 0's. Texts whose shapes differ are returned one after another
// under `# worker N` headers instead (which would mean the replicas diverged).
#pragma once

#include <string>
#include <vector>

namespace tcbpf::live {

std::string merge_stats_text(const std::vector<std::string>& per_worker);

}  // namespace tcbpf::live
