// pfifo and bfifo: tail-drop queues limited in packets or bytes (sch_fifo.c).
#include <fmt/format.h>

#include "tc/parse_util.h"
#include "tc/qdisc.h"

namespace tcbpf::tc {

void Qdisc::add_class(const ClassSpec&) { throw Error("Error: Qdisc does not support class operations.\nRTNETLINK answers: Operation not supported"); }
void Qdisc::delete_class(uint32_t) { throw Error("Error: Qdisc does not support class operations.\nRTNETLINK answers: Operation not supported"); }

EnqueueResult Qdisc::pass_through(Skb* skb, QdiscEnv& env) {
    const EnqueueResult r = enqueue(skb, env);
    if (r != EnqueueResult::Queued) return r;
    QdiscEnv quiet = env;  // run_queue dequeues without trace lines; so does this
    quiet.trace = nullptr;
    Skb* out = dequeue(quiet);
    if (out == nullptr) return EnqueueResult::Queued;  // shaped: it waits
    // Only this packet was queued, so it is the one that came out.
    return EnqueueResult::Passed;
}

namespace {

class Fifo final : public Qdisc {
   public:
    Fifo(bool bytes, uint32_t limit) {
        fifo = true;
        fifo_counts_bytes = bytes;
        fifo_limit = limit;
    }

    EnqueueResult enqueue(Skb* skb, QdiscEnv& env) override {
        const uint32_t len = skb->packet.size();
        if (!fits(len)) {
            if (env.trace) (*env.trace)(fmt::format("{} {} queue full -> drop", kind, format_classid(handle)));
            drop_packet(skb, stats, env);
            return EnqueueResult::Dropped;
        }
        skb->enqueued_ns = env.now_ns;
        queue_.push(skb);
        count_enqueued(stats, len);
        return EnqueueResult::Queued;
    }

    EnqueueResult pass_through(Skb* skb, QdiscEnv& env) override {
        const uint32_t len = skb->packet.size();
        if (!fits(len)) return enqueue(skb, env);  // drops it
        skb->enqueued_ns = env.now_ns;
        count_passed(stats, len);
        return EnqueueResult::Passed;
    }

    Skb* dequeue(QdiscEnv&) override {
        if (queue_.empty()) return nullptr;
        Skb* skb = queue_.pop();
        const uint32_t len = skb->packet.size();
        count_dequeued(stats, len);
        return skb;
    }

    std::string options_json() const override { return fmt::format("\"limit\":{}", fifo_limit); }

    std::string options_text() const override {
        return fifo_counts_bytes ? fmt::format("limit {}", detail::format_size(fifo_limit))
                                 : fmt::format("limit {}p", fifo_limit);
    }

   private:
    bool fits(uint32_t len) const {
        return fifo_counts_bytes ? stats.backlog_bytes + len <= fifo_limit : queue_.size() < fifo_limit;
    }

    SkbQueue queue_;
};

}  // namespace

std::unique_ptr<Qdisc> make_fifo(const QdiscSpec& spec) {
    const bool bytes = spec.kind == "bfifo";
    const uint32_t limit = spec.fifo.limit.value_or(bytes ? kTxQueueLen * 1514 : kTxQueueLen);
    auto q = std::make_unique<Fifo>(bytes, limit);
    q->kind = spec.kind;
    return q;
}

std::unique_ptr<Qdisc> make_default_fifo() {
    auto q = std::make_unique<Fifo>(false, kTxQueueLen);
    q->kind = "pfifo";
    q->invisible = true;
    return q;
}

}  // namespace tcbpf::tc
