// State shared by the loader's passes while one object is read: the ELF view, its BTF, the object being
// filled, and where each map lives in the ELF so relocations can be resolved to map indices.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "loader/btf.h"
#include "loader/elf_file.h"
#include "tcbpf/loader.h"

namespace tcbpf::loader::detail {

struct LoadContext {
    LoadContext(const ElfFile& elf_file, Object& target) : elf(elf_file), object(target) {}

    const ElfFile& elf;
    Object& object;
    std::unique_ptr<Btf> btf;  // null without a .BTF section
    LineTable lines;           // empty without .BTF.ext
    FuncTable funcs;           // empty without .BTF.ext

    // Legacy `maps`: entry size and the map index of entry 0 (entries are consecutive in Object::maps).
    size_t legacy_section = 0;
    uint32_t legacy_entry_size = 0;
    uint32_t legacy_count = 0;
    uint32_t legacy_first = 0;
    // `.maps`: symbol offset → map index, plus each map's byte extent for the .values relocations.
    size_t btf_section = 0;
    std::map<uint64_t, uint32_t> btf_map_at;
    // Global data: section index → map index.
    std::map<size_t, uint32_t> data_map_of_section;
};

// Passes, in the order load_object runs them.
void read_legacy_maps(LoadContext& ctx);  // maps_legacy.cpp
void read_btf_maps(LoadContext& ctx);     // maps_btf.cpp
void read_global_data(LoadContext& ctx);  // global_data.cpp
void read_programs(LoadContext& ctx);     // programs.cpp

// Rejects maps the kernel could never create (map_checks.cpp); `where` is the ELF section for messages.
void check_map(const ElfFile& elf, const MapDef& map);

}  // namespace tcbpf::loader::detail

namespace tcbpf::loader::detail {
// libbpf's name for the map of global-data section `section` in object `object_path` (global_data.cpp).
std::string global_data_map_name(std::string_view object_path, std::string_view section);
}  // namespace tcbpf::loader::detail
