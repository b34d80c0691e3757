// tc actions: the shared instances (by kind and index) filters bind to, and tcf_action_exec, which runs
// a filter's action list with the kernel's rules (cls-act-semantics.md §5).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tc/program.h"
#include "tcbpf/tc.h"

namespace tcbpf::tc {

class Datapath;

// What an action may reach while it runs: the program scratch, the ports (mirred), virtual time.
struct ActionEnv {
    Datapath* datapath = nullptr;
    RunScratch* scratch = nullptr;
    bool at_ingress = false;
    uint64_t now_ns = 0;
};

class Action {
   public:
    virtual ~Action() = default;
    virtual int32_t act(Skb& skb, ActionEnv& env) = 0;
    // tc's show text after "action order N: " (may span lines; each later line starts with a tab).
    virtual std::string describe(bool stats, uint64_t now_ns) const = 0;

    ActionKind kind = ActionKind::Gact;
    uint32_t index = 0;
    uint32_t refcnt = 1;
    uint32_t bindcnt = 0;
    Stats stats;
    uint64_t installed_ns = 0;
    uint64_t lastuse_ns = 0;
    uint64_t firstuse_ns = 0;

   protected:
    void count(const Skb& skb, const ActionEnv& env);
    // " index I ref R bind B[ installed S sec used S sec[ firstused S sec]]" as tc prints it.
    std::string index_line(bool stats, uint64_t now_ns) const;
};

// One constructor per kind (act_*.cpp); they throw tcbpf::Error for what cannot be built (a program
// that does not load). mirred gets its target's ifindex from the caller, which knows the ports.
std::shared_ptr<Action> make_gact(const ActionSpec& spec);
std::shared_ptr<Action> make_bpf_action(const ActionSpec& spec, const runtime::LoadOptions& options);
std::shared_ptr<Action> make_mirred(const ActionSpec& spec, uint32_t ifindex);

// tcf_action_exec over `actions`.
int32_t run_actions(std::span<const std::shared_ptr<Action>> actions, Skb& skb, ActionEnv& env);

// `\tAction statistics:` block of tc -s.
std::string action_stats_text(const Stats& stats);

}  // namespace tcbpf::tc
