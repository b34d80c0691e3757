// Frames over a stream socket and the client's connection. Short reads and writes are continued and
// EINTR retried; MSG_NOSIGNAL keeps a vanished peer an error rather than a SIGPIPE.
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include "tcbpf/ctl.h"

namespace tcbpf::ctl {

namespace {

void write_all(int fd, const uint8_t* data, size_t size) {
    while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw Error(fmt::format("control connection: send failed: {}", std::strerror(errno)));
        data += n;
        size -= static_cast<size_t>(n);
    }
}

// Reads exactly `size` bytes; returns how many arrived before the peer closed (less than size: closed).
size_t read_all(int fd, uint8_t* data, size_t size) {
    size_t got = 0;
    while (got < size) {
        const ssize_t n = ::recv(fd, data + got, size - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) throw Error("control connection: timed out waiting for the peer");
        if (n < 0) throw Error(fmt::format("control connection: receive failed: {}", std::strerror(errno)));
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    return got;
}

}  // namespace

void write_frame(int fd, std::span<const uint8_t> payload) {
    uint8_t prefix[4];
    const auto size = static_cast<uint32_t>(payload.size());
    for (int i = 0; i < 4; ++i) prefix[i] = static_cast<uint8_t>(size >> (8 * i));
    write_all(fd, prefix, 4);
    write_all(fd, payload.data(), payload.size());
}

std::optional<std::vector<uint8_t>> read_frame(int fd, uint32_t limit) {
    uint8_t prefix[4];
    const size_t got = read_all(fd, prefix, 4);
    if (got == 0) return std::nullopt;
    if (got < 4) throw ProtocolError(fmt::format("control frame: the connection closed inside the length prefix ({} of 4 bytes)", got));
    uint32_t size = 0;
    for (int i = 0; i < 4; ++i) size |= static_cast<uint32_t>(prefix[i]) << (8 * i);
    if (size > limit) throw ProtocolError(fmt::format("control frame: {} bytes is too large (at most {})", size, limit));
    std::vector<uint8_t> payload(size);
    if (const size_t body = read_all(fd, payload.data(), size); body < size)
        throw ProtocolError(fmt::format("control frame: the connection closed after {} of {} bytes", body, size));
    return payload;
}

std::string default_socket_path() {
    const char* env = std::getenv("TCBPF_CTL");
    return env != nullptr && *env != '\0' ? env : "/run/tcbpf.ctl";
}

Client::Client(const std::string& socket_path) : path_(socket_path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(addr.sun_path))
        throw Error(fmt::format("control socket path \"{}\" is too long ({} bytes, at most {})", socket_path, socket_path.size(),
                                sizeof(addr.sun_path) - 1));
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw Error(fmt::format("cannot create a control socket: {}", std::strerror(errno)));
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        const int e = errno;
        ::close(fd_);
        fd_ = -1;
        throw Error(fmt::format("cannot reach the tcbpf daemon at {}: {}", socket_path, std::strerror(e)));
    }
}

Client::~Client() {
    if (fd_ >= 0) ::close(fd_);
}

Response Client::call(const Request& request) {
    try {
        write_frame(fd_, encode_request(request));
    } catch (const Error&) {
        // The daemon may have answered and hung up before reading (a peer it refuses): its reason is
        // worth more than the broken pipe.
        std::optional<std::vector<uint8_t>> early;
        try {
            early = read_frame(fd_, kMaxResponseBytes);
        } catch (const Error&) {
        }
        if (!early) throw;
        return decode_response(*early);
    }
    const auto payload = read_frame(fd_, kMaxResponseBytes);
    if (!payload) throw Error(fmt::format("the tcbpf daemon at {} closed the connection without an answer", path_));
    return decode_response(*payload);
}

}  // namespace tcbpf::ctl
