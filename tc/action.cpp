// tcf_action_exec and what every action kind shares (counters, the index line).
#include "tc/action.h"

#include <fmt/format.h>

namespace tcbpf::tc {

namespace {
constexpr int kMaxRepeats = 32;  // REPEAT: then OK
constexpr int kMaxJumps = 32;    // JUMP: then OK
}  // namespace

void Action::count(const Skb& skb, const ActionEnv& env) {
    const uint64_t now_ns = env.now_ns;
    stats.bytes += skb.counted_len(env.at_ingress);
    stats.packets += 1;
    if (firstuse_ns == 0) firstuse_ns = now_ns == 0 ? 1 : now_ns;
    lastuse_ns = now_ns;
}

std::string Action::index_line(bool with_stats, uint64_t now_ns) const {
    std::string line = fmt::format(" index {} ref {} bind {}", index, refcnt, bindcnt);
    if (with_stats) {
        const auto secs = [&](uint64_t t) { return (now_ns >= t ? now_ns - t : 0) / 1000000000ull; };
        line += fmt::format(" installed {} sec used {} sec", secs(installed_ns), secs(lastuse_ns != 0 ? lastuse_ns : installed_ns));
        if (firstuse_ns != 0) line += fmt::format(" firstused {} sec", secs(firstuse_ns));
    }
    return line;
}

int32_t run_actions(std::span<const std::shared_ptr<Action>> actions, Skb& skb, ActionEnv& env) {
    int32_t ret = kActOk;
    int jumps = 0;
    size_t i = 0;
    while (i < actions.size()) {
        int repeats = 0;
        do {
            ret = actions[i]->act(skb, env);
        } while (ret == kActRepeat && ++repeats < kMaxRepeats);
        if (ret == kActRepeat) return kActOk;
        if (act_opcode(ret) == kActJump) {
            const uint32_t skip = static_cast<uint32_t>(ret & kActExtValMask);
            if (skip == 0 || skip > actions.size() || ++jumps > kMaxJumps) return kActOk;
            i = skip;  // absolute: continue at `action order skip+1`
            continue;
        }
        if (ret != kActPipe) return ret;
        ++i;
    }
    return ret;
}

std::string action_stats_text(const Stats& s) {
    return fmt::format("\tAction statistics:\n\tSent {} bytes {} pkt (dropped {}, overlimits {} requeues {}) \n"
                       "\tbacklog {}b {}p requeues {}\n",
                       s.bytes, s.packets, s.drops, s.overlimits, s.requeues, s.backlog_bytes, s.backlog_packets,
                       s.requeues);
}

}  // namespace tcbpf::tc
