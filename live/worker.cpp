// The worker loop (worker.h): poll the worker's receive queues and its wake-up eventfd, run posted
// jobs between batches, push each batch through the pipeline replica, let shaped queues send as the
// clock allows, and send what left in batches per port.
#include "live/worker.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "live/offload.h"
#include "tcbpf/error.h"

namespace tcbpf::live {

namespace {

constexpr size_t kBatch = 256;       // frames taken from one port per receive
constexpr size_t kSendBatch = 64;    // frames per send call
constexpr int kIdlePollMs = 100;     // longest sleep when nothing is queued
constexpr int kRingSettleMs = 20;    // a receive ring's partly filled block is retired within this

}  // namespace

uint64_t monotonic_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

Worker::Worker(unsigned index, std::unique_ptr<tc::Pipeline> pipeline, unsigned drain_timeout_ms)
    : index_(index), pipeline_(std::move(pipeline)), drain_timeout_ms_(drain_timeout_ms) {
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) throw Error(fmt::format("worker {}: eventfd: {}", index, std::strerror(errno)));
    pipeline_->set_cpu(index);
    pipeline_->set_sink([this](const tc::Delivery& d) { on_delivery(d); });
}

Worker::~Worker() {
    stop();
    close(wake_fd_);
}

std::future<void> Worker::post(std::function<void(Worker&)> job) {
    std::promise<void> done;
    std::future<void> result = done.get_future();
    if (!started_ || !thread_.joinable()) {
        try {
            job(*this);
            done.set_value();
        } catch (...) {
            done.set_exception(std::current_exception());
        }
        return result;
    }
    {
        std::lock_guard lock(jobs_mutex_);
        jobs_.emplace_back(std::move(job), std::move(done));
    }
    has_jobs_.store(true, std::memory_order_release);
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
    return result;
}

void Worker::run_jobs() {
    std::vector<std::pair<std::function<void(Worker&)>, std::promise<void>>> jobs;
    {
        std::lock_guard lock(jobs_mutex_);
        jobs.swap(jobs_);
        has_jobs_.store(false, std::memory_order_relaxed);
    }
    for (auto& [job, done] : jobs) {
        try {
            job(*this);
            done.set_value();
        } catch (...) {
            done.set_exception(std::current_exception());
        }
    }
}

void Worker::add_port(std::string name, uint32_t ifindex, std::shared_ptr<io::Port> port, bool receives) {
    auto p = std::make_unique<WorkerPort>();
    p->name = std::move(name);
    p->ifindex = ifindex;
    p->port = std::move(port);
    p->receives = receives;
    if (by_ifindex_.size() <= ifindex) by_ifindex_.resize(ifindex + 1, nullptr);
    by_ifindex_[ifindex] = p.get();
    ports_.push_back(std::move(p));
}

void Worker::start() {
    started_ = true;
    thread_ = std::thread([this] { run(); });
}

void Worker::stop() {
    if (!thread_.joinable()) return;
    stopping_.store(true, std::memory_order_release);
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
    thread_.join();
}

