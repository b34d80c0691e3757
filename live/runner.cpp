// The live Runner (include/tcbpf/live.h): a shadow pipeline that checks every command first, the
// commands applied before start (replayed into each worker's replica at start, with the programs the
// shadow loaded), and the workers.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <tuple>

#include <fmt/format.h>

#include "live/merge_stats.h"
#include "live/open_port.h"
#include "live/worker.h"
#include "tcbpf/error.h"
#include "tcbpf/live.h"
#include "tcbpf/maps.h"

namespace tcbpf::live {

namespace {

void add(tc::Stats& into, const tc::Stats& s) {
    into.bytes += s.bytes;
    into.packets += s.packets;
    into.drops += s.drops;
    into.overlimits += s.overlimits;
    into.requeues += s.requeues;
    into.backlog_bytes += s.backlog_bytes;
    into.backlog_packets += s.backlog_packets;
}

}  // namespace

struct LivePort {
    tc::PortSpec spec;  // ifindex filled in from the device
    std::shared_ptr<io::Port> tap;
    std::shared_ptr<NetnsHandle> netns;  // where it was declared: its queues are opened there
};

struct Applied {
    tc::Command command;
    std::shared_ptr<tc::SharedLoads> loads;
};

struct Runner::Impl {
    explicit Impl(RunnerOptions o) : options(std::move(o)), shadow(pipeline_options()) {
        if (!options.log) options.log = [](std::string_view line) { std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data()); };
    }
    tc::PipelineOptions pipeline_options() const { return {.checked = options.checked, .bpffs = options.bpffs}; }

    RunnerOptions options;
    mutable std::mutex mutex;  // one control operation at a time; never taken by the workers
    tc::Pipeline shadow;       // the configuration, checked here first; carries no traffic
    std::vector<Applied> history;  // applied before start
    std::vector<LivePort> ports;
    std::vector<std::unique_ptr<Worker>> workers;
    bool started = false, stopped = false;

    // Runs `job` on every worker and waits; the first failure is rethrown after all finished.
    void on_every_worker(const std::function<void(Worker&)>& job) {
        std::vector<std::future<void>> done;
        for (auto& w : workers) done.push_back(w->post(job));
        std::exception_ptr failure;
        for (auto& f : done) {
            try {
                f.get();
            } catch (...) {
                if (!failure) failure = std::current_exception();
            }
        }
        if (failure) std::rethrow_exception(failure);
    }

    void attach(Worker& w, const LivePort& port, const OpenedPort& opened) {
        w.add_port(port.spec.name, opened.ifindex, opened.queues[w.index()], opened.receives[w.index()]);
    }

    void apply_port(tc::PortSpec spec) {
        for (const LivePort& p : ports)
            if (p.spec.name == spec.name) throw Error(fmt::format("port \"{}\" already exists", spec.name));
        if (started && spec.workers > workers.size())
            throw Error(fmt::format("port add {}: workers {} but the runner runs {} (workers are fixed once traffic flows)",
                                    spec.name, spec.workers, workers.size()));
        LivePort port;
        port.netns = std::make_shared<NetnsHandle>();
        spec.ifindex = resolve_port(spec, port.tap);
        port.spec = spec;
        auto loads = std::make_shared<tc::SharedLoads>();
        shadow.apply(spec, *loads);
        if (!started) {
            history.push_back({spec, loads});
            ports.push_back(std::move(port));
            return;
        }
        const OpenedPort opened = open_port(spec, static_cast<unsigned>(workers.size()), port.tap, port.netns->fd);
        on_every_worker([&](Worker& w) {
            w.pipeline().apply(spec, *loads);
            attach(w, port, opened);
        });
        log_port(port, opened);
        ports.push_back(std::move(port));
    }

    void log_port(const LivePort& port, const OpenedPort& opened) const {
        const auto receivers = std::count(opened.receives.begin(), opened.receives.end(), true);
        options.log(fmt::format("tcbpf: port {}: {} {} ifindex {}, {} receive queue{}", port.spec.name, port.spec.dev,
                                tc::port_type_name(port.spec.type), opened.ifindex, receivers, receivers == 1 ? "" : "s"));
    }

    unsigned worker_count() const {
        unsigned n = std::max(1u, options.workers);
        for (const LivePort& p : ports) n = std::max(n, p.spec.workers);
        return n;
    }

    // A show text rendered by every worker's replica, counters summed (merge_stats.h).
    template <typename Render>
    std::string merged(Render render) {
        std::vector<std::string> each(workers.size());
        on_every_worker([&](Worker& w) { each[w.index()] = render(w.pipeline()); });
        return merge_stats_text(each);
    }

    // Counters of every worker's replica, summed.
    template <typename Read>
    tc::Stats summed(Read read) {
        if (!started || workers.empty()) return read(shadow);
        std::vector<tc::Stats> each(workers.size());
        on_every_worker([&](Worker& w) { each[w.index()] = read(w.pipeline()); });
        tc::Stats total;
        for (const tc::Stats& s : each) add(total, s);
        return total;
    }
};

Runner::Runner(RunnerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Runner::~Runner() { stop(); }

void Runner::apply(const tc::Command& command) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mutex);
    if (tc::command_is_show(command)) return;
    if (const auto* port = std::get_if<tc::PortSpec>(&command); port && port->type != tc::PortType::Pcap) {
        s.apply_port(*port);
        return;
    }
    auto loads = std::make_shared<tc::SharedLoads>();
    s.shadow.apply(command, *loads);  // a refusal stops here: nothing changed
    if (!s.started) {
        s.history.push_back({command, loads});
        return;
    }
    s.on_every_worker([&](Worker& w) { w.pipeline().apply(command, *loads); });
}

