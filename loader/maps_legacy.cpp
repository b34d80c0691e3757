// The legacy `maps` section: an array of fixed-size entries, one per global map symbol. Two layouts are
// in the wild — iproute2's 36-byte `struct bpf_elf_map` (type, size_key, size_value, max_elem, flags, id,
// pinning, inner_id, inner_idx) and the older 20-byte `struct bpf_map_def` (its first five fields) — and
// the entry size is not stored anywhere. Like iproute2, we infer it as section size ÷ number of map
// symbols, insist that every symbol sits on an entry boundary, and zero-fill the fields a shorter entry
// lacks.
#include <bpf/btf.h>
#include <elf.h>
#include <linux/btf.h>

#include <cstring>
#include <fmt/format.h>

#include "loader/context.h"

namespace tcbpf::loader::detail {
namespace {

constexpr uint32_t kFullEntry = 36;     // struct bpf_elf_map
constexpr uint32_t kMinimalEntry = 16;  // type, key, value, max_entries
constexpr uint32_t kMaxLegacyMaps = 64;  // iproute2 ELF_MAX_MAPS

// BPF_ANNOTATE_KV_PAIR(name, K, V) leaves `struct ____btf_map_<name> { K key; V value; }` in BTF; when it
// is there, the map gets K and V as its BTF key/value types (sizes must agree, as iproute2 checks).
void annotate_key_value(const Btf& btf, MapDef& map) {
    const std::string struct_name = "____btf_map_" + map.name;
    const int id = btf__find_by_name_kind(btf.raw(), struct_name.c_str(), BTF_KIND_STRUCT);
    if (id <= 0) return;
    const std::string what = "map " + map.name + " annotation";
    const btf_type& t = btf.type(static_cast<uint32_t>(id), what);
    const btf_member* members = btf_members(&t);
    for (uint32_t i = 0; i < btf_vlen(&t); ++i) {
        const std::string member = btf.string(members[i].name_off).value_or("");
        if (member != "key" && member != "value") continue;
        const uint32_t size = btf.size_of(members[i].type, what);
        const uint32_t expected = member == "key" ? map.key_size : map.value_size;
        if (size != expected)
            btf.fail(fmt::format("{}: {} type is {} bytes but the map says {}", what, member, size, expected));
        (member == "key" ? map.btf_key_type_id : map.btf_value_type_id) = members[i].type;
    }
}

}  // namespace

void read_legacy_maps(LoadContext& ctx) {
    const Section* maps = ctx.elf.find_section("maps");
    if (maps == nullptr) return;
    const std::string& where = maps->name;
    if (maps->type != SHT_PROGBITS) ctx.elf.fail(where, "legacy map section must hold data (SHT_PROGBITS)");

    std::vector<const Symbol*> symbols;
    for (const Symbol& sym : ctx.elf.symbols())
        if (sym.section == maps->index && sym.bind == STB_GLOBAL && (sym.type == STT_NOTYPE || sym.type == STT_OBJECT))
            symbols.push_back(&sym);
    if (symbols.empty()) {
        if (maps->size == 0) return;
        ctx.elf.fail(where, "no global map symbols describe the section's contents");
    }
    if (symbols.size() > kMaxLegacyMaps)
        ctx.elf.fail(where, fmt::format("{} maps, more than the {} tc supports per object", symbols.size(), kMaxLegacyMaps));

    const uint64_t entry = maps->size / symbols.size();
    if (maps->size % symbols.size() != 0 || entry % 4 != 0)
        ctx.elf.fail(where, fmt::format("{} bytes for {} map symbols is not a whole number of 4-byte-field entries",
                                        maps->size, symbols.size()));
    if (entry > kFullEntry)
        ctx.elf.fail(where, fmt::format("map entry size {} is larger than struct bpf_elf_map ({} bytes)", entry,
                                        kFullEntry));
    if (entry < kMinimalEntry)
        ctx.elf.fail(where, fmt::format("map entry size {} is too small for type, key, value and max_entries", entry));

    const auto first = static_cast<uint32_t>(ctx.object.maps.size());
    ctx.legacy_section = maps->index;
    ctx.legacy_entry_size = static_cast<uint32_t>(entry);
    ctx.legacy_count = static_cast<uint32_t>(symbols.size());
    ctx.legacy_first = first;
    ctx.object.maps.resize(first + symbols.size());
    std::vector<bool> seen(symbols.size());
    for (const Symbol* sym : symbols) {
        if (sym->value % entry != 0 || sym->value / entry >= symbols.size())
            ctx.elf.fail(where, fmt::format("map symbol {} at offset {} is not on a {}-byte entry boundary", sym->name,
                                            sym->value, entry));
        const size_t index = sym->value / entry;
        if (seen[index]) ctx.elf.fail(where, fmt::format("map symbol {} shares its entry with another map", sym->name));
        seen[index] = true;

        uint32_t fields[kFullEntry / 4] = {};
        std::memcpy(fields, maps->data.data() + sym->value, entry);
        MapDef& map = ctx.object.maps[first + index];
        map.name = sym->name;
        map.section = maps->name;
        map.type = fields[0];
        map.key_size = fields[1];
        map.value_size = fields[2];
        map.max_entries = fields[3];
        map.map_flags = fields[4];
        map.id = fields[5];
        map.pinning = fields[6];
        map.inner_id = fields[7];
        map.inner_idx = fields[8];
        check_map(ctx.elf, map);
        if (ctx.btf) annotate_key_value(*ctx.btf, map);
    }
}

}  // namespace tcbpf::loader::detail
