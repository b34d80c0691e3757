// The AF_XDP port (include/tcbpf/live_port.h): an XDP socket in copy mode on one receive queue, with a
// UMEM of its own. The first ring_size chunks are for receiving: all start on the fill ring, the kernel
// copies frames into them, a chunk handed out by receive() goes back to the fill ring at the next
// receive(). The other ring_size chunks are for transmitting: a free list refilled from the completion
// ring. Copy-mode transmit happens inside sendto() (at most 32 frames per call in the kernel's generic
// path), so transmit() kicks until the ring is drained or the device pushes back.
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "io/frame_offload.h"
#include "io/queue_group_port.h"
#include "tcbpf/error.h"

// Debian 12's uapi headers predate multi-buffer AF_XDP (Linux 6.6); the values are the kernel's ABI.
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0)
#endif

namespace tcbpf::io {

namespace {

constexpr uint32_t kChunk = XSK_UMEM__DEFAULT_FRAME_SIZE;

// libxdp and the libbpf under it report through global print hooks: while a socket is set up, their
// last warning is kept for our error message instead of going to stderr. (libxdp probes for its
// multi-program dispatcher and falls back to attaching its program alone, warning on the way.)
std::mutex libxdp_log_mutex;
std::string libxdp_last_warning;
void keep_warning(const char* format, va_list args) {
    char text[512];
    const int n = std::vsnprintf(text, sizeof text, format, args);
    std::string line(text, n > 0 ? std::min<size_t>(static_cast<size_t>(n), sizeof text - 1) : 0);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    if (!line.empty()) libxdp_last_warning = line;
}
int capture_libxdp(enum libxdp_print_level level, const char* format, va_list args) {
    if (level == LIBXDP_WARN) keep_warning(format, args);
    return 0;
}
int capture_libbpf(enum libbpf_print_level level, const char* format, va_list args) {
    if (level == LIBBPF_WARN) keep_warning(format, args);
    return 0;
}

// While alive: libxdp's and libbpf's messages are captured (one setter at a time).
class QuietLibxdp {
   public:
    QuietLibxdp() : lock_(libxdp_log_mutex) {
        libxdp_last_warning.clear();
        previous_ = libxdp_set_print(capture_libxdp);
        previous_bpf_ = libbpf_set_print(capture_libbpf);
    }
    ~QuietLibxdp() {
        libbpf_set_print(previous_bpf_);
        libxdp_set_print(previous_);
    }
    QuietLibxdp(const QuietLibxdp&) = delete;
    QuietLibxdp& operator=(const QuietLibxdp&) = delete;

   private:
    std::lock_guard<std::mutex> lock_;
    libxdp_print_fn_t previous_;
    libbpf_print_fn_t previous_bpf_;
};

// The interface's MTU and MAC address (what AF_PACKET's metadata would carry comes from these).
void read_device(const std::string& device, uint32_t& mtu, uint8_t (&mac)[6]) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, device.c_str(), IFNAMSIZ - 1);
    if (fd >= 0 && ioctl(fd, SIOCGIFMTU, &ifr) == 0) mtu = static_cast<uint32_t>(ifr.ifr_mtu);
    if (fd >= 0 && ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) std::memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    if (fd >= 0) close(fd);
}

class AfXdpPort final : public Port {
   public:
    explicit AfXdpPort(const AfXdpOptions& options) : name_(options.device), ring_(options.ring_size) {
        ifindex_ = if_nametoindex(name_.c_str());
        if (ifindex_ == 0) throw Error(fmt::format("{}: no such interface", name_));
        if (ring_ == 0 || (ring_ & (ring_ - 1)) != 0)
            throw Error(fmt::format("{}: AF_XDP ring size {} is not a power of two", name_, ring_));
        read_device(name_, mtu_, mac_);
        try {
            setup(options);
        } catch (...) {
            close_all();
            throw;
        }
    }
    ~AfXdpPort() override { close_all(); }

