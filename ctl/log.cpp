// One write(2) per line, so lines from the control and data threads never interleave mid-line.
#include <chrono>
#include <ctime>
#include <string>

#include <unistd.h>

#include <fmt/format.h>

#include "ctl/log.h"

namespace tcbpf::ctl {

void log(Level level, std::string_view event, std::string_view details) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
    static constexpr const char* kLevels[] = {"info", "warn", "error"};
    std::string line = fmt::format("{}.{:03}Z tcbpf-daemon[{}] {} {}{}{}\n", stamp, millis, ::getpid(), kLevels[static_cast<int>(level)],
                                   event, details.empty() ? "" : " ", details);
    const ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;  // nowhere left to report a failing stderr
}

std::string log_value(std::string_view value) {
    std::string out = "\"";
    for (char c : value) {
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

}  // namespace tcbpf::ctl
