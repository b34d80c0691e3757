// bpftool's map output for maps without BTF: hex bytes laid out as its fprint_hex does, entries on one
// line when key and value are short, per-CPU values one per CPU, and the same shapes in JSON.
#include <sys/stat.h>

#include <fmt/format.h>

#include "cli/map_cli.h"

namespace tcbpf::cli::mapcmd {

std::string hex_block(const uint8_t* data, size_t size) {
    std::string out;
    for (size_t i = 0; i < size; ++i) {
        if (i == 0) {
        } else if (i % 16 == 0) {
            out += '\n';
        } else if (i % 8 == 0) {
            out += "  ";
        } else {
            out += ' ';
        }
        out += fmt::format("{:02x}", data[i]);
    }
    return out;
}

std::string json_bytes(const uint8_t* data, size_t size) {
    std::string out = "[";
    for (size_t i = 0; i < size; ++i) out += fmt::format("{}\"0x{:02x}\"", i ? "," : "", data[i]);
    return out + "]";
}

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') out += '\\', out += c;
        else if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += c;
    }
    return out + "\"";
}

std::string plain_entry(const maps::Map& map, const uint8_t* key, const uint8_t* value) {
    const uint32_t ks = map.key_size(), vs = map.value_size();
    std::string out;
    if (!map.is_percpu()) {
        const bool break_names = ks > 16 || vs > 16;
        const bool single_line = ks + vs <= 24 && !break_names;
        if (ks) out += fmt::format("key:{}{}{}", break_names ? '\n' : ' ', hex_block(key, ks), single_line ? "  " : "\n");
        if (vs) out += fmt::format("value:{}{}", break_names ? '\n' : ' ', hex_block(value, vs));
        return out + "\n";
    }
    if (ks) out += fmt::format("key:\n{}\n", hex_block(key, ks));
    const uint32_t stride = (vs + 7) / 8 * 8;
    for (uint32_t cpu = 0; cpu < map.ncpus(); ++cpu)
        out += fmt::format("value (CPU {:02}):{}{}\n", cpu, vs > 16 ? '\n' : ' ', hex_block(value + cpu * stride, vs));
    return out;
}

std::string json_entry(const maps::Map& map, const uint8_t* key, const uint8_t* value) {
    const uint32_t vs = map.value_size();
    std::string out = fmt::format("{{\"key\":{}", json_bytes(key, map.key_size()));
    if (!map.is_percpu()) return out + fmt::format(",\"value\":{}}}", json_bytes(value, vs));
    const uint32_t stride = (vs + 7) / 8 * 8;
    out += ",\"values\":[";
    for (uint32_t cpu = 0; cpu < map.ncpus(); ++cpu)
        out += fmt::format("{}{{\"cpu\":{},\"value\":{}}}", cpu ? "," : "", cpu, json_bytes(value + cpu * stride, vs));
    return out + "]}";
}

namespace {

uint64_t map_id(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

std::string plain_show(const maps::Map& map, const std::string& path) {
    return fmt::format("{}: {}  name {}  flags {:#x}\n\tkey {}B  value {}B  max_entries {}  memlock {}B\n", map_id(path),
                       maps::map_type_name(map.type()), map.spec().name, map.spec().map_flags, map.key_size(),
                       map.value_size(), map.max_entries(), map.memory().size());
}

std::string json_show(const maps::Map& map, const std::string& path) {
    return fmt::format(
        "{{\"id\":{},\"type\":\"{}\",\"name\":{},\"flags\":{},\"bytes_key\":{},\"bytes_value\":{},\"max_entries\":{},"
        "\"bytes_memlock\":{},\"frozen\":0,\"pinned\":[{}]}}",
        map_id(path), maps::map_type_name(map.type()), json_string(map.spec().name), map.spec().map_flags,
        map.key_size(), map.value_size(), map.max_entries(), map.memory().size(), json_string(path));
}

}  // namespace tcbpf::cli::mapcmd
