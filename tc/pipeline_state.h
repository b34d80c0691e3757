// The pipeline's insides: ports with their hooks and qdiscs, the shared action tables, and the
// datapath that moves packets between them. Configuration (pipeline.cpp, apply_*.cpp) and the
// datapath (datapath.cpp) share these types; nothing outside tc/ sees them.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "tc/qdisc.h"
#include "tcbpf/tc.h"

namespace tcbpf::tc {

// clsact or ingress: the "mini qdisc" at the hooks, with its filter lists.
struct MiniQdisc {
    bool clsact = true;
    Stats stats;
    FilterBlock ingress;
    FilterBlock egress;  // clsact only
};

struct Port {
    uint32_t ifindex = 0;  // first: port_by_ifindex reads it on every packet, the spec rarely
    PortSpec spec;
    uint32_t peer = 0;  // ifindex of the peer port, 0 without one
    Port* peer_port = nullptr;  // the same port, for the data path (ports live as long as the pipeline)
    std::optional<MiniQdisc> mini;
    std::unique_ptr<Qdisc> root;  // nullptr: noqueue, as on a veth
    uint32_t next_auto_major = 0x8000;
    skb::TestRunDevice device;  // its address for eth_type_trans: all zero, broadcast ff:ff:ff:ff:ff:ff
};

class Datapath {
   public:
    explicit Datapath(Pipeline::State& state) : state_(state) {}

    void receive(Port& port, std::span<const uint8_t> frame, uint64_t now_ns, const skb::SkbMeta& arrival);
    void advance(uint64_t now_ns) {
        if (maybe_queued_) {
            advance_queues(now_ns);
            return;
        }
        // The usual case between packets of an unshaped pipeline: no root qdisc holds a packet, only
        // the clock moves.
        now_ns_ = std::max(now_ns_, now_ns);
    }
    uint64_t next_wakeup() const;
    // mirred: a copy of `skb` sent out of (egress) or into (ingress) the port with this ifindex.
    // False when the port does not exist (mirred counts an overlimit).
    bool mirred(uint32_t ifindex, bool to_ingress, const Skb& skb);
    uint64_t now() const { return now_ns_; }
    // The port a frame arrives on; remembers the last one (frames come in runs; ports never go away).
    Port* arrival_port(uint32_t ifindex);

    SkbPool pool;
    RunScratch scratch;
    std::function<void(const Delivery&)> sink;
    TraceFn trace;

   private:
    // Inlined into their callers (receive and the backlog; transmit): one call level less on the path
    // every packet takes.
    [[gnu::always_inline]] inline void ingress(Port& port, Skb* skb);
    [[gnu::always_inline]] inline bool hook(Port& port, Skb& skb, bool at_ingress);
    void transmit(Port& port, Skb* skb);
    [[gnu::always_inline]] inline void to_root_qdisc(Port& port, Skb* skb, QdiscEnv& qenv);
    void run_queue(Port& port);
    [[gnu::always_inline]] inline void deliver(Port& port, Exit exit, Skb* skb);
    void redirect(Skb* skb, const char* from);
    // A trace line, formatted only when a trace sink is set: untraced packets pay for no string.
    template <typename... Args>
    void emit(fmt::format_string<Args...> format, Args&&... args) const {
        if (trace) trace(fmt::format(format, std::forward<Args>(args)...));
    }
    void process_backlog();
    void advance_queues(uint64_t now_ns);

    Pipeline::State& state_;
    uint64_t now_ns_ = 0;
    uint32_t frames_ = 0;
    int xmit_depth_ = 0;
    int mirred_depth_ = 0;
    Port* last_arrival_ = nullptr;
    bool maybe_queued_ = false;  // false: no root qdisc holds a packet, so advance only moves the clock
    std::vector<std::pair<uint32_t, Skb*>> backlog_;  // netif_rx: packets waiting to be received
    std::vector<uint8_t> frame_buffer_;               // a frame with its VLAN tag put back
};

struct Pipeline::State {
    State() : datapath(*this) {}
    std::vector<std::unique_ptr<Port>> ports;
    std::map<uint32_t, std::shared_ptr<Action>> actions[3];  // by ActionKind, then index
    Datapath datapath;
    runtime::LoadOptions load_options;  // how filters' and actions' objects are loaded

    Port* port_by_name(std::string_view name) const;
    Port* port_by_ifindex(uint32_t ifindex) const;
    Port& port_or_throw(std::string_view name) const;  // tc's "Cannot find device"
};

inline Port* Datapath::arrival_port(uint32_t ifindex) {
    if (last_arrival_ == nullptr || last_arrival_->ifindex != ifindex) last_arrival_ = state_.port_by_ifindex(ifindex);
    return last_arrival_;
}

}  // namespace tcbpf::tc
