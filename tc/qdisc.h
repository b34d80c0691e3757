// Egress qdiscs: the interface every kind implements (one file per kind: qdisc_fifo.cpp,
// qdisc_prio.cpp, qdisc_htb.cpp) and what they need from the pipeline while they run.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tc/filters.h"
#include "tc/skb_pool.h"

namespace tcbpf::tc {

// What a qdisc reaches while packets pass: the pool (dropped packets go back to it), the action
// environment its filters run with, and the trace sink.
struct QdiscEnv {
    SkbPool* pool = nullptr;
    ActionEnv* actions = nullptr;
    const TraceFn* trace = nullptr;
    uint64_t now_ns = 0;
};

// Passed: only from pass_through — the packet went through the empty qdisc and is the caller's to send.
enum class EnqueueResult : uint8_t { Queued, Dropped, Consumed, Passed };

// A class as `tc class show` lists it.
struct ClassView {
    uint32_t classid = 0;
    uint32_t parent = 0;  // kHandleRoot for a top-level class
    uint32_t leaf_handle = 0;  // a user-added child qdisc's handle, 0 for the default one
    std::string options;       // text after parent/leaf
    std::string options_json;  // the same as tc -j's members ("\"rate\":125000,...")
    Stats stats;
    bool htb = false;
    HtbXstats xstats;
};

class Qdisc {
   public:
    virtual ~Qdisc() = default;
    // Takes ownership of skb; a drop returns it to the pool and counts it.
    virtual EnqueueResult enqueue(Skb* skb, QdiscEnv& env) = 0;
    // The next packet allowed out at env.now_ns, or nullptr.
    virtual Skb* dequeue(QdiscEnv& env) = 0;
    // enqueue followed at once by dequeue, for a packet reaching a qdisc with nothing queued (only
    // called then: the kernel's TCQ_F_CAN_BYPASS shortcut, generalised). A work-conserving qdisc
    // classifies and counts the packet exactly as the pair would, without touching its queues, and
    // returns Passed. The default runs the pair (shaping qdiscs: the packet may have to wait, Queued).
    virtual EnqueueResult pass_through(Skb* skb, QdiscEnv& env);
    // Earliest time something queued may be sent (shaping); UINT64_MAX when nothing waits on time.
    virtual uint64_t next_wakeup(uint64_t /*now_ns*/) const { return UINT64_MAX; }
    // The options part of `tc qdisc show` ("bands 3 priomap ...", "limit 1000p").
    virtual std::string options_text() const = 0;
    // The same options as tc -j prints them: a JSON object's members ("\"bands\":3,...").
    virtual std::string options_json() const = 0;
    // The filter list attached at `parent id` (the qdisc itself X: or one of its classes), or nullptr.
    virtual FilterBlock* filters_at(uint32_t /*id*/) { return nullptr; }
    virtual void classes(std::vector<ClassView>& out) const { (void)out; }
    // The child qdisc slot of class `classid` (prio band, htb leaf), or nullptr if it cannot hold one.
    virtual std::unique_ptr<Qdisc>* child_slot(uint32_t /*classid*/) { return nullptr; }
    // Child qdiscs (default and user-added), for listing and statistics.
    virtual void children(std::vector<const Qdisc*>& out) const { (void)out; }
    // htb class commands; other kinds refuse them.
    virtual void add_class(const ClassSpec& spec);
    virtual void delete_class(uint32_t classid);
    virtual HtbXstats xstats(uint32_t /*classid*/) const { return {}; }

    std::string kind;
    uint32_t handle = 0;
    uint32_t parent = kHandleRoot;
    bool invisible = false;  // a default child qdisc: not listed by `tc qdisc show`
    Stats stats;
    // pfifo/bfifo's limit, in packets or bytes (fifo_counts_bytes); `fifo` is false for other kinds.
    // Public so that a parent passes a packet through an empty fifo leaf without a virtual call
    // (pass_through_child): prio's bands are fifos nearly always, and this is every packet's path.
    bool fifo = false;
    bool fifo_counts_bytes = false;
    uint32_t fifo_limit = 0;
};

inline constexpr uint32_t kTxQueueLen = 1000;  // what ports report as txqueuelen

std::unique_ptr<Qdisc> make_fifo(const QdiscSpec& spec);
std::unique_ptr<Qdisc> make_default_fifo();  // pfifo limit txqueuelen, handle 0, invisible
std::unique_ptr<Qdisc> make_prio(const QdiscSpec& spec);
std::unique_ptr<Qdisc> make_htb(const QdiscSpec& spec);

// A packet joins or leaves a qdisc's backlog; leaving counts it as sent (tc counts Sent at dequeue).
inline void count_enqueued(Stats& stats, uint32_t len) {
    stats.backlog_bytes += len;
    stats.backlog_packets += 1;
}
// A packet that went through without waiting: counted as sent, the backlog untouched.
inline void count_passed(Stats& stats, uint32_t len) {
    stats.bytes += len;
    stats.packets += 1;
}
inline void count_dequeued(Stats& stats, uint32_t len) {
    stats.backlog_bytes -= len;
    stats.backlog_packets -= 1;
    stats.bytes += len;
    stats.packets += 1;
}

// A child's pass_through; a fifo with room takes the packet through inline, as Fifo::pass_through
// does, anything else (a full fifo drops it) through the virtual call.
inline EnqueueResult pass_through_child(Qdisc& child, Skb* skb, QdiscEnv& env) {
    const uint32_t len = skb->packet.size();
    const bool room = child.fifo_counts_bytes ? child.stats.backlog_bytes + len <= child.fifo_limit
                                              : child.stats.backlog_packets < child.fifo_limit;
    if (!child.fifo || !room) return child.pass_through(skb, env);
    skb->enqueued_ns = env.now_ns;
    child.stats.bytes += len;  // count_passed
    child.stats.packets += 1;
    return EnqueueResult::Passed;
}

// Frees a packet a qdisc drops: back to the pool, counted in `stats`.
inline void drop_packet(Skb* skb, Stats& stats, QdiscEnv& env) {
    stats.drops += 1;
    env.pool->put(skb);
}

}  // namespace tcbpf::tc
