// bpf_fib_lookup and bpf_check_mtu against the running kernel. One host description is both the
// script that configures a fresh network namespace (each line run by `ip` or `sysctl`) and the model
// tcbpf reads; then thousands of parameter sets (IPv4/IPv6, every flag combination, every answer the
// helpers give, tot_len around the MTUs, frames longer than the egress device allows) go through
// BPF_PROG_TEST_RUN inside that namespace and through tcbpf, which must return the same value and leave
// the same struct bpf_fib_lookup / mtu_len bytes. Skips with the reason without root, netns or bpf().
#include <gtest/gtest.h>

#include <net/if.h>

#include <cstring>
#include <functional>
#include <map>
#include <random>

#include <fmt/format.h>

#include "tcbpf/asm.h"
#include "tcbpf/net.h"
#include "tests/helpers/helper_run.h"
#include "tests/net/netns_thread.h"
#include "tests/support/kernel_bpf.h"

namespace tcbpf::net::test {
namespace {

// Devices get explicit MACs (the kernel's would be random); b0's MTU keeps IPv6, d0's (1000) has none.
constexpr const char* kHost = R"(
sysctl net.ipv6.conf.default.addr_gen_mode=1
sysctl net.ipv4.conf.all.forwarding=1
sysctl net.ipv6.conf.all.forwarding=1
link set lo up
link add a0 address 02:00:00:00:0a:00 type veth peer name a1 address 02:00:00:00:0a:01
link add b0 address 02:00:00:00:0b:00 mtu 1280 type veth peer name b1 address 02:00:00:00:0b:01
link add c0 address 02:00:00:00:0c:00 mtu 1400 type veth peer name c1 address 02:00:00:00:0c:01
link add d0 address 02:00:00:00:0d:00 mtu 1000 type veth peer name d1 address 02:00:00:00:0d:01
link set a0 up
link set a1 up
link set b0 up
link set b1 up
link set c0 up
link set c1 up
link set d0 up
link set d1 up
sysctl net.ipv4.conf.c0.forwarding=0
sysctl net.ipv6.conf.c0.forwarding=0
addr add 10.1.0.1/24 dev a0
addr add 10.1.0.2/24 dev a0
addr add 10.2.0.1/24 dev b0
addr add 10.3.0.1/30 dev c0
addr add 10.4.0.1/24 dev d0
addr add 2001:db8:1::1/64 dev a0 nodad
addr add 2001:db8:2::1/64 dev b0 nodad
addr add fd00:3::1/64 dev c0 nodad
route add 10.10.0.0/16 via 10.1.0.254
route add 10.10.5.0/24 via 10.2.0.254 metric 5
route add 10.10.5.0/24 via 10.1.0.253 metric 10
route add blackhole 10.10.9.0/24
route add 10.20.0.0/16 dev b0 src 10.1.0.1
route add 10.21.0.0/16 dev b0
route add 10.44.0.0/16 via 10.4.0.254
route add unreachable 10.30.0.0/16
route add blackhole 10.31.0.0/16
route add prohibit 10.32.0.0/16
route add 10.40.0.0/16 via 10.1.0.254 table 100
route add 10.41.0.0/16 via 10.2.0.254 table 200
route add default via 10.3.0.2 table 200
route add unreachable 10.42.0.0/16 table 100
rule add fwmark 0x10 table 100 pref 100
rule add from 10.9.0.0/16 table 200 pref 200
rule add iif c0 table 200 pref 300
rule add to 10.60.0.0/16 table 100
-6 route add 2001:db8:10::/48 via 2001:db8:1::fe
-6 route add 2001:db8:10:5::/64 via 2001:db8:2::fe metric 5
-6 route add 2001:db8:10:5::/64 via 2001:db8:1::fd metric 10
-6 route add 2001:db8:20::/48 dev b0 src 2001:db8:1::1
-6 route add unreachable 2001:db8:30::/48
-6 route add blackhole 2001:db8:31::/48
-6 route add prohibit 2001:db8:32::/48
-6 route add 2001:db8:40::/48 via 2001:db8:1::fe table 100
-6 route add default via 2001:db8:2::fe table 200
-6 rule add fwmark 0x10 table 100 pref 100
-6 rule add from 2001:db8:9::/48 table 200 pref 200
neigh add 10.1.0.254 lladdr 02:00:00:00:01:fe dev a0
neigh add 10.2.0.254 lladdr 02:00:00:00:02:fe dev b0 nud stale
neigh add 10.1.0.253 dev a0 nud failed
neigh add 10.1.0.77 lladdr 02:00:00:00:01:77 dev a0 nud reachable
neigh add 10.3.0.2 lladdr 02:00:00:00:03:02 dev c0 nud noarp
neigh add 10.4.0.254 lladdr 02:00:00:00:04:fe dev d0 nud probe
neigh add 10.21.0.9 dev b0 nud incomplete
neigh add 2001:db8:1::fe lladdr 02:00:00:00:01:fe dev a0
neigh add 2001:db8:1::fd dev a0 nud failed
neigh add 2001:db8:1::77 lladdr 02:00:00:00:01:77 dev a0 nud delay
neigh add 2001:db8:2::fe lladdr 02:00:00:00:02:fe dev b0 nud stale
neigh add fd00:3::9 lladdr 02:00:00:00:03:09 dev c0
)";

// A host with lo down and no IPv6 address anywhere (IPv6 sources cannot be chosen), no custom rules
// (local and main are one table, the default table is tried after main fails), routes in the default
// table under an unreachable one in main, and devices left down, one with an explicit ifindex.
constexpr const char* kBareHost = R"(
sysctl net.ipv6.conf.default.addr_gen_mode=1
sysctl net.ipv4.conf.all.forwarding=1
sysctl net.ipv6.conf.all.forwarding=1
link add a0 address 02:00:00:00:0a:00 type veth peer name a1 address 02:00:00:00:0a:01
link set a0 up
link set a1 up
addr add 10.5.0.1/16 dev a0
route add 10.6.0.0/16 dev a0
route add 10.7.0.0/16 via 10.5.0.254 table default
route add unreachable 10.8.0.0/16
route add 10.8.1.0/24 via 10.5.0.254 table default
route add 10.9.0.0/16 via 10.5.0.254 table 50
-6 route add 2001:db8:5::/64 dev a0
-6 route add 2001:db8:6::/64 via fe80::1 dev a0
-6 route add 2001:db8:7::/64 via fe80::2 dev a0 table 50
neigh add 10.5.0.254 lladdr 02:00:00:00:05:fe dev a0
neigh add 10.6.0.7 lladdr 02:00:00:00:06:07 dev a0
neigh add fe80::1 lladdr 02:00:00:00:fe:01 dev a0
neigh add 2001:db8:5::7 lladdr 02:00:00:00:05:07 dev a0 nud noarp
link add e0 index 40 address 02:00:00:00:0e:00 type veth peer name e1 address 02:00:00:00:0e:01
link add f0 address 02:00:00:00:0f:00 type veth peer name f1 address 02:00:00:00:0f:01
)";

