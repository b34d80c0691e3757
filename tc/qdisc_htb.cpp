// htb: a class tree of token buckets (rate with burst, ceil with cburst) where leaves that are over
// their rate borrow from an ancestor still under its own (sch_htb.c; classful-qdiscs.md §3).
//
// The kernel keeps each class's mode current with a wait queue of mode-change events and serves
// leaves from per-level, per-prio rows and feeds. Time only ever improves a mode, so this model
// computes modes when it needs them — at dequeue and before charging — which gives the same modes,
// the same overlimit counts and the same send times as the event queue. A leaf is served at the
// lowest level where an ancestor-or-self can send and every class below it may borrow; levels go
// first, then prio, then deficit round robin among the leaves of that (level, prio) in classid order,
// with the round-robin pointer where the kernel keeps it (the level-0 row, or the lender's feed).
#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "tc/parse_util.h"
#include "tc/qdisc.h"

namespace tcbpf::tc {

namespace {

constexpr int kMaxDepth = 8;                   // TC_HTB_MAXDEPTH
constexpr int kNumPrio = 8;                    // TC_HTB_NUMPRIO
constexpr int64_t kMbuffer = 60'000'000'000;   // 60 s
constexpr int kMaxInnerHops = 8;               // "classify loop detected" beyond this

enum class Mode : uint8_t { CantSend = 0, MayBorrow = 1, CanSend = 2 };

// tc_calc_xmittime in 64 ns ticks, then the kernel's ns (classful-qdiscs.md §3.2).
int64_t burst_to_ns(uint64_t rate, uint32_t burst) {
    const double ticks = std::ceil(1e6 * static_cast<double>(burst) / static_cast<double>(rate) * 15.625);
    return static_cast<int64_t>(ticks) * 64;
}
uint64_t ns_to_burst(uint64_t rate, int64_t ns) {
    return static_cast<uint64_t>(std::llround(static_cast<double>(rate) * (static_cast<double>(ns) / 64 / 15.625) / 1e6));
}

struct HtbClass {
    uint32_t classid = 0;
    HtbClass* parent = nullptr;
    std::vector<HtbClass*> children;
    int level = 0;
    HtbClassOptions opt;
    uint64_t rate = 0, ceil = 0;
    int64_t buffer = 0, cbuffer = 0;
    uint32_t quantum = 0;
    uint32_t prio = 0;
    int64_t tokens = 0, ctokens = 0;
    uint64_t t_c = 0;
    Mode cmode = Mode::CanSend;
    std::unique_ptr<Qdisc> leaf;  // only while level == 0
    Stats stats;
    HtbXstats xs;
    int64_t deficit[kMaxDepth] = {};
    FilterBlock filters;

    int64_t cost(uint64_t r, uint32_t len) const {
        uint64_t l = static_cast<uint64_t>(static_cast<int64_t>(len) + opt.overhead);
        if (l < opt.mpu) l = opt.mpu;
        return static_cast<int64_t>(l * 1'000'000'000ull / r);
    }
    int64_t elapsed(uint64_t now) const { return std::min<int64_t>(static_cast<int64_t>(now - t_c), kMbuffer); }
    Mode mode_at(uint64_t now) const {
        const int64_t diff = elapsed(now);
        if (ctokens + diff < 0) return Mode::CantSend;
        if (tokens + diff >= 0) return Mode::CanSend;
        return Mode::MayBorrow;
    }
};

class Htb final : public Qdisc {
   public:
    explicit Htb(const HtbOptions& options) : options_(options) {
        if (options_.r2q < 1) options_.r2q = 1;
        direct_limit_ = options_.direct_qlen.value_or(kTxQueueLen);
    }

