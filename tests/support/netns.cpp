// See netns.h. Sockets are opened on a short-lived thread that joined the namespace with setns(): a
// socket stays in the namespace it was created in, so the rest of the test uses it from any thread
// while the process itself never leaves its own namespace.
#include "tests/support/netns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "tcbpf/error.h"
#include "tests/support/kernel_bpf.h"

namespace tcbpf::test {

namespace {

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

[[noreturn]] void fail_errno(const std::string& what) { throw Error(fmt::format("{}: {}", what, std::strerror(errno))); }

long sys_bpf(int cmd, bpf_attr& attr) { return ::syscall(__NR_bpf, cmd, &attr, sizeof attr); }

}  // namespace

CommandResult run_shell(const std::string& command) {
    static std::atomic<unsigned> counter{0};
    const std::string base = fmt::format("{}/tcbpf-sh-{}-{}", std::filesystem::temp_directory_path().string(), getpid(),
                                         counter++);
    const int raw = std::system(fmt::format("{{ {} ; }} >{}.out 2>{}.err", command, base, base).c_str());
    CommandResult r{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(base + ".out"), slurp(base + ".err")};
    std::filesystem::remove(base + ".out");
    std::filesystem::remove(base + ".err");
    return r;
}

std::string NetnsVeth::unavailable_reason() {
    static const std::string reason = []() -> std::string {
        if (geteuid() != 0) return "not root: creating network namespaces and veth pairs needs CAP_NET_ADMIN";
        if (const auto& bpf = kernel::probe(); !bpf.available) return bpf.reason;
        if (run_shell("tc -V").status != 0) return "no tc binary (iproute2) on PATH";
        if (run_shell("ip -V").status != 0) return "no ip binary (iproute2) on PATH";
        try {
            NetnsVeth probe("probe0", "probe1");
        } catch (const Error& e) {
            return fmt::format("cannot set up a network namespace with a veth pair: {}", e.what());
        }
        return "";
    }();
    return reason;
}

NetnsVeth::NetnsVeth(std::string a, std::string b) : a_(std::move(a)), b_(std::move(b)) {
    static std::atomic<unsigned> counter{0};
    name_ = fmt::format("tcbpf-{}-{}", getpid(), counter++);
    const CommandResult add = run_shell("ip netns add " + name_);
    if (add.status != 0) throw Error(fmt::format("ip netns add {}: {}", name_, add.err));
    try {
        ns_fd_ = ::open(("/var/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
        if (ns_fd_ < 0) fail_errno("opening /var/run/netns/" + name_);
        bpffs_ = fmt::format("{}/tcbpf-bpffs-{}", std::filesystem::temp_directory_path().string(), name_);
        std::filesystem::create_directories(bpffs_);
        if (::mount("bpf", bpffs_.c_str(), "bpf", 0, "mode=0700") != 0) fail_errno("mounting a bpffs at " + bpffs_);
        run_checked("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
        run_checked(fmt::format("ip link add {} type veth peer name {}", a_, b_));
        run_checked(fmt::format("ip link set lo up && ip link set {} up && ip link set {} up", a_, b_));
    } catch (...) {
        this->~NetnsVeth();
        throw;
    }
}

NetnsVeth::~NetnsVeth() {
    if (ns_fd_ >= 0) ::close(ns_fd_);
    ns_fd_ = -1;
    if (!bpffs_.empty()) {
        ::umount2(bpffs_.c_str(), MNT_DETACH);
        std::error_code ec;
        std::filesystem::remove(bpffs_, ec);
        bpffs_.clear();
    }
    if (!name_.empty()) run_shell("ip netns del " + name_);
    name_.clear();
}

CommandResult NetnsVeth::run(const std::string& command) const {
    return run_shell(fmt::format("TC_BPF_MNT={} ip netns exec {} sh -c {}", bpffs_, name_, shell_quote(command)));
}

std::string NetnsVeth::run_checked(const std::string& command) const {
    CommandResult r = run(command);
    if (r.status != 0) throw Error(fmt::format("{}: {}", command, r.err.empty() ? r.out : r.err));
    return r.out;
}

std::string NetnsVeth::tc_json(const std::string& args) const { return run_checked("tc -s -j " + args); }

template <typename Fn>
void NetnsVeth::inside(Fn&& fn) const {
    std::exception_ptr error;
    std::thread worker([&] {
        try {
            if (::setns(ns_fd_, CLONE_NEWNET) != 0) fail_errno("setns into " + name_);
            fn();
        } catch (...) {
            error = std::current_exception();
        }
    });
    worker.join();
    if (error) std::rethrow_exception(error);
}

uint32_t NetnsVeth::ifindex(const std::string& dev) const {
    uint32_t index = 0;
    inside([&] { index = if_nametoindex(dev.c_str()); });
    if (index == 0) throw Error(fmt::format("{}: no device {}", name_, dev));
    return index;
}

void NetnsVeth::inject(const std::string& dev, const std::vector<Frame>& frames) const {
    const uint32_t index = ifindex(dev);
    int fd = -1;
    inside([&] { fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); });
    if (fd < 0) fail_errno("AF_PACKET socket");
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(index);
    to.sll_halen = ETH_ALEN;
    for (size_t i = 0; i < frames.size(); ++i) {
        const Frame& f = frames[i];
        if (f.size() >= ETH_ALEN) std::memcpy(to.sll_addr, f.data(), ETH_ALEN);
        // A full socket buffer is only a moment's wait: retry rather than lose frames.
        ssize_t sent;
        while ((sent = ::sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to)) < 0 &&
               (errno == ENOBUFS || errno == EAGAIN))
            ::usleep(100);
        if (sent != static_cast<ssize_t>(f.size())) {
            const int err = errno;
            ::close(fd);
            throw Error(fmt::format("injecting frame {} ({} bytes) into {}: {}", i, f.size(), dev, std::strerror(err)));
        }
    }
    ::close(fd);
}

NetnsVeth::Capture::Capture(const NetnsVeth& ns, const std::string& dev) {
    const uint32_t index = ns.ifindex(dev);
    ns.inside([&] { fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)); });
    if (fd_ < 0) fail_errno("AF_PACKET capture socket");
    const int one = 1, buf = 32 << 20;
    ::setsockopt(fd_, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one);  // offloaded VLAN tags
    ::setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
    sockaddr_ll at{};
    at.sll_family = AF_PACKET;
    at.sll_protocol = htons(ETH_P_ALL);
    at.sll_ifindex = static_cast<int>(index);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) fail_errno("binding the capture to " + dev);
    // Frames of any device may have queued between socket() and bind(): drop them.
    uint8_t scratch[65536];
    while (::recv(fd_, scratch, sizeof scratch, MSG_DONTWAIT) >= 0) {
    }
}

