// Loading the objects compiled from progs/*.c: map definitions of every kind, relocated map and
// global-data references, program splitting, section conventions, license.
#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "objects.h"

namespace tcbpf::loader::test {
namespace {

using isa::Op;
using isa::Pseudo;

constexpr uint8_t kMapIdx = static_cast<uint8_t>(Pseudo::MapIdx);
constexpr uint8_t kMapIdxValue = static_cast<uint8_t>(Pseudo::MapIdxValue);

// Map indices referenced by a program's LDDWs of pseudo source `src`, in program order.
std::vector<int32_t> refs(const ProgramDef& p, uint8_t src) {
    std::vector<int32_t> out;
    for (const auto& [pc, insn] : lddws(p))
        if (insn.src == src) out.push_back(insn.imm);
    return out;
}

TEST(LegacyMaps, BpfElfMapEntriesKeepEveryField) {
    TCBPF_REQUIRE_OBJECTS();
    const Object o = load_object(object_path("legacy_maps"));
    ASSERT_EQ(o.maps.size(), 3u);
    const MapDef& counters = o.maps[map_index(o, "counters")];
    EXPECT_EQ(counters.section, "maps");
    EXPECT_FALSE(counters.global_data);
    EXPECT_EQ(counters.type, 1u);
    EXPECT_EQ(counters.key_size, 4u);
    EXPECT_EQ(counters.value_size, 8u);
    EXPECT_EQ(counters.max_entries, 64u);
    EXPECT_EQ(counters.map_flags, 0u);
    EXPECT_EQ(counters.pinning, kPinGlobalNs);
    EXPECT_EQ(counters.id, 0u);
    EXPECT_NE(counters.btf_key_type_id, 0u) << "BPF_ANNOTATE_KV_PAIR(counters, ...) names the key type";
    EXPECT_NE(counters.btf_value_type_id, 0u);

    const MapDef& jmp = o.maps[map_index(o, "jmp_table")];
    EXPECT_EQ(jmp.type, kMapProgArray);
    EXPECT_EQ(jmp.id, 1u);
    EXPECT_EQ(jmp.max_entries, 4u);
    EXPECT_EQ(jmp.pinning, kPinNone);

    const MapDef& flows = o.maps[map_index(o, "flows")];
    EXPECT_EQ(flows.type, 9u);
    EXPECT_EQ(flows.key_size, 8u);
    EXPECT_EQ(flows.value_size, 16u);
    EXPECT_EQ(flows.max_entries, 1024u);
    EXPECT_EQ(flows.map_flags, 2u);
    EXPECT_EQ(flows.id, 7u);
    EXPECT_EQ(flows.pinning, kPinObjectNs);
    EXPECT_EQ(flows.inner_id, 3u);
    EXPECT_EQ(flows.inner_idx, 5u);
    EXPECT_EQ(flows.btf_key_type_id, 0u) << "not annotated";
}

TEST(LegacyMaps, LddwOfAMapBecomesMapIndexLoad) {
    TCBPF_REQUIRE_OBJECTS();
    const Object o = load_object(object_path("legacy_maps"));
    const ProgramDef& cls = find_program(o, "classifier");
    EXPECT_EQ(cls.name, "cls_main");
    EXPECT_EQ(cls.default_type, ProgType::Classifier);
    const int32_t counters = static_cast<int32_t>(map_index(o, "counters"));
    const int32_t jmp = static_cast<int32_t>(map_index(o, "jmp_table"));
    EXPECT_EQ(refs(cls, kMapIdx), (std::vector<int32_t>{counters, jmp}));
    for (const auto& [pc, insn] : lddws(cls)) {
        EXPECT_EQ(insn.imm64, static_cast<uint64_t>(insn.imm)) << "second slot must be 0 for a map, pc " << pc;
        EXPECT_EQ(cls.prog.insns[pc + 1].imm, 0);
    }
    std::vector<uint32_t> used{static_cast<uint32_t>(std::min(counters, jmp)), static_cast<uint32_t>(std::max(counters, jmp))};
    EXPECT_EQ(cls.maps_used, used);

    const ProgramDef& act = find_program(o, "action");
    EXPECT_EQ(act.name, "act_main");
    EXPECT_EQ(act.default_type, ProgType::Action);
    EXPECT_EQ(refs(act, kMapIdx), (std::vector<int32_t>{static_cast<int32_t>(map_index(o, "flows"))}));
}

TEST(LegacyMaps, TailCallSectionsNameMapIdAndKey) {
    TCBPF_REQUIRE_OBJECTS();
    const Object o = load_object(object_path("legacy_maps"));
    uint32_t id = 99, key = 99;
    const ProgramDef& zero = find_program(o, "1/0");
    EXPECT_EQ(zero.name, "tail_zero");
    ASSERT_TRUE(zero.tail_call_slot(id, key));
    EXPECT_EQ(id, 1u);
    EXPECT_EQ(key, 0u);
    ASSERT_TRUE(find_program(o, "tail_one").tail_call_slot(id, key));
    EXPECT_EQ(key, 1u);
    EXPECT_FALSE(find_program(o, "classifier").tail_call_slot(id, key));
    // The default program is the first one that is not a tail-call target.
    EXPECT_EQ(find_program(o, "").name, "cls_main");
    EXPECT_EQ(o.license, "GPL");
}

TEST(LegacyMaps, FivefieldBpfMapDefHasNoIdOrPinning) {
    TCBPF_REQUIRE_OBJECTS();
    const Object o = load_object(object_path("legacy_mapdef"));
    ASSERT_EQ(o.maps.size(), 2u);
    const MapDef& stats = o.maps[map_index(o, "stats")];
    EXPECT_EQ(stats.type, kMapArray);
    EXPECT_EQ(stats.key_size, 4u);
    EXPECT_EQ(stats.value_size, 8u);
    EXPECT_EQ(stats.max_entries, 2u);
    EXPECT_EQ(stats.map_flags, 0u);
    const MapDef& seen = o.maps[map_index(o, "seen")];
    EXPECT_EQ(seen.type, kMapHash);
    EXPECT_EQ(seen.max_entries, 128u);
    EXPECT_EQ(seen.map_flags, 1u);
    EXPECT_EQ(seen.id, 0u);
    EXPECT_EQ(seen.pinning, kPinNone);
    EXPECT_EQ(seen.inner_idx, 0u);
    const ProgramDef& p = find_program(o, "");
    EXPECT_EQ(p.name, "count_packets");
    EXPECT_EQ(refs(p, kMapIdx), (std::vector<int32_t>{static_cast<int32_t>(map_index(o, "stats")),
                                                      static_cast<int32_t>(map_index(o, "seen"))}));
    EXPECT_EQ(o.license, "Dual BSD/GPL");
}

TEST(BtfMaps, AttributesComeFromTheMemberTypes) {
    TCBPF_REQUIRE_OBJECTS();
    const Object o = load_object(object_path("btf_maps"));
    ASSERT_EQ(o.maps.size(), 3u);
    const MapDef& flows = o.maps[map_index(o, "flow_table")];
    EXPECT_EQ(flows.section, ".maps");
    EXPECT_EQ(flows.type, kMapHash);
    EXPECT_EQ(flows.key_size, 16u);  // struct flow_key with its tail padding
    EXPECT_EQ(flows.value_size, 16u);
    EXPECT_EQ(flows.max_entries, 4096u);
    EXPECT_EQ(flows.map_flags, 1u);  // BPF_F_NO_PREALLOC
    EXPECT_EQ(flows.pinning, kPinGlobalNs);  // LIBBPF_PIN_BY_NAME pins under tc/globals
    EXPECT_NE(flows.btf_key_type_id, 0u);
    EXPECT_NE(flows.btf_value_type_id, 0u);

    const MapDef& scratch = o.maps[map_index(o, "scratch")];
    EXPECT_EQ(scratch.type, 6u);
    EXPECT_EQ(scratch.key_size, 4u);
    EXPECT_EQ(scratch.value_size, 24u);
    EXPECT_EQ(scratch.max_entries, 8u);
    EXPECT_EQ(scratch.pinning, kPinNone);
    EXPECT_EQ(scratch.btf_key_type_id, 0u);  // sizes only, no types

    const MapDef& dispatch = o.maps[map_index(o, "dispatch")];
    EXPECT_EQ(dispatch.type, kMapProgArray);
    EXPECT_EQ(dispatch.key_size, 4u);
    EXPECT_EQ(dispatch.value_size, 4u);
    EXPECT_EQ(dispatch.max_entries, 4u);
    using Init = std::vector<std::pair<uint32_t, std::string>>;
    EXPECT_EQ(dispatch.prog_array_init, (Init{{1, "tail_drop"}, {3, "tail_pass"}}));
}

TEST(BtfMaps, SeveralProgramsPerSectionSplitByFunction) {
    TCBPF_REQUIRE_OBJECTS();
    const Object o = load_object(object_path("btf_maps"));
    std::vector<std::string> in_tc;
    for (const ProgramDef& p : o.programs)
        if (p.section == "tc") in_tc.push_back(p.name);
    std::sort(in_tc.begin(), in_tc.end());
    EXPECT_EQ(in_tc, (std::vector<std::string>{"ingress_count", "ingress_dispatch", "tail_drop", "tail_pass"}));

    const ProgramDef& count = find_program(o, "ingress_count");
    EXPECT_EQ(refs(count, kMapIdx), (std::vector<int32_t>{static_cast<int32_t>(map_index(o, "flow_table"))}));
    EXPECT_EQ(count.prog.insns.back().op, Op::EXIT);
    const ProgramDef& dispatch = find_program(o, "ingress_dispatch");
    EXPECT_EQ(refs(dispatch, kMapIdx), (std::vector<int32_t>{static_cast<int32_t>(map_index(o, "scratch")),
                                                             static_cast<int32_t>(map_index(o, "dispatch"))}));
    // Tiny programs are exactly their two instructions: r0 = verdict; exit.
    const ProgramDef& drop = find_program(o, "tail_drop");
    ASSERT_EQ(drop.prog.size(), 2u);
    EXPECT_EQ(drop.prog.insns[0].op, Op::MOV64_K);
    EXPECT_EQ(drop.prog.insns[0].imm, 2);  // TC_ACT_SHOT

    EXPECT_EQ(find_program(o, "tcx/ingress").name, "tcx_prog");
    EXPECT_EQ(find_program(o, "tc/egress").name, "tc_egress");
    EXPECT_EQ(find_program(o, "tc/egress").default_type, ProgType::Classifier);
    EXPECT_THROW(find_program(o, "no_such"), Error);
}

TEST(GlobalData, EachSectionIsASingleEntryArrayNamedLikeLibbpf) {
    TCBPF_REQUIRE_OBJECTS();
    const Object o = load_object(object_path("global_data"));
    ASSERT_EQ(o.maps.size(), 4u);
    const MapDef& data = o.maps[map_index(o, "global_d.data")];
    EXPECT_TRUE(data.global_data);
    EXPECT_EQ(data.section, ".data");
    EXPECT_EQ(data.type, kMapArray);
    EXPECT_EQ(data.key_size, 4u);
    EXPECT_EQ(data.max_entries, 1u);
    EXPECT_EQ(data.map_flags, kMapFlagMmapable);
    ASSERT_EQ(data.value_size, 20u);  // drop_mark(4) pad(4) threshold(8) hidden(4)
    ASSERT_EQ(data.initial_value.size(), 20u);
    EXPECT_EQ(data.initial_value[0], 0x2a);
    EXPECT_EQ(data.initial_value[8], 1500 & 0xff);
    EXPECT_EQ(data.initial_value[9], 1500 >> 8);
    EXPECT_EQ(data.initial_value[16], 7);

    const MapDef& rodata = o.maps[map_index(o, "global_d.rodata")];
    EXPECT_EQ(rodata.map_flags, kMapFlagMmapable | kMapFlagRdonlyProg);
    EXPECT_EQ(rodata.initial_value, (std::vector<uint8_t>{0, 0, 0, 0, 2, 0, 0, 0}));

    const MapDef& bss = o.maps[map_index(o, "global_d.bss")];
    EXPECT_EQ(bss.section, ".bss");
    EXPECT_EQ(bss.initial_value, std::vector<uint8_t>(12, 0));

    const MapDef& str = o.maps[map_index(o, ".rodata.str1.1")];
    const std::string text(str.initial_value.begin(), str.initial_value.end());
    EXPECT_EQ(text, std::string("big packet\n", 12));
    EXPECT_EQ(str.map_flags, kMapFlagRdonlyProg) << "no BTF DATASEC, so not mmapable (libbpf)";
}

TEST(GlobalData, BtfDatasecsGetTheSectionLayout) {
    // clang leaves DATASEC sizes 0; Object::btf carries them filled in from the ELF section and symbols.
    TCBPF_REQUIRE_OBJECTS();
    const Object o = load_object(object_path("global_data"));
    btf* parsed = btf__new(o.btf.data(), static_cast<uint32_t>(o.btf.size()));
    ASSERT_NE(parsed, nullptr);
    const int bss = btf__find_by_name_kind(parsed, ".bss", BTF_KIND_DATASEC);
    ASSERT_GT(bss, 0);
    const btf_type* sec = btf__type_by_id(parsed, bss);
    EXPECT_EQ(sec->size, 12u);
    ASSERT_EQ(btf_vlen(sec), 2u);
    EXPECT_EQ(btf_var_secinfos(sec)[0].offset, 0u);  // packets
    EXPECT_EQ(btf_var_secinfos(sec)[1].offset, 8u);  // last_len
    EXPECT_EQ(std::string(btf__name_by_offset(parsed, btf__type_by_id(parsed, btf_var_secinfos(sec)[1].type)->name_off)),
              "last_len");
    EXPECT_EQ(static_cast<uint32_t>(bss), o.maps[map_index(o, "global_d.bss")].btf_value_type_id);
    btf__free(parsed);
}

TEST(GlobalData, VariablesBecomeMapValuePlusOffset) {
    TCBPF_REQUIRE_OBJECTS();
    const Object o = load_object(object_path("global_data"));
    const ProgramDef& p = find_program(o, "classify");
    const auto data = static_cast<int32_t>(map_index(o, "global_d.data"));
    const auto bss = static_cast<int32_t>(map_index(o, "global_d.bss"));
    const auto str = static_cast<int32_t>(map_index(o, ".rodata.str1.1"));
    // Every variable reference, as (map, offset): the set is fixed by the source, the order by clang.
    std::set<std::pair<int32_t, int32_t>> seen;
    for (const auto& [pc, insn] : lddws(p)) {
        ASSERT_EQ(insn.src, kMapIdxValue) << "pc " << pc;
        seen.emplace(insn.imm, p.prog.insns[pc + 1].imm);
        EXPECT_EQ(insn.imm64 >> 32, static_cast<uint32_t>(p.prog.insns[pc + 1].imm));
    }
    const auto rodata = static_cast<int32_t>(map_index(o, "global_d.rodata"));
    std::set<std::pair<int32_t, int32_t>> expected{
        {bss, 0}, {bss, 8}, {data, 16} /* hidden */, {data, 8} /* threshold */, {str, 0}, {data, 0} /* drop_mark */};
    // verdicts[] is read at [1] and [0] (offsets 4 and 0 of .rodata).
    for (const auto& ref : seen)
        if (ref.first == rodata) expected.insert(ref);
    EXPECT_EQ(seen, expected);
    EXPECT_TRUE(seen.count({rodata, 4}) == 1 || seen.count({rodata, 0}) == 1);
    EXPECT_EQ(p.maps_used, (std::vector<uint32_t>{0, 1, 2, 3}));
}

TEST(GlobalData, MapNamesFollowLibbpfTruncation) {
    TCBPF_REQUIRE_OBJECTS();
    // Loading the same bytes under another name renames the maps accordingly.
    const auto bytes = read_bytes(object_path("global_data"));
    const Object o = load_object_bytes(bytes, "/some/dir/a.b.c.o");
    EXPECT_EQ(o.maps[0].name, "a.data");
    const Object longer = load_object_bytes(bytes, "averyveryverylongname.bpf.o");
    EXPECT_EQ(longer.maps[0].name, "averyver.data");
    EXPECT_EQ(longer.maps[1].name, "averyver.rodata");
    EXPECT_EQ(longer.maps[3].name, ".rodata.str1.1");
    const Object dashed = load_object_bytes(bytes, "my-prog.o");
    EXPECT_EQ(dashed.maps[2].name, "my_prog.bss");
}

}  // namespace
}  // namespace tcbpf::loader::test
