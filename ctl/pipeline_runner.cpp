// The daemon's runner over a tc::Pipeline and pcap ports: one data thread replays the ports' input
// captures at their own pace and writes what leaves into their output captures.
//
// Atomicity is a mutex: the data thread holds it while it pushes a batch of frames through, and
// `apply` holds it while the pipeline applies a command, so every packet is processed wholly under one
// configuration. The slow part of a command (loading and verifying programs) happens before, on a
// shadow pipeline without traffic (tc::SharedLoads hands its programs to the real one), so the lock is
// held only for the switch. Batches are short (kBatch frames) so a command waits at most one batch. What apply
// needs from the file system (the input capture, the output files) is opened before the lock is
// taken, so a port that cannot be opened is refused before anything changes. A control request
// announces itself (waiting_) so the data thread steps aside between batches rather than racing it for
// the mutex.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "ctl/log.h"
#include "tcbpf/daemon.h"
#include "tcbpf/pcap.h"

namespace tcbpf::ctl {

namespace {

constexpr size_t kBatch = 64;
constexpr auto kIdleWait = std::chrono::milliseconds(50);
constexpr auto kMinWait = std::chrono::microseconds(50);

template <class Clock>
uint64_t clock_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}
uint64_t monotonic_ns() { return clock_ns<std::chrono::steady_clock>(); }

struct PortIo {
    uint32_t ifindex = 0;
    std::vector<io::Frame> input;
    size_t next = 0;
    std::optional<uint64_t> started_at;  // virtual time the replay began
    std::unique_ptr<io::PcapWriter> wire, host;
    PortCounters counters;

    // Virtual time at which input frame i is due.
    uint64_t due(size_t i) const { return *started_at + (input[i].timestamp_ns - input[0].timestamp_ns); }
};

class PipelineRunner final : public Runner {
   public:
    explicit PipelineRunner(const tc::PipelineOptions& options) : shadow_(options), pipeline_(options), epoch_(monotonic_ns()), wall_epoch_(clock_ns<std::chrono::system_clock>()) {
        pipeline_.set_sink([this](const tc::Delivery& d) { deliver(d); });
    }
    ~PipelineRunner() override { stop(); }

    void apply(const tc::Command& command) override {
        std::unique_ptr<PortIo> io;
        if (const auto* port = std::get_if<tc::PortSpec>(&command)) io = open_port(*port);
        // The shadow carries no traffic: the command is checked and its programs loaded and verified
        // there while packets keep flowing; a refusal stops here, with nothing changed anywhere.
        tc::SharedLoads loads;
        shadow_.apply(command, loads);
        const auto lock = control_lock();
        if (stopped_) throw Error("the pipeline is stopping");
        try {
            pipeline_.apply(command, loads);  // the same configuration takes the same programs: only the switch is under the lock
        } catch (const Error& e) {
            log(Level::Error, "runner.diverged", fmt::format("error={} (the shadow accepted what the pipeline refused)", log_value(e.what())));
            throw;
        }
        if (io) {
            io->ifindex = pipeline_.ifindex(io->counters.port);
            if (running_) io->started_at = now();
            ports_.push_back(std::move(io));
            wake_.notify_one();
        }
    }

    std::string show(const tc::Command& command) override {
        const auto lock = control_lock();
        return pipeline_.show(command);
    }

    std::vector<tc::CounterSample> counters() override {
        const auto lock = control_lock();
        return pipeline_.counters();
    }

    std::vector<PortCounters> port_counters() override {
        const auto lock = control_lock();
        std::vector<PortCounters> out;
        for (const auto& p : ports_) {
            out.push_back(p->counters);
            out.back().input_pending = p->input.size() - p->next;
        }
        return out;
    }

    void start() override {
        const auto lock = control_lock();
        if (running_ || stopped_) return;
        running_ = true;
        for (auto& p : ports_) p->started_at = now();
        thread_ = std::thread([this] { run(); });
    }

    void stop() override {
        {
            const auto lock = control_lock();
            if (stopped_) return;
            stopped_ = true;
            wake_.notify_one();
        }
        if (thread_.joinable()) thread_.join();
        std::lock_guard lock(mutex_);
        pipeline_.drain();
        for (auto& p : ports_)
            for (auto* writer : {&p->wire, &p->host})
                if (*writer) {
                    try {
                        (*writer)->close();
                    } catch (const Error& e) {
                        log(Level::Error, "port.output", fmt::format("port={} error={}", p->counters.port, log_value(e.what())));
                    }
                    writer->reset();
                }
    }