// What the random cases draw from for one host.
struct Pools {
    std::vector<std::string> dst4, src4, dst6, src6;
};

const Pools kFullPools = {
    {"10.1.0.77", "10.1.0.99", "10.1.0.1",  "10.1.0.2",  "10.1.0.255", "10.10.1.1", "10.10.5.1",
     "10.10.9.1", "10.20.1.1", "10.21.0.9", "10.21.0.8", "10.44.0.1",  "10.30.1.1", "10.31.1.1",
     "10.32.1.1", "10.40.1.1", "10.41.1.1", "10.42.1.1", "10.60.1.1",  "10.99.1.1", "127.0.0.1",
     "10.3.0.2",  "10.3.0.1",  "10.4.0.9",  "0.0.0.0",   "10.2.0.254", "224.0.0.1"},
    {"0.0.0.0", "10.9.0.5", "10.1.0.1", "192.0.2.1"},
    {"2001:db8:1::77", "2001:db8:1::99",   "2001:db8:1::1",  "2001:db8:1::",   "2001:db8:10::1",
     "2001:db8:10:5::1", "2001:db8:20::1", "2001:db8:30::1", "2001:db8:31::1", "2001:db8:32::1",
     "2001:db8:40::1", "2001:db8:99::1",   "2001:db8:2::fe", "fd00:3::9",      "fd00:3::1",
     "fe80::1",        "ff02::1",          "::1",            "::",             "2001:db8:1::fe"},
    {"::", "2001:db8:9::5", "2001:db8:1::1", "fe80::5", "ff02::2"},
};