NetnsVeth::Capture::~Capture() {
    if (fd_ >= 0) ::close(fd_);
}

std::vector<Frame> NetnsVeth::Capture::collect(size_t expected, int quiet_ms) {
    std::vector<Frame> frames;
    std::vector<uint8_t> buf(65536);
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))];
    while (frames.size() < expected) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, quiet_ms) <= 0) break;
        iovec iov{buf.data(), buf.size()};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        const ssize_t n = ::recvmsg(fd_, &msg, 0);
        if (n < 0) fail_errno("capture recvmsg");
        Frame f(buf.begin(), buf.begin() + n);
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
            tpacket_auxdata aux;
            std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
            if (!(aux.tp_status & TP_STATUS_VLAN_VALID) || f.size() < 12) continue;
            // Put the tag the driver lifted out back where it was on the wire.
            const uint16_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : ETH_P_8021Q;
            const uint8_t tag[4] = {uint8_t(tpid >> 8), uint8_t(tpid), uint8_t(aux.tp_vlan_tci >> 8),
                                    uint8_t(aux.tp_vlan_tci)};
            f.insert(f.begin() + 12, tag, tag + 4);
        }
        frames.push_back(std::move(f));
    }
    return frames;
}

std::vector<std::pair<Frame, Frame>> kernel_map_entries(const std::string& path) {
    bpf_attr attr{};
    attr.pathname = reinterpret_cast<uint64_t>(path.c_str());
    const int fd = static_cast<int>(sys_bpf(BPF_OBJ_GET, attr));
    if (fd < 0) fail_errno(fmt::format("BPF_OBJ_GET {}", path));
    kernel::Fd map(fd);
    bpf_map_info info{};
    attr = {};
    attr.info.bpf_fd = static_cast<uint32_t>(fd);
    attr.info.info_len = sizeof info;
    attr.info.info = reinterpret_cast<uint64_t>(&info);
    if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, attr) != 0) fail_errno(fmt::format("BPF_OBJ_GET_INFO_BY_FD {}", path));
    const bool percpu = info.type == BPF_MAP_TYPE_PERCPU_HASH || info.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
                        info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    size_t value_size = info.value_size;
    if (percpu) {
        // Possible CPUs ("0-1", "0"): the kernel's per-CPU value count.
        const std::string possible = slurp("/sys/devices/system/cpu/possible");
        const auto dash = possible.find('-');
        const unsigned last = static_cast<unsigned>(std::stoul(dash == std::string::npos ? possible : possible.substr(dash + 1)));
        value_size = size_t(last + 1) * ((info.value_size + 7) / 8 * 8);
    }
    std::vector<std::pair<Frame, Frame>> entries;
    Frame key(info.key_size), next(info.key_size), value(value_size);
    bool first = true;
    for (;;) {
        const int err = kernel::map_get_next_key(map, first ? std::span<const uint8_t>() : std::span<const uint8_t>(key), next);
        if (err == ENOENT) break;
        if (err != 0) throw Error(fmt::format("{}: get_next_key: {}", path, kernel::errno_text(err)));
        first = false;
        key = next;
        if (kernel::map_lookup(map, key, value) == 0) entries.emplace_back(key, value);
    }
    return entries;
}

}  // namespace tcbpf::test
