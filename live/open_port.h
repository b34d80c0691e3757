// Opening a live port's devices, one place per port type (a new type, such as AF_XDP, is one more case).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "tcbpf/live_port.h"
#include "tcbpf/tc_spec.h"

namespace tcbpf::live {

// What the workers get for one port: worker i takes frames from `queues[i]` when `receives[i]`, and
// sends through `queues[i]`.
struct OpenedPort {
    uint32_t ifindex = 0;
    std::vector<std::shared_ptr<io::Port>> queues;
    std::vector<bool> receives;
};

// The port's ifindex as soon as it can be known without opening its queues: an AF_PACKET port's
// interface must exist ("DEV: no such interface"); a TAP device is created here and kept in `tap`.
uint32_t resolve_port(const tc::PortSpec& spec, std::shared_ptr<io::Port>& tap);

// The queues of `workers` workers, opened in the network namespace `netns` (a descriptor of the
// namespace the port was declared in: a runner may start from another one). Throws tcbpf::Error naming
// the device and the failing step.
OpenedPort open_port(const tc::PortSpec& spec, unsigned workers, const std::shared_ptr<io::Port>& tap, int netns);

// A descriptor of the calling thread's network namespace (closed by the holder).
struct NetnsHandle {
    NetnsHandle();
    ~NetnsHandle();
    NetnsHandle(const NetnsHandle&) = delete;
    NetnsHandle& operator=(const NetnsHandle&) = delete;
    int fd = -1;
};

}  // namespace tcbpf::live
