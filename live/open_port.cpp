// Live port types behind one shape (open_port.h).
//  - afpacket: one TPACKET_V3 socket per worker in a fanout group of their own (hash fanout keeps each
//    flow on one worker);
//  - afxdp: one AF_XDP socket per worker, on receive queues 0 .. N-1 (io::open_afxdp_workers: native
//    XDP where the driver has it, else generic; the device's queue choice keeps each flow on one);
//  - tap: one device and one descriptor; worker 0 reads it, every worker writes frames into it (each
//    frame is one writev, so writers never interleave).
#include "live/open_port.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>

#include <fmt/format.h>

#include "tcbpf/error.h"

namespace tcbpf::live {

uint32_t resolve_port(const tc::PortSpec& spec, std::shared_ptr<io::Port>& tap) {
    switch (spec.type) {
        case tc::PortType::AfPacket:
        case tc::PortType::AfXdp: {
            const uint32_t ifindex = if_nametoindex(spec.dev.c_str());
            if (ifindex == 0) throw Error(fmt::format("port add {}: {}: no such interface", spec.name, spec.dev));
            return ifindex;
        }
        case tc::PortType::Tap:
            tap = io::open_tap({.name = spec.dev});
            return tap->ifindex();
        case tc::PortType::Pcap: break;
    }
    throw Error(fmt::format("port add {}: a {} port is not a live port", spec.name, tc::port_type_name(spec.type)));
}

namespace {

// One queue per worker, each worker receiving on its own.
OpenedPort every_worker_receives(std::vector<std::unique_ptr<io::Port>> queues) {
    OpenedPort opened;
    for (auto& q : queues) {
        opened.ifindex = q->ifindex();
        opened.queues.push_back(std::move(q));
        opened.receives.push_back(true);
    }
    return opened;
}

}  // namespace

NetnsHandle::NetnsHandle() {
    fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(fmt::format("opening this thread's network namespace: {}", std::strerror(errno)));
}

NetnsHandle::~NetnsHandle() { ::close(fd); }

namespace {

OpenedPort open_here(const tc::PortSpec& spec, unsigned workers, const std::shared_ptr<io::Port>& tap) {
    OpenedPort opened;
    switch (spec.type) {
        case tc::PortType::AfPacket: return every_worker_receives(io::open_afpacket_workers({.device = spec.dev}, workers));
        case tc::PortType::AfXdp: return every_worker_receives(io::open_afxdp_workers({.device = spec.dev}, workers));
        case tc::PortType::Tap:
            opened.ifindex = tap->ifindex();
            for (unsigned i = 0; i < workers; ++i) {
                opened.queues.push_back(tap);
                opened.receives.push_back(i == 0);
            }
            return opened;
        case tc::PortType::Pcap: break;
    }
    throw Error(fmt::format("port add {}: a {} port is not a live port", spec.name, tc::port_type_name(spec.type)));
}

}  // namespace

OpenedPort open_port(const tc::PortSpec& spec, unsigned workers, const std::shared_ptr<io::Port>& tap, int netns) {
    // Sockets belong to the namespace of the thread that creates them: a short-lived thread joins the
    // port's namespace, so the caller never leaves its own.
    OpenedPort opened;
    std::exception_ptr failure;
    std::thread opener([&] {
        try {
            if (setns(netns, CLONE_NEWNET) != 0)
                throw Error(fmt::format("port {}: joining its network namespace: {}", spec.name, std::strerror(errno)));
            opened = open_here(spec, workers, tap);
        } catch (...) {
            failure = std::current_exception();
        }
    });
    opener.join();
    if (failure) std::rethrow_exception(failure);
    return opened;
}

}  // namespace tcbpf::live
