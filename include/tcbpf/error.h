// Load-time failures in tcbpf are reported as exceptions of one type carrying a complete, human-readable
// message ("pc 12: unknown opcode 0xff", "prog.s:3:7: expected register"). Exceptions stay off the data
// path: running a program never throws; it reports faults through return values.
#pragma once

#include <stdexcept>
#include <string>

namespace tcbpf {

class Error : public std::runtime_error {
   public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace tcbpf
