// One worker of a live Runner: a thread with its own pipeline replica, its own receive queue on each
// live port, and its own send batches. Everything here is touched only by the worker's thread, except
// the job mailbox (a mutex the per-packet path never takes: it checks one atomic flag per batch) and
// the counters (relaxed atomics written by the worker alone, summed by readers).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tcbpf/live_port.h"
#include "tcbpf/skb.h"
#include "tcbpf/tc.h"

namespace tcbpf::live {

struct PortTraffic {
    std::atomic<uint64_t> rx_packets{0}, rx_bytes{0}, tx_packets{0}, tx_bytes{0}, tx_errors{0}, host_packets{0},
        host_bytes{0};
};

// A live port as one worker sees it.
struct WorkerPort {
    std::string name;
    uint32_t ifindex = 0;
    std::shared_ptr<io::Port> port;  // a TAP port is shared by all workers (sends are single writes)
    bool receives = false;           // this worker takes frames from it
    PortTraffic traffic;
    // Frames waiting to be sent: bytes copied out of the pipeline (its buffers are reused at once).
    std::vector<std::vector<uint8_t>> pending_bytes;
    std::vector<io::TxFrame> pending;
};

class Worker {
   public:
    Worker(unsigned index, std::unique_ptr<tc::Pipeline> pipeline, unsigned drain_timeout_ms);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Runs `job` on the worker's thread between two batches (at once on the caller's thread before
    // start or after the thread ended); the future carries its exception.
    std::future<void> post(std::function<void(Worker&)> job);

    void start();
    // Drains (see live.h) and ends the thread.
    void stop();

    // Only from jobs (or before start).
    tc::Pipeline& pipeline() { return *pipeline_; }
    void add_port(std::string name, uint32_t ifindex, std::shared_ptr<io::Port> port, bool receives);
    // Readable from any thread while no job that adds a port is running.
    const std::vector<std::unique_ptr<WorkerPort>>& ports() const { return ports_; }
    unsigned index() const { return index_; }

   private:
    void run();
    void run_jobs();
    bool receive_batch(int timeout_ms);  // true if any frame came
    std::span<const uint8_t> with_vlan_tag(std::span<const uint8_t> frame, const io::FrameMeta& meta);
    void on_delivery(const tc::Delivery& d);
    void flush(WorkerPort& port);
    void flush_all();
    void drain();
    int wait_timeout_ms(uint64_t now) const;

    unsigned index_;
    std::unique_ptr<tc::Pipeline> pipeline_;
    unsigned drain_timeout_ms_;
    std::vector<std::unique_ptr<WorkerPort>> ports_;
    std::vector<WorkerPort*> by_ifindex_;  // dense index for deliveries (ifindex → port, nullptr when absent)
    std::vector<io::RxFrame> frames_;
    skb::SkbMeta gso_meta_;  // a GSO frame's arrival metadata (reused)
    std::vector<uint8_t> vlan_frame_;  // a frame with its offloaded VLAN tag put back (reused)

    int wake_fd_ = -1;  // eventfd: a job was posted or a stop requested
    std::atomic<bool> has_jobs_{false};
    std::atomic<bool> stopping_{false};
    std::mutex jobs_mutex_;
    std::vector<std::pair<std::function<void(Worker&)>, std::promise<void>>> jobs_;
    std::thread thread_;
    bool started_ = false;
};

uint64_t monotonic_ns();

}  // namespace tcbpf::live
