// Linux runs the same cBPF bytecode: each program is attached with SO_ATTACH_FILTER to an AF_PACKET
// socket on one end of a veth pair (in a network namespace of the test's own), the generated frames are
// sent into the other end, and the length each socket receives (MSG_TRUNC: the filter's return value
// capped at the skb length, nothing when it returned 0) is compared with what the reference
// interpreter and the converted program return on the skb the kernel builds from that frame:
//  * eth_type_trans: protocol, pkt_type against the receiving port's address;
//  * one VLAN tag taken out of the bytes (skb_vlan_untag, before packet taps see the frame) into the
//    skb's tag fields — frames too short for that are dropped;
//  * ifindex of the receiving port, hatype ARPHRD_ETHER, mark, queue and hash 0, the CPU the sender
//    is pinned to (the backlog is processed there).
// The ancillary values are also read out exactly, 5 bits per socket. SKF_AD_RANDOM is left out: its
// value cannot be predicted. Without root (or without veth) the test skips, saying why.
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "converted_runner.h"
#include "generator.h"
#include "tcbpf/helpers.h"
#include "tcbpf/skb.h"

using namespace tcbpf;

namespace {

constexpr const char* kRecv = "cbpfrx0";
constexpr const char* kSend = "cbpftx0";
constexpr uint8_t kRecvMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr uint32_t kCpu = 0;

struct Socket {
    int fd = -1;
    explicit Socket(int f) : fd(f) {}
    Socket(Socket&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
    ~Socket() {
        if (fd >= 0) close(fd);
    }
};

// The skb Linux hands the receiving port's packet taps for `frame`, or nullopt if it never gets there.
struct KernelView {
    std::vector<uint8_t> bytes;
    cbpf::Packet packet;  // data points into bytes: keep the view where it is
};

std::optional<KernelView> kernel_view(std::span<const uint8_t> frame, uint32_t ifindex) {
    if (frame.size() < 14) return std::nullopt;  // AF_PACKET refuses to send a partial Ethernet header
    KernelView v;
    v.bytes.assign(frame.begin(), frame.end());
    cbpf::Packet& p = v.packet;
    skb::TestRunDevice port;
    std::memcpy(port.mac, kRecvMac, 6);
    std::memset(port.broadcast, 0xff, 6);
    p.protocol = skb::eth_protocol(frame);
    p.pkt_type = skb::eth_pkt_type(frame, port);
    if (p.protocol == 0x8100 || p.protocol == 0x88a8) {
        if (frame.size() < 14 + 6) return std::nullopt;  // skb_vlan_untag cannot pull the tag: dropped
        p.vlan_present = true;
        p.vlan_tpid = p.protocol;
        p.vlan_tci = static_cast<uint16_t>(frame[14] << 8 | frame[15]);
        v.bytes.erase(v.bytes.begin() + 12, v.bytes.begin() + 16);
        p.protocol = skb::eth_protocol(v.bytes);
    }
    p.data = v.bytes;
    p.ifindex = ifindex;
    p.hatype = helpers::kArphrdEther;
    p.cpu = kCpu;
    p.pay_offset = helpers::payload_offset(v.bytes, 14, p.protocol, p.vlan_present, p.vlan_tpid);
    return v;
}

bool write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    return static_cast<bool>(out);
}

int open_socket(uint32_t ifindex, const sock_fprog* filter) {
    const int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) return -1;
    if (filter != nullptr && setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, filter, sizeof *filter) != 0) {
        close(fd);
        return -1;
    }
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(ifindex);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// Everything runs on one thread that moved into a fresh network namespace; the first failure to set
// it up becomes the skip reason.
class KernelPort {
   public:
    std::string setup() {
        if (geteuid() != 0) return "needs root (network namespace, veth, AF_PACKET)";
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(kCpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0) return fmt::format("sched_setaffinity: {}", std::strerror(errno));
        if (unshare(CLONE_NEWNET) != 0) return fmt::format("unshare(CLONE_NEWNET): {}", std::strerror(errno));
        // No IPv6 on the ports: nothing but the test's frames crosses the pair.
        write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
        write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
        const std::string cmd = fmt::format(
            "ip link add {0} mtu 9000 address 02:00:00:00:00:01 type veth peer name {1} mtu 9000 && "
            "ip link set {0} up && ip link set {1} up",
            kRecv, kSend);
        if (std::system(cmd.c_str()) != 0) return "cannot create a veth pair with ip(8)";
        recv_ifindex_ = if_nametoindex(kRecv);
        send_ = open_socket(if_nametoindex(kSend), nullptr);
        if (send_ < 0) return fmt::format("AF_PACKET socket: {}", std::strerror(errno));
        // Bound first, so it sits last in the port's tap list and sees each frame after every filter.
        sentinel_ = open_socket(recv_ifindex_, nullptr);
        if (sentinel_ < 0) return fmt::format("AF_PACKET socket: {}", std::strerror(errno));
        return "";
    }
    ~KernelPort() {
        for (int fd : {send_, sentinel_})
            if (fd >= 0) close(fd);
    }

