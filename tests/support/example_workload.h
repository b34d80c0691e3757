// The example programs as a workload: which program of which object to run, and what its maps hold
// before traffic arrives (policies, backends, ACL prefixes derived from the traffic's own flows, so that
// lookups both hit and miss). Shared by the kernel differential test and the per-packet benchmark, so
// both measure the same thing.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tcbpf/pcap.h"

namespace tcbpf::examples {

using Bytes = std::vector<uint8_t>;

// One map entry both tcbpf and the kernel get before the traffic.
struct Prefill {
    std::string map;
    Bytes key, value;
};

struct Example {
    const char* object;   // file name without .o in the examples build directory
    const char* program;  // function to run
    std::vector<Prefill> (*prefill)(const std::vector<Bytes>& flows);  // nullptr: maps start empty
};

// Every example classifier the differential test and the benchmark cover.
std::span<const Example> examples();

// Distinct flow keys of `frames`, found by running tcbpf's flow_counters (object at
// `flow_counters_object`) over them, in byte order.
std::vector<Bytes> harvest_flow_keys(const std::string& flow_counters_object, const std::vector<io::Frame>& frames);

std::vector<Prefill> policy_entries(const std::vector<Bytes>& flows);
std::vector<Prefill> l4_lb_entries(const std::vector<Bytes>& flows);
std::vector<Prefill> lpm_acl_entries(const std::vector<Bytes>& flows);
std::vector<Prefill> datapath_entries(const std::vector<Bytes>& flows);

}  // namespace tcbpf::examples
