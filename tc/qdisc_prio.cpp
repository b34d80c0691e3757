// prio: strict-priority bands chosen from skb->priority or the qdisc's filters (sch_prio.c;
// classful-qdiscs.md §2).
#include <fmt/format.h>

#include "tc/qdisc.h"

namespace tcbpf::tc {

namespace {

class Prio final : public Qdisc {
   public:
    explicit Prio(const PrioOptions& options) : options_(options) {
        for (uint32_t i = 0; i < options_.bands; ++i) bands_.push_back(make_default_fifo());
    }

    EnqueueResult enqueue(Skb* skb, QdiscEnv& env) override {
        uint32_t band = 0;
        if (!select_band(*skb, env, band)) return EnqueueResult::Consumed;  // dropped or consumed inside
        Qdisc& child = *bands_[band];
        const uint32_t len = skb->packet.size();
        trace_band(env, band);
        const EnqueueResult r = child.enqueue(skb, env);
        if (r == EnqueueResult::Dropped) {
            stats.drops += 1;
            return EnqueueResult::Dropped;
        }
        if (r == EnqueueResult::Consumed) return r;  // a classful child's filter took it
        count_enqueued(stats, len);
        return EnqueueResult::Queued;
    }

    // Nothing queued in any band: the band chosen is the one dequeue would serve first.
    EnqueueResult pass_through(Skb* skb, QdiscEnv& env) override {
        uint32_t band = 0;
        if (!select_band(*skb, env, band)) return EnqueueResult::Consumed;
        const uint32_t len = skb->packet.size();
        trace_band(env, band);
        const EnqueueResult r = pass_through_child(*bands_[band], skb, env);
        switch (r) {
            case EnqueueResult::Passed: count_passed(stats, len); break;
            case EnqueueResult::Queued: count_enqueued(stats, len); break;
            case EnqueueResult::Dropped: stats.drops += 1; break;
            case EnqueueResult::Consumed: break;
        }
        return r;
    }

    Skb* dequeue(QdiscEnv& env) override {
        for (auto& band : bands_) {
            if (band->stats.backlog_packets == 0) continue;
            Skb* skb = band->dequeue(env);
            if (skb == nullptr) continue;
            const uint32_t len = skb->packet.size();
            count_dequeued(stats, len);
            return skb;
        }
        return nullptr;
    }

    uint64_t next_wakeup(uint64_t now_ns) const override {
        uint64_t t = UINT64_MAX;
        for (const auto& band : bands_) t = std::min(t, band->next_wakeup(now_ns));
        return t;
    }

    std::string options_json() const override {
        std::string map;
        for (uint8_t p : options_.priomap) map += fmt::format("{}{}", map.empty() ? "" : ",", p);
        return fmt::format("\"bands\":{},\"priomap\":[{}],\"multiqueue\":false", options_.bands, map);
    }

    std::string options_text() const override {
        std::string text = fmt::format("bands {} priomap", options_.bands);
        for (uint8_t p : options_.priomap) text += fmt::format(" {}", p);
        return text;
    }

    FilterBlock* filters_at(uint32_t id) override { return id == handle ? &filters_ : nullptr; }

    void classes(std::vector<ClassView>& out) const override {
        for (uint32_t i = 0; i < bands_.size(); ++i) {
            ClassView c;
            c.classid = make_handle(handle, i + 1);
            c.parent = handle;
            c.leaf_handle = bands_[i]->handle;
            c.stats = bands_[i]->stats;
            out.push_back(c);
        }
    }

    std::unique_ptr<Qdisc>* child_slot(uint32_t classid) override {
        if (handle_major(classid) != handle) return nullptr;
        const uint32_t minor = handle_minor(classid);
        if (minor == 0 || minor > bands_.size()) return nullptr;
        return &bands_[minor - 1];
    }

    void children(std::vector<const Qdisc*>& out) const override {
        for (const auto& band : bands_) {
            out.push_back(band.get());
            band->children(out);
        }
    }

   private:
    void trace_band(QdiscEnv& env, uint32_t band) const {
        if (env.trace) emit_band(*env.trace, band);
    }
    // Out of line and cold: its formatting would otherwise widen every packet's stack frame.
    [[gnu::cold, gnu::noinline]] void emit_band(const TraceFn& trace, uint32_t band) const {
        trace(fmt::format("prio {} band {} (class {})", format_classid(handle), band, format_classid(make_handle(handle, band + 1))));
    }

    // prio_classify: false when the packet was dropped (SHOT) or consumed by a filter.
    bool select_band(Skb& skb, QdiscEnv& env, uint32_t& band) {
        const uint32_t priority = skb.meta.priority;
        if (handle_major(priority) == handle) {
            band = handle_minor(priority) - 1;
        } else {
            const ClassifyResult r = filters_.empty() ? ClassifyResult{} : classify(filters_, skb, *env.actions, env.trace);
            if (r.verdict == kActShot) {
                drop_packet(&skb, stats, env);
                return false;
            }
            if (r.verdict == kActStolen || r.verdict == kActQueued || r.verdict == kActTrap) {
                env.pool->put(&skb);
                return false;
            }
            if (r.verdict < 0) {
                const uint32_t p = handle_major(priority) != 0 ? 0 : priority;
                band = options_.priomap[p & 15];
            } else {
                band = handle_minor(r.classid) - 1;
            }
        }
        if (band >= bands_.size()) band = options_.priomap[0];
        return true;
    }

    PrioOptions options_;
    std::vector<std::unique_ptr<Qdisc>> bands_;
    FilterBlock filters_;
};

}  // namespace

std::unique_ptr<Qdisc> make_prio(const QdiscSpec& spec) {
    auto q = std::make_unique<Prio>(spec.prio);
    q->kind = "prio";
    return q;
}

}  // namespace tcbpf::tc
