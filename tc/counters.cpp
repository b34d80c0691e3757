// Pipeline::counters: the objects `tc -s` reports, as typed samples an exporter can label without
// parsing show output. Hidden default child qdiscs are left out, as `tc qdisc show` leaves them out.
#include <fmt/format.h>

#include "tc/apply.h"

namespace tcbpf::tc {

std::vector<CounterSample> Pipeline::counters() const {
    using Object = CounterSample::Object;
    std::vector<CounterSample> out;
    for (const auto& port : state_->ports) {
        const std::string& dev = port->spec.name;
        if (port->mini) out.push_back({Object::Qdisc, dev, port->mini->clsact ? "clsact" : "ingress", "ffff:", port->mini->stats});
        for (const Qdisc* q : port_qdiscs(*port)) {
            if (q->invisible) continue;
            out.push_back({Object::Qdisc, dev, q->kind, format_classid(q->handle), q->stats});
            std::vector<ClassView> views;
            q->classes(views);
            for (const ClassView& c : views) out.push_back({Object::Class, dev, q->kind, format_classid(c.classid), c.stats});
        }
    }
    static constexpr const char* kActionKinds[] = {"gact", "bpf", "mirred"};
    for (int kind = 0; kind < 3; ++kind)
        for (const auto& [index, action] : state_->actions[kind])
            out.push_back({Object::Action, "", kActionKinds[kind], std::to_string(index), action->stats});
    return out;
}

}  // namespace tcbpf::tc
