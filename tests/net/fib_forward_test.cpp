// examples/progs/fib_forward.c (a tc router over bpf_fib_lookup) loaded as users load it: libbpf into
// the kernel inside a namespace configured from the host text below, tcbpf's runtime with the same text
// as its host model. Every frame must get the same verdict and leave with the same bytes (rewritten
// MACs, decremented TTL and IPv4 checksum when forwarded). Skips with the reason without root, netns or
// bpf().
#include <gtest/gtest.h>

#include <cstring>

#include <fmt/format.h>

#include "tcbpf/loader.h"
#include "tcbpf/net.h"
#include "tcbpf/runtime.h"
#include "tests/net/frames.h"
#include "tests/net/netns_thread.h"
#include "tests/support/kernel_object.h"

namespace tcbpf::net::test {
namespace {

constexpr const char* kRouter = R"(
sysctl net.ipv6.conf.default.addr_gen_mode=1
sysctl net.ipv4.conf.all.forwarding=1
sysctl net.ipv6.conf.all.forwarding=1
link set lo up
link add up0 address 02:00:00:00:0a:00 type veth peer name up1 address 02:00:00:00:0a:01
link add dn0 address 02:00:00:00:0b:00 mtu 1280 type veth peer name dn1 address 02:00:00:00:0b:01
link set up0 up
link set up1 up
link set dn0 up
link set dn1 up
addr add 192.0.2.1/24 dev up0
addr add 198.51.100.1/24 dev dn0
addr add 2001:db8:a::1/64 dev up0 nodad
addr add 2001:db8:b::1/64 dev dn0 nodad
route add default via 192.0.2.254
route add 203.0.113.0/24 via 198.51.100.254
route add blackhole 10.66.0.0/16
-6 route add default via 2001:db8:a::fe
-6 route add prohibit 2001:db8:66::/48
neigh add 192.0.2.254 lladdr 02:00:00:00:0a:fe dev up0
neigh add 198.51.100.254 lladdr 02:00:00:00:0b:fe dev dn0 nud stale
neigh add 198.51.100.7 lladdr 02:00:00:00:0b:07 dev dn0
neigh add 2001:db8:a::fe lladdr 02:00:00:00:0a:fe dev up0
)";

std::string example_path() { return std::string(TCBPF_EXAMPLES_DIR) + "/fib_forward.o"; }

struct Probe {
    const char* dst;
    uint8_t ttl;
    size_t payload;
    int32_t verdict;  // what both must answer: 7 redirect, 2 shot, 0 up the stack
};

TEST(FibForwardExample, RoutesLikeTheKernel) {
    const kernel::Availability& availability = kernel::probe();
    if (!availability.available) GTEST_SKIP() << "kernel bpf() unavailable: " << availability.reason;
    if (const std::string reason = netns_unavailable_reason(); !reason.empty())
        GTEST_SKIP() << "network namespaces unavailable: " << reason;

    const std::vector<Probe> probes = {
        {"203.0.113.9", 64, 100, 7},   // via the downstream gateway (stale neighbour: still valid)
        {"198.51.100.7", 64, 100, 7},  // a directly connected neighbour
        {"198.51.100.8", 64, 100, 0},  // connected, no neighbour entry: the stack resolves it
        {"8.8.8.8", 64, 100, 7},       // the default route
        {"8.8.8.8", 1, 100, 0},        // TTL expiring: the stack answers
        {"10.66.1.1", 64, 100, 2},     // blackhole
        {"192.0.2.1", 64, 100, 0},     // for this host
        {"203.0.113.9", 64, 1400, 0},  // bigger than dn0's MTU
        {"203.0.113.9", 64, 1252, 7},  // exactly dn0's MTU
        {"2001:db8:ffff::1", 64, 100, 7},
        {"2001:db8:66::1", 64, 100, 2},   // prohibit
        {"2001:db8:b::9", 64, 100, 0},    // no neighbour
        {"2001:db8:ffff::1", 2, 100, 7},  // hop limit 2 becomes 1
    };

    std::vector<kernel::TestRunResult> theirs;
    std::string kernel_error;
    const std::string failure = run_in_netns(kRouter, [&] {
        const std::unique_ptr<kernel::KernelObject> object =
            kernel::KernelObject::load(example_path(), BPF_PROG_TYPE_SCHED_CLS, &kernel_error);
        if (!object) return;
        for (const Probe& p : probes) {
            const std::vector<uint8_t> frame = frame_to(p.dst, p.ttl, p.payload);
            kernel::TestRunInput input;
            input.data = frame;
            theirs.push_back(kernel::test_run_fd(object->program_fd("fib_forward"), input));
        }
    });
    ASSERT_EQ(failure, "");
    ASSERT_EQ(kernel_error, "");
    ASSERT_EQ(theirs.size(), probes.size());

    const Host host = parse_host(kRouter, "router");
    const auto ours = runtime::LoadedObject::load(loader::load_object(example_path()));
    const runtime::PreparedProgram& program = ours->select("fib_forward");
    runtime::RunOptions options;
    options.host = &host;
    for (size_t i = 0; i < probes.size(); ++i) {
        const Probe& p = probes[i];
        const std::string label = fmt::format("{} ttl {} payload {}", p.dst, p.ttl, p.payload);
        ASSERT_TRUE(theirs[i].ok()) << label << ": " << kernel::errno_text(theirs[i].error);
        const runtime::RunResult r = ours->test_run(program, frame_to(p.dst, p.ttl, p.payload), options);
        ASSERT_FALSE(r.refused()) << label << ": " << r.refusal;
        EXPECT_EQ(static_cast<int32_t>(theirs[i].retval), p.verdict) << label << " (kernel)";
        EXPECT_EQ(r.ret, p.verdict) << label << " (tcbpf)";
        const std::vector<uint8_t> bytes(r.packet.bytes().begin(), r.packet.bytes().end());
        EXPECT_EQ(bytes, theirs[i].data_out) << label;
    }
}

}  // namespace
}  // namespace tcbpf::net::test