    uint32_t recv_ifindex() const { return recv_ifindex_; }

    // A socket on the receiving port with `prog` attached before it is bound (nothing unfiltered gets in).
    Socket attach(const cbpf::Program& prog) {
        std::vector<sock_filter> raw;
        for (const cbpf::Insn& i : prog) raw.push_back(sock_filter{i.code, i.jt, i.jf, i.k});
        sock_fprog fprog{static_cast<unsigned short>(raw.size()), raw.data()};
        Socket s(open_socket(recv_ifindex_, &fprog));
        EXPECT_GE(s.fd, 0) << std::strerror(errno) << "\n" << cbpf::disassemble(prog);
        return s;
    }

    // Sends one frame and waits until the sentinel has it; false if it never arrived.
    bool send(std::span<const uint8_t> frame) {
        if (::send(send_, frame.data(), frame.size(), 0) != static_cast<ssize_t>(frame.size())) return false;
        pollfd pfd{sentinel_, POLLIN, 0};
        if (poll(&pfd, 1, 1000) != 1) return false;
        uint8_t buf[16];
        return recv(sentinel_, buf, sizeof buf, MSG_TRUNC) >= 0;
    }

    // Lengths of everything a filtered socket holds now (each filter saw the frame before the sentinel).
    static std::vector<int> drain(const Socket& s) {
        std::vector<int> lengths;
        uint8_t buf[16];
        for (ssize_t n; (n = recv(s.fd, buf, sizeof buf, MSG_TRUNC | MSG_DONTWAIT)) >= 0;) lengths.push_back(static_cast<int>(n));
        return lengths;
    }

   private:
    uint32_t recv_ifindex_ = 0;
    int send_ = -1, sentinel_ = -1;
};

struct Case {
    std::string name;
    cbpf::Program prog;
};

// What the socket should have received: nothing when the filter returned 0, else that many bytes of
// the skb at most.
std::vector<int> expected_lengths(uint32_t ret, size_t len) {
    if (ret == 0) return {};
    return {static_cast<int>(std::min<uint64_t>(ret, len))};
}

bool uses_random(const cbpf::Program& prog) {
    for (const cbpf::Insn& i : prog)
        if ((i.code & 0xe7) == 0x20 && i.k == 0xfffff000u + cbpf::kAdRandom) return true;
    return false;
}

// Runs every case over the frames on one thread inside the namespace and reports (as gtest failures)
// each difference between the kernel and tcbpf. Returns the skip reason, or "".
std::string compare_with_kernel(const std::vector<Case>& cases, const std::vector<io::Frame>& frames, size_t& compared) {
    std::string skip;
    std::thread worker([&] {
        KernelPort port;
        skip = port.setup();
        if (!skip.empty()) return;
        std::vector<Socket> sockets;
        std::vector<std::unique_ptr<cbpf_test::ConvertedRunner>> runners;
        for (const Case& c : cases) {
            sockets.push_back(port.attach(c.prog));
            runners.push_back(std::make_unique<cbpf_test::ConvertedRunner>(c.prog));
        }
        for (size_t n = 0; n < frames.size(); ++n) {
            const std::optional<KernelView> view = kernel_view(frames[n].bytes, port.recv_ifindex());
            if (!view) continue;
            if (!port.send(frames[n].bytes)) {
                ADD_FAILURE() << "frame " << n << " (" << frames[n].bytes.size() << " bytes) never arrived";
                continue;
            }
            for (size_t i = 0; i < cases.size(); ++i) {
                const uint32_t ours = cbpf::run(cases[i].prog, view->packet);
                const std::vector<int> got = KernelPort::drain(sockets[i]);
                EXPECT_EQ(got, expected_lengths(ours, view->bytes.size()))
                    << cases[i].name << ", frame " << n << ": tcbpf returns " << ours << " on " << view->bytes.size()
                    << " bytes\n" << cbpf::disassemble(cases[i].prog);
                for (cbpf_test::Engine engine : cbpf_test::kEngines)
                    EXPECT_EQ(runners[i]->run(view->packet, engine), ours) << cases[i].name << ", frame " << n;
                ++compared;
            }
        }
    });
    worker.join();
    return skip;
}

std::vector<io::Frame> kernel_frames(uint64_t seed, uint32_t count) {
    return trafficgen::generate({.seed = seed, .count = count});
}

}  // namespace

TEST(CbpfKernel, CompiledFiltersKeepWhatTheKernelKeeps) {
    const char* expressions[] = {
        "ip", "ip6", "arp", "tcp port 80", "udp and dst portrange 1024-2048", "tcp port 80 and not src net 10.0.0.0/8",
        "icmp or icmp6", "vlan and tcp", "vlan", "ip[6:2] & 0x1fff != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
        "ip6 and udp", "greater 200 and less 1000", "ether broadcast or ether multicast", "ip proto 47 or (udp and port 53)",
        "ether host 02:00:00:00:00:01", "len > 100", "ip[0] & 0xf > 5",
    };
    std::vector<Case> cases;
    for (const char* e : expressions) cases.push_back({fmt::format("filter '{}'", e), cbpf::compile_filter(e)});
    size_t compared = 0;
    const std::string skip = compare_with_kernel(cases, kernel_frames(21, 400), compared);
    if (!skip.empty()) GTEST_SKIP() << skip;
    EXPECT_GT(compared, cases.size() * 300);
}

