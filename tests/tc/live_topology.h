// A bump-in-the-wire topology for end-to-end tests of live ports, in network namespaces the test
// creates (and removes, also when it fails): side A and side B (and optionally side C), each a
// namespace with one veth end (a0, b0, c0) holding an address, and the middle T holding the other
// ends (a1, b1, c1) with no address — where tcbpf (or the kernel's own tc) runs. A and B share one
// /24 that no interface of the host owns (checked, since a host may hold documentation ranges); C
// gets its own address in it too.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tcbpf::test {

class LiveTopology {
   public:
    // "" when the tests can run here (root, `ip`, network namespaces, veth), else why not.
    static std::string unavailable_reason();

    explicit LiveTopology(bool with_c = false);
    ~LiveTopology();
    LiveTopology(const LiveTopology&) = delete;
    LiveTopology& operator=(const LiveTopology&) = delete;

    // 'A', 'B', 'C' or 'T'.
    const std::string& ns(char side) const;
    std::string address(char side) const;  // "198.51.100.1" for A, .2 for B, .3 for C
    // A shell command inside the side's namespace; throws tcbpf::Error with its stderr if it fails.
    std::string run(char side, const std::string& command) const;
    // Calls fn on a thread that joined the side's namespace (sockets it opens stay there); rethrows.
    void in(char side, const std::function<void()>& fn) const;
    uint32_t ifindex(char side, const std::string& dev) const;

   private:
    std::string prefix_, subnet_;
    std::string names_[4];
};

// Sockets and traffic of the tests' own (no ping or iperf needed on the host).
int udp_socket_bound(const std::string& address, uint16_t port);  // non-blocking
void udp_send(int fd, const std::string& to, uint16_t port, const void* data, size_t size);
// Sends an ICMP echo request from the calling thread's namespace and waits up to `timeout_ms` for
// the reply; true if it came.
bool ping(const std::string& to, uint16_t sequence, int timeout_ms);

}  // namespace tcbpf::test

namespace tcbpf::live {
class Runner;
}

namespace tcbpf::test {

// A live runner in the middle: `setup` lines applied in T's namespace (where its ports' devices are),
// quiet log, maps pinned under `bpffs`, then started.
std::unique_ptr<live::Runner> start_runner(const LiveTopology& topology, const std::vector<std::string>& setup,
                                           const std::string& bpffs);

}  // namespace tcbpf::test
