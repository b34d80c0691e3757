// Numbers, rates, sizes and ethertype names in iproute2's formats (lib/utils.c, lib/utils_math.c,
// lib/ll_proto.c, tc/tc_util.c).
#include "tc/parse_util.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <strings.h>

#include <fmt/format.h>

namespace tcbpf::tc::detail {

const std::string& Words::value(std::string_view key) {
    if (done()) fail(fmt::format("Command line is not complete. Try option \"help\" (after \"{}\")", key));
    return take();
}

void invarg(std::string_view message, std::string_view arg) {
    throw Error(fmt::format("Error: argument \"{}\" is wrong: {}", arg, message));
}

void duparg(std::string_view key, std::string_view arg) {
    throw Error(fmt::format("Error: duplicate \"{}\": \"{}\" is the second value.", key, arg));
}

void fail(std::string message) { throw Error(std::move(message)); }

std::optional<uint64_t> parse_unsigned(std::string_view text, int base, uint64_t max) {
    if (text.empty() || text[0] == '-' || text[0] == '+' || std::isspace(static_cast<unsigned char>(text[0])))
        return std::nullopt;
    const std::string copy(text);
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(copy.c_str(), &end, base);
    if (errno != 0 || end == copy.c_str() || *end != '\0' || v > max) return std::nullopt;
    return v;
}

namespace {

struct Unit {
    const char* name;
    double scale;
};

// Splits "1.5mbit" into 1.5 and "mbit"; nullopt when no number leads.
std::optional<std::pair<double, std::string>> number_and_suffix(std::string_view text) {
    const std::string copy(text);
    char* end = nullptr;
    const double v = std::strtod(copy.c_str(), &end);
    if (end == copy.c_str() || v < 0 || !std::isfinite(v)) return std::nullopt;
    return std::make_pair(v, std::string(end));
}

}  // namespace

std::optional<uint64_t> parse_rate(std::string_view text) {
    static constexpr Unit kUnits[] = {
        {"bit", 1.}, {"Kibit", 1024.}, {"kbit", 1000.}, {"mibit", 1024. * 1024.}, {"mbit", 1e6},
        {"gibit", 1024. * 1024. * 1024.}, {"gbit", 1e9}, {"tibit", 1024. * 1024. * 1024. * 1024.}, {"tbit", 1e12},
        {"Bps", 8.}, {"KiBps", 8. * 1024.}, {"KBps", 8000.}, {"MiBps", 8. * 1024. * 1024.}, {"MBps", 8e6},
        {"GiBps", 8. * 1024. * 1024. * 1024.}, {"GBps", 8e9}, {"TiBps", 8. * 1024. * 1024. * 1024. * 1024.},
        {"TBps", 8e12}, {"", 1.}};
    const auto parsed = number_and_suffix(text);
    if (!parsed) return std::nullopt;
    for (const Unit& u : kUnits)
        if (strcasecmp(parsed->second.c_str(), u.name) == 0) {
            const double bits = parsed->first * u.scale;
            if (bits / 8 > 1.8e19) return std::nullopt;
            return static_cast<uint64_t>(bits / 8);
        }
    return std::nullopt;
}

std::optional<uint64_t> parse_size(std::string_view text) {
    static constexpr Unit kUnits[] = {
        {"b", 1.}, {"kbit", 1024. / 8}, {"k", 1024.}, {"kb", 1024.}, {"mbit", 1024. * 1024. / 8}, {"m", 1024. * 1024.},
        {"mb", 1024. * 1024.}, {"gbit", 1024. * 1024. * 1024. / 8}, {"g", 1024. * 1024. * 1024.},
        {"gb", 1024. * 1024. * 1024.}, {"", 1.}};
    const auto parsed = number_and_suffix(text);
    if (!parsed) return std::nullopt;
    for (const Unit& u : kUnits)
        if (strcasecmp(parsed->second.c_str(), u.name) == 0) {
            const double bytes = parsed->first * u.scale;
            if (bytes > 4294967295.) return std::nullopt;
            return static_cast<uint64_t>(bytes);
        }
    return std::nullopt;
}

std::string format_rate(uint64_t bytes_per_second) {
    static constexpr const char* kUnits[] = {"bit", "Kbit", "Mbit", "Gbit", "Tbit"};
    uint64_t rate = bytes_per_second * 8;
    size_t unit = 0;
    while (unit + 1 < std::size(kUnits) && rate >= 1000 && (rate % 1000 == 0 || rate >= 1000 * 1000)) {
        rate /= 1000;
        ++unit;
    }
    return fmt::format("{}{}", rate, kUnits[unit]);
}

std::string format_size(uint64_t bytes) {
    constexpr uint64_t kKb = 1024, kMb = kKb * 1024, kGb = kMb * 1024;
    const auto near = [&](uint64_t unit, uint64_t slack) {
        return bytes >= unit && (bytes % unit <= slack || unit - bytes % unit <= slack);
    };
    if (near(kGb, kKb)) return fmt::format("{:g}Gb", static_cast<double>(bytes) / kGb);
    if (near(kMb, kKb)) return fmt::format("{:g}Mb", static_cast<double>(bytes) / kMb);
    if (near(kKb, 16)) return fmt::format("{:g}Kb", static_cast<double>(bytes) / kKb);
    return fmt::format("{}b", bytes);
}

namespace {
struct Proto {
    const char* name;
    uint16_t value;
};
constexpr Proto kProtos[] = {{"all", 0x0003}, {"ip", 0x0800}, {"ipv6", 0x86DD}, {"arp", 0x0806},
                             {"802.1Q", 0x8100}, {"802.1ad", 0x88A8}, {"rarp", 0x8035}, {"mpls_uc", 0x8847},
                             {"mpls_mc", 0x8848}, {"lldp", 0x88CC}};
}  // namespace

std::optional<uint16_t> parse_protocol(std::string_view text) {
    for (const Proto& p : kProtos)
        if (strcasecmp(std::string(text).c_str(), p.name) == 0) return p.value;
    const auto v = parse_unsigned(text, 0, 0xFFFF);
    if (!v) return std::nullopt;
    return static_cast<uint16_t>(*v);
}

std::string format_protocol(uint16_t protocol) {
    for (const Proto& p : kProtos)
        if (p.value == protocol) return p.name;
    return fmt::format("[{}]", protocol);
}

}  // namespace tcbpf::tc::detail
