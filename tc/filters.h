// Filter lists and tcf_classify (cls-act-semantics.md §3, §4): chains of tcf_protos ordered by pref,
// each holding bpf filter instances by handle, newest first.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tc/action.h"

namespace tcbpf::tc {

struct FilterInstance {
    // What classification reads for every packet, together at the front (the spec is large and its
    // fields far apart): set from spec and program by prepare_dispatch() when the filter is made.
    const TcProgram* run = nullptr;
    uint32_t configured_classid = 0;  // spec.classid, 0 without one
    bool direct_action = false;
    bool skip_sw = false;
    void prepare_dispatch() {
        run = program.get();
        configured_classid = spec.classid.value_or(0);
        direct_action = spec.direct_action;
        skip_sw = spec.skip_sw;
    }

    uint32_t handle = 0;
    FilterSpec spec;  // what was asked (classid, da, flags, the program source)
    std::shared_ptr<TcProgram> program;
    std::vector<std::shared_ptr<Action>> actions;
};

struct TcfProto {
    uint32_t pref = 0;
    uint16_t protocol = kEthPAll;
    std::vector<FilterInstance> filters;  // list order: the newest added is first
};

struct FilterChain {
    uint32_t index = 0;
    std::vector<TcfProto> protos;  // pref ascending
};

struct FilterBlock {
    std::vector<FilterChain> chains;  // chain index ascending
    bool empty() const {  // inline: qdiscs ask for every packet
        for (const FilterChain& c : chains)
            if (!c.protos.empty()) return false;
        return true;
    }
    const FilterChain* chain(uint32_t index) const;
    FilterChain& chain_for_insert(uint32_t index);
};

struct ClassifyResult {
    int32_t verdict = kActUnspec;
    uint32_t classid = 0;
};

// Why classification ended as it did, for --trace; nullptr when nobody is listening.
using TraceFn = std::function<void(const std::string&)>;

// tcf_classify from chain 0: reclassify restarts (at most 16 times, then SHOT), goto chain continues in
// another chain (a missing one gives SHOT), the first result ≥ 0 ends it.
ClassifyResult classify(const FilterBlock& block, Skb& skb, ActionEnv& env, const TraceFn* trace);

}  // namespace tcbpf::tc
