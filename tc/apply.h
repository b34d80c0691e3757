// Applying commands to the pipeline state. Every apply_* function first checks and builds everything
// the command needs and only then changes the state, so a throw leaves the pipeline untouched.
#pragma once

#include <memory>
#include <vector>

#include "tc/pipeline_state.h"

namespace tcbpf::tc {

void apply_port(Pipeline::State& state, const PortSpec& spec);
void apply_peer(Pipeline::State& state, const PeerSpec& spec);
void apply_qdisc(Pipeline::State& state, const QdiscSpec& spec);
void apply_class(Pipeline::State& state, const ClassSpec& spec);
void apply_filter(Pipeline::State& state, const FilterSpec& spec);
void apply_actions_command(Pipeline::State& state, const ActionCommandSpec& spec);

// Actions of a filter being built: existing instances it binds to, or new ones not yet in the tables.
struct PendingAction {
    std::shared_ptr<Action> action;
    bool is_new = false;
};
std::shared_ptr<Action> build_action(const Pipeline::State& state, const ActionSpec& spec);
std::vector<PendingAction> prepare_actions(const Pipeline::State& state, const std::vector<ActionSpec>& specs);
// Puts new instances into the tables and counts the references (bind: held by a filter).
void commit_actions(Pipeline::State& state, const std::vector<PendingAction>& pending, bool bind, uint64_t now_ns);
// A filter lets go of its actions; instances nobody references leave the tables.
void release_actions(Pipeline::State& state, const std::vector<std::shared_ptr<Action>>& actions);

// Every qdisc of a port (root and its descendants, default children included), root first.
std::vector<Qdisc*> port_qdiscs(const Port& port);
Qdisc* find_qdisc(const Port& port, uint32_t handle);

}  // namespace tcbpf::tc
