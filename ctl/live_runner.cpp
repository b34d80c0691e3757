// The daemon's runners for live ports: an adapter over live::Runner (workers on AF_PACKET/AF_XDP/TAP
// queues, configuration switched between batches), and the runner `tcbpf daemon` uses by default,
// which lets the first port decide: a live port makes it a live daemon, a pcap port a replay daemon.
// The two kinds do not mix in one daemon (a pcap port would get no traffic from the live workers).
#include <fmt/format.h>

#include "ctl/log.h"
#include "tcbpf/daemon.h"
#include "tcbpf/live.h"

namespace tcbpf::ctl {

namespace {

bool is_live_port(const tc::Command& command) {
    const auto* port = std::get_if<tc::PortSpec>(&command);
    return port != nullptr && port->type != tc::PortType::Pcap;
}

class LiveRunner final : public Runner {
   public:
    explicit LiveRunner(const tc::PipelineOptions& options)
        : runner_(live::RunnerOptions{.checked = options.checked,
                                      .bpffs = options.bpffs,
                                      .workers = 1,
                                      .drain_timeout_ms = 2000,
                                      .log = [](std::string_view line) { log(Level::Info, "live", fmt::format("msg={}", log_value(line))); }}) {}

    void apply(const tc::Command& command) override {
        runner_.apply(command);
        // Workers start with the first live port: before it there is nothing to receive from.
        if (start_requested_ && !runner_.running() && is_live_port(command)) runner_.start();
    }
    std::string show(const tc::Command& command) override { return runner_.show(command); }
    std::vector<tc::CounterSample> counters() override { return runner_.counters(); }
    std::vector<PortCounters> port_counters() override {
        std::vector<PortCounters> out;
        for (const live::PortCounters& p : runner_.port_counters())
            out.push_back({.port = p.name, .rx_packets = p.rx_packets, .rx_bytes = p.rx_bytes, .tx_packets = p.tx_packets,
                           .tx_bytes = p.tx_bytes, .host_packets = p.host_packets, .host_bytes = p.host_bytes, .input_pending = 0});
        return out;
    }
    void start() override {
        start_requested_ = true;
        if (!runner_.port_counters().empty()) runner_.start();
    }
    void stop() override { runner_.stop(); }

   private:
    live::Runner runner_;
    bool start_requested_ = false;
};

class FirstPortDecides final : public Runner {
   public:
    explicit FirstPortDecides(const tc::PipelineOptions& options) : options_(options) {}

    void apply(const tc::Command& command) override {
        if (const auto* port = std::get_if<tc::PortSpec>(&command)) {
            const bool live = port->type != tc::PortType::Pcap;
            if (!chosen_) {
                chosen_ = live ? make_live_runner(options_) : make_pipeline_runner(options_);
                live_ = live;
                log(Level::Info, "daemon.runner", fmt::format("kind={} first_port={}", live ? "live" : "pcap", port->name));
                if (started_) chosen_->start();
            } else if (live != live_) {
                throw Error(fmt::format("port add {}: this daemon runs {} ports (its first port chose); {} and {} ports cannot be mixed",
                                        port->name, live_ ? "live" : "pcap", "live", "pcap"));
            }
        }
        runner().apply(command);
    }
    std::string show(const tc::Command& command) override { return runner().show(command); }
    std::vector<tc::CounterSample> counters() override { return runner().counters(); }
    std::vector<PortCounters> port_counters() override { return runner().port_counters(); }
    void start() override {
        started_ = true;
        if (chosen_) chosen_->start();
    }
    void stop() override {
        if (chosen_) chosen_->stop();
    }

   private:
    // Before any port, commands that need none (`actions add ...`) go to a pcap runner.
    Runner& runner() {
        if (!chosen_) {
            chosen_ = make_pipeline_runner(options_);
            live_ = false;
            if (started_) chosen_->start();
        }
        return *chosen_;
    }

    tc::PipelineOptions options_;
    std::unique_ptr<Runner> chosen_;
    bool live_ = false;
    bool started_ = false;
};

}  // namespace

std::unique_ptr<Runner> make_live_runner(const tc::PipelineOptions& options) { return std::make_unique<LiveRunner>(options); }

std::unique_ptr<Runner> make_runner_for_ports(const tc::PipelineOptions& options) { return std::make_unique<FirstPortDecides>(options); }

}  // namespace tcbpf::ctl
