// Action instances: building them from specs, binding filters to shared instances by index, and the
// standalone `tc actions add|replace|del` commands (act_api.c's tables, one per kind).
#include <fmt/format.h>

#include "tc/apply.h"

namespace tcbpf::tc {

namespace {

uint32_t lowest_free_index(const std::map<uint32_t, std::shared_ptr<Action>>& table) {
    uint32_t index = 1;
    for (const auto& [used, action] : table) {
        if (used != index) break;
        ++index;
    }
    return index;
}

}  // namespace

std::shared_ptr<Action> build_action(const Pipeline::State& state, const ActionSpec& spec) {
    switch (spec.kind) {
        case ActionKind::Gact: return make_gact(spec);
        case ActionKind::Bpf: return make_bpf_action(spec, state.load_options);
        case ActionKind::Mirred: {
            const Port* port = state.port_by_name(spec.mirred_dev);
            if (port == nullptr) throw Error(fmt::format("Cannot find device \"{}\"", spec.mirred_dev));
            return make_mirred(spec, port->ifindex);
        }
    }
    throw Error("unknown action kind");
}

std::vector<PendingAction> prepare_actions(const Pipeline::State& state, const std::vector<ActionSpec>& specs) {
    std::vector<PendingAction> out;
    std::map<uint32_t, bool> claimed[3];
    for (const ActionSpec& spec : specs) {
        PendingAction p;
        const auto& table = state.actions[static_cast<int>(spec.kind)];
        if (spec.index != 0) {
            const auto it = table.find(spec.index);
            if (it != table.end()) {
                p.action = it->second;  // bind to the existing instance
                out.push_back(p);
                continue;
            }
        }
        p.action = build_action(state, spec);
        p.is_new = true;
        p.action->index = spec.index;
        out.push_back(p);
    }
    // Indices for new instances, after every spec has been checked.
    for (PendingAction& p : out) {
        if (!p.is_new || p.action->index != 0) continue;
        auto& table = state.actions[static_cast<int>(p.action->kind)];
        uint32_t index = lowest_free_index(table);
        auto& taken = claimed[static_cast<int>(p.action->kind)];
        while (table.count(index) != 0 || taken.count(index) != 0) ++index;
        taken[index] = true;
        p.action->index = index;
    }
    return out;
}

void commit_actions(Pipeline::State& state, const std::vector<PendingAction>& pending, bool bind, uint64_t now_ns) {
    for (const PendingAction& p : pending) {
        if (p.is_new) {
            p.action->installed_ns = now_ns;
            p.action->refcnt = 0;
            p.action->bindcnt = 0;
            state.actions[static_cast<int>(p.action->kind)][p.action->index] = p.action;
        }
        p.action->refcnt += 1;
        if (bind) p.action->bindcnt += 1;
    }
}

void release_actions(Pipeline::State& state, const std::vector<std::shared_ptr<Action>>& actions) {
    for (const auto& a : actions) {
        if (a->bindcnt > 0) a->bindcnt -= 1;
        if (a->refcnt > 0) a->refcnt -= 1;
        if (a->refcnt == 0) state.actions[static_cast<int>(a->kind)].erase(a->index);
    }
}

void apply_actions_command(Pipeline::State& state, const ActionCommandSpec& spec) {
    if (spec.verb == Verb::Delete) {
        for (const ActionSpec& a : spec.actions) {
            auto& table = state.actions[static_cast<int>(a.kind)];
            const auto it = table.find(a.index);
            if (it == table.end()) throw Error("Error: Failed to find action with specified index.\nRTNETLINK answers: No such file or directory");
            if (it->second->bindcnt > 0) throw Error("RTNETLINK answers: Operation not permitted");
        }
        for (const ActionSpec& a : spec.actions) state.actions[static_cast<int>(a.kind)].erase(a.index);
        return;
    }
    for (const ActionSpec& a : spec.actions) {
        if (a.kind == ActionKind::Gact && act_opcode(a.control) == kActGotoChain)
            throw Error("Error: can't use goto chain with NULL chain.\nRTNETLINK answers: Invalid argument");
        if (spec.verb == Verb::Add && a.index != 0 && state.actions[static_cast<int>(a.kind)].count(a.index) != 0)
            throw Error("RTNETLINK answers: File exists");
    }
    std::vector<std::shared_ptr<Action>> built;
    for (const ActionSpec& a : spec.actions) built.push_back(build_action(state, a));
    for (size_t i = 0; i < built.size(); ++i) {
        auto& table = state.actions[static_cast<int>(built[i]->kind)];
        const uint32_t index = spec.actions[i].index != 0 ? spec.actions[i].index : lowest_free_index(table);
        built[i]->index = index;
        built[i]->installed_ns = state.datapath.now();
        const auto old = table.find(index);
        if (old != table.end()) {  // replace keeps the bindings and counters of the old instance
            built[i]->refcnt = old->second->refcnt;
            built[i]->bindcnt = old->second->bindcnt;
        }
        table[index] = built[i];
    }
}

}  // namespace tcbpf::tc