void Worker::on_delivery(const tc::Delivery& d) {
    WorkerPort* port = d.ifindex < by_ifindex_.size() ? by_ifindex_[d.ifindex] : nullptr;
    if (port == nullptr) return;  // not a live port (a pcap port in a live setup has no wire)
    if (d.exit == tc::Exit::Host) {
        // The kernel gave its own stack a copy when the frame arrived; AF_PACKET only watched.
        port->traffic.host_packets.fetch_add(1, std::memory_order_relaxed);
        port->traffic.host_bytes.fetch_add(d.frame.size(), std::memory_order_relaxed);
        return;
    }
    io::FrameMeta meta;
    if (!transmit_meta(d.frame, *d.meta, meta)) {
        port->traffic.tx_errors.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const size_t slot = port->pending.size();
    if (port->pending_bytes.size() <= slot) port->pending_bytes.emplace_back();
    port->pending_bytes[slot].assign(d.frame.begin(), d.frame.end());
    port->pending.push_back(io::TxFrame{{}, meta});
    if (port->pending.size() >= kSendBatch) flush(*port);
}

void Worker::flush(WorkerPort& port) {
    if (port.pending.empty()) return;
    uint64_t bytes = 0;
    for (size_t i = 0; i < port.pending.size(); ++i) port.pending[i].bytes = port.pending_bytes[i];
    const size_t sent = port.port->transmit(port.pending);
    for (size_t i = 0; i < sent; ++i) bytes += port.pending[i].bytes.size();
    port.traffic.tx_packets.fetch_add(sent, std::memory_order_relaxed);
    port.traffic.tx_bytes.fetch_add(bytes, std::memory_order_relaxed);
    port.traffic.tx_errors.fetch_add(port.pending.size() - sent, std::memory_order_relaxed);
    port.pending.clear();
}

void Worker::flush_all() {
    for (auto& p : ports_) flush(*p);
}

bool Worker::receive_batch(int timeout_ms) {
    bool any = false;
    for (auto& p : ports_) {
        if (!p->receives) continue;
        frames_.clear();
        const size_t n = p->port->receive(frames_, kBatch, timeout_ms);
        if (n == 0) continue;
        any = true;
        const uint64_t now = monotonic_ns();
        uint64_t bytes = 0;
        for (const io::RxFrame& f : frames_) {
            bytes += f.bytes.size();
            std::span<const uint8_t> frame = f.bytes;
            if (f.meta.vlan_present) frame = with_vlan_tag(frame, f.meta);
            if (f.meta.gso == io::Gso::None) {
                pipeline_->receive(p->ifindex, frame, now);  // the common case: no metadata to carry
            } else {
                gso_meta_ = arrival_meta(frame, f.meta);
                pipeline_->receive(p->ifindex, frame, now, gso_meta_);
            }
        }
        p->traffic.rx_packets.fetch_add(n, std::memory_order_relaxed);
        p->traffic.rx_bytes.fetch_add(bytes, std::memory_order_relaxed);
    }
    return any;
}

// The kernel moved the frame's outer VLAN tag into metadata (veth offloads it); the pipeline receives
// frames as the wire has them and applies its port's vlan-offload setting itself, so the tag goes back.
std::span<const uint8_t> Worker::with_vlan_tag(std::span<const uint8_t> frame, const io::FrameMeta& meta) {
    if (frame.size() < 12) return frame;
    const uint16_t tpid = meta.vlan_tpid != 0 ? meta.vlan_tpid : 0x8100;
    vlan_frame_.assign(frame.begin(), frame.begin() + 12);
    const uint8_t tag[4] = {static_cast<uint8_t>(tpid >> 8), static_cast<uint8_t>(tpid), static_cast<uint8_t>(meta.vlan_tci >> 8),
                            static_cast<uint8_t>(meta.vlan_tci)};
    vlan_frame_.insert(vlan_frame_.end(), std::begin(tag), std::end(tag));
    vlan_frame_.insert(vlan_frame_.end(), frame.begin() + 12, frame.end());
    return vlan_frame_;
}

int Worker::wait_timeout_ms(uint64_t now) const {
    const uint64_t wake = pipeline_->next_wakeup();
    if (wake == UINT64_MAX) return kIdlePollMs;
    if (wake <= now) return 0;
    return static_cast<int>(std::min<uint64_t>((wake - now + 999999) / 1000000, kIdlePollMs));
}

void Worker::run() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);  // SIGTERM/SIGINT belong to the thread that waits for them
    std::vector<pollfd> fds;
    while (!stopping_.load(std::memory_order_acquire)) {
        fds.clear();
        fds.push_back({wake_fd_, POLLIN, 0});
        for (const auto& p : ports_)
            if (p->receives) fds.push_back({p->port->fd(), POLLIN, 0});
        poll(fds.data(), fds.size(), wait_timeout_ms(monotonic_ns()));
        if (fds[0].revents & POLLIN) {
            uint64_t count;
            (void)!read(wake_fd_, &count, sizeof count);
        }
        if (has_jobs_.load(std::memory_order_acquire)) run_jobs();
        receive_batch(0);
        pipeline_->advance(monotonic_ns());
        flush_all();
    }
    drain();
    if (has_jobs_.load(std::memory_order_acquire)) run_jobs();
}

void Worker::drain() {
    // What already sits in the rings: the kernel hands over a partly filled block only after its
    // timeout (io/DESIGN.md), so wait a little longer than that for each port before calling it empty.
    while (receive_batch(kRingSettleMs)) flush_all();
    const uint64_t deadline = monotonic_ns() + uint64_t{drain_timeout_ms_} * 1000000u;
    for (uint64_t now = monotonic_ns(); pipeline_->next_wakeup() != UINT64_MAX && now < deadline; now = monotonic_ns()) {
        const uint64_t until = std::min(pipeline_->next_wakeup(), deadline);
        if (until > now) {
            const timespec pause{static_cast<time_t>((until - now) / 1000000000u), static_cast<long>((until - now) % 1000000000u)};
            nanosleep(&pause, nullptr);
        }
        pipeline_->advance(monotonic_ns());
        flush_all();
    }
    pipeline_->drain();  // past the deadline: whatever is still queued leaves now
    flush_all();
}

}  // namespace tcbpf::live
