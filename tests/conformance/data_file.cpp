// See data_file.h. Section contents are collected first and interpreted afterwards, because the
// runner's meaning of a section ("last non-empty line" for result, concatenation for mem) depends on
// all of its lines.
#include "tests/conformance/data_file.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "tcbpf/error.h"

namespace tcbpf::conformance {
namespace {

enum class Section { None, Asm, Result, Mem, Raw, Notes, Error, Unknown };

struct Line {
    size_t number;
    std::string text;
};

// The reference runner's order: a header containing several of these names picks the earliest entry.
Section section_of(std::string_view header) {
    static constexpr std::pair<std::string_view, Section> kOrder[] = {
        {"asm", Section::Asm}, {"result", Section::Result}, {"mem", Section::Mem}, {"raw", Section::Raw},
        {"no register offset", Section::Notes}, {" c", Section::Notes}, {"error", Section::Error},
    };
    for (const auto& [needle, section] : kOrder)
        if (header.find(needle) != std::string_view::npos) return section;
    return Section::Unknown;
}

std::string_view trim(std::string_view s) {
    const size_t begin = s.find_first_not_of(" \t\r\n\f\v");
    if (begin == std::string_view::npos) return {};
    const size_t end = s.find_last_not_of(" \t\r\n\f\v");
    return s.substr(begin, end - begin + 1);
}

std::vector<std::string_view> words(std::string_view s) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && std::strchr(" \t\r\n\f\v", s[i]) != nullptr) ++i;
        const size_t start = i;
        while (i < s.size() && std::strchr(" \t\r\n\f\v", s[i]) == nullptr) ++i;
        if (i > start) out.push_back(s.substr(start, i - start));
    }
    return out;
}

[[noreturn]] void fail(const std::string& path, size_t line, const std::string& why) {
    throw Error(fmt::format("{}:{}: {}", path, line, why));
}

// Digits only, in the given base, fitting 64 bits; no sign, no suffix.
std::optional<uint64_t> parse_unsigned(std::string_view digits, int base) {
    if (digits.empty()) return std::nullopt;
    uint64_t value = 0;
    for (char c : digits) {
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return std::nullopt;
        if (value > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) return std::nullopt;
        value = value * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    }
    return value;
}

// `0x...` hex or plain unsigned decimal.
std::optional<uint64_t> parse_number(std::string_view token) {
    if (token.size() > 2 && token[0] == '0' && (token[1] == 'x' || token[1] == 'X'))
        return parse_unsigned(token.substr(2), 16);
    return parse_unsigned(token, 10);
}

}  // namespace

DataFile parse_data_file(std::string_view text, const std::string& path) {
    DataFile file;
    file.path = path;
    std::vector<Line> asm_lines, result_lines, mem_lines, raw_lines, error_lines;
    bool has_result = false, has_raw = false, has_error = false;
    Section current = Section::None;

    size_t number = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
        const size_t eol = text.find('\n', pos);
        std::string_view line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
        pos = eol == std::string_view::npos ? text.size() + 1 : eol + 1;
        ++number;
        if (const size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find("--") != std::string_view::npos) {
            current = section_of(line);
            if (current == Section::Unknown) {
                file.skip_reason = fmt::format("Unknown directive at line {}: {}", number, trim(line));
                return file;
            }
            has_result |= current == Section::Result;
            has_raw |= current == Section::Raw;
            has_error |= current == Section::Error;
            file.has_mem |= current == Section::Mem;
            continue;
        }
        if (trim(line).empty()) continue;
        Line entry{number, std::string(line)};
        switch (current) {
            case Section::Asm: asm_lines.push_back(entry); break;
            case Section::Result: result_lines.push_back(entry); break;
            case Section::Mem: mem_lines.push_back(entry); break;
            case Section::Raw: raw_lines.push_back(entry); break;
            case Section::Error: error_lines.push_back(entry); break;
            default: break;  // before the first header, or in notes / C source
        }
    }

    for (const Line& line : asm_lines) {
        file.asm_text += line.text;
        file.asm_text += '\n';
    }
    for (const Line& line : mem_lines) {
        for (std::string_view byte : words(line.text)) {
            const auto value = parse_unsigned(byte, 16);
            if (!value || *value > 0xff) fail(path, line.number, fmt::format("mem: '{}' is not a hex byte", byte));
            file.mem.push_back(static_cast<uint8_t>(*value));
        }
    }
    if (has_raw) {
        file.raw.emplace();
        for (const Line& line : raw_lines) {
            for (std::string_view token : words(line.text)) {
                const auto value = parse_number(token);
                if (!value) fail(path, line.number, fmt::format("raw: '{}' is not a 64-bit number", token));
                file.raw->push_back(*value);
            }
        }
    }
    if (has_result && !result_lines.empty()) {
        const Line& last = result_lines.back();
        const auto value = parse_number(trim(last.text));
        if (!value) fail(path, last.number, fmt::format("result: '{}' is not a 64-bit number", trim(last.text)));
        file.result = *value;
    }
    if (has_error && !error_lines.empty()) file.error = std::string(trim(error_lines.back().text));
    if (!file.result && !file.error) file.skip_reason = "no result or error section";
    return file;
}

DataFile read_data_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fmt::format("{}: cannot open", path));
    std::ostringstream text;
    text << in.rdbuf();
    return parse_data_file(text.str(), path);
}

std::vector<std::string> list_data_files(const std::string& directory) {
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(directory, ec))
        if (entry.is_regular_file() && entry.path().extension() == ".data") files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());
    return files;
}

std::string test_name_for(const std::string& path) {
    std::string name = std::filesystem::path(path).stem().string();
    for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return name;
}

std::vector<uint8_t> raw_bytes(const std::vector<uint64_t>& slots) {
    std::vector<uint8_t> bytes;
    bytes.reserve(slots.size() * 8);
    for (uint64_t slot : slots)
        for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(slot >> (8 * i)));
    return bytes;
}

}  // namespace tcbpf::conformance