std::string Runner::execute(const std::vector<std::string>& words, const tc::GlobalOptions& globals) {
    const tc::Command command = tc::parse_command(words, globals);
    if (tc::command_is_show(command)) return show(command);
    apply(command);
    return {};
}

std::string Runner::show(const tc::Command& command) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mutex);
    if (!s.started || !tc::command_shows_stats(command) || s.workers.empty()) return s.shadow.show(command);
    return s.merged([&](const tc::Pipeline& p) { return p.show(command); });
}

std::string Runner::show_all(bool stats, bool json) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mutex);
    auto render = [&](const tc::Pipeline& p) { return json ? p.show_all_json(stats) : p.show_all(stats); };
    if (!s.started || !stats || s.workers.empty()) return render(s.shadow);
    return s.merged(render);
}

void Runner::start() {
    Impl& s = *impl_;
    std::lock_guard lock(s.mutex);
    if (s.started) throw Error("the runner is already running");
    if (s.ports.empty()) throw Error("no live port: add one with `port add NAME dev IFACE type afpacket|afxdp|tap`");
    const unsigned count = s.worker_count();
    if (count > maps::default_ncpus())
        throw Error(fmt::format("{} workers, but per-CPU maps have a slot for each of the {} CPUs (worker i runs as CPU i)",
                                count, maps::default_ncpus()));
    std::vector<OpenedPort> opened;
    for (const LivePort& p : s.ports) opened.push_back(open_port(p.spec, count, p.tap, p.netns->fd));
    for (unsigned i = 0; i < count; ++i) {
        auto replica = std::make_unique<tc::Pipeline>(s.pipeline_options());
        for (const Applied& a : s.history) replica->apply(a.command, *a.loads);
        s.workers.push_back(std::make_unique<Worker>(i, std::move(replica), s.options.drain_timeout_ms));
        for (size_t p = 0; p < s.ports.size(); ++p) s.attach(*s.workers.back(), s.ports[p], opened[p]);
    }
    s.history.clear();
    for (size_t p = 0; p < s.ports.size(); ++p) s.log_port(s.ports[p], opened[p]);
    for (auto& w : s.workers) w->start();
    s.started = true;
    s.options.log(fmt::format("tcbpf: running, {} worker{}", count, count == 1 ? "" : "s"));
}

void Runner::stop() {
    Impl& s = *impl_;
    std::lock_guard lock(s.mutex);
    if (!s.started || s.stopped) return;
    std::vector<std::thread> stopping;
    for (auto& w : s.workers) stopping.emplace_back([&w] { w->stop(); });  // workers drain in parallel
    for (auto& t : stopping) t.join();
    s.stopped = true;
    s.options.log("tcbpf: stopped, queues drained");
}

bool Runner::running() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->started && !impl_->stopped;
}

unsigned Runner::workers() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->started ? static_cast<unsigned>(impl_->workers.size()) : impl_->worker_count();
}

std::vector<PortCounters> Runner::port_counters() const {
    const Impl& s = *impl_;
    std::lock_guard lock(s.mutex);
    std::vector<PortCounters> out;
    for (const LivePort& p : s.ports) {
        PortCounters c;
        c.name = p.spec.name;
        c.dev = p.spec.dev;
        c.type = p.spec.type;
        c.ifindex = p.spec.ifindex;
        for (const auto& w : s.workers)
            for (const auto& wp : w->ports())
                if (wp->name == p.spec.name) {
                    const PortTraffic& t = wp->traffic;
                    c.rx_packets += t.rx_packets.load(std::memory_order_relaxed);
                    c.rx_bytes += t.rx_bytes.load(std::memory_order_relaxed);
                    c.tx_packets += t.tx_packets.load(std::memory_order_relaxed);
                    c.tx_bytes += t.tx_bytes.load(std::memory_order_relaxed);
                    c.tx_errors += t.tx_errors.load(std::memory_order_relaxed);
                    c.host_packets += t.host_packets.load(std::memory_order_relaxed);
                    c.host_bytes += t.host_bytes.load(std::memory_order_relaxed);
                }
        out.push_back(std::move(c));
    }
    return out;
}

tc::Stats Runner::qdisc_stats(std::string_view dev, uint32_t handle) {
    std::lock_guard lock(impl_->mutex);
    return impl_->summed([&](const tc::Pipeline& p) { return p.qdisc_stats(dev, handle); });
}

tc::Stats Runner::class_stats(std::string_view dev, uint32_t classid) {
    std::lock_guard lock(impl_->mutex);
    return impl_->summed([&](const tc::Pipeline& p) { return p.class_stats(dev, classid); });
}

tc::Stats Runner::action_stats(tc::ActionKind kind, uint32_t index) {
    std::lock_guard lock(impl_->mutex);
    return impl_->summed([&](const tc::Pipeline& p) { return p.action_stats(kind, index); });
}

std::vector<tc::CounterSample> Runner::counters() {
    Impl& s = *impl_;
    std::lock_guard lock(s.mutex);
    if (!s.started || s.workers.empty()) return s.shadow.counters();
    std::vector<std::vector<tc::CounterSample>> each(s.workers.size());
    s.on_every_worker([&](Worker& w) { each[w.index()] = w.pipeline().counters(); });
    std::vector<tc::CounterSample> total = std::move(each[0]);
    for (size_t w = 1; w < each.size(); ++w)
        for (size_t i = 0; i < total.size() && i < each[w].size(); ++i) add(total[i].stats, each[w][i].stats);
    return total;
}

int wait_for_termination() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    int sig = 0;
    sigwait(&set, &sig);
    return sig;
}

}  // namespace tcbpf::live
