// Global variables (libbpf convention): each of .data, .data.*, .rodata, .rodata.* (including the
// compiler's .rodata.str1.1 string pool), .bss and .bss.* becomes one single-entry ARRAY map whose value
// is the section's bytes (zeros for .bss). Programs address variables as "map value + offset".
//
// Names follow libbpf so that names match what bpftool shows for the same object loaded by libbpf: the
// object's base name up to its first '.', then the section name, within the kernel's 15-character map
// name limit (BPF_OBJ_NAME_LEN 16 with NUL). The section part keeps at least 7 characters
// (".rodata"), the object part gets what is left ("global_data.o" + ".data" → "global_d.data"), and
// sections with a second dot (".rodata.str1.1") keep their own name without a prefix. Characters the
// kernel refuses in names become '_'. Flags match libbpf too: read-only data is BPF_F_RDONLY_PROG, and
// a section is BPF_F_MMAPABLE only when its BTF DATASEC holds at least one non-static variable (libbpf
// since "only add BPF_F_MMAPABLE flag for data maps with global vars"; so never for .rodata.str1.1,
// which has no DATASEC). The DATASEC is the map's BTF value type, as in libbpf.
#include <bpf/btf.h>
#include <elf.h>
#include <linux/btf.h>

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

#include "loader/context.h"

namespace tcbpf::loader::detail {
namespace {

constexpr size_t kMaxMapName = 15;
constexpr size_t kMinSuffix = 7;

bool is_section(std::string_view name, std::string_view base) {
    return name == base || (name.size() > base.size() && name.starts_with(base) && name[base.size()] == '.');
}

std::string object_base_name(std::string_view path) {
    const size_t slash = path.rfind('/');
    std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
    const size_t dot = base.find('.');
    if (dot != std::string_view::npos) base = base.substr(0, dot);
    return std::string(base.substr(0, kMaxMapName));
}

// The DATASEC describing section `name` (0 if none) and whether any variable in it is non-static.
std::pair<uint32_t, bool> datasec_of(const Btf* btf, const std::string& name) {
    if (btf == nullptr) return {0, false};
    const uint32_t id = btf->find_datasec(name);
    if (id == 0) return {0, false};
    const btf_type& sec = btf->type(id, "DATASEC " + name);
    const btf_var_secinfo* vars = btf_var_secinfos(&sec);
    for (uint32_t i = 0; i < btf_vlen(&sec); ++i) {
        const btf_type& var = btf->type(vars[i].type, "DATASEC " + name + " variable");
        if (btf_kind(&var) == BTF_KIND_VAR && btf_var(&var)->linkage != BTF_VAR_STATIC) return {id, true};
    }
    return {id, false};
}

}  // namespace

std::string global_data_map_name(std::string_view object_path, std::string_view section) {
    const size_t suffix = std::min(std::max(kMinSuffix, section.size()), kMaxMapName);
    const std::string object = object_base_name(object_path);
    const bool own_name = section.size() > 1 && section.find('.', 1) != std::string_view::npos;
    const size_t prefix = own_name ? 0 : std::min(kMaxMapName - suffix, object.size());
    std::string name = object.substr(0, prefix) + std::string(section.substr(0, suffix));
    name.resize(std::min(name.size(), kMaxMapName));
    for (char& c : name)
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_' && c != '.') c = '_';
    return name;
}

void read_global_data(LoadContext& ctx) {
    for (const Section& s : ctx.elf.sections()) {
        if (s.index == 0 || (s.flags & SHF_ALLOC) == 0 || (s.flags & SHF_EXECINSTR) != 0) continue;
        const bool data = is_section(s.name, ".data") && s.type == SHT_PROGBITS;
        const bool rodata = is_section(s.name, ".rodata") && s.type == SHT_PROGBITS;
        const bool bss = is_section(s.name, ".bss") && s.type == SHT_NOBITS;
        if (!data && !rodata && !bss) continue;
        if (s.size == 0) continue;  // nothing to address; a relocation into it is reported as such
        if (s.size > UINT32_MAX) ctx.elf.fail(s.name, "global data section larger than 4 GiB");

        MapDef map;
        map.name = global_data_map_name(ctx.object.path, s.name);
        map.section = s.name;
        map.global_data = true;
        map.type = kMapArray;
        map.key_size = 4;
        map.value_size = static_cast<uint32_t>(s.size);
        map.max_entries = 1;
        const auto [datasec, has_global] = datasec_of(ctx.btf.get(), s.name);
        map.btf_value_type_id = datasec;
        map.map_flags = (has_global ? kMapFlagMmapable : 0) | (rodata ? kMapFlagRdonlyProg : 0);
        check_map(ctx.elf, map);  // before allocating: a .bss size is not bounded by the file size
        if (bss)
            map.initial_value.assign(s.size, 0);
        else
            map.initial_value.assign(s.data.begin(), s.data.end());
        ctx.data_map_of_section[s.index] = static_cast<uint32_t>(ctx.object.maps.size());
        ctx.object.maps.push_back(std::move(map));
    }
}

}  // namespace tcbpf::loader::detail
