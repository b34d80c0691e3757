// Prometheus text format: a HELP and TYPE line per metric family, then one sample per labelled object.
// Label values escape backslash, double quote and newline as the format requires.
#include <map>

#include <fmt/format.h>

#include "ctl/exposition.h"

namespace tcbpf::ctl {

namespace {

std::string escape_label(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

class Families {
   public:
    void add(const std::string& name, const char* type, const char* help, const std::string& labels, double value) {
        Family& f = families_[name];
        if (f.header.empty()) {
            order_.push_back(name);
            f.header = fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
        }
        f.samples += labels.empty() ? fmt::format("{} {}\n", name, value) : fmt::format("{}{{{}}} {}\n", name, labels, value);
    }
    std::string text() const {
        std::string out;
        for (const std::string& name : order_) out += families_.at(name).header + families_.at(name).samples;
        return out;
    }

   private:
    struct Family {
        std::string header, samples;
    };
    std::map<std::string, Family> families_;
    std::vector<std::string> order_;
};

const char* object_name(tc::CounterSample::Object o) {
    switch (o) {
        case tc::CounterSample::Object::Qdisc: return "qdisc";
        case tc::CounterSample::Object::Class: return "class";
        case tc::CounterSample::Object::Action: return "action";
    }
    return "?";
}

}  // namespace

std::string format_prometheus(const std::vector<tc::CounterSample>& samples, const std::vector<PortCounters>& ports,
                              const DaemonCounters& daemon) {
    Families f;
    for (const PortCounters& p : ports) {
        const std::string l = fmt::format("port=\"{}\"", escape_label(p.port));
        f.add("tcbpf_port_rx_packets_total", "counter", "Frames taken from the port's input.", l, static_cast<double>(p.rx_packets));
        f.add("tcbpf_port_rx_bytes_total", "counter", "Bytes of the frames taken from the port's input.", l, static_cast<double>(p.rx_bytes));
        f.add("tcbpf_port_tx_packets_total", "counter", "Frames sent on the port's wire.", l, static_cast<double>(p.tx_packets));
        f.add("tcbpf_port_tx_bytes_total", "counter", "Bytes sent on the port's wire.", l, static_cast<double>(p.tx_bytes));
        f.add("tcbpf_port_host_packets_total", "counter", "Frames delivered to the port's host stack.", l, static_cast<double>(p.host_packets));
        f.add("tcbpf_port_input_pending", "gauge", "Frames of the port's input not taken yet.", l, static_cast<double>(p.input_pending));
    }
    for (const tc::CounterSample& s : samples) {
        const std::string object = object_name(s.object);
        const std::string l = s.dev.empty() ? fmt::format("kind=\"{}\",index=\"{}\"", s.kind, s.handle)
                                            : fmt::format("dev=\"{}\",kind=\"{}\",handle=\"{}\"", escape_label(s.dev), s.kind, s.handle);
        const auto name = [&](const char* what) { return fmt::format("tcbpf_{}_{}", object, what); };
        f.add(name("bytes_total"), "counter", "Bytes sent (tc -s: Sent N bytes).", l, static_cast<double>(s.stats.bytes));
        f.add(name("packets_total"), "counter", "Packets sent (tc -s: N pkt).", l, static_cast<double>(s.stats.packets));
        f.add(name("drops_total"), "counter", "Packets dropped (tc -s: dropped N).", l, static_cast<double>(s.stats.drops));
        f.add(name("overlimits_total"), "counter", "Overlimits (tc -s: overlimits N).", l, static_cast<double>(s.stats.overlimits));
        if (s.object == tc::CounterSample::Object::Action) continue;
        f.add(name("requeues_total"), "counter", "Requeues (tc -s: requeues N).", l, static_cast<double>(s.stats.requeues));
        f.add(name("backlog_bytes"), "gauge", "Bytes queued (tc -s: backlog Nb).", l, static_cast<double>(s.stats.backlog_bytes));
        f.add(name("backlog_packets"), "gauge", "Packets queued (tc -s: backlog Np).", l, static_cast<double>(s.stats.backlog_packets));
    }
    f.add("tcbpf_ctl_requests_total", "counter", "Control requests by outcome.", "result=\"ok\"", static_cast<double>(daemon.requests_ok));
    f.add("tcbpf_ctl_requests_total", "counter", "Control requests by outcome.", "result=\"failed\"", static_cast<double>(daemon.requests_failed));
    f.add("tcbpf_ctl_requests_total", "counter", "Control requests by outcome.", "result=\"malformed\"", static_cast<double>(daemon.requests_malformed));
    f.add("tcbpf_ctl_peers_denied_total", "counter", "Control connections refused on their credentials.", "", static_cast<double>(daemon.peers_denied));
    f.add("tcbpf_daemon_uptime_seconds", "gauge", "Seconds since the daemon started.", "", daemon.uptime_seconds);
    return f.text();
}

std::string format_port_table(const std::vector<PortCounters>& ports) {
    std::string out = fmt::format("{:<16} {:>12} {:>12} {:>12} {:>12} {:>12}\n", "port", "rx pkts", "rx bytes", "tx pkts", "host pkts", "pending");
    for (const PortCounters& p : ports)
        out += fmt::format("{:<16} {:>12} {:>12} {:>12} {:>12} {:>12}\n", p.port, p.rx_packets, p.rx_bytes, p.tx_packets, p.host_packets,
                           p.input_pending);
    return out;
}

}  // namespace tcbpf::ctl