const Pools kBarePools = {
    {"10.5.0.254", "10.5.0.9", "10.5.0.1", "10.6.0.7", "10.6.0.8", "10.7.1.1", "10.8.1.1", "10.8.2.1", "10.9.1.1",
     "127.0.0.1", "10.99.0.1"},
    {"0.0.0.0", "10.5.0.1"},
    {"2001:db8:5::7", "2001:db8:5::8", "2001:db8:6::1", "2001:db8:7::1", "2001:db8:99::1", "::1"},
    {"::", "2001:db8:5::1"},
};

constexpr uint32_t kParamsAt = 14;  // the parameters follow an Ethernet header in the frame

// Loads struct bpf_fib_lookup (64 bytes) and the flags (4) from the frame, calls bpf_fib_lookup with
// length PLEN, stores the struct back into the frame and returns the helper's answer.
constexpr const char* kFibProgram = R"(r6 = r1
r1 = r6
r2 = 14
r3 = r10
r3 += -104
r4 = 68
call 26
r4 = *(u32 *)(r10 - 40)
r1 = r6
r2 = r10
r2 += -104
r3 = PLEN
call 69
r7 = r0
r1 = r6
r2 = 14
r3 = r10
r3 += -104
r4 = 64
r5 = 0
call 9
r0 = r7
exit
)";

// Loads ifindex, mtu_len, len_diff and flags (4 bytes each) from the frame, calls bpf_check_mtu, stores
// the four words back (mtu_len as the helper left it) and returns the helper's answer.
constexpr const char* kMtuProgram = R"(r6 = r1
r1 = r6
r2 = 14
r3 = r10
r3 += -16
r4 = 16
call 26
r1 = r6
r2 = *(u32 *)(r10 - 16)
r3 = r10
r3 += -12
r4 = *(u32 *)(r10 - 8)
r4 <<= 32
r4 s>>= 32
r5 = *(u32 *)(r10 - 4)
call 163
r7 = r0
r1 = r6
r2 = 14
r3 = r10
r3 += -16
r4 = 16
r5 = 0
call 9
r0 = r7
exit
)";

struct Case {
    std::string label;
    std::vector<uint8_t> frame;
    uint16_t gso_size = 0, gso_segs = 0;  // through ctx_in: a GSO skb (length checks are then per segment)
};

// A quarter of the cases run on a GSO skb (gso_size 1000, 2 segments).
void maybe_gso(std::mt19937& rng, Case& c) {
    if (rng() % 4 != 0) return;
    c.gso_size = 1000;
    c.gso_segs = 2;
    c.label += " gso 1000x2";
}

struct Outcome {
    uint32_t retval = 0;
    std::vector<uint8_t> bytes;  // the parameters as the program left them
};

template <typename T>
const T& pick(std::mt19937& rng, const std::vector<T>& options) {
    return options[std::uniform_int_distribution<size_t>(0, options.size() - 1)(rng)];
}

std::vector<uint8_t> frame_with(const uint8_t* params, size_t params_len, size_t frame_len) {
    std::vector<uint8_t> frame(std::max(frame_len, kParamsAt + params_len + 4), 0);
    const uint8_t eth[14] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
    std::memcpy(frame.data(), eth, sizeof eth);
    std::memcpy(frame.data() + kParamsAt, params, params_len);
    return frame;
}

void put(uint8_t* p, uint32_t off, const void* v, size_t n) { std::memcpy(p + off, v, n); }