    size_t receive(std::vector<RxFrame>& out, size_t max, int timeout_ms) override {
        refill();
        joined_used_ = 0;
        size_t got = 0;
        bool waited = false;
        while (got < max) {
            uint32_t index = 0;
            const uint32_t n = xsk_ring_cons__peek(&rx_, static_cast<uint32_t>(std::min<size_t>(max - got, 64)), &index);
            if (n == 0) {
                // A multi-buffer frame is published whole, so an empty ring never leaves one half read.
                if (got > 0 || waited || timeout_ms == 0) break;
                pollfd pfd{fd_, POLLIN, 0};
                if (poll(&pfd, 1, timeout_ms) <= 0) break;
                waited = true;
                continue;
            }
            for (uint32_t i = 0; i < n; ++i) {
                const xdp_desc* d = xsk_ring_cons__rx_desc(&rx_, index + i);
                held_.push_back(d->addr & ~static_cast<uint64_t>(kChunk - 1));
                std::span<uint8_t> piece{static_cast<uint8_t*>(xsk_umem__get_data(area_, d->addr)), d->len};
                if ((d->options & XDP_PKT_CONTD) || joining_) {
                    std::vector<uint8_t>& buf = joined_buffer();
                    if (!joining_) buf.clear();
                    buf.insert(buf.end(), piece.begin(), piece.end());
                    joining_ = (d->options & XDP_PKT_CONTD) != 0;
                    if (joining_) continue;
                    piece = buf;
                    ++joined_used_;
                }
                out.push_back(frame_from(piece));
                ++got;
            }
            xsk_ring_cons__release(&rx_, n);
        }
        return got;
    }

    size_t transmit(std::span<const TxFrame> frames) override {
        reclaim();
        size_t taken = 0;
        for (const TxFrame& f : frames) {
            const bool plain = !f.meta.csum_partial && f.meta.gso == Gso::None;
            bool ok;
            if (plain) {
                ok = enqueue(f.bytes);
            } else {
                // A GSO frame goes out whole or not at all: room for every segment first (at most one
                // per gso_size bytes, plus one), so a refusal never leaves half a frame sent.
                const size_t segments = f.meta.gso == Gso::None ? 1 : f.bytes.size() / std::max<uint16_t>(f.meta.gso_size, 1) + 1;
                if (scratch_.size() < f.bytes.size()) scratch_.resize(f.bytes.size());
                ok = room_for(segments) &&
                     detail::finish_for_wire(f.bytes, f.meta, scratch_, [this](std::span<const uint8_t> wire) { return enqueue(wire); });
            }
            if (!ok) break;
            ++taken;
        }
        kick();
        return taken;
    }

    const std::string& name() const override { return name_; }
    uint32_t ifindex() const override { return ifindex_; }
    int fd() const override { return fd_; }

