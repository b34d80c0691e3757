// `tc filter add|replace|change|del`: finding the filter list a parent names, pref and handle
// allocation, and putting a bpf filter in place (cls_api.c, cls_bpf.c; cls-act-semantics.md §3, §10).
#include <fmt/format.h>

#include "tc/apply.h"

namespace tcbpf::tc {

namespace {

constexpr uint32_t kFirstAutoPref = 0xC000;  // 49152

[[noreturn]] void no_parent() { throw Error("Error: Parent Qdisc doesn't exists.\nWe have an error talking to the kernel"); }
[[noreturn]] void no_class() { throw Error("Error: Specified class doesn't exist.\nWe have an error talking to the kernel"); }

FilterBlock& find_block(Port& port, uint32_t parent) {
    if (handle_major(parent) == kClsactHandle || parent == kHandleIngress) {
        if (!port.mini) no_parent();
        const uint32_t minor = handle_minor(parent);
        if (!port.mini->clsact) return port.mini->ingress;  // the ingress qdisc has one list for any minor
        if (minor == kMinIngress) return port.mini->ingress;
        if (minor == kMinEgress) return port.mini->egress;
        no_class();
    }
    Qdisc* q = parent == kHandleRoot ? port.root.get() : find_qdisc(port, handle_major(parent));
    if (q == nullptr) no_parent();
    FilterBlock* block = q->filters_at(parent == kHandleRoot ? q->handle : parent);
    if (block == nullptr) no_class();
    return *block;
}

TcfProto* find_proto(FilterChain& chain, uint32_t pref) {
    for (TcfProto& p : chain.protos)
        if (p.pref == pref) return &p;
    return nullptr;
}

uint32_t lowest_free_handle(const TcfProto* proto) {
    uint32_t h = 1;
    if (proto == nullptr) return h;
    for (bool again = true; again;) {
        again = false;
        for (const FilterInstance& f : proto->filters)
            if (f.handle == h) {
                ++h;
                again = true;
            }
    }
    return h;
}

void delete_filters(Pipeline::State& state, FilterBlock& block, const FilterSpec& spec) {
    FilterChain* chain = nullptr;
    for (FilterChain& c : block.chains)
        if (c.index == spec.chain) chain = &c;
    if (spec.pref == 0) {  // no pref: flush the chain
        if (chain == nullptr) return;
        for (TcfProto& p : chain->protos)
            for (FilterInstance& f : p.filters) release_actions(state, f.actions);
        chain->protos.clear();
        return;
    }
    TcfProto* proto = chain ? find_proto(*chain, spec.pref) : nullptr;
    if (proto == nullptr) throw Error("Error: Filter with specified priority/protocol not found.\nWe have an error talking to the kernel");
    if (spec.handle == 0) {
        for (FilterInstance& f : proto->filters) release_actions(state, f.actions);
        chain->protos.erase(chain->protos.begin() + (proto - chain->protos.data()));
        return;
    }
    for (auto it = proto->filters.begin(); it != proto->filters.end(); ++it)
        if (it->handle == spec.handle) {
            release_actions(state, it->actions);
            proto->filters.erase(it);
            if (proto->filters.empty()) chain->protos.erase(chain->protos.begin() + (proto - chain->protos.data()));
            return;
        }
    throw Error("Error: Specified filter handle not found.\nWe have an error talking to the kernel");
}

}  // namespace

void apply_filter(Pipeline::State& state, const FilterSpec& spec) {
    Port& port = state.port_or_throw(spec.dev);
    FilterBlock& block = find_block(port, spec.parent);
    if (spec.verb == Verb::Delete) return delete_filters(state, block, spec);

    // Where the filter goes, checked before anything is built.
    const FilterChain* existing_chain = block.chain(spec.chain);
    uint32_t pref = spec.pref;
    if (pref == 0)
        pref = existing_chain && !existing_chain->protos.empty() ? existing_chain->protos.front().pref - 1 : kFirstAutoPref;
    const TcfProto* proto = nullptr;
    if (existing_chain)
        for (const TcfProto& p : existing_chain->protos)
            if (p.pref == pref) proto = &p;
    if (proto != nullptr && spec.protocol_given && proto->protocol != spec.protocol)
        throw Error("Error: Filter with specified priority/protocol not found.\nWe have an error talking to the kernel");
    const FilterInstance* old = nullptr;
    if (proto != nullptr && spec.handle != 0)
        for (const FilterInstance& f : proto->filters)
            if (f.handle == spec.handle) old = &f;
    if (old != nullptr && spec.verb == Verb::Add) throw Error("RTNETLINK answers: File exists\nWe have an error talking to the kernel");
    if (old == nullptr && spec.verb == Verb::Change && spec.handle != 0)
        throw Error("Error: Filter with specified handle not found.\nWe have an error talking to the kernel");

    FilterInstance made;
    made.spec = spec;
    made.spec.pref = pref;
    made.handle = spec.handle != 0 ? spec.handle : lowest_free_handle(proto);
    made.program = TcProgram::load(spec.program, skb::ProgType::Classifier, state.load_options);
    std::vector<PendingAction> pending = prepare_actions(state, spec.actions);
    for (const PendingAction& p : pending) made.actions.push_back(p.action);
    made.prepare_dispatch();

    // Nothing below throws: the pipeline changes only now.
    commit_actions(state, pending, true, state.datapath.now());
    FilterChain& chain = block.chain_for_insert(spec.chain);
    TcfProto* target = find_proto(chain, pref);
    if (target == nullptr) {
        auto it = chain.protos.begin();
        while (it != chain.protos.end() && it->pref < pref) ++it;
        TcfProto fresh;
        fresh.pref = pref;
        fresh.protocol = spec.protocol;
        target = &*chain.protos.insert(it, std::move(fresh));
    }
    for (FilterInstance& f : target->filters)
        if (f.handle == made.handle) {  // replace in place, keeping the list position
            release_actions(state, f.actions);
            f = std::move(made);
            return;
        }
    target->filters.insert(target->filters.begin(), std::move(made));
}

}  // namespace tcbpf::tc
