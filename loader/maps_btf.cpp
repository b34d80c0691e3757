// BTF-defined maps (`.maps`, libbpf convention). Each map is a global variable of an anonymous struct
// whose members carry the attributes in their *types*, not their values:
//   __uint(name, N)   → `int (*name)[N]`   : pointer to an array whose element count is N
//   __type(name, T)   → `typeof(T) *name`  : pointer to T (key/value: BTF type id and size)
//   __array(values, X)→ `X *values[]`      : flexible array; its initialiser lives in `.rel.maps`
// The struct layout is found through the `.maps` DATASEC; the variable's ELF symbol gives its offset in
// the section, which is what program relocations point at.
#include <bpf/btf.h>
#include <elf.h>
#include <linux/btf.h>

#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "loader/context.h"

namespace tcbpf::loader::detail {
namespace {

constexpr uint32_t kLibbpfPinByName = 1;  // LIBBPF_PIN_BY_NAME

struct Decoded {
    MapDef map;
    bool has_values = false;
    uint32_t values_offset = 0;  // byte offset of the `values` member inside the struct
};

// __uint(name, N): pointer to array of N.
uint32_t uint_member(const Btf& btf, const btf_member& m, const std::string& what) {
    const btf_type& ptr = btf.type(btf.skip_modifiers(m.type, what), what);
    if (btf.kind(ptr) != BTF_KIND_PTR) btf.fail(what + " is not declared with __uint (expected a pointer)");
    const btf_type& arr = btf.type(btf.skip_modifiers(ptr.type, what), what);
    if (btf.kind(arr) != BTF_KIND_ARRAY) btf.fail(what + " is not declared with __uint (expected pointer to array)");
    return btf_array(&arr)->nelems;
}

// __type(name, T): pointer to T; returns T's id and stores its size.
uint32_t type_member(const Btf& btf, const btf_member& m, const std::string& what, uint32_t& size) {
    const btf_type& ptr = btf.type(btf.skip_modifiers(m.type, what), what);
    if (btf.kind(ptr) != BTF_KIND_PTR) btf.fail(what + " is not declared with __type (expected a pointer)");
    size = btf.size_of(ptr.type, what);
    return ptr.type;
}

void set_size(const Btf& btf, uint32_t& field, uint32_t value, const std::string& what) {
    if (field != 0 && field != value)
        btf.fail(fmt::format("{} is {} but an earlier member gave {}", what, value, field));
    field = value;
}

Decoded decode_map(const Btf& btf, const std::string& name, uint32_t var_type) {
    Decoded out;
    MapDef& map = out.map;
    map.name = name;
    map.section = ".maps";
    const std::string what = "map " + name;
    const btf_type& def = btf.type(btf.skip_modifiers(var_type, what), what);
    if (btf.kind(def) != BTF_KIND_STRUCT) btf.fail(what + ": definition is not a struct");
    const btf_member* members = btf_members(&def);
    for (uint32_t i = 0; i < btf_vlen(&def); ++i) {
        const btf_member& m = members[i];
        const std::string member = btf.string(m.name_off).value_or("");
        const std::string field = what + ": field '" + member + "'";
        uint32_t size = 0;
        if (member == "type") {
            map.type = uint_member(btf, m, field);
        } else if (member == "max_entries") {
            map.max_entries = uint_member(btf, m, field);
        } else if (member == "map_flags") {
            map.map_flags = uint_member(btf, m, field);
        } else if (member == "numa_node" || member == "map_extra") {
            uint_member(btf, m, field);  // a placement/extra hint with no meaning in user space
        } else if (member == "key_size") {
            set_size(btf, map.key_size, uint_member(btf, m, field), field);
        } else if (member == "value_size") {
            set_size(btf, map.value_size, uint_member(btf, m, field), field);
        } else if (member == "key") {
            map.btf_key_type_id = type_member(btf, m, field, size);
            set_size(btf, map.key_size, size, field);
        } else if (member == "value") {
            map.btf_value_type_id = type_member(btf, m, field, size);
            set_size(btf, map.value_size, size, field);
        } else if (member == "pinning") {
            const uint32_t pinning = uint_member(btf, m, field);
            if (pinning > kLibbpfPinByName) btf.fail(fmt::format("{} {} is neither none (0) nor by name (1)", field, pinning));
            map.pinning = pinning == kLibbpfPinByName ? kPinGlobalNs : kPinNone;
        } else if (member == "values") {
            const btf_type& arr = btf.type(btf.skip_modifiers(m.type, field), field);
            if (btf.kind(arr) != BTF_KIND_ARRAY || btf_array(&arr)->nelems != 0)
                btf.fail(field + " must be a flexible array (__array)");
            const btf_type& ptr = btf.type(btf.skip_modifiers(btf_array(&arr)->type, field), field);
            if (btf.kind(ptr) != BTF_KIND_PTR) btf.fail(field + " elements must be pointers");
            const btf_type& target = btf.type(btf.skip_modifiers(ptr.type, field), field);
            if (btf.kind(target) != BTF_KIND_FUNC_PROTO)
                btf.fail(field + " must point to programs: map-in-map definitions in .maps are not supported");
            if (btf_member_bitfield_size(&def, i) != 0 || btf_member_bit_offset(&def, i) % 8 != 0)
                btf.fail(field + " is not byte-aligned");
            out.has_values = true;
            out.values_offset = btf_member_bit_offset(&def, i) / 8;
        } else {
            btf.fail(fmt::format("{}: unknown field '{}'", what, member));
        }
    }
    if (out.has_values && map.type != kMapProgArray)
        btf.fail(what + ": 'values' initialisers are only supported for prog arrays");
    if (map.type == kMapProgArray) {
        // libbpf's prog-array default: 4-byte keys and values (program fds) when not spelled out.
        if (map.key_size == 0) map.key_size = 4;
        if (map.value_size == 0) map.value_size = 4;
    }
    return out;
}

// `.values = { [i] = &prog }` becomes one 64-bit absolute relocation per initialised slot, at
// map offset + values offset + 8 * i, against the program's function symbol.
void read_values(LoadContext& ctx, const Section& maps, MapDef& map, uint64_t map_offset, uint64_t map_size,
                 uint32_t values_offset, std::vector<bool>& claimed, const std::vector<Relocation>& relocs) {
    // relocs are sorted by offset: visit only those inside this map.
    auto first = std::lower_bound(relocs.begin(), relocs.end(), map_offset,
                                  [](const Relocation& rel, uint64_t offset) { return rel.offset < offset; });
    for (size_t r = static_cast<size_t>(first - relocs.begin()); r < relocs.size(); ++r) {
        const Relocation& rel = relocs[r];
        if (rel.offset >= map_offset + map_size) break;
        if (rel.type == kRelNone) continue;
        claimed[r] = true;
        const std::string what = fmt::format("map {}: initialiser relocation at offset {}", map.name, rel.offset);
        const uint64_t start = map_offset + values_offset;
        if (rel.offset < start || (rel.offset - start) % 8 != 0)
            ctx.elf.fail(maps.name, what + " is not on a 'values' slot");
        if (rel.type != kRelAbs64)
            ctx.elf.fail(maps.name, fmt::format("{} has type {}, expected R_BPF_64_ABS64 (2)", what, rel.type));
        const uint64_t slot = (rel.offset - start) / 8;
        if (slot >= map.max_entries)
            ctx.elf.fail(maps.name, fmt::format("{}: slot {} is beyond max_entries {}", what, slot, map.max_entries));
        const Symbol& target = *rel.symbol;
        if (target.type != STT_FUNC || target.section == 0 || !ctx.elf.section(target.section).executable() ||
            ctx.elf.section(target.section).name == ".text")
            ctx.elf.fail(maps.name, fmt::format("{} refers to {}, which is not a program", what, target.name));
        map.prog_array_init.emplace_back(static_cast<uint32_t>(slot), target.name);
    }
}

}  // namespace

void read_btf_maps(LoadContext& ctx) {
    const Section* maps = ctx.elf.find_section(".maps");
    if (maps == nullptr) return;
    if (!ctx.btf) ctx.elf.fail(maps->name, "BTF-defined maps need a .BTF section");
    const Btf& btf = *ctx.btf;
    const uint32_t datasec_id = btf.find_datasec(".maps");
    if (datasec_id == 0) {
        if (maps->size == 0) return;
        btf.fail("no DATASEC describes section .maps");
    }
    ctx.btf_section = maps->index;
    std::vector<Relocation> relocs;
    for (const Section* rel : ctx.elf.relocation_sections_for(maps->index)) {
        auto more = ctx.elf.relocations(*rel);
        relocs.insert(relocs.end(), more.begin(), more.end());
    }
    std::stable_sort(relocs.begin(), relocs.end(),
                     [](const Relocation& a, const Relocation& b) { return a.offset < b.offset; });
    std::vector<bool> claimed(relocs.size());

    std::map<std::string, const Symbol*, std::less<>> symbols;  // the map variables by name
    for (const Symbol& sym : ctx.elf.symbols())
        if (sym.section == maps->index && sym.type == STT_OBJECT) symbols[sym.name] = &sym;

    const btf_type& datasec = btf.type(datasec_id, "DATASEC .maps");
    const btf_var_secinfo* vars = btf_var_secinfos(&datasec);
    for (uint32_t i = 0; i < btf_vlen(&datasec); ++i) {
        const btf_type& var = btf.type(vars[i].type, "DATASEC .maps variable");
        if (btf.kind(var) != BTF_KIND_VAR) btf.fail(fmt::format("DATASEC .maps entry {} is not a variable", i));
        const std::string name = btf.name_of(var);
        // The symbol, not the DATASEC offset (left 0 by some compilers), locates the map in the section.
        auto found = symbols.find(name);
        const Symbol* symbol = found == symbols.end() ? nullptr : found->second;
        if (symbol == nullptr) ctx.elf.fail(maps->name, fmt::format("map {} has no symbol", name));
        if (symbol->value > maps->size || symbol->size > maps->size - symbol->value)
            ctx.elf.fail(maps->name, fmt::format("map {} extends past the end of the section", name));

        Decoded decoded = decode_map(btf, name, var.type);
        if (decoded.has_values)
            read_values(ctx, *maps, decoded.map, symbol->value, symbol->size, decoded.values_offset, claimed, relocs);
        check_map(ctx.elf, decoded.map);
        if (!ctx.btf_map_at.emplace(symbol->value, static_cast<uint32_t>(ctx.object.maps.size())).second)
            ctx.elf.fail(maps->name, fmt::format("map {} shares its offset with another map", name));
        ctx.object.maps.push_back(std::move(decoded.map));
    }
    for (size_t r = 0; r < relocs.size(); ++r)
        if (!claimed[r] && relocs[r].type != kRelNone)
            ctx.elf.fail(maps->name, fmt::format("relocation at offset {} against {} is not inside a map's 'values'",
                                                 relocs[r].offset, relocs[r].symbol->name));
}

}  // namespace tcbpf::loader::detail
