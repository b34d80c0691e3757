// The tc pipeline on live ports: a Runner owns N workers, each with its own receive queue on every live
// port (AF_PACKET fanout; a TAP device is read by worker 0) and its own replica of the pipeline, so the
// per-packet path takes no lock. Programs are shared by the replicas (tc::SharedLoads): one program,
// one set of maps, and worker i runs as CPU i (bpf_get_smp_processor_id, per-CPU map slots).
//
// Configuration: `apply` checks a command on a shadow pipeline that carries no traffic (a refusal
// changes nothing anywhere), then hands it to every worker, which applies it between two batches of
// packets: each packet sees the old configuration or the new one, never half of each. `apply` returns
// once every worker has switched. Counters are per worker and summed when read.
//
// Lifecycle: ports and configuration may be applied before `start` (a `-batch` setup) and while running.
// `stop` (also on destruction) drains: frames already in the receive rings are processed, queued
// packets leave as their qdiscs allow (up to `drain_timeout_ms`, then at once), pending sends are
// flushed, then the workers end.
//
// Known difference from the kernel: every worker has its own replica of each egress qdisc, so an htb
// class shapes each worker's share of its traffic to its rate (exact with one worker, or when the
// class's flows hash to one worker, as a flow always does).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcbpf/tc.h"
#include "tcbpf/tc_spec.h"

namespace tcbpf::live {

struct RunnerOptions {
    // As tc::PipelineOptions: verified JIT-compiled programs, maps pinned under `bpffs`.
    bool checked = false;
    std::optional<std::string> bpffs;
    // Workers when no port asks for more (`port add ... workers N`: the runner runs the largest N).
    unsigned workers = 1;
    unsigned drain_timeout_ms = 2000;
    // One line per event ("tcbpf: port wan: veth0 afpacket ifindex 4, 2 workers"); default: stderr.
    std::function<void(std::string_view)> log;
};

// Counters of one live port, summed over the workers.
struct PortCounters {
    std::string name;
    std::string dev;
    tc::PortType type = tc::PortType::AfPacket;
    uint32_t ifindex = 0;
    uint64_t rx_packets = 0, rx_bytes = 0;  // frames taken from the port
    uint64_t tx_packets = 0, tx_bytes = 0;  // frames sent out of it
    uint64_t tx_errors = 0;                 // frames the kernel refused to send (full queue, too large)
    // Passed toward the host of a port without a peer: the kernel already gave its own stack a copy when
    // the frame arrived (AF_PACKET only watched), so nothing is sent.
    uint64_t host_packets = 0, host_bytes = 0;
};

class Runner {
   public:
    explicit Runner(RunnerOptions options = {});
    ~Runner();  // stop()
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;

    // Applies one command atomically (see above): a `port add` of a live type opens the device's
    // sockets (its ifindex becomes the port's), `port peer` pairs two ports as a bump in the wire.
    // Throws tcbpf::Error with tc's message; nothing changed then. Thread-safe (one apply at a time).
    void apply(const tc::Command& command);
    // parse_command + apply, or for a show command its text (configuration from the shadow pipeline;
    // with -s, counters summed over the workers: live/merge_stats.h).
    std::string execute(const std::vector<std::string>& words, const tc::GlobalOptions& globals = {});
    std::string show(const tc::Command& command);
    std::string show_all(bool stats, bool json);

    void start();  // throws tcbpf::Error when no live port was added, or when already started
    void stop();   // drains; idempotent
    bool running() const;
    unsigned workers() const;

    std::vector<PortCounters> port_counters() const;
    tc::Stats qdisc_stats(std::string_view dev, uint32_t handle);  // ffff: for clsact/ingress
    tc::Stats class_stats(std::string_view dev, uint32_t classid);
    tc::Stats action_stats(tc::ActionKind kind, uint32_t index);
    // Every qdisc, class and action with its counters summed over the workers (the daemon's Prometheus
    // export); the workers' replicas have the same objects in the same order.
    std::vector<tc::CounterSample> counters();

    struct Impl;

   private:
    std::unique_ptr<Impl> impl_;
};

// Blocks until SIGTERM or SIGINT arrives (both blocked in the calling thread meanwhile), then returns
// the signal's number. Call after start(); the caller stops the runner.
int wait_for_termination();

}  // namespace tcbpf::live
