// Pipeline: the public face over the state (apply_*.cpp), the datapath (datapath.cpp) and the show
// printers (show.cpp), plus offline runs over the ports' captures.
#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "tc/apply.h"
#include "tcbpf/pcap.h"

namespace tcbpf::tc {

std::string show_command(const Pipeline::State& state, const Command& command);
std::string show_everything(const Pipeline::State& state, bool stats);
std::string show_everything_json(const Pipeline::State& state, bool stats);

Pipeline::Pipeline(const PipelineOptions& options) : state_(std::make_unique<State>()) {
    state_->load_options.checked = options.checked;
    state_->load_options.bpffs = options.bpffs;
}
Pipeline::~Pipeline() = default;

void Pipeline::apply(const Command& command) {
    State& s = *state_;
    std::visit(
        [&](const auto& spec) {
            using T = std::decay_t<decltype(spec)>;
            if constexpr (std::is_same_v<T, PortSpec>) apply_port(s, spec);
            else if constexpr (std::is_same_v<T, PeerSpec>) apply_peer(s, spec);
            else if constexpr (std::is_same_v<T, QdiscSpec>) { if (spec.verb != Verb::Show) apply_qdisc(s, spec); }
            else if constexpr (std::is_same_v<T, ClassSpec>) { if (spec.verb != Verb::Show) apply_class(s, spec); }
            else if constexpr (std::is_same_v<T, FilterSpec>) { if (spec.verb != Verb::Show && spec.verb != Verb::Get) apply_filter(s, spec); }
            else if constexpr (std::is_same_v<T, ActionCommandSpec>) { if (spec.verb != Verb::Show) apply_actions_command(s, spec); }
        },
        command);
}

std::string Pipeline::execute(const std::vector<std::string>& words, const GlobalOptions& globals) {
    const Command command = parse_command(words, globals);
    if (command_is_show(command)) return show(command);
    apply(command);
    return {};
}

std::string Pipeline::show(const Command& command) const { return show_command(*state_, command); }
std::string Pipeline::show_all(bool stats) const { return show_everything(*state_, stats); }
std::string Pipeline::show_all_json(bool stats) const { return show_everything_json(*state_, stats); }

void Pipeline::receive(uint32_t ifindex, std::span<const uint8_t> frame, uint64_t time_ns) {
    // A fresh skb: copying one zeroed SkbMeta in is cheaper than zeroing a temporary per packet (which
    // compiles to rep stos, and the copy out of it then stalls on those stores).
    static const skb::SkbMeta kFresh{};
    receive(ifindex, frame, time_ns, kFresh);
}

void Pipeline::receive(uint32_t ifindex, std::span<const uint8_t> frame, uint64_t time_ns, const skb::SkbMeta& arrival) {
    Port* port = state_->datapath.arrival_port(ifindex);
    if (port == nullptr) return;
    state_->datapath.advance(time_ns);
    state_->datapath.receive(*port, frame, time_ns, arrival);
}

void Pipeline::set_cpu(uint32_t cpu) { state_->datapath.scratch.cpu = cpu; }

void Pipeline::advance(uint64_t time_ns) { state_->datapath.advance(time_ns); }
uint64_t Pipeline::next_wakeup() const { return state_->datapath.next_wakeup(); }

void Pipeline::drain() {
    for (uint64_t wake = next_wakeup(); wake != UINT64_MAX; wake = next_wakeup()) {
        const uint64_t before = state_->datapath.now();
        advance(std::max(wake, before));
        if (next_wakeup() == wake && state_->datapath.now() == before) break;  // a qdisc that never frees up
    }
}

void Pipeline::run_captures() {
    struct Input {
        uint32_t ifindex;
        std::vector<io::Frame> frames;
        size_t next = 0;
    };
    std::vector<Input> inputs;
    std::vector<std::unique_ptr<io::PcapWriter>> wire(state_->ports.size()), host(state_->ports.size());
    for (size_t i = 0; i < state_->ports.size(); ++i) {
        const Port& p = *state_->ports[i];
        if (!p.spec.in.empty()) inputs.push_back(Input{p.ifindex, io::read_pcap(p.spec.in)});
        if (!p.spec.out.empty()) wire[i] = std::make_unique<io::PcapWriter>(p.spec.out);
        if (!p.spec.host.empty()) host[i] = std::make_unique<io::PcapWriter>(p.spec.host);
    }
    auto previous = std::move(state_->datapath.sink);
    state_->datapath.sink = [&, this](const Delivery& d) {
        for (size_t i = 0; i < state_->ports.size(); ++i)
            if (state_->ports[i]->ifindex == d.ifindex) {
                auto& writer = d.exit == Exit::Wire ? wire[i] : host[i];
                if (writer) writer->write(d.frame, d.time_ns);
            }
        if (previous) previous(d);
    };
    // Frames of all ports in timestamp order; ties keep port order, so a run is repeatable.
    while (true) {
        Input* earliest = nullptr;
        for (Input& in : inputs)
            if (in.next < in.frames.size() &&
                (earliest == nullptr || in.frames[in.next].timestamp_ns < earliest->frames[earliest->next].timestamp_ns))
                earliest = &in;
        if (earliest == nullptr) break;
        const io::Frame& f = earliest->frames[earliest->next++];
        receive(earliest->ifindex, f.bytes, f.timestamp_ns);
    }
    drain();
    state_->datapath.sink = std::move(previous);
    for (auto& w : wire)
        if (w) w->close();
    for (auto& w : host)
        if (w) w->close();
}

void Pipeline::set_sink(std::function<void(const Delivery&)> sink) { state_->datapath.sink = std::move(sink); }

void Pipeline::set_trace(std::function<void(std::string_view)> trace) {
    if (!trace) {
        state_->datapath.trace = nullptr;
        return;
    }
    state_->datapath.trace = [t = std::move(trace)](const std::string& line) { t(line); };
}

uint32_t Pipeline::ifindex(std::string_view port) const { return state_->port_or_throw(port).ifindex; }

Stats Pipeline::qdisc_stats(std::string_view dev, uint32_t handle) const {
    const Port& port = state_->port_or_throw(dev);
    if (handle == kClsactHandle && port.mini) return port.mini->stats;
    if (const Qdisc* q = find_qdisc(port, handle)) return q->stats;
    throw Error(fmt::format("no qdisc {} on {}", format_classid(handle), dev));
}

Stats Pipeline::class_stats(std::string_view dev, uint32_t classid) const {
    const Port& port = state_->port_or_throw(dev);
    for (const Qdisc* q : port_qdiscs(port)) {
        std::vector<ClassView> views;
        q->classes(views);
        for (const ClassView& c : views)
            if (c.classid == classid) return c.stats;
    }
    throw Error(fmt::format("no class {} on {}", format_classid(classid), dev));
}

HtbXstats Pipeline::htb_xstats(std::string_view dev, uint32_t classid) const {
    const Port& port = state_->port_or_throw(dev);
    for (const Qdisc* q : port_qdiscs(port)) {
        std::vector<ClassView> views;
        q->classes(views);
        for (const ClassView& c : views)
            if (c.classid == classid && c.htb) return c.xstats;
    }
    throw Error(fmt::format("no htb class {} on {}", format_classid(classid), dev));
}

Stats Pipeline::action_stats(ActionKind kind, uint32_t index) const {
    const auto& table = state_->actions[static_cast<int>(kind)];
    const auto it = table.find(index);
    if (it == table.end()) throw Error(fmt::format("no action with index {}", index));
    return it->second->stats;
}

uint64_t Pipeline::now_ns() const { return state_->datapath.now(); }

}  // namespace tcbpf::tc
