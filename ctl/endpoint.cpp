// Locks, the listening socket and peer checks (endpoint.h).
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "ctl/endpoint.h"
#include "tcbpf/error.h"

namespace tcbpf::ctl {

InstanceLock::InstanceLock(const std::string& path, const std::string& what) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw Error(fmt::format("cannot create the lock file {}: {}", path, std::strerror(errno)));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        char buffer[32] = {};
        const ssize_t n = ::pread(fd_, buffer, sizeof(buffer) - 1, 0);
        ::close(fd_);
        fd_ = -1;
        if (e != EWOULDBLOCK) throw Error(fmt::format("cannot lock {}: {}", path, std::strerror(e)));
        std::string pid = n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "?";
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
        throw Error(fmt::format("another tcbpf daemon (pid {}) already uses {}", pid, what));
    }
    const std::string pid = fmt::format("{}\n", ::getpid());
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
        throw Error(fmt::format("cannot write the lock file {}: {}", path, std::strerror(errno)));
}

InstanceLock::~InstanceLock() {
    if (fd_ >= 0) ::close(fd_);  // closing drops the lock; the file stays, harmless, for the next daemon
}

void check_socket_path(const std::string& path) {
    constexpr size_t kMax = sizeof(sockaddr_un::sun_path) - 1;
    if (path.size() > kMax) throw Error(fmt::format("control socket path \"{}\" is too long ({} bytes, at most {})", path, path.size(), kMax));
}

int listen_control_socket(const std::string& path, std::optional<gid_t> group) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    check_socket_path(path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) throw Error(fmt::format("control socket path {} exists and is not a socket", path));
        ::unlink(path.c_str());  // a socket left by a daemon that was killed: we hold its lock now
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw Error(fmt::format("cannot create the control socket: {}", std::strerror(errno)));
    const auto fail = [&](const char* step) {
        const int e = errno;
        ::close(fd);
        throw Error(fmt::format("control socket {}: {} failed: {}", path, step, std::strerror(e)));
    };
    // No moment with wider permissions than asked: the file is born 0600.
    const mode_t old_mask = ::umask(0177);
    const int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    ::umask(old_mask);
    if (bound != 0) fail("bind");
    if (group) {
        if (::chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0) fail("chown to the control group");
        if (::chmod(path.c_str(), 0660) != 0) fail("chmod 0660");
    }
    if (::listen(fd, 16) != 0) fail("listen");
    return fd;
}

std::optional<ucred> peer_credentials(int fd) {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) return std::nullopt;
    return cred;
}

namespace {
// Supplementary groups of a process, from /proc/PID/status ("Groups:\t27 100 ...").
bool process_in_group(pid_t pid, gid_t group) {
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("Groups:", 0) != 0) continue;
        std::istringstream groups(line.substr(7));
        for (gid_t g; groups >> g;)
            if (g == group) return true;
    }
    return false;
}
}  // namespace

bool peer_allowed(const ucred& peer, std::optional<gid_t> group) {
    if (peer.uid == 0 || peer.uid == ::geteuid()) return true;
    return group && (peer.gid == *group || process_in_group(peer.pid, *group));
}

}  // namespace tcbpf::ctl
