// tcf_classify and cls_bpf_classify as the kernel runs them.
#include <fmt/format.h>

#include "tc/filters.h"

namespace tcbpf::tc {

namespace {

constexpr int kMaxReclassify = 16;  // TCF_CLASSIFY loop limit of modern kernels

// cls_bpf_exec_opcode: what direct-action keeps of a program's return.
int32_t direct_action_verdict(int32_t r) {
    switch (r) {
        case kActOk:
        case kActShot:
        case kActStolen:
        case kActTrap:
        case kActRedirect:
        case kActUnspec: return r;
        default: return kActUnspec;
    }
}

// One cls_bpf tcf_proto: its programs in list order (§4). The result travels by value: written
// through a reference, its two halves were stored separately and read back as one 8-byte word, a
// store-forwarding stall on every packet.
ClassifyResult classify_bpf(const TcfProto& proto, Skb& skb, ActionEnv& env, const TraceFn* trace) {
    for (const FilterInstance& f : proto.filters) {
        const uint32_t configured = f.configured_classid;
        skb.meta.tc_classid = static_cast<uint16_t>(configured);
        if (f.skip_sw) {
            if (f.direct_action) continue;
            return {kActOk, configured};
        }
        const int32_t r = f.run->run(skb, *env.scratch, env.at_ingress);
        if (f.direct_action) {
            const int32_t verdict = direct_action_verdict(r);
            if (trace)
                (*trace)(fmt::format("filter pref {} handle 0x{:x} bpf da returned {} -> {}", proto.pref, f.handle, r,
                                     format_control(verdict)));
            if (verdict == kActUnspec) continue;
            return {verdict, handle_major(configured) | skb.meta.tc_classid};
        }
        if (r == 0) {
            if (trace) (*trace)(fmt::format("filter pref {} handle 0x{:x} bpf returned 0: no match", proto.pref, f.handle));
            continue;
        }
        const uint32_t classid = r == -1 ? configured : static_cast<uint32_t>(r);
        if (f.actions.empty()) {
            if (trace)
                (*trace)(fmt::format("filter pref {} handle 0x{:x} bpf matched, classid {}", proto.pref, f.handle,
                                     format_classid(classid)));
            return {kActOk, classid};
        }
        const int32_t verdict = run_actions(f.actions, skb, env);
        if (trace)
            (*trace)(fmt::format("filter pref {} handle 0x{:x} bpf matched, classid {}, actions -> {}", proto.pref,
                                 f.handle, format_classid(classid), format_control(verdict)));
        if (verdict < 0) continue;
        return {verdict, classid};
    }
    return {kActUnspec, 0};
}

}  // namespace

const FilterChain* FilterBlock::chain(uint32_t index) const {
    for (const FilterChain& c : chains)
        if (c.index == index) return &c;
    return nullptr;
}

FilterChain& FilterBlock::chain_for_insert(uint32_t index) {
    auto it = chains.begin();
    while (it != chains.end() && it->index < index) ++it;
    if (it != chains.end() && it->index == index) return *it;
    return *chains.insert(it, FilterChain{index, {}});
}

ClassifyResult classify(const FilterBlock& block, Skb& skb, ActionEnv& env, const TraceFn* trace) {
    const FilterChain* chain = block.chain(0);
    int restarts = 0;
    const FilterChain* first = chain;
restart:
    if (chain == nullptr) return {};
    for (const TcfProto& proto : chain->protos) {
        if (proto.protocol != kEthPAll && proto.protocol != skb.meta.protocol) continue;
        const ClassifyResult result = classify_bpf(proto, skb, env, trace);
        const int32_t r = result.verdict;
        if (r == kActReclassify) {
            if (++restarts > kMaxReclassify) {
                if (trace) (*trace)("reclassify limit reached -> drop");
                return {kActShot, result.classid};
            }
            chain = first;
            goto restart;
        }
        if (act_opcode(r) == kActGotoChain) {
            const uint32_t target = static_cast<uint32_t>(r & kActExtValMask);
            chain = block.chain(target);
            if (chain == nullptr) {
                if (trace) (*trace)(fmt::format("goto chain {}: no such chain -> drop", target));
                return {kActShot, result.classid};
            }
            goto restart;
        }
        if (r >= 0) return result;
    }
    return {kActUnspec, 0};
}

}  // namespace tcbpf::tc
