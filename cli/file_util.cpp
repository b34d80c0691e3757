#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "tcbpf/error.h"

namespace tcbpf::cli {

std::vector<uint8_t> read_file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string read_file_text(const std::string& path) {
    const auto bytes = read_file_bytes(path);
    return {bytes.begin(), bytes.end()};
}

void write_file_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(fmt::format("{}: cannot create: {}", path, std::strerror(errno)));
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw Error(fmt::format("{}: write failed", path));
}

std::vector<uint8_t> parse_hex_bytes(const std::string& text, const std::string& what) {
    std::vector<uint8_t> out;
    std::istringstream tokens(text);
    std::string token;
    while (tokens >> token) {
        std::string digits = token;
        if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) digits = digits.substr(2);
        if (digits.size() % 2 != 0) digits = "0" + digits;
        for (size_t i = 0; i < digits.size(); i += 2) {
            auto nibble = [&](char c) -> int {
                if (c >= '0' && c <= '9') return c - '0';
                if (c >= 'a' && c <= 'f') return c - 'a' + 10;
                if (c >= 'A' && c <= 'F') return c - 'A' + 10;
                throw Error(fmt::format("{}: '{}' is not a hex byte", what, token));
            };
            out.push_back(static_cast<uint8_t>(nibble(digits[i]) << 4 | nibble(digits[i + 1])));
        }
    }
    return out;
}

}  // namespace tcbpf::cli