    EnqueueResult enqueue(Skb* skb, QdiscEnv& env) override {
        HtbClass* cl = nullptr;
        const Target t = classify_packet(*skb, env, cl);
        if (t == Target::Gone) return EnqueueResult::Consumed;
        const uint32_t len = skb->packet.size();
        if (t == Target::Direct) {
            if (direct_.size() >= direct_limit_) {
                if (env.trace) (*env.trace)(fmt::format("htb {} direct queue full -> drop", format_classid(handle)));
                drop_packet(skb, stats, env);
                return EnqueueResult::Dropped;
            }
            if (env.trace) (*env.trace)(fmt::format("htb {} direct queue", format_classid(handle)));
            direct_.push(skb);
            direct_packets_ += 1;
        } else {
            if (env.trace) (*env.trace)(fmt::format("htb {} class {}", format_classid(handle), format_classid(cl->classid)));
            if (cl->leaf->enqueue(skb, env) == EnqueueResult::Dropped) {
                stats.drops += 1;
                cl->stats.drops += 1;
                return EnqueueResult::Dropped;
            }
        }
        count_enqueued(stats, len);
        return EnqueueResult::Queued;
    }

    Skb* dequeue(QdiscEnv& env) override {
        Skb* skb = nullptr;
        if (!direct_.empty()) {
            skb = direct_.pop();
        } else {
            HtbClass* cl = nullptr;
            int level = 0;
            if (!pick(env.now_ns, cl, level)) return nullptr;
            skb = cl->leaf->dequeue(env);
            if (skb == nullptr) return nullptr;
            const uint32_t len = skb->packet.size();
            cl->stats.bytes += len;
            cl->stats.packets += 1;
            cl->deficit[level] -= len;
            if (cl->deficit[level] < 0) {
                cl->deficit[level] += cl->quantum;
                pointer_for(cl, level) = cl->classid + 1;  // the next class of this row or feed
            } else {
                pointer_for(cl, level) = cl->classid;
            }
            charge(cl, level, len, env.now_ns);
        }
        const uint32_t len = skb->packet.size();
        count_dequeued(stats, len);
        return skb;
    }

    uint64_t next_wakeup(uint64_t now_ns) const override {
        if (!direct_.empty()) return now_ns;
        uint64_t t = UINT64_MAX;
        for (const auto& [id, cl] : classes_) {
            if (cl->level != 0 || cl->leaf->stats.backlog_packets == 0) continue;
            for (const HtbClass* c = cl.get(); c != nullptr; c = c->parent) {
                const Mode m = c->mode_at(now_ns);
                if (m == Mode::CanSend) {
                    t = std::min(t, now_ns);
                    break;
                }
                // The deficit refills diff = -tokens (or -ctokens) after the last checkpoint.
                const int64_t need = m == Mode::CantSend ? -c->ctokens : -c->tokens;
                t = std::min(t, std::max(c->t_c + static_cast<uint64_t>(need), now_ns + 1));
                if (m == Mode::CantSend) break;
            }
        }
        return t;
    }

    std::string options_json() const override {
        return fmt::format("\"r2q\":{},\"default\":\"{:#x}\",\"direct_packets_stat\":{},\"direct_qlen\":{}", options_.r2q,
                           options_.default_minor, direct_packets_, direct_limit_);
    }

    std::string options_text() const override {
        return fmt::format("r2q {} default {} direct_packets_stat {} direct_qlen {}", options_.r2q,
                           options_.default_minor == 0 ? std::string("0") : fmt::format("{:#x}", options_.default_minor),
                           direct_packets_, direct_limit_);
    }

    FilterBlock* filters_at(uint32_t id) override {
        if (id == handle) return &filters_;
        const auto it = classes_.find(id);
        return it == classes_.end() ? nullptr : &it->second->filters;
    }

