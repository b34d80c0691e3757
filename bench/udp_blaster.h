// A traffic source for the live-port benchmarks: a thread sending 64-byte UDP frames (IPv4 192.0.2.1 ->
// `dst_ip`, valid header checksum, no UDP checksum, source ports cycling over 256 flows) out of `dev`
// through a plain AF_PACKET socket in batches of 64, as fast as it can, until destroyed. It goes
// through dev_queue_xmit (no PACKET_QDISC_BYPASS, which would pick the transmit queue by the sender's
// CPU), so each flow hashes to one transmit queue of `dev` and, on a veth, one receive queue of its peer.
#pragma once

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

namespace tcbpf::bench {

class UdpBlaster {
   public:
    UdpBlaster(std::string dev, const uint8_t (&dst_mac)[6], const uint8_t (&src_mac)[6], const char* dst_ip)
        : dev_(std::move(dev)) {
        std::memcpy(head_, dst_mac, 6);
        std::memcpy(head_ + 6, src_mac, 6);
        const uint8_t ip_udp[] = {0x08, 0x00, 0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 0, 0, 0, 0,
                                  0x80, 0, 0x23, 0x28, 0, 26, 0, 0};
        std::memcpy(head_ + 12, ip_udp, sizeof ip_udp);
        inet_pton(AF_INET, dst_ip, head_ + 30);
        uint32_t sum = 0;
        for (int i = 14; i < 34; i += 2) sum += static_cast<uint32_t>(head_[i] << 8 | head_[i + 1]);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        head_[24] = static_cast<uint8_t>(~sum >> 8);
        head_[25] = static_cast<uint8_t>(~sum);
        thread_ = std::thread([this] { run(); });
    }
    ~UdpBlaster() {
        stop_ = true;
        thread_.join();
    }
    UdpBlaster(const UdpBlaster&) = delete;
    UdpBlaster& operator=(const UdpBlaster&) = delete;

   private:
    void run() {
        const int fd = socket(AF_PACKET, SOCK_RAW, 0);
        sockaddr_ll addr{};
        addr.sll_family = AF_PACKET;
        addr.sll_ifindex = static_cast<int>(if_nametoindex(dev_.c_str()));
        bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        constexpr int kBatch = 64;
        uint8_t frames[kBatch][60] = {};
        iovec iov[kBatch];
        mmsghdr msgs[kBatch] = {};
        for (int i = 0; i < kBatch; ++i) {
            std::memcpy(frames[i], head_, sizeof head_);
            iov[i] = {frames[i], sizeof frames[i]};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        uint8_t flow = 0;
        while (!stop_) {
            for (int i = 0; i < kBatch; ++i) frames[i][35] = flow++;  // source port 0x80xx
            sendmmsg(fd, msgs, kBatch, 0);
        }
        close(fd);
    }

    std::string dev_;
    uint8_t head_[42] = {};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace tcbpf::bench
