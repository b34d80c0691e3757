// The ELF loader: turns a clang-compiled BPF object (`clang -O2 -g -target bpf -c`) into typed data —
// programs with their relocations applied, map descriptions, license, source line info — the way
// iproute2's tc (legacy `maps` section and libbpf mode) and libbpf read such objects.
//
// Nothing is created here. Map references in instructions are rewritten to the index forms of the ISA
// so that later stages can bind real maps by position in `Object::maps`:
//   * LDDW of a map symbol            → src BPF_PSEUDO_MAP_IDX (5),       imm = map index
//   * LDDW of a global-data variable  → src BPF_PSEUDO_MAP_IDX_VALUE (6), imm = map index,
//                                       second slot imm = byte offset inside the map value
//   * LDDW of a function (callback)   → src BPF_PSEUDO_FUNC (4),          imm = pc-relative offset
//   * CALL of a function              → src BPF_PSEUDO_CALL (1),          imm = pc-relative offset
// Every subprogram a program calls is appended after it (a subprogram used by several programs is
// copied into each), so each ProgramDef is self-contained.
//
// Bad input of any kind throws tcbpf::Error "FILE: section S: reason" (or "FILE: reason" when no section
// is involved); the loader never crashes on corrupt or hostile bytes.
//
// Not supported (rejected with a message, never guessed): extern variables and kfunc calls, map-in-map
// definitions in `.maps` (legacy inner_id/inner_idx are described). CO-RE relocations in .BTF.ext are
// not applied: instructions keep the offsets they were compiled with.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tcbpf/error.h"
#include "tcbpf/isa.h"

namespace tcbpf::loader {

enum class ProgType { Classifier, Action };  // BPF_PROG_TYPE_SCHED_CLS / BPF_PROG_TYPE_SCHED_ACT

// iproute2's pin scopes. BTF maps with libbpf's LIBBPF_PIN_BY_NAME are reported as PinGlobalNs, because
// tc's libbpf mode pins them by name under <bpffs>/tc/globals — the same place as PIN_GLOBAL_NS.
inline constexpr uint32_t kPinNone = 0;
inline constexpr uint32_t kPinObjectNs = 1;
inline constexpr uint32_t kPinGlobalNs = 2;

// Map types the loader reasons about (uapi numbers).
inline constexpr uint32_t kMapHash = 1;
inline constexpr uint32_t kMapArray = 2;
inline constexpr uint32_t kMapProgArray = 3;

inline constexpr uint32_t kMapFlagRdonlyProg = 0x80;  // BPF_F_RDONLY_PROG
inline constexpr uint32_t kMapFlagMmapable = 0x400;   // BPF_F_MMAPABLE

struct MapDef {
    std::string name;  // symbol name; for global data see loader/global_data.cpp for the naming rule
    uint32_t type = 0, key_size = 0, value_size = 0, max_entries = 0, map_flags = 0;
    uint32_t pinning = kPinNone;  // kPin* (legacy objects may carry custom bpf_pinning values)
    uint32_t id = 0, inner_id = 0, inner_idx = 0;  // legacy bpf_elf_map user id fields (0 otherwise)
    // "maps" (legacy struct bpf_elf_map / 5-field bpf_map_def), ".maps" (BTF) or the global-data section.
    std::string section;
    bool global_data = false;  // .data, .rodata*, .bss: a single-entry array whose value is the section
    std::vector<uint8_t> initial_value;  // global data: the value (zeros for .bss), value_size bytes
    // BTF prog arrays with a static initialiser (`.values = { [1] = &prog }`): slot → program name.
    std::vector<std::pair<uint32_t, std::string>> prog_array_init;
    uint32_t btf_key_type_id = 0, btf_value_type_id = 0;  // 0 when unknown
};

struct LineInfo {
    uint32_t insn = 0;  // pc in ProgramDef::prog
    std::string file;
    uint32_t line = 0, column = 0;
    std::string source_line;  // the source text of that line as clang recorded it
};

// BTF function record: the kernel needs one per function (program and each appended subprogram) to
// verify callbacks and global functions; type_id is a BTF_KIND_FUNC in Object::btf.
struct FuncInfo {
    uint32_t insn = 0;
    uint32_t type_id = 0;
    bool operator==(const FuncInfo&) const = default;
};

struct ProgramDef {
    std::string name;     // function name (section name for objects without function symbols)
    std::string section;  // ELF section it lives in
    ProgType default_type = ProgType::Classifier;
    isa::Program prog;            // the function followed by its subprograms, relocated
    std::vector<LineInfo> lines;  // sorted by insn; empty without .BTF.ext
    std::vector<FuncInfo> funcs;  // sorted by insn, one per function; empty unless every function has one
    std::vector<uint32_t> maps_used;  // indices into Object::maps, ascending, no duplicates

    // iproute2 tail-call sections "MAPID/KEY" (parsed like "%i/%i"): true with the two numbers.
    bool tail_call_slot(uint32_t& map_id, uint32_t& key) const;
};

struct Object {
    std::string path;
    std::string license;  // "" when the object has no license section
    std::vector<ProgramDef> programs;  // in section order, then function order
    std::vector<MapDef> maps;          // legacy maps, then BTF maps, then global data
    // The .BTF section (empty without one) with DATASEC sizes and offsets filled in as libbpf does, so
    // it can be handed to BPF_BTF_LOAD as is.
    std::vector<uint8_t> btf;
};

Object load_object(const std::string& path);
Object load_object_bytes(std::span<const uint8_t> data, std::string_view name);

// A program by section name (its first program) or by function name. Empty → the first program that is
// not in a tail-call section (or the very first one). Throws tcbpf::Error listing what exists.
const ProgramDef& find_program(const Object& object, std::string_view sec_or_name);

// The line info entry covering `pc` (the last entry at or before it), or nullptr.
const LineInfo* line_for(const ProgramDef& program, uint32_t pc);

}  // namespace tcbpf::loader