   private:
    void setup(const AfXdpOptions& o) {
        area_size_ = static_cast<size_t>(kChunk) * ring_ * 2;
        void* area = mmap(nullptr, area_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (area == MAP_FAILED) throw Error(fmt::format("{}: UMEM of {} bytes: {}", name_, area_size_, std::strerror(errno)));
        area_ = area;
        create_umem();
        if (o.mode == XdpMode::Auto) {
            // Native first; a driver without it refuses the attach (EOPNOTSUPP) and generic mode, which
            // every interface has, takes over — on a fresh UMEM: the refused socket was bound with
            // the first one's descriptor, which holds the queue until it is closed.
            const std::string native_error = create_socket(o, XdpMode::Native);
            if (!native_error.empty()) {
                xsk_umem__delete(umem_);
                umem_ = nullptr;
                create_umem();
                if (!create_socket(o, XdpMode::Generic).empty())
                    throw Error(fmt::format("{} (native mode: {})", create_socket_error_, native_error));
            }
        } else if (!create_socket(o, o.mode).empty()) {
            throw Error(create_socket_error_);
        }
        fd_ = xsk_socket__fd(xsk_);
        for (uint32_t i = 0; i < ring_; ++i) held_.push_back(static_cast<uint64_t>(i) * kChunk);
        refill();
        for (uint32_t i = 0; i < ring_; ++i) free_tx_.push_back(static_cast<uint64_t>(ring_ + i) * kChunk);
    }

    void create_umem() {
        const xsk_umem_config config{.fill_size = ring_, .comp_size = ring_, .frame_size = kChunk, .frame_headroom = 0, .flags = 0};
        if (const int rc = xsk_umem__create(&umem_, area_, area_size_, &fill_, &comp_, &config); rc != 0) {
            umem_ = nullptr;
            throw Error(fmt::format("{}: AF_XDP UMEM: {}{}", name_, std::strerror(-rc), -rc == EPERM ? " (needs CAP_NET_RAW and CAP_BPF)" : ""));
        }
    }

    // "" once the socket exists, else why not (also kept in create_socket_error_).
    std::string create_socket(const AfXdpOptions& o, XdpMode mode) {
        xsk_socket_config config{};
        config.rx_size = ring_;
        config.tx_size = ring_;
        config.xdp_flags = mode == XdpMode::Native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
        config.bind_flags = XDP_COPY | XDP_USE_SG;
        std::string warning;
        int rc;
        {
            const QuietLibxdp quiet;
            // A socket closed a moment ago still holds its queue until the kernel's deferred UMEM
            // teardown has run: a reopen (a port re-added, a restart) waits for that, briefly.
            for (int attempt = 0;; ++attempt) {
                rc = xsk_socket__create(&xsk_, name_.c_str(), o.queue, umem_, &rx_, &tx_, &config);
                if (rc != -EBUSY || attempt == 50) break;
                usleep(10000);
            }
            warning = libxdp_last_warning;
        }
        if (rc == 0) return create_socket_error_ = "";
        xsk_ = nullptr;
        create_socket_error_ = fmt::format(
            "{}: AF_XDP socket on queue {} ({} mode): {}{}{}", name_, o.queue, mode == XdpMode::Native ? "native" : "generic",
            std::strerror(-rc), warning.empty() ? "" : " (libxdp: " + warning + ")",
            -rc == EINVAL && o.queue > 0 ? " — does the interface have that many queues?"
            : -rc == EBUSY              ? " — another AF_XDP socket or XDP program holds it?"
                                        : "");
        return create_socket_error_;
    }

    RxFrame frame_from(std::span<uint8_t> bytes) {
        RxFrame f;
        f.bytes = bytes;
        f.meta.wire_len = static_cast<uint32_t>(bytes.size());
        f.meta.ifindex = ifindex_;
        f.meta.pkt_type = packet_type(bytes);
        detail::infer_offloads(f.bytes, mtu_, f.meta);
        return f;
    }

    // As the kernel classifies by destination MAC (eth_type_trans; uapi if_packet.h values).
    uint8_t packet_type(std::span<const uint8_t> bytes) const {
        constexpr uint8_t kHost = 0, kBroadcast = 1, kMulticast = 2, kOtherHost = 3;
        if (bytes.size() < 6) return kOtherHost;
        if (bytes[0] & 1) return std::all_of(bytes.begin(), bytes.begin() + 6, [](uint8_t b) { return b == 0xff; }) ? kBroadcast : kMulticast;
        return std::memcmp(bytes.data(), mac_, 6) == 0 ? kHost : kOtherHost;
    }

    std::vector<uint8_t>& joined_buffer() {
        if (joined_used_ == joined_.size()) joined_.emplace_back();
        return joined_[joined_used_];
    }

    // Chunks handed out last time (and, at start, all receive chunks) go back to the fill ring.
    void refill() {
        if (held_.empty()) return;
        uint32_t index = 0;
        const uint32_t n = xsk_ring_prod__reserve(&fill_, static_cast<uint32_t>(held_.size()), &index);
        // The fill ring holds every receive chunk at once, so it always has room for those we return.
        for (uint32_t i = 0; i < n; ++i) *xsk_ring_prod__fill_addr(&fill_, index + i) = held_[i];
        xsk_ring_prod__submit(&fill_, n);
        held_.erase(held_.begin(), held_.begin() + n);
    }

    void reclaim() {
        uint32_t index = 0;
        const uint32_t n = xsk_ring_cons__peek(&comp_, ring_, &index);
        for (uint32_t i = 0; i < n; ++i) free_tx_.push_back(*xsk_ring_cons__comp_addr(&comp_, index + i));
        xsk_ring_cons__release(&comp_, n);
    }

    // Free chunks and transmit descriptors for `n` frames (kicking and reclaiming once if short).
    bool room_for(size_t n) {
        if (free_tx_.size() < n) {
            kick();
            reclaim();
        }
        return free_tx_.size() >= n && xsk_prod_nb_free(&tx_, static_cast<uint32_t>(n)) >= n;
    }

    bool enqueue(std::span<const uint8_t> wire) {
        if (wire.size() > kChunk) return false;
        if (free_tx_.empty()) {
            kick();
            reclaim();
            if (free_tx_.empty()) return false;
        }
        uint32_t index = 0;
        if (xsk_ring_prod__reserve(&tx_, 1, &index) != 1) return false;
        const uint64_t addr = free_tx_.back();
        free_tx_.pop_back();
        std::memcpy(xsk_umem__get_data(area_, addr), wire.data(), wire.size());
        xdp_desc* d = xsk_ring_prod__tx_desc(&tx_, index);
        d->addr = addr;
        d->len = static_cast<uint32_t>(wire.size());
        d->options = 0;
        xsk_ring_prod__submit(&tx_, 1);
        ++unsent_;
        return true;
    }

    // Copy mode sends inside sendto(), a bounded batch per call: call until the ring is empty or the
    // device pushes back (EBUSY/ENOBUFS: what is left goes out with the next kick).
    void kick() {
        while (unsent_ > 0) {
            const uint32_t before = __atomic_load_n(tx_.consumer, __ATOMIC_ACQUIRE);
            const ssize_t rc = sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0);
            const uint32_t consumed = __atomic_load_n(tx_.consumer, __ATOMIC_ACQUIRE) - before;
            unsent_ -= std::min(unsent_, consumed);
            if (rc < 0 && errno != EAGAIN) break;
            if (consumed == 0) break;
        }
    }

