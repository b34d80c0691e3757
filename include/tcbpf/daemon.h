// `tcbpf daemon`: a pipeline that keeps running, configured over the control socket (tcbpf/ctl.h).
//
// The daemon owns a Runner — whatever moves packets through a tc configuration — and serialises the
// control requests onto it. The Runner is the pluggable part: the one here drives a tc::Pipeline from a
// single data thread over pcap ports (replayed at the captures' own pace, so tests are deterministic);
// the live runner (tcbpf/live.h: AF_PACKET/AF_XDP/TAP workers) is adapted to the same interface.
//
// Contract of a Runner: `apply` is atomic with respect to packets — each packet is processed entirely
// under the configuration before the command or entirely under the one after it — and a command that
// throws changes nothing. `stop` stops taking new packets, lets every queued one leave, and flushes
// outputs; nothing runs after it returns.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "tcbpf/tc.h"

namespace tcbpf::ctl {

// Per-port traffic counters the runner keeps itself (the pipeline's are per qdisc/class/action).
struct PortCounters {
    std::string port;
    uint64_t rx_packets = 0, rx_bytes = 0;      // frames taken from the port's input
    uint64_t tx_packets = 0, tx_bytes = 0;      // frames sent on its wire
    uint64_t host_packets = 0, host_bytes = 0;  // frames delivered to its host stack
    uint64_t input_pending = 0;                 // frames of the input not yet taken (a capture's rest)
};

class Runner {
   public:
    virtual ~Runner() = default;
    // Applies a configuration command (not a show); throws tcbpf::Error with tc's message.
    virtual void apply(const tc::Command& command) = 0;
    virtual std::string show(const tc::Command& command) = 0;
    virtual std::vector<tc::CounterSample> counters() = 0;
    virtual std::vector<PortCounters> port_counters() = 0;
    // Traffic starts flowing (the daemon calls it once its setup is applied); ports added later start at once.
    virtual void start() = 0;
    // Drains and stops (see above). Idempotent.
    virtual void stop() = 0;
};

// The tc::Pipeline runner over pcap ports: a port's `in` capture is replayed in real time at the
// capture's pace (frame i leaves at start + (ts_i - ts_0)), its `out`/`host` captures are written as
// packets leave and completed by `stop`. The pipeline's virtual clock follows the monotonic clock.
std::unique_ptr<Runner> make_pipeline_runner(const tc::PipelineOptions& options);
// The live runner (include/tcbpf/live.h) behind this interface: workers start with the first live port.
std::unique_ptr<Runner> make_live_runner(const tc::PipelineOptions& options);
// What `tcbpf daemon` runs: the first `port add` chooses — a live type (afpacket, afxdp, tap) the live
// runner, pcap the pipeline runner; a port of the other family is refused afterwards.
std::unique_ptr<Runner> make_runner_for_ports(const tc::PipelineOptions& options);

struct DaemonOptions {
    std::string ctl_path;               // the control socket
    std::string bpffs;                  // where objects' maps are pinned
    std::string setup;                  // -batch SETUP: applied before the socket opens (empty: none)
    std::optional<gid_t> ctl_group;     // the socket becomes 0660 with this group, whose members may connect
};

// Runs until SIGTERM or SIGINT; returns the process exit status. Refuses (status 1, one line on stderr)
// when another daemon holds the socket or the bpffs directory, or when the setup fails. The runner is
// built by `make_runner`.
int run_daemon(const DaemonOptions& options,
               std::unique_ptr<Runner> (*make_runner)(const tc::PipelineOptions&) = make_runner_for_ports);

// For clients: the command's file arguments (an object, a bytecode file, a port's captures) made
// absolute against `base`, their directory. Words that do not parse come back unchanged (the daemon
// reports the error itself).
std::vector<std::string> with_absolute_paths(const std::vector<std::string>& words, const std::string& base);

}  // namespace tcbpf::ctl
