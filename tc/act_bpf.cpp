// act_bpf: a program whose return is mapped to an action result (act_bpf.c; cls-act-semantics.md §6).
#include <fmt/format.h>

#include "tc/action.h"

namespace tcbpf::tc {

namespace {

class BpfAction final : public Action {
   public:
    BpfAction(const ActionSpec& spec, std::shared_ptr<TcProgram> program)
        : spec_(spec), program_(std::move(program)) {
        kind = ActionKind::Bpf;
    }

    int32_t act(Skb& skb, ActionEnv& env) override {
        count(skb, env);
        const int32_t r = program_->run(skb, *env.scratch, env.at_ingress);
        switch (r) {
            case kActPipe:
            case kActReclassify:
            case kActOk:
            case kActRedirect: return r;
            case kActShot: stats.drops += 1; return r;
            case kActUnspec: return spec_.control;
            default: return kActUnspec;
        }
    }

    std::string describe(bool with_stats, uint64_t now_ns) const override {
        std::string text = "bpf ";
        if (program_->classic())
            text += fmt::format("bytecode '{}'", cbpf::format_bytecode(program_->bytecode()));
        else
            text += fmt::format("{} id {} name {}", spec_.program.annotation(), program_->id(),
                                program_->function_name());
        text += fmt::format(" default-action {}\n", format_control(spec_.control));
        text += "\t" + index_line(with_stats, now_ns) + "\n";
        return text;
    }

   private:
    ActionSpec spec_;
    std::shared_ptr<TcProgram> program_;
};

}  // namespace

std::shared_ptr<Action> make_bpf_action(const ActionSpec& spec, const runtime::LoadOptions& options) {
    return std::make_shared<BpfAction>(spec, TcProgram::load(spec.program, skb::ProgType::Action, options));
}

}  // namespace tcbpf::tc
