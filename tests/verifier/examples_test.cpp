// The example tc programs (examples/progs, compiled by clang as users compile them): the ones made of
// what this verifier explores are accepted in full (the kernel accepts them all), the others are
// refused as "not supported yet" at the first feature still missing — never accepted unchecked.
#include <gtest/gtest.h>

#include <filesystem>

#include "tcbpf/loader.h"
#include "tcbpf/verifier.h"

namespace tcbpf::verifier {
namespace {

struct Expectation {
    const char* object;
    const char* program;
    bool accepted;  // false: "not supported yet"
};

constexpr Expectation kExamples[] = {
    {"pass_all", "pass_all", true},
    {"port_classifier", "port_classifier", true},
    {"policy", "policy_classifier", true},
    {"flow_counters", "flow_counters", true},
    {"lpm_acl", "lpm_acl", true},
    {"tail_dispatch", "handle_ipv4", true},
    {"tail_dispatch", "handle_ipv6", true},
    {"tail_dispatch", "dispatch", true},
    {"l4_lb", "l4_lb", true},
    {"event_log", "event_log", true},  // perf_event_output, ringbuf_output, trace_printk
    // A bpf-to-bpf call around a 256-round loop: only precision tracking (hit counts are not compared)
    // and enough checkpoints per loop instruction keep it inside the budget.
    {"payload_scan", "payload_scan", true},
    // 3,000+ instructions: bounded loops, bpf-to-bpf calls, tail calls (examples/progs/datapath.c).
    {"datapath", "datapath", true},
    {"datapath", "datapath_icmp", true},
    {"datapath", "datapath_unparsed", true},
};

Options options_for(const loader::Object& object) {
    Options options;
    for (const loader::MapDef& m : object.maps)
        options.maps.push_back(MapInfo{m.type, m.key_size, m.value_size, m.max_entries, m.map_flags});
    return options;
}

TEST(Examples, SupportedProgramsAreAcceptedTheRestRefused) {
    for (const Expectation& e : kExamples) {
        SCOPED_TRACE(e.program);
        std::string path = std::string(TCBPF_EXAMPLES_DIR) + "/" + e.object + ".o";
        if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " was not built (clang-14 missing?)";
        loader::Object object = loader::load_object(path);
        Result r = verify(loader::find_program(object, e.program).prog, options_for(object));
        if (e.accepted) {
            EXPECT_TRUE(r.ok) << r.message << " at insn " << r.insn_idx;
        } else {
            EXPECT_FALSE(r.ok);
            EXPECT_TRUE(r.message.starts_with("not supported yet")) << r.message;
        }
    }
}

}  // namespace
}  // namespace tcbpf::verifier