// Every device of the host, twice for the Ethernet ones, and an ifindex no device has.
std::vector<uint32_t> ifindexes_of(const Host& host) {
    std::vector<uint32_t> out = {99};
    for (const Device& d : host.devices()) {
        out.push_back(d.ifindex);
        if (!d.loopback) out.push_back(d.ifindex);
    }
    return out;
}

std::vector<Case> fib_cases(const Host& host, const Pools& pools, uint8_t family, size_t count) {
    std::mt19937 rng(family);
    const std::vector<uint32_t> ifindexes = ifindexes_of(host);
    const std::vector<uint16_t> tot_lens = {0, 0, 0, 0, 100, 999, 1000, 1001, 1280, 1281, 1400, 1500, 1501, 65535};
    const std::vector<uint32_t> tbids = {0, 100, 200, 254, 255, 300};
    const std::vector<uint32_t> marks = {0, 0x10, 0x11};
    const std::vector<size_t> frame_lens = {100, 700, 1018, 1019, 1298, 1299, 1518, 1519, 2000};
    std::vector<Case> cases;
    for (size_t i = 0; i < count; ++i) {
        uint8_t p[68] = {};
        p[0] = i % 97 == 0 ? 7 : (family == 4 ? 2 : 10);
        p[1] = static_cast<uint8_t>(rng() % 3 == 0 ? 6 : 17);
        const uint16_t ports[2] = {static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng())};
        put(p, 2, ports, 4);
        const uint16_t tot_len = pick(rng, tot_lens);
        put(p, 6, &tot_len, 2);
        const uint32_t ifindex = pick(rng, ifindexes);
        put(p, 8, &ifindex, 4);
        const uint32_t flowinfo = rng() % 4 == 0 ? static_cast<uint32_t>(rng()) : 0;
        put(p, 12, &flowinfo, 4);
        const Ip dst = *parse_ip(pick(rng, family == 4 ? pools.dst4 : pools.dst6));
        const Ip src = *parse_ip(pick(rng, family == 4 ? pools.src4 : pools.src6));
        put(p, 16, src.bytes.data(), family == 4 ? 4 : 16);
        put(p, 32, dst.bytes.data(), family == 4 ? 4 : 16);
        const uint32_t tbid = pick(rng, tbids);
        put(p, 48, &tbid, 4);
        const uint32_t mark = pick(rng, marks);
        put(p, 52, &mark, 4);
        put(p, 56, "\xaa\xbb\xcc\xdd\xee\xff\x11\x22", 8);  // the rest of smac/dmac: must survive failures
        uint32_t flags = static_cast<uint32_t>(rng() % 64);
        if (i % 101 == 0) flags |= 64u << (rng() % 3);  // an unknown flag
        put(p, 64, &flags, 4);
        const size_t frame_len = pick(rng, frame_lens);
        cases.push_back({fmt::format("case {}: family {} dst {} src {} ifindex {} flags {:#x} tot_len {} tbid {} mark {:#x} "
                                     "len {}",
                                     i, p[0], format_ip(dst), format_ip(src), ifindex, flags, tot_len, tbid, mark,
                                     frame_len),
                         frame_with(p, sizeof p, frame_len)});
        maybe_gso(rng, cases.back());
    }
    return cases;
}

std::vector<Case> mtu_cases(const Host& host, size_t count) {
    std::mt19937 rng(163);
    std::vector<uint32_t> ifindexes = ifindexes_of(host);
    ifindexes.insert(ifindexes.end(), {0, 0, 0});
    const std::vector<uint32_t> mtu_lens = {0, 0, 0, 100, 1000, 1001, 1280, 1500, 1501, 65536, 0x7fffffff};
    const std::vector<int32_t> diffs = {0, 0, 0, -100, 100, -2000, 5000, 1, -1};
    const std::vector<uint32_t> flags = {0, 0, 0, 1, 1, 2, 3};
    const std::vector<size_t> frame_lens = {100, 700, 1014, 1015, 1294, 1295, 1514, 1515, 2000};
    std::vector<Case> cases;
    for (size_t i = 0; i < count; ++i) {
        const uint32_t words[4] = {pick(rng, ifindexes), pick(rng, mtu_lens), static_cast<uint32_t>(pick(rng, diffs)),
                                   pick(rng, flags)};
        const size_t frame_len = pick(rng, frame_lens);
        cases.push_back({fmt::format("case {}: ifindex {} mtu_len {} len_diff {} flags {} len {}", i, words[0], words[1],
                                     static_cast<int32_t>(words[2]), words[3], frame_len),
                         frame_with(reinterpret_cast<const uint8_t*>(words), sizeof words, frame_len)});
        maybe_gso(rng, cases.back());
    }
    return cases;
}

