// Hand-made objects: layouts clang does not produce (RELA, type-0 relocations, legacy entry sizes,
// code without function symbols) and each kind of bad input with the exact error it must produce.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "elf_builder.h"
#include "tcbpf/loader.h"

namespace tcbpf::loader::test {
namespace {

using ::testing::HasSubstr;

std::vector<uint32_t> elf_map(uint32_t type, uint32_t key, uint32_t value, uint32_t max, uint32_t flags = 0,
                              uint32_t id = 0, uint32_t pinning = 0) {
    return {type, key, value, max, flags, id, pinning, 0, 0};
}

// classifier: r1 = map ll; r0 = 0; exit — with the map LDDW at offset 0.
struct TwoMapObject {
    ElfBuilder b;
    size_t code, maps;
    uint32_t m1, m2, cls;
    TwoMapObject() {
        code = b.code("classifier", {lddw(1, 0), lddw_tail(), mov(0, 0), exit_insn()});
        std::vector<uint32_t> words = elf_map(1, 4, 8, 16);
        const auto second = elf_map(2, 4, 4, 1, 0, 9, 2);
        words.insert(words.end(), second.begin(), second.end());
        maps = b.data("maps", words);
        m1 = b.symbol("m1", 0, 36, STB_GLOBAL, STT_OBJECT, maps);
        m2 = b.symbol("m2", 36, 36, STB_GLOBAL, STT_OBJECT, maps);
        cls = b.symbol("cls", 0, 32, STB_GLOBAL, STT_FUNC, code);
    }
};

std::string load_error(const std::vector<uint8_t>& bytes) {
    try {
        load_object_bytes(bytes, "hand.o");
    } catch (const Error& e) {
        return e.what();
    }
    return "(loaded)";
}

TEST(Handmade, RelRelocationAgainstMapSymbol) {
    TwoMapObject o;
    o.b.rel(".relclassifier", o.code, {{0, ELF64_R_INFO(o.m2, 1)}});
    const Object obj = load_object_bytes(o.b.build(), "hand.o");
    ASSERT_EQ(obj.maps.size(), 2u);
    EXPECT_EQ(obj.maps[1].id, 9u);
    EXPECT_EQ(obj.maps[1].pinning, kPinGlobalNs);
    const auto& insn = obj.programs[0].prog.insns[0];
    EXPECT_EQ(insn.src, 5);
    EXPECT_EQ(insn.imm, 1);
    EXPECT_EQ(obj.programs[0].maps_used, std::vector<uint32_t>{1});
    EXPECT_EQ(obj.license, "");
}

TEST(Handmade, RelaRelocationTakesTheAddendFromTheEntry) {
    TwoMapObject o;
    const uint32_t section_sym = o.b.symbol("", 0, 0, STB_LOCAL, STT_SECTION, o.maps);
    o.b.rela(".relaclassifier", o.code, {{0, ELF64_R_INFO(section_sym, 1), 36}});
    const Object obj = load_object_bytes(o.b.build(), "hand.o");
    EXPECT_EQ(obj.programs[0].prog.insns[0].src, 5);
    EXPECT_EQ(obj.programs[0].prog.insns[0].imm, 1) << "maps section + 36 is the second entry";
}

TEST(Handmade, TypeZeroRelocationsAreIgnored) {
    // elf-conventions.md §6: R_BPF_NONE (0) → ignore, whatever symbol it names (even none).
    TwoMapObject o;
    o.b.rel(".relclassifier", o.code, {{0, ELF64_R_INFO(o.m1, 0)}, {16, ELF64_R_INFO(0, 0)}});
    const Object obj = load_object_bytes(o.b.build(), "hand.o");
    EXPECT_EQ(obj.programs[0].prog.insns[0].src, 0);
    EXPECT_EQ(obj.programs[0].prog.insns[0].imm, 0);
    EXPECT_TRUE(obj.programs[0].maps_used.empty());
}

TEST(Handmade, SixFieldLegacyEntriesAreZeroFilled) {
    ElfBuilder b;
    const size_t code = b.code("classifier", {mov(0, 0), exit_insn()});
    const size_t maps = b.data("maps", {1, 4, 4, 8, 0, 42, 2, 4, 8, 1, 0, 43});  // two 24-byte entries
    b.symbol("a", 0, 24, STB_GLOBAL, STT_OBJECT, maps);
    b.symbol("b", 24, 24, STB_GLOBAL, STT_OBJECT, maps);
    (void)code;
    const Object obj = load_object_bytes(b.build(), "hand.o");
    ASSERT_EQ(obj.maps.size(), 2u);
    EXPECT_EQ(obj.maps[0].id, 42u);
    EXPECT_EQ(obj.maps[1].name, "b");
    EXPECT_EQ(obj.maps[1].id, 43u);
    EXPECT_EQ(obj.maps[1].pinning, 0u);
    // No function symbols: the whole section is one program named after it.
    ASSERT_EQ(obj.programs.size(), 1u);
    EXPECT_EQ(obj.programs[0].name, "classifier");
    EXPECT_EQ(obj.programs[0].prog.size(), 2u);
}

TEST(Handmade, LegacyMapSymbolsMustSitOnEntryBoundaries) {
    ElfBuilder b;
    b.code("classifier", {mov(0, 0), exit_insn()});
    const auto one = elf_map(1, 4, 4, 8);
    std::vector<uint32_t> words = one;
    words.insert(words.end(), one.begin(), one.end());
    const size_t maps = b.data("maps", words);
    b.symbol("a", 0, 36, STB_GLOBAL, STT_OBJECT, maps);
    b.symbol("b", 20, 36, STB_GLOBAL, STT_OBJECT, maps);
    EXPECT_EQ(load_error(b.build()), "hand.o: section maps: map symbol b at offset 20 is not on a 36-byte entry boundary");
}

TEST(Handmade, RelaAddendsBeyond32BitsAreRejected) {
    TwoMapObject o;
    o.b.rela(".relaclassifier", o.code, {{0, ELF64_R_INFO(o.m1, 1), int64_t{1} << 40}});
    EXPECT_EQ(load_error(o.b.build()),
              "hand.o: section .relaclassifier: relocation #0 has addend 1099511627776 outside the 32-bit range");
}

TEST(Handmade, LegacyEntryLargerThanBpfElfMapIsRejected) {
    ElfBuilder b;
    b.code("classifier", {mov(0, 0), exit_insn()});
    const size_t maps = b.data("maps", std::vector<uint32_t>(10, 1));
    b.symbol("big", 0, 40, STB_GLOBAL, STT_OBJECT, maps);
    EXPECT_EQ(load_error(b.build()), "hand.o: section maps: map entry size 40 is larger than struct bpf_elf_map (36 bytes)");
}

TEST(Handmade, ImpossibleMapSizesAreRejected) {
    for (const auto& [map, message] : std::vector<std::pair<std::vector<uint32_t>, std::string>>{
             {elf_map(1, 0, 8, 16), "map m: key_size 0 is invalid for a hash map (must be 1..512)"},
             {elf_map(2, 4, 0xffffffff, 1), "map m: value_size 4294967295 is larger than the kernel's limit of 4194304 bytes"},
             {elf_map(2, 8, 4, 1), "map m: key_size 8 is invalid for a array map (must be 4)"},
             {elf_map(3, 4, 8, 4), "map m: value_size 8 is invalid for a fd array map (must be 4)"},
             {elf_map(1, 4, 4, 0), "map m: max_entries 0 is invalid for a hash map"},
             {elf_map(77, 4, 4, 1), "map m: unknown map type 77"},
             {elf_map(27, 0, 0, 5000), "map m: ring buffer size 5000 is not a power of two multiple of the page size"}}) {
        ElfBuilder b;
        b.code("classifier", {mov(0, 0), exit_insn()});
        b.symbol("m", 0, 36, STB_GLOBAL, STT_OBJECT, b.data("maps", map));
        EXPECT_EQ(load_error(b.build()), "hand.o: section maps: " + message);
    }
}

TEST(Handmade, HugeBssIsRejectedBeforeAnythingIsAllocated) {
    // A NOBITS size is not bounded by the file: 3 GB of .bss in a few hundred bytes (found by fuzz_elf).
    ElfBuilder b;
    b.code("classifier", {mov(0, 0), exit_insn()});
    b.add({".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, {}, 0, 0, 3'000'000'000});
    EXPECT_EQ(load_error(b.build()), "hand.o: section .bss: map hand.bss: value_size 3000000000 is larger than the "
                                     "kernel's limit of 4194304 bytes");
}

TEST(Handmade, UnknownRelocationTypeIsRejected) {
    TwoMapObject o;
    o.b.rel(".relclassifier", o.code, {{0, ELF64_R_INFO(o.m1, 7)}});
    EXPECT_EQ(load_error(o.b.build()), "hand.o: section classifier: insn 0: unsupported relocation type 7 against m1");
}

TEST(Handmade, DataRelocationInCodeIsRejected) {
    TwoMapObject o;
    o.b.rel(".relclassifier", o.code, {{0, ELF64_R_INFO(o.m1, 2)}});
    EXPECT_EQ(load_error(o.b.build()), "hand.o: section classifier: insn 0: data relocation type 2 against m1");
}

TEST(Handmade, RelocationAgainstMissingSymbolIsRejected) {
    TwoMapObject o;
    o.b.rel(".relclassifier", o.code, {{0, ELF64_R_INFO(99, 1)}});
    EXPECT_EQ(load_error(o.b.build()),
              "hand.o: section .relclassifier: relocation #0 at offset 0 refers to missing symbol #99");
}

TEST(Handmade, MapRelocationOnNonLddwIsACompilerBug) {
    TwoMapObject o;
    o.b.rel(".relclassifier", o.code, {{16, ELF64_R_INFO(o.m1, 1)}});
    EXPECT_EQ(load_error(o.b.build()), "hand.o: section classifier: insn 2: R_BPF_64_64 relocation against m1 on an "
                                       "instruction that is not ld_imm64 (compiler bug?)");
}

TEST(Handmade, RelocationAgainstUndefinedOrForeignSymbolsIsRejected) {
    {
        TwoMapObject o;
        const uint32_t ext = o.b.symbol("ext_var", 0, 0, STB_GLOBAL, STT_OBJECT, 0);
        o.b.rel(".relclassifier", o.code, {{0, ELF64_R_INFO(ext, 1)}});
        EXPECT_EQ(load_error(o.b.build()), "hand.o: section classifier: insn 0: ld_imm64 refers to undefined symbol "
                                           "ext_var (extern variables are not supported)");
    }
    {
        TwoMapObject o;
        const size_t license = o.b.add({"license", SHT_PROGBITS, SHF_ALLOC, {'G', 'P', 'L', 0}});
        const uint32_t lic = o.b.symbol("_license", 0, 4, STB_GLOBAL, STT_OBJECT, license);
        o.b.rel(".relclassifier", o.code, {{0, ELF64_R_INFO(lic, 1)}});
        EXPECT_EQ(load_error(o.b.build()), "hand.o: section classifier: insn 0: ld_imm64 of _license is in section "
                                           "license, which holds neither maps, global data nor code");
    }
}

TEST(Handmade, HeaderProblemsAreNamed) {
    TwoMapObject o;
    auto bytes = o.b.build();
    EXPECT_EQ(load_error({bytes.begin(), bytes.begin() + 10}), "hand.o: truncated: 10 bytes, an ELF header needs 64");
    EXPECT_EQ(load_error({bytes.begin(), bytes.end() - 1}),
              "hand.o: truncated: section header table extends past the end of the file");
    auto x86 = bytes;
    x86[18] = 62;  // e_machine = EM_X86_64
    EXPECT_EQ(load_error(x86), "hand.o: ELF machine 62 is not BPF (247)");
    auto big_endian = bytes;
    big_endian[EI_DATA] = ELFDATA2MSB;
    EXPECT_THAT(load_error(big_endian), HasSubstr("not little-endian"));
    EXPECT_EQ(load_error(std::vector<uint8_t>(100, 0)), "hand.o: not an ELF file (bad magic)");
    ElfBuilder none;
    none.machine = EM_NONE;  // iproute2 accepts EM_NONE as well
    none.code("classifier", {mov(0, 0), exit_insn()});
    EXPECT_EQ(load_object_bytes(none.build(), "hand.o").programs.size(), 1u);
}

TEST(Handmade, MissingSymbolTableOrProgramsIsNamed) {
    ElfBuilder b;
    b.with_symtab = false;
    b.code("classifier", {mov(0, 0), exit_insn()});
    EXPECT_EQ(load_error(b.build()), "hand.o: no symbol table (.symtab): maps and relocations cannot be resolved");
    ElfBuilder only_text;
    only_text.code(".text", {mov(0, 0), exit_insn()});
    EXPECT_EQ(load_error(only_text.build()), "hand.o: no programs (no executable section other than .text)");
}

TEST(Handmade, BadBtfIsNamed) {
    ElfBuilder b;
    b.code("classifier", {mov(0, 0), exit_insn()});
    b.add({".BTF", SHT_PROGBITS, 0, {0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f}});
    EXPECT_THAT(load_error(b.build()), HasSubstr("hand.o: section .BTF: invalid BTF ("));
}

TEST(Handmade, LicenseMustBeTerminated) {
    ElfBuilder b;
    b.code("classifier", {mov(0, 0), exit_insn()});
    b.add({"license", SHT_PROGBITS, SHF_ALLOC, {'G', 'P', 'L'}});
    EXPECT_EQ(load_error(b.build()), "hand.o: section license: license string is not NUL-terminated");
}

TEST(Handmade, InvalidInstructionsNameTheProgramAndPc) {
    ElfBuilder b;
    const size_t code = b.code("classifier", {mov(0, 0), insn(0xff, 0, 0, 0, 0), exit_insn()});
    b.symbol("bad_prog", 0, 24, STB_GLOBAL, STT_FUNC, code);
    EXPECT_EQ(load_error(b.build()), "hand.o: section classifier: program bad_prog: pc 1: unknown opcode 0xff");
}

TEST(Handmade, CallIntoNothingIsRejected) {
    ElfBuilder b;
    const size_t code = b.code("classifier", {call(5, 1), exit_insn()});
    b.symbol("caller", 0, 16, STB_GLOBAL, STT_FUNC, code);
    EXPECT_EQ(load_error(b.build()),
              "hand.o: section classifier: insn 0: target instruction 6 of section classifier is not inside a function");
}

TEST(Handmade, JumpsMayNotLeaveTheirFunction) {
    // Linking moves functions apart, so a jump into a neighbour would land somewhere else.
    ElfBuilder b;
    const size_t code = b.code("classifier", {insn(0x05, 0, 0, 1, 0), exit_insn(), mov(0, 3), exit_insn()});
    b.symbol("one", 0, 16, STB_GLOBAL, STT_FUNC, code);
    b.symbol("two", 16, 16, STB_GLOBAL, STT_FUNC, code);
    EXPECT_EQ(load_error(b.build()), "hand.o: section classifier: insn 0: jump to instruction 2 leaves function one");
}

TEST(Handmade, LocalCallWithoutRelocationStaysInItsSection) {
    // Two functions in one section; the first calls the second with a pre-resolved offset (no relocation).
    ElfBuilder b;
    const size_t code = b.code("classifier", {call(1, 1), exit_insn(), mov(0, 3), exit_insn()});
    b.symbol("main_fn", 0, 16, STB_GLOBAL, STT_FUNC, code);
    b.symbol("helper_fn", 16, 16, STB_LOCAL, STT_FUNC, code);
    const Object obj = load_object_bytes(b.build(), "hand.o");
    ASSERT_EQ(obj.programs.size(), 2u);
    const ProgramDef& main_fn = find_program(obj, "main_fn");
    ASSERT_EQ(main_fn.prog.size(), 4u);
    EXPECT_EQ(main_fn.prog.insns[0].imm, 1);  // appended right after main_fn's exit
    EXPECT_EQ(main_fn.prog.insns[2].imm, 3);
}

}  // namespace
}  // namespace tcbpf::loader::test
