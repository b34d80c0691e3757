// Moving packets: a port's receive (sch_handle_ingress), transmit (sch_handle_egress, then the root
// qdisc), redirects, mirred copies and delivery to the wire or the host.
//
// Redirects and mirred copies into an ingress go through a backlog processed after the current
// packet, as netif_rx queues them in the kernel; egress redirects transmit at once (dev_queue_xmit),
// with the kernel's recursion limit. Nothing here allocates once the pool and queues have grown.
#include <fmt/format.h>

#include <utility>

#include "tc/pipeline_state.h"
#include "tcbpf/helpers.h"

namespace tcbpf::tc {

namespace {

constexpr int kXmitRecursionLimit = 8;  // XMIT_RECURSION_LIMIT
constexpr int kMirredNestLimit = 4;     // MIRRED_NEST_LIMIT
constexpr uint32_t kEthHlen = 14;

bool consumed(int32_t verdict) { return verdict == kActStolen || verdict == kActQueued || verdict == kActTrap; }

}  // namespace

// sch_handle_ingress / sch_handle_egress: the mini qdisc counts the packet, its filters decide. True
// when the packet goes on; otherwise it was dropped, consumed or redirected here.
inline bool Datapath::hook(Port& port, Skb& skb, bool at_ingress) {
    MiniQdisc& mini = *port.mini;
    const char* where = at_ingress ? "ingress" : "egress";
    mini.stats.bytes += skb.counted_len(at_ingress);
    mini.stats.packets += 1;
    ActionEnv env{this, &scratch, at_ingress, now_ns_};
    const FilterBlock& block = at_ingress ? mini.ingress : mini.egress;
    ClassifyResult r;
    if (trace) {
        const TraceFn prefixed = [&](const std::string& line) { emit("frame {} {} {}: {}", skb.trace_id, port.spec.name, where, line); };
        r = classify(block, skb, env, &prefixed);
    } else {
        r = classify(block, skb, env, nullptr);
    }
    if (r.verdict == kActOk || r.verdict == kActReclassify) skb.meta.tc_index = static_cast<uint16_t>(handle_minor(r.classid));
    if (r.verdict == kActShot) {
        mini.stats.drops += 1;
        emit("frame {} {} {}: dropped", skb.trace_id, port.spec.name, where);
        pool.put(&skb);
        return false;
    }
    if (consumed(r.verdict)) {
        emit("frame {} {} {}: consumed ({})", skb.trace_id, port.spec.name, where, format_control(r.verdict));
        pool.put(&skb);
        return false;
    }
    if (r.verdict == kActRedirect) {
        redirect(&skb, where);
        return false;
    }
    return true;
}

inline void Datapath::deliver(Port& port, Exit exit, Skb* skb) {
    emit("frame {} {}: {}", skb->trace_id, port.spec.name, exit == Exit::Wire ? "sent" : "delivered to host");
    if (sink) {
        Delivery d;
        d.ifindex = port.ifindex;
        d.exit = exit;
        d.meta = &skb->meta;
        d.time_ns = now_ns_;
        const skb::Packet& packet = skb->packet;
        d.frame = packet.bytes();
        if (skb->meta.vlan_present && packet.size() >= 12) {
            // A capture shows the offloaded tag back in the frame.
            const std::span<const uint8_t> b = packet.bytes();
            frame_buffer_.assign(b.begin(), b.begin() + 12);
            frame_buffer_.push_back(static_cast<uint8_t>(skb->meta.vlan_proto >> 8));
            frame_buffer_.push_back(static_cast<uint8_t>(skb->meta.vlan_proto));
            frame_buffer_.push_back(static_cast<uint8_t>(skb->meta.vlan_tci >> 8));
            frame_buffer_.push_back(static_cast<uint8_t>(skb->meta.vlan_tci));
            frame_buffer_.insert(frame_buffer_.end(), b.begin() + 12, b.end());
            d.frame = frame_buffer_;
        }
        sink(d);
    }
    pool.put(skb);
}

inline void Datapath::ingress(Port& port, Skb* skb) {
    skb::SkbMeta& m = skb->meta;
    const std::span<const uint8_t> bytes = std::as_const(skb->packet).bytes();
    m.protocol = skb::eth_protocol(bytes);
    m.pkt_type = skb::eth_pkt_type(bytes, port.device);
    m.ifindex = port.ifindex;
    m.ingress_ifindex = port.ifindex;
    m.wire_len = skb->packet.size();
    m.tc_classid = 0;
    m.redirect_ifindex = 0;
    skb->packet.set_mac_header(0);
    skb->packet.set_network_header(kEthHlen);
    if (port.mini && !hook(port, *skb, true)) return;
    if (Port* peer = port.peer_port) {
        // Crossing to the peer: the qdisc control block starts afresh; mark, priority and tc_index stay.
        std::fill(std::begin(m.cb), std::end(m.cb), 0u);
        transmit(*peer, skb);
    } else {
        deliver(port, Exit::Host, skb);
    }
}

void Datapath::receive(Port& port, std::span<const uint8_t> frame, uint64_t now_ns, const skb::SkbMeta& arrival) {
    if (frame.size() < kEthHlen) return;  // eth_type_trans needs a whole Ethernet header
    now_ns_ = std::max(now_ns_, now_ns);
    Skb* skb = pool.get();
    skb->share(frame);  // copied in only if a program may write it or a queue keeps it (Packet::borrow)
    skb->meta = arrival;
    if (frames_ == 0)  // configuration happened "just before" the first frame in virtual time
        for (auto& table : state_.actions)
            for (auto& [index, action] : table)
                if (action->installed_ns == 0) action->installed_ns = now_ns_;
    skb->trace_id = ++frames_;
    const uint16_t type = static_cast<uint16_t>(frame[12] << 8 | frame[13]);
    // skb_vlan_untag in __netif_receive_skb_core: the outer tag becomes metadata before tc sees it.
    if (port.spec.vlan_offload && (type == 0x8100 || type == 0x88A8) && frame.size() >= kEthHlen + 4) {
        skb->meta.vlan_present = true;
        skb->meta.vlan_proto = type;
        skb->meta.vlan_tci = static_cast<uint16_t>(frame[14] << 8 | frame[15]);
        skb->packet.remove_gap(12, 4);
    }
    ingress(port, skb);
    if (!backlog_.empty()) process_backlog();
}

void Datapath::process_backlog() {
    for (size_t i = 0; i < backlog_.size(); ++i) {
        Port* port = state_.port_by_ifindex(backlog_[i].first);
        if (port == nullptr) {
            pool.put(backlog_[i].second);
            continue;
        }
        ingress(*port, backlog_[i].second);
    }
    backlog_.clear();
}

inline void Datapath::to_root_qdisc(Port& port, Skb* skb, QdiscEnv& qenv) {
    if (port.root->stats.backlog_packets == 0) {
        // Nothing waits ahead of it: enqueue and the dequeue run_queue would do, in one step.
        const EnqueueResult r = port.root->pass_through(skb, qenv);
        if (r == EnqueueResult::Passed) deliver(port, Exit::Wire, skb);
        else if (r == EnqueueResult::Queued) maybe_queued_ = true;
    } else {
        maybe_queued_ = true;
        port.root->enqueue(skb, qenv);
        run_queue(port);
    }
}

void Datapath::transmit(Port& port, Skb* skb) {
    if (xmit_depth_ >= kXmitRecursionLimit) {
        emit("frame {} {} egress: transmit recursion limit -> drop", skb->trace_id, port.spec.name);
        pool.put(skb);
        return;
    }
    ++xmit_depth_;
    skb::SkbMeta& m = skb->meta;
    m.ifindex = port.ifindex;
    m.tc_classid = 0;
    m.redirect_ifindex = 0;
    m.wire_len = skb->packet.size();
    const bool keep = !(port.mini && port.mini->clsact) || hook(port, *skb, false);
    if (keep) {
        if (!port.root) {
            deliver(port, Exit::Wire, skb);
        } else {
            ActionEnv env{this, &scratch, false, now_ns_};
            QdiscEnv qenv{&pool, &env, nullptr, now_ns_};
            if (trace) {
                const TraceFn prefixed = [&](const std::string& line) { emit("frame {} {} qdisc: {}", skb->trace_id, port.spec.name, line); };
                qenv.trace = &prefixed;
                to_root_qdisc(port, skb, qenv);
            } else {
                to_root_qdisc(port, skb, qenv);
            }
        }
    }
    --xmit_depth_;
}

void Datapath::run_queue(Port& port) {
    if (!port.root || port.root->stats.backlog_packets == 0) return;
    ActionEnv env{this, &scratch, false, now_ns_};
    QdiscEnv qenv{&pool, &env, nullptr, now_ns_};
    while (port.root->stats.backlog_packets != 0) {
        Skb* skb = port.root->dequeue(qenv);
        if (skb == nullptr) break;  // shaped: nothing may leave yet
        deliver(port, Exit::Wire, skb);
    }
}

void Datapath::redirect(Skb* skb, const char* from) {
    const uint32_t target = skb->meta.redirect_ifindex;
    const uint32_t flags = skb->meta.redirect_flags;
    skb->meta.redirect_ifindex = 0;
    skb->meta.redirect_flags = 0;
    Port* port = state_.port_by_ifindex(target);
    if (port == nullptr) {
        emit("frame {} {}: redirect to ifindex {}: no such port -> dropped", skb->trace_id, from, target);
        pool.put(skb);
        return;
    }
    const bool to_ingress = (flags & helpers::kFIngress) != 0 || (flags & helpers::kRedirectPeer) != 0;
    emit("frame {} {}: redirect to {} {}", skb->trace_id, from, port->spec.name, to_ingress ? "ingress" : "egress");
    if (to_ingress)
        backlog_.emplace_back(target, skb);
    else
        transmit(*port, skb);
}

bool Datapath::mirred(uint32_t ifindex, bool to_ingress, const Skb& skb) {
    Port* port = state_.port_by_ifindex(ifindex);
    if (port == nullptr || mirred_depth_ >= kMirredNestLimit) return false;
    Skb* copy = pool.clone(skb);
    if (to_ingress) {
        backlog_.emplace_back(ifindex, copy);
        return true;
    }
    ++mirred_depth_;
    transmit(*port, copy);
    --mirred_depth_;
    return true;
}

void Datapath::advance_queues(uint64_t now_ns) {
    while (true) {
        const uint64_t wake = next_wakeup();
        if (wake > now_ns) break;
        now_ns_ = std::max(now_ns_, wake);
        for (auto& port : state_.ports) run_queue(*port);
        if (next_wakeup() <= now_ns_) break;  // nothing moved: avoid spinning on a stuck qdisc
    }
    now_ns_ = std::max(now_ns_, now_ns);
    maybe_queued_ = false;
    for (auto& port : state_.ports) {
        run_queue(*port);
        maybe_queued_ = maybe_queued_ || (port->root && port->root->stats.backlog_packets != 0);
    }
}

uint64_t Datapath::next_wakeup() const {
    uint64_t t = UINT64_MAX;
    for (const auto& port : state_.ports)
        if (port->root && port->root->stats.backlog_packets != 0) t = std::min(t, port->root->next_wakeup(now_ns_));
    return t;
}

}  // namespace tcbpf::tc
