// The same objects opened by libbpf (bpf_object__open_file needs no bpf()): programs, their sections
// and instruction counts, and every map's attributes must agree with the loader. libbpf 1.x no longer
// reads legacy `maps` sections, so only the BTF-era objects are compared.
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "objects.h"

namespace tcbpf::loader::test {
namespace {

class LibbpfObject {
   public:
    explicit LibbpfObject(const std::string& path) : obj_(bpf_object__open_file(path.c_str(), nullptr)) {}
    ~LibbpfObject() {
        if (obj_ != nullptr) bpf_object__close(obj_);
    }
    bpf_object* get() const { return obj_; }

   private:
    bpf_object* obj_;
};

class LibbpfCrossCheck : public ::testing::TestWithParam<std::string> {};

TEST_P(LibbpfCrossCheck, ProgramsAndMapsAgree) {
    TCBPF_REQUIRE_OBJECTS();
    const std::string path = object_path(GetParam());
    const Object ours = load_object(path);
    LibbpfObject theirs(path);
    ASSERT_NE(theirs.get(), nullptr) << "libbpf could not open " << path;

    size_t programs = 0;
    bpf_program* prog = nullptr;
    bpf_object__for_each_program(prog, theirs.get()) {
        ++programs;
        const ProgramDef& p = find_program(ours, bpf_program__name(prog));
        EXPECT_EQ(p.section, bpf_program__section_name(prog));
        // Before load libbpf holds only the entry function; ours has the subprograms appended.
        const size_t own = bpf_program__insn_cnt(prog);
        ASSERT_LE(own, p.prog.size()) << p.name;
        if (p.prog.size() != own) {
            EXPECT_TRUE(std::any_of(p.prog.insns.begin(), p.prog.insns.begin() + own, [](const isa::Insn& i) {
                return i.op == isa::Op::CALL_LOCAL || (i.op == isa::Op::LDDW && i.src == 4);
            })) << p.name << " grew without calling anything";
        }
        const bpf_insn* raw = bpf_program__insns(prog);
        const auto encoded = isa::encode(p.prog);
        for (size_t i = 0; i < own; ++i) EXPECT_EQ(encoded[i].opcode, raw[i].code) << p.name << " insn " << i;
    }
    EXPECT_EQ(programs, ours.programs.size());

    std::vector<const bpf_map*> maps;
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, theirs.get()) maps.push_back(map);
    ASSERT_EQ(maps.size(), ours.maps.size());
    for (size_t i = 0; i < maps.size(); ++i) {
        const MapDef& m = ours.maps[i];
        SCOPED_TRACE(m.name);
        EXPECT_EQ(m.name, bpf_map__name(maps[i]));
        EXPECT_EQ(m.type, static_cast<uint32_t>(bpf_map__type(maps[i])));
        EXPECT_EQ(m.key_size, bpf_map__key_size(maps[i]));
        EXPECT_EQ(m.value_size, bpf_map__value_size(maps[i]));
        EXPECT_EQ(m.max_entries, bpf_map__max_entries(maps[i]));
        EXPECT_EQ(m.map_flags, bpf_map__map_flags(maps[i]));
        EXPECT_EQ(m.btf_key_type_id, bpf_map__btf_key_type_id(maps[i]));
        EXPECT_EQ(m.btf_value_type_id, bpf_map__btf_value_type_id(maps[i]));
        if (m.global_data) {
            size_t size = 0;
            const void* init = bpf_map__initial_value(const_cast<bpf_map*>(maps[i]), &size);
            ASSERT_NE(init, nullptr);
            ASSERT_EQ(size, m.initial_value.size());
            EXPECT_EQ(0, std::memcmp(init, m.initial_value.data(), size));
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Objects, LibbpfCrossCheck, ::testing::Values("btf_maps", "global_data", "calls"));

}  // namespace
}  // namespace tcbpf::loader::test
