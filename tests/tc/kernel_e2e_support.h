// What the kernel end-to-end comparisons share (kernel_e2e_test.cpp: ingress; kernel_e2e_egress_test.cpp:
// egress hook and classful qdiscs): the demo object, the generated frames a veth can carry, the demo's
// flow keys and policy values as bytes, and readers for per-CPU counters and `tc -s -j` output.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "generator.h"
#include "tcbpf/maps.h"
#include "tests/support/netns.h"

namespace tcbpf::test::e2e {

using Bytes = std::vector<uint8_t>;

inline const std::string kObject = std::string(TCBPF_EXAMPLES_DIR) + "/demo_policy.o";

inline std::string with_object(std::string line) {
    const auto at = line.find("OBJ");
    if (at != std::string::npos) line.replace(at, 3, kObject);
    return line;
}

// Generated frames a veth can carry at all: a whole Ethernet header, at most MTU 1500 of payload.
inline std::vector<Bytes> veth_frames(uint64_t seed, uint32_t count) {
    std::vector<Bytes> frames;
    for (auto& f : trafficgen::generate({.seed = seed, .count = count}))
        if (f.bytes.size() >= 14 && f.bytes.size() <= 1514) frames.push_back(f.bytes);
    return frames;
}

// struct flow_key of examples/progs/parse.h for an untagged IPv4 TCP/UDP frame that is not a fragment.
inline std::optional<Bytes> flow_key(const Bytes& f) {
    if (f.size() < 14 + 20 + 4 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4) return std::nullopt;
    const size_t ihl = (f[14] & 0xf) * 4u;
    const uint8_t proto = f[23];
    if (ihl < 20 || (proto != 6 && proto != 17) || ((f[20] & 0x1f) | f[21]) != 0 || f.size() < 14 + ihl + 4)
        return std::nullopt;
    Bytes key(40, 0);
    key[10] = key[11] = key[26] = key[27] = 0xff;
    std::copy(f.begin() + 26, f.begin() + 30, key.begin() + 12);  // saddr, IPv4-mapped
    std::copy(f.begin() + 30, f.begin() + 34, key.begin() + 28);  // daddr
    std::copy(f.begin() + 14 + static_cast<long>(ihl), f.begin() + 14 + static_cast<long>(ihl) + 4, key.begin() + 32);
    key[36] = proto;
    key[37] = 4;
    return key;
}

// The first `n` distinct flow keys of the frames, in order of appearance.
inline std::vector<Bytes> first_flows(const std::vector<Bytes>& frames, size_t n) {
    std::vector<Bytes> keys;
    std::set<Bytes> seen;
    for (const Bytes& f : frames)
        if (auto key = flow_key(f); key && keys.size() < n && seen.insert(*key).second) keys.push_back(*key);
    return keys;
}

// struct policy of demo_policy.c: a TC_ACT_* verdict and the traffic class carried in skb->priority.
inline Bytes policy_value(int32_t verdict, uint32_t priority) {
    Bytes v(8);
    for (int i = 0; i < 4; ++i) v[i] = static_cast<uint8_t>(static_cast<uint32_t>(verdict) >> (8 * i));
    for (int i = 0; i < 4; ++i) v[4 + i] = static_cast<uint8_t>(priority >> (8 * i));
    return v;
}

// Bytes as bpftool's decimal words (" 1 2 3").
inline std::string words(const Bytes& bytes) {
    std::string out;
    for (uint8_t b : bytes) out += fmt::format(" {}", b);
    return out;
}

inline uint64_t u64_at(const Bytes& b, size_t at) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | b[at + static_cast<size_t>(i)];
    return v;
}

// Per-CPU counter values: CPU slots of 16 bytes (packets, bytes), summed.
inline std::pair<uint64_t, uint64_t> sum_counters(const Bytes& value) {
    std::pair<uint64_t, uint64_t> sum{0, 0};
    for (size_t at = 0; at + 16 <= value.size(); at += 16) sum.first += u64_at(value, at), sum.second += u64_at(value, at + 8);
    return sum;
}

// The first `"field":N` in `json`; UINT64_MAX when there is none.
inline uint64_t json_number(const std::string& json, const std::string& field) {
    std::smatch m;
    if (!std::regex_search(json, m, std::regex("\"" + field + "\":([0-9]+)"))) return UINT64_MAX;
    return std::stoull(m[1]);
}

using Policies = std::vector<std::pair<Bytes, Bytes>>;  // flow key → policy value
using FlowCounts = std::map<Bytes, std::pair<uint64_t, uint64_t>>;  // flow key → packets, bytes (CPUs summed)

// The kernel side's policy: pushed into the pinned demo_policy map with bpftool before any traffic.
inline void push_kernel_policies(const NetnsVeth& ns, const Policies& policies) {
    for (const auto& [key, value] : policies) {
        const CommandResult r = run_shell(
            fmt::format("bpftool map update pinned {}/tc/globals/demo_policy key{} value{}", ns.bpffs(), words(key), words(value)));
        EXPECT_EQ(r.status, 0) << r.err;
    }
}

inline FlowCounts kernel_flows(const NetnsVeth& ns) {
    FlowCounts out;
    for (const auto& [key, value] : kernel_map_entries(ns.bpffs() + "/tc/globals/demo_flows")) out[key] = sum_counters(value);
    return out;
}

// The tcbpf side's bpffs for one run: a private directory as $TCBPF_BPFFS with the policy pinned
// before the classifier loads (the load reuses the pinned map, as on the kernel side the policy is in
// before any traffic). Removed, with the variable, when it goes.
class TcbpfBpffs {
   public:
    TcbpfBpffs(const std::string& tag, const Policies& policies)
        : dir_(std::filesystem::temp_directory_path() / fmt::format("tcbpf-{}-{}", tag, getpid())) {
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_ / "tc/globals");
        ::setenv("TCBPF_BPFFS", dir_.c_str(), 1);
        policy_ = maps::pin_map(maps::MapSpec{maps::kMapHash, 40, 8, 4096, 0, "demo_policy"}, maps::default_ncpus(),
                                (dir_ / "tc/globals/demo_policy").string());
        for (const auto& [key, value] : policies) EXPECT_EQ(policy_->update_user(key.data(), value.data(), maps::kBpfAny), 0);
    }
    ~TcbpfBpffs() {
        policy_.reset();
        ::unsetenv("TCBPF_BPFFS");
        std::filesystem::remove_all(dir_);
    }
    TcbpfBpffs(const TcbpfBpffs&) = delete;
    TcbpfBpffs& operator=(const TcbpfBpffs&) = delete;

    maps::Map& policy() { return *policy_; }
    FlowCounts flows() const {
        FlowCounts out;
        maps::open_pinned_map((dir_ / "tc/globals/demo_flows").string())->for_each([&](std::span<const uint8_t> k, std::span<const uint8_t> v) {
            out[Bytes(k.begin(), k.end())] = sum_counters(Bytes(v.begin(), v.end()));
        });
        return out;
    }

   private:
    std::filesystem::path dir_;
    std::shared_ptr<maps::Map> policy_;
};

// How many of the kernel's flows tcbpf counted differently (or not at all).
inline size_t differing_flows(const FlowCounts& kernel, const FlowCounts& ours) {
    size_t differing = 0;
    for (const auto& [key, counts] : kernel) {
        const auto it = ours.find(key);
        if (it == ours.end() || it->second != counts) ++differing;
    }
    return differing;
}

}  // namespace tcbpf::test::e2e