std::vector<isa::RawInsn> kernel_code(const std::string& text) { return isa::encode(isa::assemble(text, "kernel")); }

Outcome tcbpf_run(const Host& host, const std::string& text, const Case& c, size_t params_len) {
    helpers::test::HelperRun run(c.frame);
    run.env.host = &host;
    run.meta.gso_size = c.gso_size;
    run.meta.gso_segs = c.gso_segs;
    Outcome out;
    out.retval = static_cast<uint32_t>(run.run(text));
    const std::vector<uint8_t> bytes = run.bytes();
    out.bytes.assign(bytes.begin() + kParamsAt, bytes.begin() + kParamsAt + params_len);
    return out;
}

std::string hex(const std::vector<uint8_t>& bytes) {
    std::string s;
    for (size_t i = 0; i < bytes.size(); ++i) s += fmt::format("{:02x}{}", bytes[i], i % 16 == 15 ? "\n" : " ");
    return s;
}

class FibKernel : public ::testing::Test {
   protected:
    void SetUp() override {
        const kernel::Availability& availability = kernel::probe();
        if (!availability.available) GTEST_SKIP() << "kernel bpf() unavailable: " << availability.reason;
        if (const std::string reason = netns_unavailable_reason(); !reason.empty())
            GTEST_SKIP() << "network namespaces unavailable: " << reason;
    }

    // Runs every case in the kernel (inside the configured namespace) and in tcbpf and compares.
    void compare(const char* script, const std::string& text, size_t params_len,
                 const std::function<std::vector<Case>(const Host&)>& make_cases) {
        const Host host = parse_host(script, "host");
        const std::vector<Case> cases = make_cases(host);
        std::vector<Outcome> kernel_outcomes;
        std::string kernel_error;
        const std::string failure = run_in_netns(script, [&] {
            // The model's ifindex allocation must be the kernel's, or the cases would mean different devices.
            for (const Device& d : host.devices())
                if (if_nametoindex(d.name.c_str()) != d.ifindex)
                    kernel_error += fmt::format("{}: kernel ifindex {}, model {}\n", d.name, if_nametoindex(d.name.c_str()), d.ifindex);
            const kernel::LoadResult loaded = kernel::load_program(kernel_code(text));
            if (!loaded.ok()) {
                kernel_error = "load: " + kernel::errno_text(loaded.error) + "\n" + loaded.log;
                return;
            }
            for (const Case& c : cases) {
                kernel::TestRunInput input;
                input.data = c.frame;
                uint8_t ctx[192] = {};
                if (c.gso_size != 0) {
                    const uint32_t segs = c.gso_segs, size = c.gso_size;
                    std::memcpy(ctx + 164, &segs, 4);  // __sk_buff.gso_segs
                    std::memcpy(ctx + 176, &size, 4);  // __sk_buff.gso_size
                    input.ctx = ctx;
                }
                const kernel::TestRunResult r = kernel::test_run(loaded.fd, input);
                if (!r.ok()) {
                    kernel_error = c.label + ": test_run: " + kernel::errno_text(r.error);
                    return;
                }
                kernel_outcomes.push_back(
                    {r.retval, {r.data_out.begin() + kParamsAt, r.data_out.begin() + kParamsAt + params_len}});
            }
        });
        ASSERT_EQ(failure, "");
        ASSERT_EQ(kernel_error, "");
        ASSERT_EQ(kernel_outcomes.size(), cases.size());
        std::map<uint32_t, size_t> answers;
        for (const Outcome& theirs : kernel_outcomes) ++answers[theirs.retval];
        size_t mismatches = 0;
        for (size_t i = 0; i < cases.size() && mismatches < 10; ++i) {
            const Outcome ours = tcbpf_run(host, text, cases[i], params_len);
            const Outcome& theirs = kernel_outcomes[i];
            if (ours.retval != theirs.retval || ours.bytes != theirs.bytes) {
                ++mismatches;
                ADD_FAILURE() << cases[i].label << fmt::format("\nreturn: tcbpf {}, kernel {}", static_cast<int32_t>(ours.retval),
                                                               static_cast<int32_t>(theirs.retval))
                              << "\ntcbpf:\n" << hex(ours.bytes) << "\nkernel:\n" << hex(theirs.bytes);
            }
        }
        std::string seen;
        for (const auto& [value, n] : answers) seen += fmt::format(" {}×{}", static_cast<int32_t>(value), n);
        std::printf("%zu cases, kernel answers:%s\n", cases.size(), seen.c_str());
        answers_ = answers;
    }