    void classes(std::vector<ClassView>& out) const override {
        for (const auto& [id, cl] : classes_) {
            ClassView v;
            v.classid = id;
            v.parent = cl->parent ? cl->parent->classid : kHandleRoot;
            v.htb = true;
            v.stats = cl->stats;
            if (cl->leaf) {
                v.leaf_handle = cl->leaf->handle;
                v.stats.backlog_bytes = cl->leaf->stats.backlog_bytes;
                v.stats.backlog_packets = cl->leaf->stats.backlog_packets;
            }
            v.xstats = cl->xs;
            v.xstats.tokens = clamp_ticks(cl->tokens);
            v.xstats.ctokens = clamp_ticks(cl->ctokens);
            v.options = fmt::format("{}rate {} ceil {} burst {} cburst {}", cl->level == 0 ? fmt::format("prio {} ", cl->prio) : "",
                                    detail::format_rate(cl->rate), detail::format_rate(cl->ceil),
                                    detail::format_size(ns_to_burst(cl->rate, cl->buffer)),
                                    detail::format_size(ns_to_burst(cl->ceil, cl->cbuffer)));
            v.options_json = fmt::format("{}\"rate\":{},\"ceil\":{},\"burst\":{},\"cburst\":{}",
                                         cl->level == 0 ? fmt::format("\"prio\":{},", cl->prio) : "", cl->rate, cl->ceil,
                                         ns_to_burst(cl->rate, cl->buffer), ns_to_burst(cl->ceil, cl->cbuffer));
            out.push_back(v);
        }
    }

    std::unique_ptr<Qdisc>* child_slot(uint32_t classid) override {
        const auto it = classes_.find(classid);
        if (it == classes_.end() || it->second->level != 0) return nullptr;
        return &it->second->leaf;
    }

    void children(std::vector<const Qdisc*>& out) const override {
        for (const auto& [id, cl] : classes_)
            if (cl->leaf) {
                out.push_back(cl->leaf.get());
                cl->leaf->children(out);
            }
    }

    void add_class(const ClassSpec& spec) override {
        const HtbClassOptions& o = spec.htb;
        const uint64_t ceil = o.ceil != 0 ? o.ceil : o.rate;
        if (o.rate == 0 || ceil == 0) throw Error("Error: htb: rate and ceil must not be zero.\nRTNETLINK answers: Invalid argument");
        const auto existing = classes_.find(spec.classid);
        if (existing != classes_.end()) {
            if (spec.verb == Verb::Add) throw Error("RTNETLINK answers: File exists");
            configure(*existing->second, o, ceil);
            return;
        }
        if (spec.verb == Verb::Change) throw Error("RTNETLINK answers: No such file or directory");
        if (spec.classid == 0 || handle_major(spec.classid) != handle || handle_minor(spec.classid) == 0)
            throw Error("RTNETLINK answers: Invalid argument");
        HtbClass* parent = nullptr;
        if (spec.parent != kHandleRoot && spec.parent != 0) {
            const auto p = classes_.find(spec.parent);
            if (p == classes_.end()) throw Error("Error: htb: parent class not found.\nRTNETLINK answers: Invalid argument");
            parent = p->second.get();
            if (parent->parent != nullptr && parent->parent->level < 2)
                throw Error("Error: htb: tree is too deep.\nRTNETLINK answers: Invalid argument");
        }
        auto cl = std::make_unique<HtbClass>();
        cl->classid = spec.classid;
        cl->parent = parent;
        configure(*cl, o, ceil);
        cl->tokens = cl->buffer;
        cl->ctokens = cl->cbuffer;
        cl->leaf = make_default_fifo();
        if (parent != nullptr) {
            if (parent->level == 0) {  // the parent leaf becomes an inner class; its queue is purged
                stats.backlog_bytes -= parent->leaf->stats.backlog_bytes;
                stats.backlog_packets -= parent->leaf->stats.backlog_packets;
                parent->leaf.reset();
                parent->level = (parent->parent ? parent->parent->level : kMaxDepth) - 1;
            }
            parent->children.push_back(cl.get());
        }
        classes_[spec.classid] = std::move(cl);
    }

