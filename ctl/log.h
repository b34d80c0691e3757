// The daemon's log: one line per event on stderr, greppable by level and event name —
//   2026-11-24T08:15:02.123Z tcbpf-daemon[4242] info ctl.apply uid=0 cmd="filter add dev eth0 ..."
// Times are UTC with milliseconds; the details are key=value pairs chosen by the caller.
#pragma once

#include <string>
#include <string_view>

namespace tcbpf::ctl {

enum class Level { Info, Warn, Error };
void log(Level level, std::string_view event, std::string_view details);
// A value for a key="..." pair: double quotes and backslashes escaped, line breaks as \n, so one event
// stays one line and a value never ends early.
std::string log_value(std::string_view value);

}  // namespace tcbpf::ctl