    std::map<uint32_t, size_t> answers_;
};

std::string fib_program(int plen) {
    std::string text = kFibProgram;
    text.replace(text.find("PLEN"), 4, std::to_string(plen));
    return text;
}

// Every BPF_FIB_LKUP_RET_* code the helper can give here, and its errors, must have been exercised.
void expect_answers(const std::map<uint32_t, size_t>& answers, std::initializer_list<int32_t> expected) {
    for (const int32_t value : expected)
        EXPECT_TRUE(answers.count(static_cast<uint32_t>(value))) << "no case answered " << value;
}

TEST_F(FibKernel, Ipv4LookupsMatchTheKernel) {
    compare(kHost, fib_program(64), 64, [](const Host& h) { return fib_cases(h, kFullPools, 4, 6000); });
    if (HasFatalFailure() || IsSkipped()) return;
    expect_answers(answers_, {0, 1, 2, 3, 4, 5, 7, 8, -ENODEV, -EINVAL, -EAFNOSUPPORT});
}

TEST_F(FibKernel, Ipv6LookupsMatchTheKernel) {
    compare(kHost, fib_program(64), 64, [](const Host& h) { return fib_cases(h, kFullPools, 6, 6000); });
    if (HasFatalFailure() || IsSkipped()) return;
    expect_answers(answers_, {0, 1, 2, 3, 4, 5, 7, 8, -ENODEV, -EINVAL, -EAFNOSUPPORT});
}

TEST_F(FibKernel, Ipv4OnABareHostMatchesTheKernel) {
    compare(kBareHost, fib_program(64), 64, [](const Host& h) { return fib_cases(h, kBarePools, 4, 3000); });
    if (HasFatalFailure() || IsSkipped()) return;
    expect_answers(answers_, {0, 2, 4, 7, 8});
}

TEST_F(FibKernel, Ipv6OnABareHostMatchesTheKernel) {
    compare(kBareHost, fib_program(64), 64, [](const Host& h) { return fib_cases(h, kBarePools, 6, 3000); });
    if (HasFatalFailure() || IsSkipped()) return;
    expect_answers(answers_, {0, 4, 7, 8, 9});
}

TEST_F(FibKernel, ShortParameterLengthIsRefused) {
    compare(kHost, fib_program(32), 64, [](const Host& h) { return fib_cases(h, kFullPools, 4, 50); });
    if (HasFatalFailure() || IsSkipped()) return;
    EXPECT_EQ(answers_, (std::map<uint32_t, size_t>{{static_cast<uint32_t>(-EINVAL), 50}}));
}

TEST_F(FibKernel, CheckMtuMatchesTheKernel) {
    compare(kHost, kMtuProgram, 16, [](const Host& h) { return mtu_cases(h, 3000); });
    if (HasFatalFailure() || IsSkipped()) return;
    expect_answers(answers_, {0, 1, -EINVAL, -ENODEV});
}

}  // namespace
}  // namespace tcbpf::net::test
