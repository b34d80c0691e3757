// tcbpf-trafficgen --seed N --count N -o FILE.pcap
// Writes a deterministic traffic mix (see generator.h) as a nanosecond pcap.
#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>

#include "generator.h"

namespace {

constexpr std::string_view kUsage = "usage: tcbpf-trafficgen --seed N --count N -o FILE.pcap\n";

bool parse_number(std::string_view text, uint64_t& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

int main(int argc, char** argv) {
    tcbpf::trafficgen::Options options;
    std::string output;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            std::fputs(kUsage.data(), stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "tcbpf-trafficgen: %s needs a value\n%s", argv[i], kUsage.data());
            return 2;
        }
        const std::string_view value = argv[++i];
        uint64_t number = 0;
        if (arg == "--seed") {
            if (!parse_number(value, number)) {
                std::fprintf(stderr, "tcbpf-trafficgen: --seed: '%s' is not a number\n", argv[i]);
                return 2;
            }
            options.seed = number;
        } else if (arg == "--count") {
            if (!parse_number(value, number) || number > 10'000'000) {
                std::fprintf(stderr, "tcbpf-trafficgen: --count: '%s' is not a number in 0..10000000\n", argv[i]);
                return 2;
            }
            options.count = static_cast<uint32_t>(number);
        } else if (arg == "-o" || arg == "--output") {
            output = value;
        } else {
            std::fprintf(stderr, "tcbpf-trafficgen: unknown option %s\n%s", argv[i - 1], kUsage.data());
            return 2;
        }
    }
    if (output.empty()) {
        std::fprintf(stderr, "tcbpf-trafficgen: -o FILE.pcap is required\n%s", kUsage.data());
        return 2;
    }
    try {
        tcbpf::trafficgen::write_traffic(output, options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tcbpf-trafficgen: %s\n", e.what());
        return 1;
    }
    return 0;
}
