// The runtime on hand-built frames: the example objects give exact verdicts, classids, marks and map
// contents; preparation names what it refuses; checked mode stops stray accesses; test_run refuses what
// BPF_PROG_TEST_RUN refuses.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "tcbpf/asm.h"
#include "tcbpf/loader.h"
#include "tcbpf/runtime.h"
#include "tests/runtime/frames.h"

namespace tcbpf::runtime {
namespace {

using namespace test_frames;

std::string example(const std::string& name) { return std::string(TCBPF_EXAMPLES_DIR) + "/" + name + ".o"; }

std::unique_ptr<LoadedObject> load_example(const std::string& name) {
    return LoadedObject::load(loader::load_object(example(name)));
}

TEST(RuntimeExamples, PortClassifierPicksTheClassByDestinationPort) {
    auto object = load_example("port_classifier");
    const PreparedProgram& program = object->select("port_classifier");
    struct Case {
        Bytes frame;
        uint16_t classid;  // qdisc_skb_cb's tc_classid is 16 bits: 1:10 keeps its minor 0x000a
    } cases[] = {
        {ipv4_frame(17, 1000, 53), 0x000a},
        {ipv4_frame(6, 1000, 8080), 0x0014},
        {ipv4_frame(17, 1000, 50000), 0x001e},
        {ipv4_frame(1, 0, 0), 0x0028},
        {arp_frame(), 0},
    };
    for (const Case& c : cases) {
        const RunResult r = object->test_run(program, c.frame);
        ASSERT_FALSE(r.refused()) << r.refusal;
        EXPECT_EQ(r.ret, 0);
        EXPECT_EQ(r.meta.tc_classid, c.classid);
        EXPECT_EQ(Bytes(r.packet.bytes().begin(), r.packet.bytes().end()), c.frame);
    }
}

TEST(RuntimeExamples, PolicyFromUserSpaceSetsVerdictClassidPriorityAndMark) {
    auto object = load_example("policy");
    const PreparedProgram& program = object->select("policy_classifier");
    const Bytes frame = ipv4_frame(17, 1000, 53);

    RunResult r = object->test_run(program, frame);
    EXPECT_EQ(r.ret, 0);
    EXPECT_EQ(counter(*object, "policy_stats", 1), 1u);  // miss

    Bytes key(40, 0);
    key[10] = key[11] = 0xff, key[12] = 10, key[15] = 1;
    key[26] = key[27] = 0xff, key[28] = 10, key[31] = 2;
    key[32] = 0x03, key[33] = 0xe8, key[35] = 0x35, key[36] = 17, key[37] = 4;
    const uint32_t policy[4] = {2, 0x10020, 7, 0x42};  // SHOT, 1:20, priority 7, mark 0x42
    ASSERT_EQ(object->map("policy_map")->update_user(key.data(), policy, maps::kBpfAny), 0);
    r = object->test_run(program, frame);
    EXPECT_EQ(r.ret, 2);
    EXPECT_EQ(r.meta.tc_classid, 0x20);
    EXPECT_EQ(r.meta.priority, 7u);
    EXPECT_EQ(r.meta.mark, 0x42u);
    EXPECT_EQ(counter(*object, "policy_stats", 0), 1u);  // hit

    object->test_run(program, arp_frame());
    EXPECT_EQ(counter(*object, "policy_stats", 2), 1u);  // not IP
}

TEST(RuntimeExamples, TailCallsDispatchThroughTheStaticallyFilledProgArray) {
    auto object = load_example("tail_dispatch");
    const PreparedProgram& dispatch = object->select("dispatch");

    RunResult r = object->test_run(dispatch, ipv4_frame(6, 1, 2));
    EXPECT_EQ(r.ret, 0);
    EXPECT_EQ(r.meta.tc_classid, 0x0004);
    r = object->test_run(dispatch, ipv6_frame());
    EXPECT_EQ(r.ret, 0);
    EXPECT_EQ(r.meta.tc_classid, 0x0006);
    // Slot 2 is empty: the tail call falls through to TC_ACT_UNSPEC.
    r = object->test_run(dispatch, arp_frame());
    EXPECT_EQ(r.ret, -1);
    EXPECT_EQ(counter(*object, "dispatch_stats", 0), 1u);
    EXPECT_EQ(counter(*object, "dispatch_stats", 1), 1u);
    EXPECT_EQ(counter(*object, "dispatch_stats", 2), 1u);

    // Emptying the IPv4 slot makes the entry program's own `return TC_ACT_SHOT` reachable.
    ASSERT_EQ(object->map("jump_table")->as_prog_array()->clear_program(0), 0);
    r = object->test_run(dispatch, ipv4_frame(6, 1, 2));
    EXPECT_EQ(r.ret, 2);
    EXPECT_EQ(r.meta.tc_classid, 0);
}

TEST(RuntimeExamples, RepeatRunsOnTheSameSkbLikeTestRun) {
    auto object = load_example("flow_counters");
    const PreparedProgram& program = object->select("flow_counters");
    const Bytes frame = ipv4_frame(17, 1000, 53);
    RunOptions options;
    options.repeat = 3;
    options.cpu = 1 % object->maps()[0]->ncpus();
    const RunResult r = object->test_run(program, frame, options);
    EXPECT_EQ(r.ret, 0);
    std::vector<std::string> lines;
    for (const MapEntryText& e : dump_maps(*object))
        if (e.cpu == options.cpu) lines.push_back(format_map_line(e));
    ASSERT_EQ(lines.size(), 1u);
    // packets 3, bytes 3 × 64, on the CPU the run claimed.
    EXPECT_EQ(lines[0].substr(lines[0].find(' ', 11)),
              " 0300000000000000c000000000000000 cpu=" + std::to_string(options.cpu));
}

TEST(RuntimeTestRun, RefusesWhatTheKernelRefuses) {
    auto object = load_example("pass_all");
    const PreparedProgram& program = object->select("");
    RunResult r = object->test_run(program, Bytes(13, 0));
    EXPECT_EQ(r.refusal, "frame of 13 bytes is shorter than 14");
    EXPECT_EQ(r.error, EINVAL);
    Bytes short_ipv4 = ipv4_frame(17, 1, 2);
    short_ipv4.resize(30);
    r = object->test_run(program, short_ipv4);
    EXPECT_EQ(r.refusal, "IPv4 frame of 30 bytes is shorter than 34");
}

// Objects built by hand, for what no example shows.
loader::Object object_with(const std::string& source, std::vector<loader::MapDef> maps = {}) {
    loader::Object object;
    object.path = "test.o";
    loader::ProgramDef def;
    def.name = "p";
    def.section = "tc";
    def.prog = isa::assemble(source);
    object.programs.push_back(def);
    object.maps = std::move(maps);
    return object;
}

// Checked loads: these are the runtime's own preparation checks, not the verifier's (which a default load
// would put in front of them).
LoadOptions checked_load() {
    LoadOptions options;
    options.checked = true;
    return options;
}

std::string selection_error(const loader::Object& object) {
    auto loaded = LoadedObject::load(object, checked_load());
    try {
        loaded->select("p");
    } catch (const Error& e) {
        return e.what();
    }
    return "selected";
}

TEST(RuntimePrepare, UnimplementedHelperIsNamed) {
    EXPECT_EQ(selection_error(object_with("call 51\n r0 = 0\n exit")),
              "test.o: program p (section tc): pc 0: helper bpf_redirect_map (id 51) is not implemented by tcbpf");
    EXPECT_EQ(selection_error(object_with("call 999\n r0 = 0\n exit")),
              "test.o: program p (section tc): pc 0: call to unknown helper id 999");
}

TEST(RuntimePrepare, MapReferencesMustNameTheObjectsMaps) {
    EXPECT_EQ(selection_error(object_with("r1 = map[idx:3] ll\n r0 = 0\n exit")),
              "test.o: program p (section tc): pc 0: map index 3 out of range (object has 0 maps)");
    EXPECT_EQ(selection_error(object_with("r1 = map[fd:5] ll\n r0 = 0\n exit")),
              "test.o: program p (section tc): pc 0: ld_imm64 with pseudo source 1 refers to a kernel object");
}

TEST(RuntimePrepare, ContextRejectionIsALoadError) {
    EXPECT_EQ(selection_error(object_with("r0 = *(u32 *)(r1 + 92)\n exit")),
              "test.o: program p (section tc): pc 0: invalid bpf_context access off=92 size=4");
}

loader::MapDef global_data(const std::string& name, uint32_t flags, Bytes value) {
    loader::MapDef m;
    m.name = name;
    m.type = loader::kMapArray;
    m.key_size = 4;
    m.value_size = static_cast<uint32_t>(value.size());
    m.max_entries = 1;
    m.map_flags = flags;
    m.global_data = true;
    m.initial_value = std::move(value);
    return m;
}

TEST(RuntimePrepare, GlobalDataIsBoundToItsValueAtTheOffset) {
    auto loaded = LoadedObject::load(object_with("r1 = map[idx:0][0]+4 ll\n r0 = *(u32 *)(r1 + 0)\n exit",
                                                 {global_data("t.data", 0, {1, 2, 3, 4, 5, 6, 7, 8})}));
    const RunResult r = loaded->test_run(loaded->select("p"), ipv4_frame(17, 1, 2));
    EXPECT_EQ(r.fault, vm::Fault::None) << r.fault_detail;
    EXPECT_EQ(r.ret, 0x08070605);
}

TEST(RuntimeChecked, StoresIntoReadOnlyDataAndStrayPacketReadsFault) {
    auto loaded = LoadedObject::load(object_with("r1 = map[idx:0][0]+0 ll\n r2 = 9\n *(u32 *)(r1 + 0) = r2\n r0 = 1\n exit",
                                                 {global_data("t.rodata", maps::kFRdonlyProg, Bytes(8, 0))}),
                                     checked_load());
    RunResult r = loaded->test_run(loaded->select("p"), ipv4_frame(17, 1, 2));
    EXPECT_EQ(r.fault, vm::Fault::ReadOnly);
    EXPECT_EQ(r.ret, 0);

    loaded = LoadedObject::load(object_with("r2 = *(u32 *)(r1 + 76)\n r0 = *(u8 *)(r2 + 64)\n exit"), checked_load());
    r = loaded->test_run(loaded->select("p"), ipv4_frame(17, 1, 2));  // 64 bytes: offset 64 is past the end
    EXPECT_EQ(r.fault, vm::Fault::OutOfBounds);
    r = loaded->test_run(loaded->select("p"), Bytes(65, 0x5a));
    EXPECT_EQ(r.fault, vm::Fault::None);
    EXPECT_EQ(r.ret, 0x5a);
}

// iproute2's legacy convention: a section named MAPID/KEY goes into the prog array whose bpf_elf_map id
// is MAPID, at KEY, once every program is prepared.
loader::Object legacy_tail_call_object(const std::string& tail_section) {
    loader::Object object = object_with("r2 = map[idx:0] ll\n r3 = 1\n call 12\n r0 = 7\n exit");
    object.programs[0].section = "classifier";
    loader::ProgramDef target;
    target.name = "t";
    target.section = tail_section;
    target.prog = isa::assemble("r0 = *(u32 *)(r1 + 8)\n r0 += 42\n exit");
    object.programs.push_back(target);
    loader::MapDef jt;
    jt.name = "jt";
    jt.type = loader::kMapProgArray;
    jt.key_size = jt.value_size = 4;
    jt.max_entries = 4;
    jt.id = 7;
    jt.section = "maps";
    object.maps.push_back(jt);
    return object;
}

TEST(RuntimeTailCalls, LegacySectionsFillTheProgArrayWithTheMatchingId) {
    auto loaded = LoadedObject::load(legacy_tail_call_object("7/1"));
    EXPECT_EQ(loaded->select("").def->name, "p");  // the tail-call section is not a default
    Bytes ctx(skb::kSkbCtxSize, 0);
    ctx[8] = 100;  // mark: the target reads the context it inherited
    RunOptions options;
    options.ctx_in = ctx;
    const RunResult r = loaded->test_run(loaded->select("p"), ipv4_frame(17, 1, 2), options);
    EXPECT_EQ(r.fault, vm::Fault::None) << r.fault_detail;
    EXPECT_EQ(r.ret, 142);

    // Slot 2 instead of 1: the call falls through.
    loaded = LoadedObject::load(legacy_tail_call_object("7/2"));
    EXPECT_EQ(loaded->test_run(loaded->select("p"), ipv4_frame(17, 1, 2)).ret, 7);
}

TEST(RuntimeTailCalls, KeyOutsideTheProgArrayIsALoadError) {
    try {
        LoadedObject::load(legacy_tail_call_object("7/4"));
        FAIL() << "loaded";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "test.o: prog array jt: key 4 out of bounds for program t");
    }
}

TEST(RuntimeMapText, LinesRoundTripAndErrorsNameTheLine) {
    auto object = load_example("policy");
    const std::string key(80, '0');
    apply_map_lines(*object, "# policies\n\npolicy_stats 01000000 0500000000000000\n", "init.txt");
    EXPECT_EQ(counter(*object, "policy_stats", 1), 5u);
    const auto error = [&](const std::string& text) {
        try {
            apply_map_lines(*object, text, "init.txt");
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_EQ(error("\nnope 00 00\n"), "init.txt:2: no map named nope (maps: policy_map, policy_stats)");
    EXPECT_EQ(error("policy_stats 0100 0500000000000000"), "init.txt:1: key of map policy_stats is 2 bytes, expected 4");
    EXPECT_EQ(error("policy_stats 01000000 05"), "init.txt:1: value of map policy_stats is 1 bytes, expected 8");
    EXPECT_EQ(error("policy_stats 0100000g 0500000000000000"), "init.txt:1: key '0100000g' is not hex");
    EXPECT_EQ(error("policy_stats 01000000"), "init.txt:1: expected MAPNAME KEYHEX VALUEHEX [cpu=N], got 2 fields");
    EXPECT_EQ(error("policy_stats 09000000 0500000000000000"),
              "init.txt:1: update of map policy_stats failed: Argument list too long");

    std::string dump;
    for (const MapEntryText& e : dump_maps(*object)) dump += format_map_line(e) + "\n";
    EXPECT_EQ(dump,
              "policy_stats 00000000 0000000000000000\n"
              "policy_stats 01000000 0500000000000000\n"
              "policy_stats 02000000 0000000000000000\n");
}

TEST(RuntimeMapText, PerCpuLinesFillEveryCpuOrTheNamedOne) {
    LoadOptions options;
    options.ncpus = 3;
    auto object = LoadedObject::load(loader::load_object(example("flow_counters")), options);
    const std::string key(80, '1');
    apply_map_lines(*object, "flow_stats " + key + " 01000000000000000200000000000000\n", "init.txt");
    apply_map_lines(*object, "flow_stats " + key + " 09000000000000000900000000000000 cpu=1\n", "init.txt");
    std::string dump;
    for (const MapEntryText& e : dump_maps(*object)) dump += format_map_line(e) + "\n";
    EXPECT_EQ(dump, "flow_stats " + key + " 01000000000000000200000000000000 cpu=0\n" +
                        "flow_stats " + key + " 09000000000000000900000000000000 cpu=1\n" +
                        "flow_stats " + key + " 01000000000000000200000000000000 cpu=2\n");
}

}  // namespace
}  // namespace tcbpf::runtime
