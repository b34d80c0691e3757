// mirred: a copy of the packet sent out of or into another port; a redirect then consumes the
// original (act_mirred.c; classful-qdiscs.md §6).
#include <fmt/format.h>

#include "tc/pipeline_state.h"

namespace tcbpf::tc {

namespace {

class Mirred final : public Action {
   public:
    Mirred(const ActionSpec& spec, uint32_t ifindex) : spec_(spec), ifindex_(ifindex) { kind = ActionKind::Mirred; }

    int32_t act(Skb& skb, ActionEnv& env) override {
        count(skb, env);
        const bool to_ingress = spec_.mirred == MirredKind::IngressRedirect || spec_.mirred == MirredKind::IngressMirror;
        const bool redirect = spec_.mirred == MirredKind::EgressRedirect || spec_.mirred == MirredKind::IngressRedirect;
        if (!env.datapath->mirred(ifindex_, to_ingress, skb)) {
            stats.overlimits += 1;
            return redirect ? kActShot : spec_.control;
        }
        return spec_.control;
    }

    std::string describe(bool with_stats, uint64_t now_ns) const override {
        static constexpr const char* kNames[] = {"", "Egress Redirect", "Egress Mirror", "Ingress Redirect", "Ingress Mirror"};
        return fmt::format("mirred ({} to device {}) {}\n\t{}\n", kNames[static_cast<int>(spec_.mirred)], spec_.mirred_dev,
                           format_control(spec_.control), index_line(with_stats, now_ns).substr(1));
    }

   private:
    ActionSpec spec_;
    uint32_t ifindex_;
};

}  // namespace

std::shared_ptr<Action> make_mirred(const ActionSpec& spec, uint32_t ifindex) {
    return std::make_shared<Mirred>(spec, ifindex);
}

}  // namespace tcbpf::tc
