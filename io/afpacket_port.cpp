// The AF_PACKET port. Receive: a TPACKET_V3 ring of blocks the kernel fills and hands over whole (when
// full or after the block timeout), read in place; a block is given back once every frame in it has
// been handed out and the caller came back for more. Each frame is preceded by its virtio-net header
// (PACKET_VNET_HDR), which says whether its checksum is unfinished. Transmit: a memory-mapped TX ring
// (TPACKET_V3 slots of a fixed size, each a virtio-net header plus the frame, handed to the kernel
// with one send() per batch), or sendmmsg batches; a frame too large for a slot goes through
// sendmmsg after the ring was flushed, so order holds. Outgoing frames are not looped back to the ring
// (PACKET_IGNORE_OUTGOING), so a port never receives what it sent.
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "io/vnet.h"
#include "tcbpf/error.h"

namespace tcbpf::io {

namespace {

std::string errno_text() { return std::strerror(errno); }

class AfPacketPort final : public Port {
   public:
    explicit AfPacketPort(const AfPacketOptions& options) : name_(options.device) {
        ifindex_ = if_nametoindex(options.device.c_str());
        if (ifindex_ == 0) throw Error(fmt::format("{}: no such interface", options.device));
        fd_ = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
        if (fd_ < 0)
            throw Error(fmt::format("{}: AF_PACKET socket: {}{}", options.device, errno_text(),
                                    errno == EPERM ? " (needs CAP_NET_RAW)" : ""));
        try {
            setup(options);
        } catch (...) {
            close_all();
            throw;
        }
    }
    ~AfPacketPort() override { close_all(); }

