// The end-to-end comparison with the kernel at egress: frames sent out of veth0 meet a clsact egress
// hook running the demo's direct-action policy (it drops one flow and gives others a priority) and then
// a classful root qdisc — htb with a bpf classifier at `parent 1:` turning the priority into a classid,
// or prio with a classic bytecode classifier returning classids from a header byte. The same batch runs
// with the real `tc` on a veth pair in a private network namespace (frames sent into veth0 by an
// AF_PACKET socket, so they take dev_queue_xmit through both) and in a tcbpf pipeline (frames received
// on a peer port, vlan-offload off so tags stay in the bytes as the socket sends them). Required of
// both: the same packets, bytes and drops at the hook, at the root qdisc and in every class, and the
// same per-flow counters. Rates are far above what the frames need, so nothing is shaped or dropped
// by a queue and the counts do not depend on timing. Skips with the reason without root, network
// namespaces, tc or bpf().
#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "tcbpf/maps.h"
#include "tcbpf/tc.h"
#include "tests/support/netns.h"
#include "tests/tc/kernel_e2e_support.h"

namespace tcbpf::test {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

// Shared by both scenarios: the policy at veth0's egress hook.
const std::vector<std::string> kHook = {
    "qdisc add dev veth0 clsact",
    "filter add dev veth0 egress pref 10 bpf da obj OBJ sec tc",
};

// htb: demo_policy's `classifier` returns 1:10/1:20/1:30 for priorities 1/2/3 and 0 (no match, so the
// default class 1:30) otherwise.
const std::vector<std::string> kHtb = {
    "qdisc add dev veth0 root handle 1: htb default 30",
    "class add dev veth0 parent 1: classid 1:1 htb rate 1gbit burst 10mb cburst 10mb",
    "class add dev veth0 parent 1:1 classid 1:10 htb rate 500mbit ceil 1gbit burst 10mb cburst 10mb prio 0",
    "class add dev veth0 parent 1:1 classid 1:20 htb rate 300mbit ceil 1gbit burst 10mb cburst 10mb prio 1",
    "class add dev veth0 parent 1:1 classid 1:30 htb rate 200mbit ceil 1gbit burst 10mb cburst 10mb prio 2",
    "filter add dev veth0 parent 1: pref 10 bpf obj OBJ sec classifier",
};

// prio: classid 1:(1 + (IPv4 protocol & 3)) — 1:4 names no band (prio2band[0] then); frames too short
// to load byte 23 do not match (the priority set at the hook picks the band through the priomap).
const std::vector<std::string> kPrio = {
    "qdisc add dev veth0 root handle 1: prio",
    "filter add dev veth0 parent 1: pref 10 bpf bytecode \"5,48 0 0 23,84 0 0 3,68 0 0 65536,4 0 0 1,22 0 0 0\"",
};

struct Counts {
    uint64_t bytes = 0, packets = 0, drops = 0;
    bool operator==(const Counts&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Counts& c) {
    return os << c.packets << " packets, " << c.bytes << " bytes, " << c.drops << " drops";
}

struct Outcome {
    std::map<std::string, Counts> qdiscs;   // by handle ("1:", "ffff:")
    std::map<std::string, Counts> classes;  // by classid ("1:10")
    FlowCounts flows;
};

// The counters of every class in `tc -s class show` text (iproute2 6.1 prints htb classes as text even
// with -j): a "class KIND HANDLE ..." line, then " Sent B bytes P pkt (dropped D, ...".
std::map<std::string, Counts> class_counts_from_text(const std::string& text) {
    std::map<std::string, Counts> out;
    const std::regex line("class \\S+ (\\S+) [^\\n]*\\n Sent ([0-9]+) bytes ([0-9]+) pkt \\(dropped ([0-9]+),");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator(); ++it)
        out[(*it)[1]] = {std::stoull((*it)[2]), std::stoull((*it)[3]), std::stoull((*it)[4])};
    return out;
}

// The counters of every object in `tc -s -j qdisc|class show` output (tcbpf's or the kernel's), by handle.
std::map<std::string, Counts> counts_by_handle(const std::string& json) {
    std::map<std::string, Counts> out;
    const std::regex handle("\"handle\":\"([0-9a-f]*:[0-9a-f]*)\"");
    std::vector<std::pair<size_t, std::string>> at;
    for (auto it = std::sregex_iterator(json.begin(), json.end(), handle); it != std::sregex_iterator(); ++it)
        at.emplace_back(static_cast<size_t>(it->position()), (*it)[1]);
    for (size_t i = 0; i < at.size(); ++i) {
        const std::string object = json.substr(at[i].first, (i + 1 < at.size() ? at[i + 1].first : json.size()) - at[i].first);
        out[at[i].second] = {json_number(object, "bytes"), json_number(object, "packets"), json_number(object, "drops")};
    }
    return out;
}

// Sends each frame once out of `dev` in the namespace through an AF_PACKET socket. Unlike
// NetnsVeth::inject it does not retry ENOBUFS: at egress that is how dev_queue_xmit reports a frame the
// hook or the qdisc dropped (NET_XMIT_DROP), and the frame was counted — sending it again would count
// it twice. Returns how many frames the kernel took.
size_t send_once(const NetnsVeth& ns, const std::string& dev, const std::vector<Bytes>& frames) {
    size_t taken = 0;
    std::string error;
    std::thread sender([&] {
        const int nsfd = ::open(("/var/run/netns/" + ns.name()).c_str(), O_RDONLY | O_CLOEXEC);
        if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) != 0) {
            error = fmt::format("joining {}: {}", ns.name(), std::strerror(errno));
            if (nsfd >= 0) ::close(nsfd);
            return;
        }
        ::close(nsfd);
        const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            error = fmt::format("AF_PACKET socket: {}", std::strerror(errno));
            return;
        }
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = static_cast<int>(::if_nametoindex(dev.c_str()));
        to.sll_halen = ETH_ALEN;
        for (const Bytes& f : frames) {
            std::memcpy(to.sll_addr, f.data(), ETH_ALEN);
            const ssize_t sent = ::sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
            if (sent == static_cast<ssize_t>(f.size()) || (sent < 0 && errno == ENOBUFS)) ++taken;
        }
        ::close(fd);
    });
    sender.join();
    if (!error.empty()) ADD_FAILURE() << error;
    return taken;
}

