// The daemon's hold on its resources: an exclusive lock per resource (so a second daemon on the same
// socket or bpffs directory is refused, and a daemon killed with -9 leaves nothing that blocks its
// restart: the kernel drops flock locks with the process), and the listening control socket with
// owner-only permissions and the peer-credential check.
#pragma once

#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/types.h>

namespace tcbpf::ctl {

class InstanceLock {
   public:
    // Takes an exclusive lock on `path` (created 0600) and writes our pid into it. Throws tcbpf::Error
    // "another tcbpf daemon (pid N) already uses WHAT" when a live process holds it.
    InstanceLock(const std::string& path, const std::string& what);
    ~InstanceLock();
    InstanceLock(const InstanceLock&) = delete;
    InstanceLock& operator=(const InstanceLock&) = delete;

   private:
    int fd_ = -1;
};

// Throws tcbpf::Error when `path` cannot name a Unix socket (too long for sun_path).
void check_socket_path(const std::string& path);
// Binds and listens on `path` (a stale socket file is replaced: the caller holds the socket's lock).
// Mode 0600, or 0660 with `group` as the file's group. Throws tcbpf::Error naming the path.
int listen_control_socket(const std::string& path, std::optional<gid_t> group);

// The connecting process's credentials (SO_PEERCRED); nullopt if the kernel does not say.
std::optional<ucred> peer_credentials(int fd);
// Root, the daemon's own user, or (with a control group) a member of that group.
bool peer_allowed(const ucred& peer, std::optional<gid_t> group);

}  // namespace tcbpf::ctl
