// What the daemon tells about itself: counters in Prometheus text format (version 0.0.4) and a plain
// per-port table for `tcbpf stats`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tcbpf/daemon.h"

namespace tcbpf::ctl {

struct DaemonCounters {
    uint64_t requests_ok = 0;        // answered with status 0
    uint64_t requests_failed = 0;    // a command refused (syntax or the pipeline's error)
    uint64_t requests_malformed = 0; // frames or requests the decoder rejected
    uint64_t peers_denied = 0;       // connections refused on their credentials
    double uptime_seconds = 0;
};

std::string format_prometheus(const std::vector<tc::CounterSample>& samples, const std::vector<PortCounters>& ports,
                              const DaemonCounters& daemon);
std::string format_port_table(const std::vector<PortCounters>& ports);

}  // namespace tcbpf::ctl
