// A port over several receive queues of one interface (AF_XDP sockets are per queue, and a worker may
// serve more queues than one): receive() takes from each queue in turn, an epoll descriptor stands for
// all of them in poll(), transmit() goes through the first queue's socket.
#include "io/queue_group_port.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "tcbpf/error.h"

namespace tcbpf::io::detail {

namespace {

class QueueGroupPort final : public Port {
   public:
    explicit QueueGroupPort(std::vector<std::unique_ptr<Port>> queues) : queues_(std::move(queues)) {
        epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
        if (epoll_fd_ < 0) throw Error(fmt::format("{}: epoll_create1: {}", name(), std::strerror(errno)));
        for (const auto& q : queues_) {
            epoll_event event{};
            event.events = EPOLLIN;
            event.data.fd = q->fd();
            if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, q->fd(), &event) != 0) {
                const int err = errno;
                close(epoll_fd_);
                throw Error(fmt::format("{}: epoll_ctl: {}", name(), std::strerror(err)));
            }
        }
    }
    ~QueueGroupPort() override { close(epoll_fd_); }

    size_t receive(std::vector<RxFrame>& out, size_t max, int timeout_ms) override {
        size_t got = take(out, max);
        if (got > 0 || timeout_ms == 0) return got;
        epoll_event events[8];
        if (epoll_wait(epoll_fd_, events, 8, timeout_ms) > 0) got = take(out, max);
        return got;
    }

    size_t transmit(std::span<const TxFrame> frames) override { return queues_.front()->transmit(frames); }
    const std::string& name() const override { return queues_.front()->name(); }
    uint32_t ifindex() const override { return queues_.front()->ifindex(); }
    int fd() const override { return epoll_fd_; }

   private:
    // One pass over the queues without waiting, starting where the last pass left off so a busy queue
    // cannot starve the others. Every queue is visited, so each releases what it handed out last time.
    size_t take(std::vector<RxFrame>& out, size_t max) {
        size_t got = 0;
        for (size_t i = 0; i < queues_.size(); ++i) {
            Port& q = *queues_[(next_ + i) % queues_.size()];
            got += q.receive(out, max - got, 0);
        }
        next_ = (next_ + 1) % queues_.size();
        return got;
    }

    std::vector<std::unique_ptr<Port>> queues_;
    int epoll_fd_ = -1;
    size_t next_ = 0;
};

}  // namespace

std::unique_ptr<Port> group_queues(std::vector<std::unique_ptr<Port>> queues) {
    if (queues.size() == 1) return std::move(queues.front());
    return std::make_unique<QueueGroupPort>(std::move(queues));
}

}  // namespace tcbpf::io::detail
