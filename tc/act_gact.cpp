// gact: a fixed control, optionally replaced by a second one at random or every N-th packet
// (act_gact.c; classful-qdiscs.md §5).
#include <fmt/format.h>

#include "tc/action.h"

namespace tcbpf::tc {

namespace {

class Gact final : public Action {
   public:
    explicit Gact(const ActionSpec& spec) : spec_(spec) { kind = ActionKind::Gact; }

    int32_t act(Skb& skb, ActionEnv& env) override {
        count(skb, env);
        int32_t verdict = spec_.control;
        if (spec_.random_type != 0) {
            const uint32_t every = spec_.random_value == 0 ? 1 : spec_.random_value;
            // netrand is replaced by a fixed-seed generator so runs stay repeatable.
            const uint32_t draw = spec_.random_type == 2 ? ++packets_ : next_random();
            if (draw % every == 0) verdict = spec_.random_control;
        }
        if (verdict == kActShot) stats.drops += 1;
        return verdict;
    }

    std::string describe(bool with_stats, uint64_t now_ns) const override {
        std::string text = fmt::format("gact action {}\n", format_control(spec_.control));
        static constexpr const char* kTypes[] = {"none", "netrand", "determ"};
        text += fmt::format("\t random type {} {} val {}\n", kTypes[spec_.random_type % 3],
                            format_control(spec_.random_type ? spec_.random_control : kActOk), spec_.random_value);
        text += "\t" + index_line(with_stats, now_ns) + "\n";
        return text;
    }

   private:
    uint32_t next_random() {
        state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<uint32_t>(state_ >> 33);
    }
    ActionSpec spec_;
    uint32_t packets_ = 0;
    uint64_t state_ = 0x7cb9f;
};

}  // namespace

std::shared_ptr<Action> make_gact(const ActionSpec& spec) { return std::make_shared<Gact>(spec); }

}  // namespace tcbpf::tc