    size_t receive(std::vector<RxFrame>& out, size_t max, int timeout_ms) override {
        release_consumed();
        size_t got = 0;
        bool waited = false;
        while (got < max) {
            tpacket_block_desc* block = block_at(current_);
            if (!(__atomic_load_n(&block->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
                if (got > 0 || waited || timeout_ms == 0) break;
                pollfd pfd{fd_, POLLIN | POLLERR, 0};
                if (poll(&pfd, 1, timeout_ms) <= 0) break;
                waited = true;
                continue;
            }
            if (frames_left_ == 0) {
                frames_left_ = block->hdr.bh1.num_pkts;
                next_frame_ = reinterpret_cast<uint8_t*>(block) + block->hdr.bh1.offset_to_first_pkt;
            }
            while (frames_left_ > 0 && got < max) {
                auto* hdr = reinterpret_cast<tpacket3_hdr*>(next_frame_);
                out.push_back(frame_from(hdr));
                next_frame_ += hdr->tp_next_offset;
                --frames_left_;
                ++got;
            }
            if (frames_left_ == 0) {
                // Handed out whole: given back at the next call, when the caller is done with it.
                consumed_.push_back(current_);
                current_ = (current_ + 1) % block_count_;
            }
        }
        return got;
    }

    size_t transmit(std::span<const TxFrame> frames) override {
        if (tx_ring_ == nullptr) return send_batched(fd_, frames);
        size_t sent = 0;
        while (sent < frames.size()) {
            size_t queued = 0;
            while (sent + queued < frames.size() && fits_slot(frames[sent + queued]) && queue_in_slot(frames[sent + queued]))
                ++queued;
            sent += queued;  // in the kernel's ring: a failed flush leaves them for the next one
            if (queued > 0 && !flush_ring()) break;
            if (sent == frames.size()) break;
            if (fits_slot(frames[sent])) {
                if (queued == 0) break;  // every slot still in flight: the device pushes back
                continue;
            }
            if (send_batched(large_frame_fd(), frames.subspan(sent, 1)) != 1) break;
            ++sent;
        }
        return sent;
    }

    const std::string& name() const override { return name_; }
    uint32_t ifindex() const override { return ifindex_; }
    int fd() const override { return fd_; }

   private:
    void setup(const AfPacketOptions& o) {
        auto set = [&](int level, int option, int value, const char* what) {
            if (setsockopt(fd_, level, option, &value, sizeof value) != 0)
                throw Error(fmt::format("{}: {}: {}", name_, what, errno_text()));
        };
        // Order matters: the virtio-net header and the version must be set before the ring exists.
        set(SOL_PACKET, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR");
        set(SOL_PACKET, PACKET_VERSION, TPACKET_V3, "PACKET_VERSION");
        set(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING");
        // With a TX ring, a malformed frame is dropped (its slot freed) instead of stopping the ring at it.
        if (o.tx_ring_slots != 0) set(SOL_PACKET, PACKET_LOSS, 1, "PACKET_LOSS");
        const long page = sysconf(_SC_PAGESIZE);
        if (o.block_size == 0 || o.block_size % page != 0 || o.block_count == 0)
            throw Error(fmt::format("{}: ring blocks must be a non-zero multiple of {} bytes", name_, page));
        tpacket_req3 req{};
        req.tp_block_size = o.block_size;
        req.tp_block_nr = o.block_count;
        req.tp_frame_size = 2048;
        req.tp_frame_nr = o.block_size / req.tp_frame_size * o.block_count;
        req.tp_retire_blk_tov = o.block_timeout_ms;
        if (setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0)
            throw Error(fmt::format("{}: PACKET_RX_RING: {}", name_, errno_text()));
        block_size_ = o.block_size;
        block_count_ = o.block_count;
        const size_t rx_size = static_cast<size_t>(o.block_size) * o.block_count;
        size_t tx_size = 0;
        if (o.tx_ring_slots != 0) {
            // Slots of 2 KiB hold a virtio-net header and a 1514-byte frame (and some VLAN/jumbo room);
            // larger frames take the sendmmsg road.
            tpacket_req3 tx{};
            tx.tp_frame_size = 2048;
            tx.tp_block_size = static_cast<uint32_t>(page) * 4;
            tx.tp_frame_nr = o.tx_ring_slots;
            tx.tp_block_nr = o.tx_ring_slots / (tx.tp_block_size / tx.tp_frame_size);
            if (tx.tp_block_nr * (tx.tp_block_size / tx.tp_frame_size) != o.tx_ring_slots)
                throw Error(fmt::format("{}: TX ring slots must be a multiple of {}", name_, tx.tp_block_size / tx.tp_frame_size));
            if (setsockopt(fd_, SOL_PACKET, PACKET_TX_RING, &tx, sizeof tx) != 0)
                throw Error(fmt::format("{}: PACKET_TX_RING: {}", name_, errno_text()));
            tx_slot_size_ = tx.tp_frame_size;
            tx_slot_count_ = tx.tp_frame_nr;
            tx_size = static_cast<size_t>(tx.tp_block_size) * tx.tp_block_nr;
        }
        ring_size_ = rx_size + tx_size;
        void* ring = mmap(nullptr, ring_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd_, 0);
        if (ring == MAP_FAILED) ring = mmap(nullptr, ring_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
        if (ring == MAP_FAILED) throw Error(fmt::format("{}: mmap of the receive ring: {}", name_, errno_text()));
        ring_ = static_cast<uint8_t*>(ring);
        if (tx_size != 0) tx_ring_ = ring_ + rx_size;  // one mapping: the receive ring, then the transmit ring
        sockaddr_ll addr{};
        addr.sll_family = AF_PACKET;
        addr.sll_protocol = htons(ETH_P_ALL);
        addr.sll_ifindex = static_cast<int>(ifindex_);
        if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw Error(fmt::format("{}: bind: {}", name_, errno_text()));
        if (o.fanout_group != 0)
            set(SOL_PACKET, PACKET_FANOUT, o.fanout_group | (PACKET_FANOUT_HASH << 16), "PACKET_FANOUT");
    }

    RxFrame frame_from(tpacket3_hdr* hdr) {
        RxFrame f;
        uint8_t* mac = reinterpret_cast<uint8_t*>(hdr) + hdr->tp_mac;
        f.bytes = {mac, hdr->tp_snaplen};
        const auto* ll = reinterpret_cast<const sockaddr_ll*>(reinterpret_cast<uint8_t*>(hdr) + TPACKET_ALIGN(sizeof(tpacket3_hdr)));
        f.meta.timestamp_ns = static_cast<uint64_t>(hdr->tp_sec) * 1'000'000'000u + hdr->tp_nsec;
        f.meta.wire_len = hdr->tp_len;
        f.meta.ifindex = static_cast<uint32_t>(ll->sll_ifindex);
        f.meta.pkt_type = ll->sll_pkttype;
        if (hdr->tp_status & TP_STATUS_VLAN_VALID) {
            f.meta.vlan_present = true;
            f.meta.vlan_tci = static_cast<uint16_t>(hdr->hv1.tp_vlan_tci);
            f.meta.vlan_tpid = (hdr->tp_status & TP_STATUS_VLAN_TPID_VALID) ? hdr->hv1.tp_vlan_tpid : 0x8100;
        }
        detail::virtio_net_hdr vnet;
        std::memcpy(&vnet, mac - sizeof vnet, sizeof vnet);
        detail::apply_vnet_header(vnet, f.bytes, f.meta);
        return f;
    }

    tpacket_block_desc* block_at(uint32_t index) const {
        return reinterpret_cast<tpacket_block_desc*>(ring_ + static_cast<size_t>(index) * block_size_);
    }

    void release_consumed() {
        for (const uint32_t index : consumed_)
            __atomic_store_n(&block_at(index)->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        consumed_.clear();
    }

    size_t send_batched(int fd, std::span<const TxFrame> frames) {
        constexpr size_t kBatch = 64;
        size_t sent = 0;
        while (sent < frames.size()) {
            const size_t n = std::min(kBatch, frames.size() - sent);
            detail::virtio_net_hdr headers[kBatch];
            iovec iov[kBatch][2];
            mmsghdr msgs[kBatch] = {};
            for (size_t i = 0; i < n; ++i) {
                const TxFrame& f = frames[sent + i];
                headers[i] = detail::vnet_header_for(f.meta);
                iov[i][0] = {&headers[i], sizeof headers[i]};
                iov[i][1] = {const_cast<uint8_t*>(f.bytes.data()), f.bytes.size()};
                msgs[i].msg_hdr.msg_iov = iov[i];
                msgs[i].msg_hdr.msg_iovlen = 2;
            }
            const int rc = sendmmsg(fd, msgs, static_cast<unsigned>(n), MSG_DONTWAIT);
            if (rc <= 0) break;
            sent += static_cast<size_t>(rc);
            if (static_cast<size_t>(rc) < n) break;
        }
        return sent;
    }

    // With a TX ring every send on the socket only kicks the ring, so frames too large for a slot
    // leave through a second socket: bound to the interface with protocol 0, it receives nothing.
    int large_frame_fd() {
        if (large_fd_ >= 0) return large_fd_;
        const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        const int one = 1;
        sockaddr_ll addr{};
        addr.sll_family = AF_PACKET;
        addr.sll_ifindex = static_cast<int>(ifindex_);
        if (fd >= 0 && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) == 0 &&
            bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
            return large_fd_ = fd;
        if (fd >= 0) close(fd);
        return -1;  // sendmmsg then fails, and transmit() reports the frame as not taken
    }

    // A TX slot: the tpacket3_hdr, then (at the offset the kernel expects without PACKET_TX_HAS_OFF)
    // the virtio-net header and the frame.
    static constexpr size_t kTxData = TPACKET_ALIGN(sizeof(tpacket3_hdr));
    bool fits_slot(const TxFrame& f) const { return kTxData + sizeof(detail::virtio_net_hdr) + f.bytes.size() <= tx_slot_size_; }

    // Copies `f` into the next slot if the kernel is done with it (TP_STATUS_AVAILABLE).
    bool queue_in_slot(const TxFrame& f) {
        uint8_t* slot = tx_ring_ + static_cast<size_t>(tx_next_) * tx_slot_size_;
        auto* hdr = reinterpret_cast<tpacket3_hdr*>(slot);
        const uint32_t status = __atomic_load_n(&hdr->tp_status, __ATOMIC_ACQUIRE);
        if (status != TP_STATUS_AVAILABLE && status != TP_STATUS_WRONG_FORMAT) return false;
        const detail::virtio_net_hdr vnet = detail::vnet_header_for(f.meta);
        std::memcpy(slot + kTxData, &vnet, sizeof vnet);
        std::memcpy(slot + kTxData + sizeof vnet, f.bytes.data(), f.bytes.size());
        hdr->tp_len = static_cast<uint32_t>(sizeof vnet + f.bytes.size());
        hdr->tp_next_offset = 0;
        __atomic_store_n(&hdr->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
        tx_next_ = (tx_next_ + 1) % tx_slot_count_;
        return true;
    }

    // The kernel sends every requested slot inside this call (in order, through the device's qdisc).
    bool flush_ring() {
        for (;;) {
            if (send(fd_, nullptr, 0, MSG_DONTWAIT) >= 0) return true;
            if (errno != EINTR) return errno == EAGAIN || errno == ENOBUFS;
        }
    }

    void close_all() {
        if (ring_ != nullptr) munmap(ring_, ring_size_);
        ring_ = nullptr;
        tx_ring_ = nullptr;
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
        if (large_fd_ >= 0) close(large_fd_);
        large_fd_ = -1;
    }

    std::string name_;
    uint32_t ifindex_ = 0;
    int fd_ = -1;
    int large_fd_ = -1;
    uint8_t* ring_ = nullptr;
    size_t ring_size_ = 0;
    uint8_t* tx_ring_ = nullptr;
    uint32_t tx_slot_size_ = 0, tx_slot_count_ = 0, tx_next_ = 0;
    uint32_t block_size_ = 0, block_count_ = 0;
    uint32_t current_ = 0;
    uint32_t frames_left_ = 0;
    uint8_t* next_frame_ = nullptr;
    std::vector<uint32_t> consumed_;
};

}  // namespace

std::unique_ptr<Port> open_afpacket(const AfPacketOptions& options) { return std::make_unique<AfPacketPort>(options); }

std::vector<std::unique_ptr<Port>> open_afpacket_workers(const AfPacketOptions& options, unsigned workers) {
    std::vector<std::unique_ptr<Port>> ports;
    if (workers == 1) {  // nothing to share: no fanout, whose hash the kernel would compute per frame
        ports.push_back(open_afpacket(options));
        return ports;
    }
    // A group id of this process's own, so two tcbpf processes never join each other's group.
    static std::atomic<uint16_t> next_group{0};
    AfPacketOptions shared = options;
    shared.fanout_group = static_cast<uint16_t>((getpid() * 31 + next_group++) & 0xffff);
    if (shared.fanout_group == 0) shared.fanout_group = 1;
    for (unsigned i = 0; i < workers; ++i) ports.push_back(open_afpacket(shared));
    return ports;
}

}  // namespace tcbpf::io
