// The tc pipeline: ports with an ingress hook and an egress path, the qdiscs, filters and actions tc
// attaches to them, and the kernel's semantics for running packets through (shared/spec/
// cls-act-semantics.md and classful-qdiscs.md are the contract).
//
// A Pipeline is configured by applying tc commands (tc_spec.h) one at a time. `apply` is atomic: it
// checks and builds everything a command needs (loads programs, resolves parents, allocates handles)
// before it changes anything, so a command that throws leaves the pipeline exactly as it was.
//
// Packets enter through `receive` (a frame arriving on a port at a virtual time) and leave through the
// sink (a port's wire, or its host stack when it has no peer). Time is virtual: it comes from the
// frames' timestamps, so shaping is deterministic and a run repeatable. Queued packets leave when
// `advance` moves the clock far enough for their class to send. The per-packet path allocates nothing
// once its buffers have grown to the largest frame, takes no lock, and is single-threaded: one
// Pipeline is driven by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcbpf/skb.h"
#include "tcbpf/tc_spec.h"

namespace tcbpf::tc {

// Counters of a qdisc, class or action (gnet_stats_basic + gnet_stats_queue).
struct Stats {
    uint64_t bytes = 0;
    uint64_t packets = 0;
    uint64_t drops = 0;
    uint64_t overlimits = 0;
    uint64_t requeues = 0;
    uint64_t backlog_bytes = 0;
    uint64_t backlog_packets = 0;
};

// htb class extra statistics (struct tc_htb_xstats); tokens in 64 ns ticks as the kernel reports them.
struct HtbXstats {
    uint32_t lends = 0;
    uint32_t borrows = 0;
    uint32_t giants = 0;
    int32_t tokens = 0;
    int32_t ctokens = 0;
};

// Where a packet left the pipeline.
enum class Exit : uint8_t {
    Wire,  // transmitted on the port (its `out` capture)
    Host,  // delivered to the port's local stack (its `host` capture)
};

struct Delivery {
    uint32_t ifindex = 0;
    Exit exit = Exit::Wire;
    std::span<const uint8_t> frame;  // as it would be captured: an offloaded VLAN tag is back in place
    const skb::SkbMeta* meta = nullptr;
    uint64_t time_ns = 0;
};

// One qdisc's, class's or action's counters, for exporters (`tcbpf stats --prometheus`).
struct CounterSample {
    enum class Object : uint8_t { Qdisc, Class, Action } object = Object::Qdisc;
    std::string dev;     // empty for actions (their tables are shared by every port)
    std::string kind;    // clsact, htb, prio, pfifo, ...; for actions gact, bpf, mirred
    std::string handle;  // as tc prints it: "1:", "1:10", or an action's index
    Stats stats;
};

struct PipelineOptions {
    // false (the default): every eBPF program is verified as it loads and runs unchecked, JIT-compiled.
    // true: programs run unverified in the checked interpreter — for tests that need to watch a fault.
    bool checked = false;
    // Where objects' pinned maps live (iproute2's layout under a bpffs-like directory). Unset: as
    // runtime::LoadOptions::bpffs (only $TCBPF_BPFFS pins); `tcbpf run` passes --bpffs or /run/tcbpf.
    std::optional<std::string> bpffs;
};

// The programs one command loaded (filters' and bpf actions'), kept so that replicas of a pipeline —
// one per live worker — applying the same command after it run the very same program instances, and so
// share their maps, as every CPU runs the one program the kernel loaded. See Pipeline::apply below.
class SharedLoads {
   public:
    SharedLoads();
    ~SharedLoads();
    SharedLoads(const SharedLoads&) = delete;
    SharedLoads& operator=(const SharedLoads&) = delete;
    struct Impl;  // tc/shared_loads.h
    std::unique_ptr<Impl> impl;
};

class Pipeline {
   public:
    explicit Pipeline(const PipelineOptions& options = {});
    ~Pipeline();
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    // Applies one command; throws tcbpf::Error with tc's message and changes nothing on failure.
    // `show` commands do not change anything: use `show`.
    void apply(const Command& command);
    // The same, for a replica: programs the command loads are recorded into `loads` the first time it
    // is used, and taken from it, in the same order, by every later apply of the same command on a
    // pipeline with the same configuration (tcbpf::Error if the replica asks for another program).
    void apply(const Command& command, SharedLoads& loads);
    // Convenience: parse_command + apply, or for a show command, its output.
    std::string execute(const std::vector<std::string>& words, const GlobalOptions& globals = {});

    // The text `tc [-s] qdisc|class|filter show ...` / `tc actions ls` prints for a show command.
    std::string show(const Command& command) const;
    // Everything `-s` would show for every port, port by port (qdiscs, classes, filters with their
    // actions), as `tcbpf run` prints it at the end.
    std::string show_all(bool stats) const;
    std::string show_all_json(bool stats) const;

    // ---- the data path
    // A frame arrives on the port with this ifindex at virtual time `time_ns` (ingress hook, then the
    // peer's egress or the host). Unknown ifindex: the frame is ignored. Never throws.
    void receive(uint32_t ifindex, std::span<const uint8_t> frame, uint64_t time_ns);
    // The same for a frame that arrives with metadata (a live port's GSO super-frame: gso_size,
    // gso_segs and ip_summed Partial); the fields the receive path sets itself are overwritten.
    void receive(uint32_t ifindex, std::span<const uint8_t> frame, uint64_t time_ns, const skb::SkbMeta& arrival);
    // The CPU programs run on (bpf_get_smp_processor_id, per-CPU map slots): a live worker's index.
    void set_cpu(uint32_t cpu);
    // Moves virtual time forward, letting every qdisc send what it may until then. Never throws.
    void advance(uint64_t time_ns);
    // The earliest virtual time a shaped qdisc will be able to send again (UINT64_MAX: none waiting).
    uint64_t next_wakeup() const;
    // Drains every queue: advances time until nothing is left queued.
    void drain();
    // Reads every port's input capture, merges the frames by timestamp, pushes them through, drains,
    // and writes the ports' output captures. Throws tcbpf::Error for an unreadable capture.
    void run_captures();

    // Replaces the default sink (the ports' output captures, written by run_captures) for every
    // packet leaving the pipeline. Called on the data path: it must not throw.
    void set_sink(std::function<void(const Delivery&)> sink);
    // Per-packet "why" lines for --trace ("port eth0 ingress: filter pref 49152 handle 0x1 bpf ... -> drop").
    void set_trace(std::function<void(std::string_view)> trace);

    // ---- lookups for tests and tools (throw tcbpf::Error when the object does not exist)
    uint32_t ifindex(std::string_view port) const;
    Stats qdisc_stats(std::string_view dev, uint32_t handle) const;  // ffff: for ingress/clsact
    Stats class_stats(std::string_view dev, uint32_t classid) const;
    HtbXstats htb_xstats(std::string_view dev, uint32_t classid) const;
    Stats action_stats(ActionKind kind, uint32_t index) const;
    uint64_t now_ns() const;
    // Every qdisc (the clsact/ingress hook included), class and action with its counters (tc/counters.cpp).
    std::vector<CounterSample> counters() const;

    struct State;  // tc/pipeline_state.h

   private:
    std::unique_ptr<State> state_;
};

}  // namespace tcbpf::tc
