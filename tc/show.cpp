// `tc [-s] qdisc|class|filter show` and `tc actions ls` output (classful-qdiscs.md §7, tc-cli.md §7),
// and the per-port summary `tcbpf run` prints.
#include <fmt/format.h>

#include "tc/apply.h"
#include "tc/parse_util.h"

namespace tcbpf::tc {

namespace {

std::string stats_lines(const Stats& s) {
    return fmt::format(" Sent {} bytes {} pkt (dropped {}, overlimits {} requeues {}) \n backlog {} {}p requeues {}\n",
                       s.bytes, s.packets, s.drops, s.overlimits, s.requeues, detail::format_size(s.backlog_bytes),
                       s.backlog_packets, s.requeues);
}

std::string dev_part(const Port& port, bool dev_given) { return dev_given ? "" : fmt::format("dev {} ", port.spec.name); }

std::string show_qdiscs(const Port& port, bool dev_given, bool stats) {
    std::string out;
    if (!port.root) {
        out += fmt::format("qdisc noqueue 0: {}root refcnt 2 \n", dev_part(port, dev_given));
        if (stats) out += stats_lines({});
    }
    for (const Qdisc* q : port_qdiscs(port)) {
        if (q->invisible) continue;
        const bool root = q == port.root.get();
        out += fmt::format("qdisc {} {:x}: {}{}{} \n", q->kind, q->handle >> 16, dev_part(port, dev_given),
                           root ? "root refcnt 2 " : fmt::format("parent {} ", format_classid(q->parent)), q->options_text());
        if (stats) out += stats_lines(q->stats);
    }
    if (port.mini) {
        out += fmt::format("qdisc {} ffff: {}parent ffff:fff1 {}\n", port.mini->clsact ? "clsact" : "ingress",
                           dev_part(port, dev_given), port.mini->clsact ? "" : "---------------- ");
        if (stats) out += stats_lines(port.mini->stats);
    }
    return out;
}

std::string show_classes(const Port& port, bool dev_given, bool stats) {
    std::string out;
    for (const Qdisc* q : port_qdiscs(port)) {
        std::vector<ClassView> views;
        q->classes(views);
        for (const ClassView& c : views) {
            out += fmt::format("class {} {} {}{} ", q->kind, format_classid(c.classid), dev_part(port, dev_given),
                               c.parent == kHandleRoot ? "root" : fmt::format("parent {}", format_classid(c.parent)));
            if (c.leaf_handle != 0) out += fmt::format("leaf {:x}: ", c.leaf_handle >> 16);
            out += c.options + "\n";
            if (stats) {
                out += stats_lines(c.stats);
                if (c.htb)
                    out += fmt::format(" lended: {} borrowed: {} giants: {}\n tokens: {} ctokens: {}\n\n", c.xstats.lends,
                                       c.xstats.borrows, c.xstats.giants, c.xstats.tokens, c.xstats.ctokens);
            }
        }
    }
    return out;
}

std::string parent_word(uint32_t parent) {
    if (parent == make_handle(kClsactHandle, kMinIngress)) return "ingress";
    if (parent == make_handle(kClsactHandle, kMinEgress)) return "egress";
    return fmt::format("parent {}", format_classid(parent));
}

std::string show_block(const Pipeline::State& state, const FilterBlock& block, const std::string& prefix, bool stats) {
    std::string out;
    for (const FilterChain& chain : block.chains)
        for (const TcfProto& proto : chain.protos) {
            const std::string head = fmt::format("filter {}protocol {} pref {} bpf chain {} ", prefix,
                                                 detail::format_protocol(proto.protocol), proto.pref, chain.index);
            out += head + "\n";
            for (const FilterInstance& f : proto.filters) {
                out += head + fmt::format("handle 0x{:x} ", f.handle);
                if (f.spec.classid && *f.spec.classid != 0) out += fmt::format("flowid {} ", format_classid(*f.spec.classid));
                if (f.program->classic())
                    out += fmt::format("bytecode '{}' ", cbpf::format_bytecode(f.program->bytecode()));
                else
                    out += f.spec.program.annotation() + " ";
                if (f.spec.direct_action) out += "direct-action ";
                if (f.spec.skip_hw) out += "skip_hw ";
                if (f.spec.skip_sw) out += "skip_sw ";
                out += "not_in_hw ";
                if (!f.program->classic()) out += fmt::format("id {} name {} ", f.program->id(), f.program->function_name());
                out += "\n";
                for (size_t i = 0; i < f.actions.size(); ++i) {
                    out += fmt::format("\taction order {}: {}", i + 1, f.actions[i]->describe(stats, state.datapath.now()));
                    if (stats) out += action_stats_text(f.actions[i]->stats);
                    out += "\n";
                }
            }
        }
    return out;
}

// Calls one(id, block) for every filter list of the port that `parent` selects (every list without one).
template <typename Fn>
void for_each_block(const Port& port, std::optional<uint32_t> parent, Fn&& fn) {
    const auto one = [&](uint32_t id, const FilterBlock& block) {
        if (parent && *parent != id && !(handle_major(*parent) == kClsactHandle && !port.mini->clsact)) return;
        fn(id, block);
    };
    for (const Qdisc* q : port_qdiscs(port)) {
        if (FilterBlock* b = const_cast<Qdisc*>(q)->filters_at(q->handle)) one(q->handle, *b);
        std::vector<ClassView> views;
        q->classes(views);
        for (const ClassView& c : views)
            if (FilterBlock* b = const_cast<Qdisc*>(q)->filters_at(c.classid)) one(c.classid, *b);
    }
    if (port.mini) {
        one(make_handle(kClsactHandle, port.mini->clsact ? kMinIngress : 0), port.mini->ingress);
        if (port.mini->clsact) one(make_handle(kClsactHandle, kMinEgress), port.mini->egress);
    }
}

std::string show_filters(const Pipeline::State& state, const Port& port, std::optional<uint32_t> parent, bool dev_given,
                         bool stats) {
    std::string out;
    for_each_block(port, parent, [&](uint32_t id, const FilterBlock& block) {
        out += show_block(state, block, dev_part(port, dev_given) + (parent ? "" : parent_word(id) + " "), stats);
    });
    return out;
}

std::string stats_json(const Stats& s);

const char* action_kind_name(ActionKind kind) {
    static constexpr const char* kNames[] = {"gact", "bpf", "mirred"};
    return kNames[static_cast<int>(kind)];
}

// One action as tc -j lists it, with the members every kind has (order, kind, index, ref, bind; stats
// with -s); the kind-specific members of iproute2's m_*.c printers are not reproduced.
std::string action_json(const Action& a, size_t order, bool stats) {
    return fmt::format("{{\"order\":{},\"kind\":\"{}\",\"index\":{},\"ref\":{},\"bind\":{}{}}}", order, action_kind_name(a.kind),
                       a.index, a.refcnt, a.bindcnt, stats ? ",\"stats\":{" + stats_json(a.stats).substr(1) + "}" : "");
}

// tc -j filter show: per tcf_proto a header object, then one object per filter with its "options" —
// members, names and order as iproute2's f_bpf.c prints them (verified against tc 6.1 for classic and
// eBPF filters). Actions are listed with the members common to every kind (order, kind, index, ref, bind,
// and stats with -s).
std::string filters_json(const Port& port, std::optional<uint32_t> parent, bool dev_given, bool stats) {
    std::string out;
    const auto add = [&](const std::string& body) { out += (out.empty() ? "{" : ",{") + body + "}"; };
    for_each_block(port, parent, [&](uint32_t id, const FilterBlock& block) {
        std::string where = dev_given ? "" : fmt::format("\"dev\":\"{}\",", port.spec.name);
        if (!parent) {
            if (id == make_handle(kClsactHandle, kMinIngress)) where += "\"ingress\":true,";
            else if (id == make_handle(kClsactHandle, kMinEgress)) where += "\"egress\":true,";
            else where += fmt::format("\"parent\":\"{}\",", format_classid(id));
        }
        for (const FilterChain& chain : block.chains)
            for (const TcfProto& proto : chain.protos) {
                const std::string head = fmt::format("{}\"protocol\":\"{}\",\"pref\":{},\"kind\":\"bpf\",\"chain\":{}", where,
                                                     detail::format_protocol(proto.protocol), proto.pref, chain.index);
                add(head);
                for (const FilterInstance& f : proto.filters) {
                    std::string o = fmt::format("\"handle\":\"0x{:x}\"", f.handle);
                    if (f.spec.classid && *f.spec.classid != 0) o += fmt::format(",\"flowid\":\"{}\"", format_classid(*f.spec.classid));
                    if (!f.program->classic()) o += fmt::format(",\"bpf_name\":\"{}\"", f.spec.program.annotation());
                    if (f.spec.direct_action) o += ",\"direct-action\":true";
                    if (f.spec.skip_hw) o += ",\"skip_hw\":true";
                    if (f.spec.skip_sw) o += ",\"skip_sw\":true";
                    o += ",\"not_in_hw\":true";
                    if (f.program->classic()) {
                        std::string insns;
                        for (const cbpf::Insn& i : f.program->bytecode())
                            insns += fmt::format("{}{{\"code\":{},\"jt\":{},\"jf\":{},\"k\":{}}}", insns.empty() ? "" : ",", i.code, i.jt, i.jf, i.k);
                        o += fmt::format(",\"bytecode\":{{\"length\":{},\"insns\":[{}]}}", f.program->bytecode().size(), insns);
                    } else {
                        o += fmt::format(",\"prog\":{{\"id\":{},\"name\":\"{}\"}}", f.program->id(), f.program->function_name());
                    }
                    if (!f.actions.empty()) {
                        std::string acts;
                        for (size_t i = 0; i < f.actions.size(); ++i) acts += (i ? "," : "") + action_json(*f.actions[i], i + 1, stats);
                        o += ",\"actions\":[" + acts + "]";
                    }
                    add(head + ",\"options\":{" + o + "}");
                }
            }
    });
    return "[" + out + "]";
}

std::vector<const Port*> ports_for(const Pipeline::State& state, const std::string& dev) {
    if (!dev.empty()) return {&state.port_or_throw(dev)};
    std::vector<const Port*> all;
    for (const auto& p : state.ports) all.push_back(p.get());
    return all;
}

// tc -j actions ls: the count, then the actions (all listed with order 0, as the text form does).
std::string actions_json(const Pipeline::State& state, ActionKind kind, bool stats) {
    const auto& table = state.actions[static_cast<int>(kind)];
    std::string acts;
    for (const auto& [index, action] : table) acts += (acts.empty() ? "" : ",") + action_json(*action, 0, stats);
    return fmt::format("[{{\"total acts\":{}}},{{\"actions\":[{}]}}]\n", table.size(), acts);
}

std::string show_actions(const Pipeline::State& state, ActionKind kind, bool stats) {
    const auto& table = state.actions[static_cast<int>(kind)];
    std::string out = fmt::format("total acts {}\n", table.size());
    for (const auto& [index, action] : table) {
        out += fmt::format("\n\taction order 0: {}", action->describe(stats, state.datapath.now()));
        if (stats) out += action_stats_text(action->stats);
    }
    return out;
}

// tc -j: one object per qdisc/class, tc's member names; statistics members with -s.
std::string stats_json(const Stats& s) {
    return fmt::format(",\"bytes\":{},\"packets\":{},\"drops\":{},\"overlimits\":{},\"requeues\":{},\"backlog\":{},\"qlen\":{}",
                       s.bytes, s.packets, s.drops, s.overlimits, s.requeues, s.backlog_bytes, s.backlog_packets);
}

std::string qdiscs_json(const Port& port, bool dev_given, bool stats) {
    std::string out;
    const auto add = [&](const std::string& body) { out += (out.empty() ? "" : ",") + ("{" + body + "}"); };
    const std::string dev = dev_given ? "" : fmt::format(",\"dev\":\"{}\"", port.spec.name);
    if (!port.root) add(fmt::format("\"kind\":\"noqueue\",\"handle\":\"0:\"{},\"root\":true,\"refcnt\":2,\"options\":{{}}{}", dev,
                                    stats ? stats_json({}) : ""));
    for (const Qdisc* q : port_qdiscs(port)) {
        if (q->invisible) continue;
        const bool root = q == port.root.get();
        add(fmt::format("\"kind\":\"{}\",\"handle\":\"{:x}:\"{},{},\"options\":{{{}}}{}", q->kind, q->handle >> 16, dev,
                        root ? std::string("\"root\":true,\"refcnt\":2") : fmt::format("\"parent\":\"{}\"", format_classid(q->parent)),
                        q->options_json(), stats ? stats_json(q->stats) : ""));
    }
    if (port.mini)
        add(fmt::format("\"kind\":\"{}\",\"handle\":\"ffff:\"{},\"parent\":\"ffff:fff1\",\"options\":{{}}{}",
                        port.mini->clsact ? "clsact" : "ingress", dev, stats ? stats_json(port.mini->stats) : ""));
    return "[" + out + "]";
}

std::string classes_json(const Port& port, bool dev_given, bool stats) {
    std::string out;
    for (const Qdisc* q : port_qdiscs(port)) {
        std::vector<ClassView> views;
        q->classes(views);
        for (const ClassView& c : views) {
            out += fmt::format("{}{{\"class\":\"{}\",\"handle\":\"{}\"{},{}{}{}{}{}}}", out.empty() ? "" : ",", q->kind,
                               format_classid(c.classid), dev_given ? "" : fmt::format(",\"dev\":\"{}\"", port.spec.name),
                               c.parent == kHandleRoot ? std::string("\"root\":true") : fmt::format("\"parent\":\"{}\"", format_classid(c.parent)),
                               c.leaf_handle ? fmt::format(",\"leaf\":\"{:x}:\"", c.leaf_handle >> 16) : "",
                               c.options_json.empty() ? "" : "," + c.options_json, stats ? stats_json(c.stats) : "",
                               stats && c.htb ? fmt::format(",\"xstats\":{{\"lended\":{},\"borrowed\":{},\"giants\":{},\"tokens\":{},\"ctokens\":{}}}",
                                                            c.xstats.lends, c.xstats.borrows, c.xstats.giants, c.xstats.tokens, c.xstats.ctokens)
                                                : "");
        }
    }
    return "[" + out + "]";
}

}  // namespace

std::string show_command(const Pipeline::State& state, const Command& command) {
    std::string out;
    if (const auto* q = std::get_if<QdiscSpec>(&command)) {
        for (const Port* p : ports_for(state, q->dev))
            out += q->json ? qdiscs_json(*p, !q->dev.empty(), q->stats) + "\n" : show_qdiscs(*p, !q->dev.empty(), q->stats);
    }
    if (const auto* c = std::get_if<ClassSpec>(&command)) {
        for (const Port* p : ports_for(state, c->dev))
            out += c->json ? classes_json(*p, !c->dev.empty(), c->stats) + "\n" : show_classes(*p, !c->dev.empty(), c->stats);
    }
    if (const auto* f = std::get_if<FilterSpec>(&command)) {
        const std::optional<uint32_t> parent = f->parent != 0 ? std::optional<uint32_t>(f->parent) : std::nullopt;
        for (const Port* p : ports_for(state, f->dev))
            out += f->json ? filters_json(*p, parent, !f->dev.empty(), f->stats) + "\n"
                           : show_filters(state, *p, parent, !f->dev.empty(), f->stats);
    }
    if (const auto* a = std::get_if<ActionCommandSpec>(&command))
        out += a->json ? actions_json(state, a->list_kind.value_or(ActionKind::Gact), a->stats)
                       : show_actions(state, a->list_kind.value_or(ActionKind::Gact), a->stats);
    return out;
}

std::string show_everything(const Pipeline::State& state, bool stats) {
    std::string out;
    for (const auto& p : state.ports) {
        out += fmt::format("port {} ifindex {}{}\n", p->spec.name, p->ifindex,
                           p->peer ? fmt::format(" peer {}", state.port_by_ifindex(p->peer)->spec.name) : "");
        out += show_qdiscs(*p, true, stats);
        out += show_classes(*p, true, stats);
        out += show_filters(state, *p, std::nullopt, true, stats);
    }
    return out;
}

std::string show_everything_json(const Pipeline::State& state, bool stats) {
    std::string out = "[";
    for (const auto& p : state.ports) {
        if (out.size() > 1) out += ",";
        out += fmt::format("{{\"port\":\"{}\",\"ifindex\":{},\"qdiscs\":{},\"classes\":{}}}", p->spec.name, p->ifindex,
                           qdiscs_json(*p, true, stats), classes_json(*p, true, stats));
    }
    out += "]";
    for (int kind = 0; kind < 3; ++kind) {
        const char* name = action_kind_name(static_cast<ActionKind>(kind));
        std::string actions;
        for (const auto& [index, a] : state.actions[kind])
            actions += fmt::format("{}{{\"kind\":\"{}\",\"index\":{}{}}}", actions.empty() ? "" : ",", name, index,
                                   stats ? stats_json(a->stats) : "");
        if (!actions.empty()) out += ",\"" + std::string(name) + "\":[" + actions + "]";
    }
    return "{\"ports\":" + out + "}\n";
}

}  // namespace tcbpf::tc