    void delete_class(uint32_t classid) override {
        const auto it = classes_.find(classid);
        if (it == classes_.end()) throw Error("RTNETLINK answers: No such file or directory");
        HtbClass* cl = it->second.get();
        if (!cl->children.empty() || !cl->filters.empty()) throw Error("Error: HTB class in use\nRTNETLINK answers: Device or resource busy");
        if (cl->leaf) {
            stats.backlog_bytes -= cl->leaf->stats.backlog_bytes;
            stats.backlog_packets -= cl->leaf->stats.backlog_packets;
        }
        if (HtbClass* parent = cl->parent) {
            parent->children.erase(std::find(parent->children.begin(), parent->children.end(), cl));
            if (parent->children.empty()) {
                parent->level = 0;
                parent->leaf = make_default_fifo();
                parent->tokens = parent->buffer;
                parent->ctokens = parent->cbuffer;
            }
        }
        classes_.erase(it);
    }

    HtbXstats xstats(uint32_t classid) const override {
        const auto it = classes_.find(classid);
        return it == classes_.end() ? HtbXstats{} : it->second->xs;
    }

   private:
    enum class Target : uint8_t { Direct, Leaf, Gone };

    static int32_t clamp_ticks(int64_t ns) {
        return static_cast<int32_t>(std::clamp<int64_t>(ns >> 6, INT32_MIN, INT32_MAX));
    }

