// Map contents as lines of text, for `prog run --map-init` / `--dump-maps` and tests. The format is
// deliberately the smallest that round-trips: the map's name, then key and value as unseparated hex in
// memory order, so a dump can be edited and fed back. Per-CPU values keep their CPU explicit because
// that is how user space sees them (one slot per CPU), and a line without a CPU fills all of them, which
// is what "initialise this counter" means.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "tcbpf/runtime.h"

namespace tcbpf::runtime {

namespace {

uint32_t round8(uint32_t n) { return (n + 7) & ~7u; }

bool dumpable(const maps::Map& map) {
    switch (map.type()) {
        case maps::kMapProgArray:
        case maps::kMapPerfEventArray:
        case maps::kMapRingbuf:
        case maps::kMapQueue:
        case maps::kMapStack:
            return false;
        default:
            return true;
    }
}

std::vector<uint8_t> parse_hex(std::string_view token, const std::string& where, const char* what) {
    std::string_view digits = token;
    if (digits.size() >= 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) digits.remove_prefix(2);
    if (digits.empty() || digits.size() % 2 != 0)
        throw Error(fmt::format("{}: {} '{}' is not an even number of hex digits", where, what, token));
    std::vector<uint8_t> out;
    for (size_t i = 0; i < digits.size(); i += 2) {
        auto nibble = [&](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            throw Error(fmt::format("{}: {} '{}' is not hex", where, what, token));
        };
        out.push_back(static_cast<uint8_t>(nibble(digits[i]) << 4 | nibble(digits[i + 1])));
    }
    return out;
}

std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> words;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
        const size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
        if (i > start) words.push_back(line.substr(start, i - start));
    }
    return words;
}

std::string map_names(const LoadedObject& object) {
    std::string names;
    for (const auto& m : object.maps()) names += fmt::format("{}{}", names.empty() ? "" : ", ", m->spec().name);
    return names.empty() ? "none" : names;
}

void apply_line(const LoadedObject& object, const std::vector<std::string_view>& words, const std::string& where) {
    if (words.size() != 3 && words.size() != 4)
        throw Error(fmt::format("{}: expected MAPNAME KEYHEX VALUEHEX [cpu=N], got {} fields", where, words.size()));
    maps::Map* map = object.map(words[0]);
    if (map == nullptr)
        throw Error(fmt::format("{}: no map named {} (maps: {})", where, words[0], map_names(object)));
    if (!dumpable(*map))
        throw Error(fmt::format("{}: map {} is a {}, which has no key/value contents to set", where, words[0],
                                maps::map_type_name(map->type())));
    const std::vector<uint8_t> key = parse_hex(words[1], where, "key");
    const std::vector<uint8_t> value = parse_hex(words[2], where, "value");
    if (key.size() != map->key_size())
        throw Error(fmt::format("{}: key of map {} is {} bytes, expected {}", where, words[0], key.size(), map->key_size()));
    if (value.size() != map->value_size())
        throw Error(fmt::format("{}: value of map {} is {} bytes, expected {}", where, words[0], value.size(),
                                map->value_size()));
    std::vector<uint8_t> user(map->user_value_size(), 0);
    if (!map->is_percpu()) {
        if (words.size() == 4) throw Error(fmt::format("{}: map {} is not per-CPU; drop '{}'", where, words[0], words[3]));
        std::memcpy(user.data(), value.data(), value.size());
    } else if (words.size() == 4) {
        const std::string_view cpu_word = words[3];
        uint32_t cpu = 0;
        const auto digits = cpu_word.substr(std::min<size_t>(4, cpu_word.size()));
        const bool ok = cpu_word.substr(0, 4) == "cpu=" && !digits.empty() &&
                        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                        digits.size() <= 6;
        if (ok) cpu = static_cast<uint32_t>(std::stoul(std::string(digits)));
        if (!ok || cpu >= map->ncpus())
            throw Error(fmt::format("{}: '{}' is not cpu=N with N below {}", where, cpu_word, map->ncpus()));
        // One CPU's slot: keep what the other CPUs already hold.
        if (map->lookup_user(key.data(), user.data()) != 0) std::fill(user.begin(), user.end(), 0);
        std::memcpy(user.data() + size_t{cpu} * round8(map->value_size()), value.data(), value.size());
    } else {
        for (uint32_t cpu = 0; cpu < map->ncpus(); ++cpu)
            std::memcpy(user.data() + size_t{cpu} * round8(map->value_size()), value.data(), value.size());
    }
    const int err = map->update_user(key.data(), user.data(), maps::kBpfAny);
    if (err != 0)
        throw Error(fmt::format("{}: update of map {} failed: {}", where, words[0], std::strerror(-err)));
}

}  // namespace

std::string to_hex(std::span<const uint8_t> bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (uint8_t b : bytes) out += fmt::format("{:02x}", b);
    return out;
}

void apply_map_lines(const LoadedObject& object, std::string_view text, std::string_view file) {
    size_t line_no = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
        const size_t end = std::min(text.find('\n', pos), text.size());
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (const size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        const auto words = split_words(line);
        if (!words.empty()) apply_line(object, words, fmt::format("{}:{}", file, line_no));
        if (end == text.size()) break;
    }
}

std::vector<MapEntryText> dump_maps(const LoadedObject& object, std::vector<std::string>* skipped) {
    std::vector<MapEntryText> out;
    for (const auto& m : object.maps()) {
        const maps::Map& map = *m;
        if (!dumpable(map)) {
            if (skipped) skipped->push_back(fmt::format("{} ({})", map.spec().name, maps::map_type_name(map.type())));
            continue;
        }
        map.for_each([&](std::span<const uint8_t> key, std::span<const uint8_t> value) {
            if (!map.is_percpu()) {
                out.push_back({map.spec().name, {key.begin(), key.end()}, {value.begin(), value.end()}, std::nullopt});
                return;
            }
            for (uint32_t cpu = 0; cpu < map.ncpus(); ++cpu) {
                const auto slot = value.subspan(size_t{cpu} * round8(map.value_size()), map.value_size());
                out.push_back({map.spec().name, {key.begin(), key.end()}, {slot.begin(), slot.end()}, cpu});
            }
        });
    }
    return out;
}

std::string format_map_line(const MapEntryText& e) {
    std::string line = fmt::format("{} {} {}", e.map, to_hex(e.key), to_hex(e.value));
    if (e.cpu) line += fmt::format(" cpu={}", *e.cpu);
    return line;
}

}  // namespace tcbpf::runtime
