// The TAP port: tcbpf creates a TAP device (gone when the port closes) and is the wire behind it. The
// device takes checksum offload (TUN_F_CSUM): the host's stack hands over frames with unfinished
// checksums, which the virtio-net header in front of each frame describes and this port completes;
// without TSO offloads the kernel segments before the device, so no GSO frame arrives here.
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "io/vnet.h"
#include "tcbpf/error.h"

namespace tcbpf::io {

namespace {

constexpr size_t kMaxFrame = 65536 + 14 + 4;

class TapPort final : public Port {
   public:
    explicit TapPort(const TapOptions& options) : name_(options.name) {
        if (options.name.empty() || options.name.size() >= IFNAMSIZ)
            throw Error(fmt::format("\"{}\" is not a valid interface name", options.name));
        fd_ = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd_ < 0) throw Error(fmt::format("{}: /dev/net/tun: {}", name_, std::strerror(errno)));
        ifreq ifr{};
        std::memcpy(ifr.ifr_name, name_.c_str(), name_.size());
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
        if (ioctl(fd_, TUNSETIFF, &ifr) != 0) fail("TUNSETIFF");
        if (ioctl(fd_, TUNSETOFFLOAD, static_cast<unsigned long>(TUN_F_CSUM)) != 0) fail("TUNSETOFFLOAD");
        ifindex_ = if_nametoindex(name_.c_str());
    }
    ~TapPort() override {
        if (fd_ >= 0) close(fd_);
    }

    size_t receive(std::vector<RxFrame>& out, size_t max, int timeout_ms) override {
        if (buffers_.size() < max) buffers_.resize(max, std::vector<uint8_t>(sizeof(detail::virtio_net_hdr) + kMaxFrame));
        size_t got = 0;
        bool waited = false;
        while (got < max) {
            std::vector<uint8_t>& buf = buffers_[got];
            const ssize_t n = read(fd_, buf.data(), buf.size());
            if (n < 0) {
                if (errno != EAGAIN || got > 0 || waited || timeout_ms == 0) break;
                pollfd pfd{fd_, POLLIN, 0};
                if (poll(&pfd, 1, timeout_ms) <= 0) break;
                waited = true;
                continue;
            }
            if (static_cast<size_t>(n) <= sizeof(detail::virtio_net_hdr)) continue;
            detail::virtio_net_hdr vnet;
            std::memcpy(&vnet, buf.data(), sizeof vnet);
            RxFrame f;
            f.bytes = {buf.data() + sizeof vnet, static_cast<size_t>(n) - sizeof vnet};
            f.meta.wire_len = static_cast<uint32_t>(f.bytes.size());
            f.meta.ifindex = ifindex_;
            detail::apply_vnet_header(vnet, f.bytes, f.meta);
            out.push_back(f);
            ++got;
        }
        return got;
    }

    size_t transmit(std::span<const TxFrame> frames) override {
        size_t sent = 0;
        for (const TxFrame& f : frames) {
            detail::virtio_net_hdr hdr = detail::vnet_header_for(f.meta);
            iovec iov[2] = {{&hdr, sizeof hdr}, {const_cast<uint8_t*>(f.bytes.data()), f.bytes.size()}};
            if (writev(fd_, iov, 2) < 0) break;
            ++sent;
        }
        return sent;
    }

    const std::string& name() const override { return name_; }
    uint32_t ifindex() const override { return ifindex_; }
    int fd() const override { return fd_; }

   private:
    [[noreturn]] void fail(const char* step) {
        const int err = errno;
        close(fd_);
        fd_ = -1;
        throw Error(fmt::format("{}: {}: {}{}", name_, step, std::strerror(err), err == EPERM ? " (needs CAP_NET_ADMIN)" : ""));
    }

    std::string name_;
    uint32_t ifindex_ = 0;
    int fd_ = -1;
    std::vector<std::vector<uint8_t>> buffers_;
};

}  // namespace

std::unique_ptr<Port> open_tap(const TapOptions& options) { return std::make_unique<TapPort>(options); }

}  // namespace tcbpf::io