    void configure(HtbClass& cl, const HtbClassOptions& o, uint64_t ceil) {
        cl.opt = o;
        cl.rate = o.rate;
        cl.ceil = ceil;
        // With the modern kernel's hz of 1e9, tc's default burst is rate/hz + mtu.
        const uint32_t burst = o.burst != 0 ? o.burst : static_cast<uint32_t>(o.rate / 1'000'000'000ull) + o.mtu;
        const uint32_t cburst = o.cburst != 0 ? o.cburst : static_cast<uint32_t>(ceil / 1'000'000'000ull) + o.mtu;
        cl.buffer = burst_to_ns(cl.rate, burst);
        cl.cbuffer = burst_to_ns(cl.ceil, cburst);
        cl.prio = std::min<uint32_t>(o.prio, kNumPrio - 1);
        if (o.quantum != 0) {
            cl.quantum = o.quantum;
        } else {
            cl.quantum = static_cast<uint32_t>(std::clamp<uint64_t>(cl.rate / options_.r2q, 1000, 200000));
        }
    }

    HtbClass* find_class(uint32_t id) const {
        const auto it = classes_.find(id);
        return it == classes_.end() ? nullptr : it->second.get();
    }

    // htb_classify (§3.3).
    Target classify_packet(Skb& skb, QdiscEnv& env, HtbClass*& out) {
        const uint32_t priority = skb.meta.priority;
        if (priority == handle) return Target::Direct;
        const FilterBlock* block = &filters_;
        if (HtbClass* cl = find_class(priority)) {
            if (cl->level == 0) {
                out = cl;
                return Target::Leaf;
            }
            block = &cl->filters;
        }
        for (int hops = 0; !block->empty(); ++hops) {
            if (hops > kMaxInnerHops) {
                drop_packet(&skb, stats, env);
                return Target::Gone;
            }
            const ClassifyResult r = classify(*block, skb, *env.actions, env.trace);
            if (r.verdict < 0) break;
            if (r.verdict == kActShot) {
                drop_packet(&skb, stats, env);
                return Target::Gone;
            }
            if (r.verdict == kActStolen || r.verdict == kActQueued || r.verdict == kActTrap) {
                env.pool->put(&skb);
                return Target::Gone;
            }
            if (r.classid == handle) return Target::Direct;
            HtbClass* cl = find_class(r.classid);
            if (cl == nullptr) break;
            if (cl->level == 0) {
                out = cl;
                return Target::Leaf;
            }
            block = &cl->filters;
        }
        HtbClass* fallback = find_class(make_handle(handle, options_.default_minor));
        if (options_.default_minor == 0 || fallback == nullptr || fallback->level != 0) return Target::Direct;
        out = fallback;
        return Target::Leaf;
    }

    // The level a backlogged leaf would be served at now, or -1 if it cannot send.
    static int serve_level(const HtbClass& leaf, uint64_t now) {
        for (const HtbClass* c = &leaf; c != nullptr; c = c->parent) {
            const Mode m = c->mode_at(now);
            if (m == Mode::CanSend) return c->level;
            if (m == Mode::CantSend || c->parent == nullptr) return -1;
        }
        return -1;
    }

    uint32_t& pointer_for(const HtbClass* leaf, int level) {
        const uint32_t owner = level == 0 ? 0 : leaf->parent->classid;
        return pointers_[{owner, static_cast<uint32_t>(level) << 8 | leaf->prio}];
    }

    bool pick(uint64_t now, HtbClass*& chosen, int& chosen_level) {
        int best_level = kMaxDepth, best_prio = kNumPrio;
        for (const auto& [id, cl] : classes_) {
            if (cl->level != 0 || cl->leaf->stats.backlog_packets == 0) continue;
            const int level = serve_level(*cl, now);
            if (level < 0) continue;
            if (level < best_level || (level == best_level && static_cast<int>(cl->prio) < best_prio)) {
                best_level = level;
                best_prio = static_cast<int>(cl->prio);
            }
        }
        if (best_level == kMaxDepth) return false;
        // Round robin among the candidates sharing the row or feed, from the saved pointer on.
        HtbClass* first = nullptr;
        HtbClass* at_or_after = nullptr;
        for (const auto& [id, cl] : classes_) {
            if (cl->level != 0 || cl->leaf->stats.backlog_packets == 0 || static_cast<int>(cl->prio) != best_prio) continue;
            if (serve_level(*cl, now) != best_level) continue;
            if (first == nullptr) first = cl.get();
            if (at_or_after == nullptr && id >= pointer_for(cl.get(), best_level)) at_or_after = cl.get();
        }
        chosen = at_or_after != nullptr ? at_or_after : first;
        chosen_level = best_level;
        return chosen != nullptr;
    }

    // htb_charge_class (§3.5).
    void charge(HtbClass* leaf, int level, uint32_t len, uint64_t now) {
        for (HtbClass* cl = leaf; cl != nullptr; cl = cl->parent) {
            cl->cmode = cl->mode_at(now);  // what the event queue would have set by now
            const int64_t diff = cl->elapsed(now);
            if (cl->level >= level) {
                if (cl->level == level) cl->xs.lends += 1;
                int64_t toks = std::min(cl->tokens + diff, cl->buffer) - cl->cost(cl->rate, len);
                if (toks <= -kMbuffer) toks = 1 - kMbuffer;
                cl->tokens = toks;
            } else {
                cl->xs.borrows += 1;
                cl->tokens += diff;
            }
            int64_t ctoks = std::min(cl->ctokens + diff, cl->cbuffer) - cl->cost(cl->ceil, len);
            if (ctoks <= -kMbuffer) ctoks = 1 - kMbuffer;
            cl->ctokens = ctoks;
            cl->t_c = now;
            const Mode now_mode = cl->mode_at(now);
            if (now_mode != cl->cmode && now_mode == Mode::CantSend) {
                cl->stats.overlimits += 1;
                stats.overlimits += 1;
            }
            cl->cmode = now_mode;
            if (cl->level != 0) {
                cl->stats.bytes += len;
                cl->stats.packets += 1;
            }
        }
    }

    HtbOptions options_;
    uint32_t direct_limit_ = kTxQueueLen;
    uint64_t direct_packets_ = 0;
    SkbQueue direct_;
    FilterBlock filters_;
    std::map<uint32_t, std::unique_ptr<HtbClass>> classes_;
    std::map<std::pair<uint32_t, uint32_t>, uint32_t> pointers_;
};

}  // namespace

std::unique_ptr<Qdisc> make_htb(const QdiscSpec& spec) {
    auto q = std::make_unique<Htb>(spec.htb);
    q->kind = "htb";
    return q;
}

}  // namespace tcbpf::tc
