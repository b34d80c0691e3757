// `tc qdisc add|replace|del` and `tc class add|change|replace|del` (sch_api.c's rules,
// classful-qdiscs.md §1.4).
#include <fmt/format.h>

#include "tc/apply.h"

namespace tcbpf::tc {

namespace {

void collect(Qdisc* q, std::vector<Qdisc*>& out) {
    out.push_back(q);
    std::vector<const Qdisc*> kids;
    q->children(kids);
    for (const Qdisc* k : kids) out.push_back(const_cast<Qdisc*>(k));
}

std::unique_ptr<Qdisc> build_qdisc(const QdiscSpec& spec) {
    if (spec.kind == "prio") return make_prio(spec);
    if (spec.kind == "htb") return make_htb(spec);
    if (spec.kind == "pfifo" || spec.kind == "bfifo") return make_fifo(spec);
    throw Error(fmt::format("Error: Specified qdisc kind is unknown.\nqdisc '{}' is not supported", spec.kind));
}

// The first free automatic handle (8001: ...), as the kernel steps its counter.
uint32_t auto_handle(Port& port) {
    for (int tries = 0; tries < 0x8000; ++tries) {
        port.next_auto_major = port.next_auto_major >= 0xFFFE ? 0x8000 : port.next_auto_major + 1;
        const uint32_t h = port.next_auto_major << 16;
        if (find_qdisc(port, h) == nullptr) return h;
    }
    throw Error("RTNETLINK answers: Resource temporarily unavailable");
}

void release_block(Pipeline::State& state, const FilterBlock& block) {
    for (const FilterChain& chain : block.chains)
        for (const TcfProto& proto : chain.protos)
            for (const FilterInstance& f : proto.filters) release_actions(state, f.actions);
}

// A qdisc leaving the tree lets go of the actions its filters (and its classes' and children's) hold.
void release_qdisc(Pipeline::State& state, Qdisc* q) {
    if (q == nullptr) return;
    std::vector<Qdisc*> all;
    collect(q, all);
    for (Qdisc* each : all) {
        if (const FilterBlock* b = each->filters_at(each->handle)) release_block(state, *b);
        std::vector<ClassView> views;
        each->classes(views);
        for (const ClassView& c : views)
            if (const FilterBlock* b = each->filters_at(c.classid)) release_block(state, *b);
    }
}

[[noreturn]] void exclusive() { throw Error("Error: Exclusivity flag on, cannot modify.\nRTNETLINK answers: File exists"); }

void apply_mini(Pipeline::State& state, Port& port, const QdiscSpec& spec) {
    const bool clsact = spec.kind == "clsact";
    if (spec.verb == Verb::Delete) {
        if (!port.mini || (!spec.kind.empty() && port.mini->clsact != clsact))
            throw Error("Error: Cannot find specified qdisc on specified device.\nRTNETLINK answers: No such file or directory");
        release_block(state, port.mini->ingress);
        release_block(state, port.mini->egress);
        port.mini.reset();
        return;
    }
    if (port.mini) {
        if (spec.verb == Verb::Add || port.mini->clsact != clsact) exclusive();
        return;  // replacing with the same kind keeps it
    }
    MiniQdisc mini;
    mini.clsact = clsact;
    port.mini = std::move(mini);
}

}  // namespace

std::vector<Qdisc*> port_qdiscs(const Port& port) {
    std::vector<Qdisc*> out;
    if (port.root) collect(port.root.get(), out);
    return out;
}

Qdisc* find_qdisc(const Port& port, uint32_t handle) {
    for (Qdisc* q : port_qdiscs(port))
        if (q->handle == handle && !q->invisible) return q;
    return nullptr;
}

void apply_qdisc(Pipeline::State& state, const QdiscSpec& spec) {
    Port& port = state.port_or_throw(spec.dev);
    if (spec.kind == "clsact" || spec.kind == "ingress" || spec.parent == kHandleIngress) return apply_mini(state, port, spec);

    if (spec.verb == Verb::Delete) {
        if (spec.parent == kHandleRoot) {
            if (!port.root) throw Error("Error: Cannot delete qdisc with handle of zero.\nRTNETLINK answers: Invalid argument");
            release_qdisc(state, port.root.get());
            port.root.reset();
            return;
        }
        Qdisc* parent_q = find_qdisc(port, handle_major(spec.parent));
        std::unique_ptr<Qdisc>* slot = parent_q ? parent_q->child_slot(spec.parent) : nullptr;
        if (slot == nullptr || (*slot)->invisible)
            throw Error("Error: Cannot find specified qdisc on specified device.\nRTNETLINK answers: No such file or directory");
        release_qdisc(state, slot->get());
        *slot = make_default_fifo();
        return;
    }

    std::unique_ptr<Qdisc>* slot = nullptr;
    if (spec.parent == kHandleRoot) {
        slot = &port.root;
    } else {
        Qdisc* parent_q = find_qdisc(port, handle_major(spec.parent));
        if (parent_q == nullptr) throw Error("Error: Failed to find specified qdisc.\nRTNETLINK answers: No such file or directory");
        slot = parent_q->child_slot(spec.parent);
        if (slot == nullptr) throw Error("Error: Specified class not found.\nRTNETLINK answers: No such file or directory");
    }
    const bool occupied = *slot && !(*slot)->invisible;
    if (occupied && spec.verb == Verb::Add) exclusive();
    if (occupied && spec.verb == Verb::Change && (*slot)->kind != spec.kind)
        throw Error("Error: Specified qdisc kind does not match.\nRTNETLINK answers: Invalid argument");
    if (!occupied && spec.verb == Verb::Change)
        throw Error("Error: Specified qdisc not found.\nRTNETLINK answers: No such file or directory");
    uint32_t handle = spec.handle;
    if (handle != 0) {
        const Qdisc* same = find_qdisc(port, handle);
        if (same != nullptr && !(occupied && same == slot->get()))
            throw Error(fmt::format("Error: Qdisc handle {} is already in use.\nRTNETLINK answers: File exists", format_classid(handle)));
    }
    std::unique_ptr<Qdisc> q = build_qdisc(spec);
    if (handle == 0) handle = occupied ? (*slot)->handle : auto_handle(port);
    q->handle = handle;
    q->parent = spec.parent;
    release_qdisc(state, occupied ? slot->get() : nullptr);
    *slot = std::move(q);
}

void apply_class(Pipeline::State& state, const ClassSpec& spec) {
    Port& port = state.port_or_throw(spec.dev);
    // The qdisc: the classid's major, else the parent's, else the root qdisc.
    uint32_t major = handle_major(spec.classid);
    if (major == 0 && spec.parent != kHandleRoot) major = handle_major(spec.parent);
    if (major == 0 && port.root) major = port.root->handle;
    if (handle_major(spec.classid) != 0 && spec.parent != kHandleRoot && handle_major(spec.parent) != 0 &&
        handle_major(spec.parent) != handle_major(spec.classid))
        throw Error("Error: Class ID and parent ID have different major numbers.\nRTNETLINK answers: Invalid argument");
    Qdisc* q = find_qdisc(port, major);
    if (q == nullptr) throw Error("Error: Failed to find qdisc with specified handle.\nRTNETLINK answers: No such file or directory");
    ClassSpec resolved = spec;
    if (resolved.classid != 0) resolved.classid = make_handle(major, resolved.classid);
    if (resolved.parent != kHandleRoot && resolved.parent != 0) resolved.parent = make_handle(major, resolved.parent);
    if (resolved.parent == major) resolved.parent = kHandleRoot;  // `parent X:` is the qdisc itself
    if (spec.verb == Verb::Delete) return q->delete_class(resolved.classid);
    if (!spec.kind.empty() && spec.kind != q->kind)
        throw Error(fmt::format("Error: Specified class kind does not match the qdisc's ({}).\nRTNETLINK answers: Invalid argument", q->kind));
    q->add_class(resolved);
}

}  // namespace tcbpf::tc