TEST(CbpfKernel, RandomProgramsReturnWhatTheKernelReturns) {
    std::mt19937 rng(77);
    std::vector<Case> cases;
    while (cases.size() < 250) {
        cbpf::Program prog = cbpf_test::random_program(rng);
        if (uses_random(prog)) continue;
        cases.push_back({fmt::format("random program {} ({})", cases.size(), cbpf::format_bytecode(prog)), std::move(prog)});
    }
    size_t compared = 0;
    const std::string skip = compare_with_kernel(cases, kernel_frames(22, 150), compared);
    if (!skip.empty()) GTEST_SKIP() << skip;
    EXPECT_GT(compared, cases.size() * 100);
}

TEST(CbpfKernel, AncillaryValuesAreTheKernels) {
    // A = ((anc >> shift) & 31) + 1: the received length tells five bits of the value exactly.
    std::vector<Case> cases;
    for (uint32_t id = 0; id < 64; id += 4) {
        if (id == cbpf::kAdRandom || id == cbpf::kAdAluXorX) continue;
        for (uint32_t shift = 0; shift < 32; shift += 5) {
            cases.push_back({fmt::format("SKF_AD_OFF+{} bits {}..{}", id, shift, shift + 4),
                             {{0x00, 0, 0, 0x1234}, {0x01, 0, 0, 2},  // A and X for the nlattr searches
                              {0x20, 0, 0, 0xfffff000u + id}, {0x74, 0, 0, shift}, {0x54, 0, 0, 31}, {0x04, 0, 0, 1},
                              {0x16, 0, 0, 0}}});
        }
    }
    std::vector<io::Frame> frames;
    for (io::Frame& f : kernel_frames(23, 300))
        if (f.bytes.size() >= 32) frames.push_back(std::move(f));  // every 5-bit answer fits
    size_t compared = 0;
    const std::string skip = compare_with_kernel(cases, frames, compared);
    if (!skip.empty()) GTEST_SKIP() << skip;
    EXPECT_GT(compared, cases.size() * 200);
}

TEST(CbpfKernel, LoopbackIsArphrdLoopback) {
    // BPF_PROG_TEST_RUN runs on the namespace's loopback device (ifindex 1); a socket filter on lo shows
    // what SKF_AD_HATYPE and SKF_AD_IFINDEX read there: 772 and 1, as tcbpf's test runs answer.
    std::string skip;
    std::vector<int> hatype_lengths, ifindex_lengths;
    std::thread worker([&] {
        if (geteuid() != 0) {
            skip = "needs root (network namespace, AF_PACKET)";
            return;
        }
        if (unshare(CLONE_NEWNET) != 0) {
            skip = fmt::format("unshare(CLONE_NEWNET): {}", std::strerror(errno));
            return;
        }
        if (std::system("ip link set lo up") != 0) {
            skip = "cannot bring lo up with ip(8)";
            return;
        }
        const uint32_t lo = if_nametoindex("lo");
        auto filtered = [&](uint32_t id) {
            std::vector<sock_filter> raw = {{0x20, 0, 0, 0xfffff000u + id}, {0x16, 0, 0, 0}};
            sock_fprog fprog{static_cast<unsigned short>(raw.size()), raw.data()};
            return Socket(open_socket(lo, &fprog));
        };
        const Socket hatype = filtered(cbpf::kAdHatype), ifindex = filtered(cbpf::kAdIfindex);
        const Socket sender(open_socket(lo, nullptr));
        ASSERT_GE(hatype.fd, 0);
        ASSERT_GE(ifindex.fd, 0);
        ASSERT_GE(sender.fd, 0);
        std::vector<uint8_t> frame(1000, 0);
        frame[12] = 0x88, frame[13] = 0xb5;  // local experimental EtherType: nothing else answers it
        ASSERT_EQ(send(sender.fd, frame.data(), frame.size(), 0), static_cast<ssize_t>(frame.size()));
        pollfd pfd{hatype.fd, POLLIN, 0};
        ASSERT_EQ(poll(&pfd, 1, 1000), 1);
        usleep(20000);  // the looped-back copy follows the outgoing one
        hatype_lengths = KernelPort::drain(hatype);
        ifindex_lengths = KernelPort::drain(ifindex);
    });
    worker.join();
    if (!skip.empty()) GTEST_SKIP() << skip;
    ASSERT_FALSE(hatype_lengths.empty());
    for (int len : hatype_lengths) EXPECT_EQ(len, helpers::kArphrdLoopback);
    ASSERT_FALSE(ifindex_lengths.empty());
    for (int len : ifindex_lengths) EXPECT_EQ(len, 1);
}