    void close_all() {
        const QuietLibxdp quiet;  // detaching the program, libxdp reports what it did not find
        if (xsk_ != nullptr) xsk_socket__delete(xsk_);
        xsk_ = nullptr;
        if (umem_ != nullptr) xsk_umem__delete(umem_);
        umem_ = nullptr;
        if (area_ != nullptr) munmap(area_, area_size_);
        area_ = nullptr;
        fd_ = -1;
    }

    std::string name_;
    uint32_t ring_;
    uint32_t ifindex_ = 0;
    uint32_t mtu_ = 1500;
    uint8_t mac_[6] = {};
    int fd_ = -1;
    void* area_ = nullptr;
    size_t area_size_ = 0;
    xsk_umem* umem_ = nullptr;
    xsk_socket* xsk_ = nullptr;
    xsk_ring_prod fill_{}, tx_{};
    xsk_ring_cons comp_{}, rx_{};
    std::vector<uint64_t> held_, free_tx_;
    uint32_t unsent_ = 0;
    std::vector<std::vector<uint8_t>> joined_;
    size_t joined_used_ = 0;
    bool joining_ = false;
    std::vector<uint8_t> scratch_;
    std::string create_socket_error_;
};

// Receive queues as the driver counts them (ETHTOOL_GCHANNELS: dedicated rx plus combined channels);
// 0 if it does not say.
uint32_t receive_queues(const std::string& device) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    ethtool_channels channels{};
    channels.cmd = ETHTOOL_GCHANNELS;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, device.c_str(), IFNAMSIZ - 1);
    ifr.ifr_data = reinterpret_cast<char*>(&channels);
    const bool ok = ioctl(fd, SIOCETHTOOL, &ifr) == 0;
    close(fd);
    return ok ? channels.rx_count + channels.combined_count : 0;
}

}  // namespace

std::unique_ptr<Port> open_afxdp(const AfXdpOptions& options) { return std::make_unique<AfXdpPort>(options); }

std::vector<std::unique_ptr<Port>> open_afxdp_workers(const AfXdpOptions& options, unsigned workers) {
    if (if_nametoindex(options.device.c_str()) == 0) throw Error(fmt::format("{}: no such interface", options.device));
    const uint32_t queues = std::max<uint32_t>(receive_queues(options.device), 1);
    if (queues < workers)
        throw Error(fmt::format("{}: {} AF_XDP workers need {} receive queues, the interface has {}", options.device,
                                workers, workers, queues));
    // Every queue gets a socket (a queue without one would keep its frames from tcbpf); worker w serves
    // queues w, w + workers, ...
    std::vector<std::vector<std::unique_ptr<Port>>> per_worker(workers);
    for (uint32_t q = 0; q < queues; ++q) {
        AfXdpOptions one = options;
        one.queue = q;
        per_worker[q % workers].push_back(open_afxdp(one));
    }
    std::vector<std::unique_ptr<Port>> ports;
    for (auto& group : per_worker) ports.push_back(detail::group_queues(std::move(group)));
    return ports;
}

}  // namespace tcbpf::io