class KernelEgress : public ::testing::Test {
   protected:
    void SetUp() override {
        if (const std::string why = NetnsVeth::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
        if (!fs::exists(kObject)) GTEST_SKIP() << "clang did not build " << kObject;
        frames_ = veth_frames(23, 1500);
        const std::vector<Bytes> keys = first_flows(frames_, 4);
        ASSERT_EQ(keys.size(), 4u);
        // SHOT at the hook; OK with traffic classes 1 and 2; UNSPEC (the hook lets it pass) with class 3.
        static const std::pair<int32_t, uint32_t> kPolicies[] = {{2, 0}, {0, 1}, {0, 2}, {-1, 3}};
        for (size_t i = 0; i < keys.size(); ++i) policies_.emplace_back(keys[i], policy_value(kPolicies[i].first, kPolicies[i].second));
    }

    // The kernel's outcome; nullopt (and the test skipped with the reason) when it lacks a qdisc kind.
    std::optional<Outcome> kernel_run(const std::vector<std::string>& batch) {
        NetnsVeth ns;
        for (const auto& line : batch) {
            const CommandResult r = ns.run("tc " + with_object(line));
            if (r.status != 0 && r.err.find("qdisc kind is unknown") != std::string::npos) {
                skip_reason_ = "this kernel has no such qdisc (`tc " + line + "`: " + r.err + ")";
                return std::nullopt;
            }
            if (r.status != 0) {
                ADD_FAILURE() << "tc " << line << ": " << r.err;
                return std::nullopt;
            }
        }
        push_kernel_policies(ns, policies_);
        EXPECT_EQ(send_once(ns, "veth0", frames_), frames_.size());  // through veth0's egress hook and root qdisc
        Outcome out;
        for (int wait = 0; wait < 100; ++wait) {  // the qdisc may still hold frames for a moment
            out.qdiscs = counts_by_handle(ns.tc_json("qdisc show dev veth0"));
            const Counts hook = out.qdiscs["ffff:"], root = out.qdiscs["1:"];
            if (hook.packets >= frames_.size() && root.packets + hook.drops >= hook.packets) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        out.classes = class_counts_from_text(ns.run_checked("tc -s class show dev veth0"));
        out.flows = kernel_flows(ns);
        return out;
    }

    Outcome tcbpf_run(const std::vector<std::string>& batch) {
        TcbpfBpffs bpffs("e2e-egress", policies_);
        Outcome out;
        tc::Pipeline pipeline;
        // veth1 only carries the frames to veth0's egress, tags in the bytes as a packet socket sends them.
        for (const char* line : {"port add veth0 type pcap", "port add veth1 type pcap vlan-offload off", "port peer veth1 veth0"})
            pipeline.apply(tc::parse_command(tc::split_batch_line(line)));
        for (const auto& line : batch) pipeline.apply(tc::parse_command(tc::split_batch_line(with_object(line))));
        uint64_t t = 1'000'000'000;
        for (const Bytes& f : frames_) pipeline.receive(pipeline.ifindex("veth1"), f, t += 10'000);
        pipeline.drain();
        const tc::GlobalOptions json{.stats = true, .json = true, .details = false, .pretty = false};
        out.qdiscs = counts_by_handle(pipeline.execute({"qdisc", "show", "dev", "veth0"}, json));
        out.classes = counts_by_handle(pipeline.execute({"class", "show", "dev", "veth0"}, json));
        out.flows = bpffs.flows();
        return out;
    }

    void compare(const std::vector<std::string>& root, const std::vector<std::string>& classes_expected) {
        std::vector<std::string> batch = kHook;
        batch.insert(batch.end(), root.begin(), root.end());
        const std::optional<Outcome> kernel_outcome = kernel_run(batch);
        if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
        if (!kernel_outcome) return;
        const Outcome& kernel = *kernel_outcome;
        Outcome ours = tcbpf_run(batch);
        ASSERT_EQ(kernel.qdiscs.count("ffff:"), 1u);
        EXPECT_EQ(kernel.qdiscs.at("ffff:").packets, frames_.size()) << "the kernel's egress hook saw fewer frames than were sent";
        EXPECT_GT(kernel.qdiscs.at("ffff:").drops, 0u) << "the SHOT policy matched no frame";
        EXPECT_EQ(kernel.qdiscs.at("1:").drops, 0u) << "the kernel's root qdisc dropped: counts would depend on timing";
        for (const auto& [handle, counts] : kernel.qdiscs) {
            if (handle != "ffff:" && handle != "1:") continue;  // leaf qdiscs the kernel lists by their own handles
            EXPECT_EQ(ours.qdiscs[handle], counts) << "qdisc " << handle;
        }
        for (const std::string& classid : classes_expected) {
            ASSERT_EQ(kernel.classes.count(classid), 1u) << "the kernel lists no class " << classid;
            EXPECT_EQ(ours.classes[classid], kernel.classes.at(classid)) << "class " << classid;
            EXPECT_GT(kernel.classes.at(classid).packets, 0u) << "no frame was classified into " << classid;
        }
        EXPECT_EQ(ours.classes.size(), kernel.classes.size());
        EXPECT_EQ(ours.flows.size(), kernel.flows.size());
        EXPECT_EQ(differing_flows(kernel.flows, ours.flows), 0u) << "flows whose counters differ (of " << kernel.flows.size() << ")";
    }

    std::vector<Bytes> frames_;
    Policies policies_;
    std::string skip_reason_;
};

TEST_F(KernelEgress, HtbClassesFromABpfClassifierCountAsTheKernels) {
    compare(kHtb, {"1:1", "1:10", "1:20", "1:30"});
}

TEST_F(KernelEgress, PrioBandsFromClassicBytecodeCountAsTheKernels) {
    compare(kPrio, {"1:2", "1:3"});  // 1:1 (protocol & 3 == 0) may carry nothing
}

}  // namespace
}  // namespace tcbpf::test
