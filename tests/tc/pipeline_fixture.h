// A pipeline configured with tc's words, frames built in memory, and what left it recorded, for tests
// that read like the semantics tables: commands, a frame, the expected exit and counters.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tcbpf/tc.h"

namespace tcbpf::test {

inline const std::string kObject = TCBPF_TC_TEST_OBJECT;

struct Left {
    std::string port;
    tc::Exit exit;
    std::vector<uint8_t> frame;
    uint32_t mark, priority, tc_index;
    uint64_t time_ns;
};

// Ethernet (dst 02:..:01, src 02:..:02, `type`), then words A and B big-endian, then `pad` zero bytes.
inline std::vector<uint8_t> frame(uint32_t a, uint32_t b = 0, uint16_t type = 0x0800, size_t pad = 42) {
    std::vector<uint8_t> f = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type)};
    for (uint32_t w : {a, b})
        for (int s = 24; s >= 0; s -= 8) f.push_back(static_cast<uint8_t>(w >> s));
    f.resize(f.size() + pad);
    return f;
}

class PipelineTest : public ::testing::Test {
   protected:
    tc::Pipeline pipeline;
    std::vector<Left> left;

    void SetUp() override {
        if (!std::filesystem::exists(kObject)) GTEST_SKIP() << "clang did not build " << kObject;
        pipeline.set_sink([this](const tc::Delivery& d) {
            std::string name;
            for (const char* p : {"eth0", "eth1", "eth2"})
                if (pipeline.ifindex(p) == d.ifindex) name = p;
            left.push_back(Left{name, d.exit, {d.frame.begin(), d.frame.end()}, d.meta->mark, d.meta->priority,
                                d.meta->tc_index, d.time_ns});
        });
        // Three ports: eth0 (ifindex 2) and eth1 (3) are peers, eth2 (4) stands alone.
        run("port add eth0 type pcap");
        run("port add eth1 type pcap");
        run("port add eth2 type pcap");
        run("port peer eth0 eth1");
    }

    // eth0's ingress sets skb->priority = A and mark = B, which the peer eth1's root qdisc then sees.
    void steer_from_payload() {
        run("qdisc add dev eth0 clsact");
        run("filter add dev eth0 ingress bpf obj " + kObject + " sec steer");
    }

    // One tc command as a batch line would hold it.
    void run(const std::string& line) {
        const std::vector<std::string> words = tc::split_batch_line(line);
        pipeline.apply(tc::parse_command(words));
    }
    std::string error_of(const std::string& line) {
        try {
            run(line);
        } catch (const Error& e) {
            return e.what();
        }
        return "(no error)";
    }
    std::string show(const std::string& line, bool stats = false, bool json = false) {
        tc::GlobalOptions g;
        g.stats = stats;
        g.json = json;
        return pipeline.execute(tc::split_batch_line(line), g);
    }
    void send(const std::string& port, const std::vector<uint8_t>& f, uint64_t t = 0) {
        pipeline.receive(pipeline.ifindex(port), f, t);
    }
    // What the last packet sent did: "eth1 wire", "eth0 host", or "none".
    std::string fate() {
        if (left.empty()) return "none";
        const Left& l = left.back();
        std::string s = l.port + (l.exit == tc::Exit::Wire ? " wire" : " host");
        left.clear();
        return s;
    }
    tc::Stats clsact(const std::string& dev) { return pipeline.qdisc_stats(dev, tc::kClsactHandle); }
};

}  // namespace tcbpf::test
