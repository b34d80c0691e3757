// A cBPF program as a runtime object: cbpf::to_object's result loads into runtime::LoadedObject and
// runs under BPF_PROG_TEST_RUN's rules like a clang-compiled classifier — the skb a test run builds
// (loopback device, ifindex 1, protocol and pkt_type from eth_type_trans) is what its ancillary loads see.
#include <gtest/gtest.h>

#include "generator.h"
#include "tcbpf/cbpf_object.h"
#include "tcbpf/helpers.h"
#include "tcbpf/runtime.h"

using namespace tcbpf;

namespace {

constexpr uint32_t anc(uint32_t id) { return 0xfffff000u + id; }

std::unique_ptr<runtime::LoadedObject> load(const cbpf::Program& prog) {
    cbpf::ConvertedObject converted = cbpf::to_object(prog, "filter");
    EXPECT_TRUE(converted.verified()) << converted.verdict.message;
    runtime::LoadOptions options;
    options.checked = !converted.verified();
    return runtime::LoadedObject::load(std::move(converted.object), options);
}

// What the reference interpreter sees of a BPF_PROG_TEST_RUN skb built from `frame`.
cbpf::Packet test_run_packet(std::span<const uint8_t> frame) {
    cbpf::Packet p;
    p.data = frame;
    p.protocol = skb::eth_protocol(frame);
    p.pkt_type = skb::eth_pkt_type(frame, skb::TestRunDevice{});
    p.ifindex = 1;
    p.hatype = helpers::kArphrdLoopback;
    p.pay_offset = helpers::payload_offset(frame, 14, p.protocol, false, 0);
    return p;
}

}  // namespace

TEST(CbpfObject, OneClassifierProgramNoMaps) {
    const cbpf::ConvertedObject converted = cbpf::to_object(cbpf::compile_filter("ip"), "bytecode");
    ASSERT_EQ(converted.object.programs.size(), 1u);
    EXPECT_TRUE(converted.object.maps.empty());
    EXPECT_EQ(converted.object.programs[0].name, "bytecode");
    EXPECT_EQ(converted.object.programs[0].section, "classifier");
    EXPECT_EQ(cbpf::to_object({{0x06, 0, 0, 0}}, "a", loader::ProgType::Action).object.programs[0].section, "action");
}

TEST(CbpfObject, RunsUnderTestRunLikeTheReference) {
    const auto frames = trafficgen::generate({.seed = 5, .count = 500});
    const cbpf::Program programs[] = {
        cbpf::compile_filter("tcp port 80 or udp"),
        cbpf::compile_filter("ip6 and not icmp6"),
        {{0x20, 0, 0, anc(cbpf::kAdPayOffset)}, {0x16, 0, 0, 0}},
        {{0x20, 0, 0, anc(cbpf::kAdProtocol)}, {0x16, 0, 0, 0}},
        {{0x20, 0, 0, anc(cbpf::kAdPktType)}, {0x16, 0, 0, 0}},
        {{0x80, 0, 0, 0}, {0x16, 0, 0, 0}},  // ld #len
    };
    for (const cbpf::Program& prog : programs) {
        const auto object = load(prog);
        const runtime::PreparedProgram& program = object->select("");
        for (size_t n = 0; n < frames.size(); ++n) {
            const runtime::RunResult r = object->test_run(program, frames[n].bytes);
            if (r.refused()) continue;  // frames test_run refuses (runts) never reach the program
            ASSERT_EQ(r.fault, vm::Fault::None) << r.fault_detail;
            ASSERT_EQ(static_cast<uint32_t>(r.ret), cbpf::run(prog, test_run_packet(frames[n].bytes)))
                << cbpf::disassemble(prog) << "frame " << n;
        }
    }
}

TEST(CbpfObject, TestRunsHappenOnLoopback) {
    const auto frames = trafficgen::generate({.seed = 5, .count = 1});
    const auto hatype = load({{0x20, 0, 0, anc(cbpf::kAdHatype)}, {0x16, 0, 0, 0}});
    EXPECT_EQ(hatype->test_run(hatype->select(""), frames[0].bytes).ret, 772);
    const auto ifindex = load({{0x20, 0, 0, anc(cbpf::kAdIfindex)}, {0x16, 0, 0, 0}});
    EXPECT_EQ(ifindex->test_run(ifindex->select(""), frames[0].bytes).ret, 1);
}
