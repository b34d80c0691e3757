// A private network namespace with one veth pair, for end-to-end tests against the kernel's own tc:
// the test sets up qdiscs and filters with the real `tc` inside it, injects frames into one end
// (AF_PACKET), captures what arrives at the other end, and reads `tc -s -j` statistics and the kernel
// maps the filters pinned.
//
// Everything it creates is removed by the destructor (the namespace takes the veth pair with it, the
// bpffs mount is unmounted), also when the test fails. Pinned maps live on a bpffs mounted at a
// directory of the test's own (`bpffs()`), passed to tc as TC_BPF_MNT, because `ip netns exec` and `tc -n`
// run in a fresh mount namespace where /sys/fs/bpf is not mounted and a mount tc made there would
// vanish with the command.
//
// `unavailable_reason()` says why such a test cannot run here (not root, no netns, no veth, no bpf(),
// no tc binary); tests GTEST_SKIP() with it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tcbpf::test {

using Frame = std::vector<uint8_t>;

struct CommandResult {
    int status = -1;  // exit status, -1 if it did not exit normally
    std::string out, err;
};

// A command run through /bin/sh with stdout and stderr captured.
CommandResult run_shell(const std::string& command);

class NetnsVeth {
   public:
    // "" when netns end-to-end tests can run here, else one printable sentence saying why not.
    static std::string unavailable_reason();

    // A namespace "tcbpf-<pid>-<n>" holding veth pair `a` <-> `b`, both up, IPv6 off (no stray router
    // solicitations in captures). Throws tcbpf::Error with the failing command's stderr.
    NetnsVeth(std::string a = "veth0", std::string b = "veth1");
    ~NetnsVeth();
    NetnsVeth(const NetnsVeth&) = delete;
    NetnsVeth& operator=(const NetnsVeth&) = delete;

    const std::string& name() const { return name_; }
    const std::string& a() const { return a_; }
    const std::string& b() const { return b_; }
    const std::string& bpffs() const { return bpffs_; }
    uint32_t ifindex(const std::string& dev) const;

    // `command` through /bin/sh inside the namespace, TC_BPF_MNT set to bpffs().
    CommandResult run(const std::string& command) const;
    // Same, throwing tcbpf::Error "COMMAND: STDERR" if it exits non-zero; returns stdout.
    std::string run_checked(const std::string& command) const;

    // Sends `frames` out of `dev` (through its egress qdisc); they arrive at its peer's ingress.
    void inject(const std::string& dev, const std::vector<Frame>& frames) const;

    // Captures frames arriving at `dev` (before its ingress hook runs) from construction until
    // `collect` returns; collect waits until `expected` frames came or nothing came for `quiet_ms`.
    class Capture {
       public:
        Capture(const NetnsVeth& ns, const std::string& dev);
        ~Capture();
        Capture(const Capture&) = delete;
        Capture& operator=(const Capture&) = delete;
        std::vector<Frame> collect(size_t expected, int quiet_ms = 300);

       private:
        int fd_ = -1;
    };

    // `tc -s -j ARGS` inside the namespace (e.g. "filter show dev veth0 ingress"): its JSON text.
    std::string tc_json(const std::string& args) const;

   private:
    template <typename Fn>
    void inside(Fn&& fn) const;  // runs fn on a thread that joined the namespace

    std::string name_, a_, b_, bpffs_;
    int ns_fd_ = -1;
};

// The entries of a kernel map pinned at `path` (BPF_OBJ_GET, then get_next_key/lookup): key bytes and
// value bytes (per-CPU maps: possible CPUs × round_up(value_size, 8)), in the kernel's iteration order.
// Throws tcbpf::Error naming the path and errno.
std::vector<std::pair<Frame, Frame>> kernel_map_entries(const std::string& path);

}  // namespace tcbpf::test