   private:
    uint64_t now() const { return monotonic_ns() - epoch_; }

    std::unique_lock<std::mutex> control_lock() {
        ++waiting_;
        std::unique_lock lock(mutex_);
        --waiting_;
        return lock;
    }

    static std::unique_ptr<PortIo> open_port(const tc::PortSpec& spec) {
        auto io = std::make_unique<PortIo>();
        io->counters.port = spec.name;
        if (!spec.in.empty()) io->input = io::read_pcap(spec.in);
        if (!spec.out.empty()) io->wire = std::make_unique<io::PcapWriter>(spec.out);
        if (!spec.host.empty()) io->host = std::make_unique<io::PcapWriter>(spec.host);
        return io;
    }

    // The sink: called on the data thread with the lock held.
    void deliver(const tc::Delivery& d) {
        for (auto& p : ports_) {
            if (p->ifindex != d.ifindex) continue;
            const bool wire = d.exit == tc::Exit::Wire;
            (wire ? p->counters.tx_packets : p->counters.host_packets) += 1;
            (wire ? p->counters.tx_bytes : p->counters.host_bytes) += d.frame.size();
            auto& writer = wire ? p->wire : p->host;
            if (!writer) return;
            try {
                writer->write(d.frame, wall_epoch_ + d.time_ns);
            } catch (const Error& e) {
                log(Level::Error, "port.output", fmt::format("port={} error={} (output closed)", p->counters.port, log_value(e.what())));
                writer.reset();
            }
            return;
        }
    }

    // The data thread: due frames in time order across ports, a batch at a time.
    void run() {
        std::unique_lock lock(mutex_);
        while (!stopped_) {
            const uint64_t t = now();
            uint64_t next_due = UINT64_MAX;
            size_t done = 0;
            while (done < kBatch) {
                PortIo* earliest = nullptr;
                for (auto& p : ports_)
                    if (p->started_at && p->next < p->input.size() && (earliest == nullptr || p->due(p->next) < earliest->due(earliest->next)))
                        earliest = p.get();
                if (earliest == nullptr) break;
                const uint64_t due = earliest->due(earliest->next);
                if (due > t) {
                    next_due = due;
                    break;
                }
                const io::Frame& f = earliest->input[earliest->next++];
                earliest->counters.rx_packets += 1;
                earliest->counters.rx_bytes += f.bytes.size();
                pipeline_.receive(earliest->ifindex, f.bytes, t);
                ++done;
            }
            pipeline_.advance(t);
            if (waiting_.load() > 0) {  // a control request goes first, between two batches
                lock.unlock();
                while (waiting_.load() > 0) std::this_thread::sleep_for(std::chrono::microseconds(20));
                lock.lock();
                continue;
            }
            if (done == kBatch) continue;  // more may be due already
            const uint64_t wakeup = std::min(next_due, pipeline_.next_wakeup());
            // At least kMinWait: a qdisc whose wakeup is already past (one that never frees up) must not
            // turn this loop into a spin.
            const auto wait = wakeup == UINT64_MAX ? std::chrono::nanoseconds(kIdleWait)
                                                   : std::clamp<std::chrono::nanoseconds>(std::chrono::nanoseconds(wakeup > t ? wakeup - t : 0), kMinWait, kIdleWait);
            wake_.wait_for(lock, wait);
        }
    }

    tc::Pipeline shadow_;    // the configuration alone: commands are checked and built here first
    tc::Pipeline pipeline_;  // the same configuration, carrying the traffic
    const uint64_t epoch_;       // monotonic time of virtual time 0
    const uint64_t wall_epoch_;  // wall-clock time of virtual time 0, for output timestamps
    std::atomic<int> waiting_{0};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<std::unique_ptr<PortIo>> ports_;
    bool running_ = false;
    bool stopped_ = false;
    std::thread thread_;
};

}  // namespace

std::unique_ptr<Runner> make_pipeline_runner(const tc::PipelineOptions& options) {
    return std::make_unique<PipelineRunner>(options);
}

}  // namespace tcbpf::ctl
