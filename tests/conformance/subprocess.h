// Runs a program the way the conformance runner runs its plugin: arguments verbatim, a string on
// standard input followed by end-of-file, standard output and standard error captured separately.
#pragma once

#include <string>
#include <vector>

namespace tcbpf::conformance {

struct ProcessResult {
    int exit_status = -1;  // exit code, or -1 if the process did not exit normally (signal)
    int signal = 0;        // the terminating signal, if any
    std::string out;
    std::string err;
};

// Throws tcbpf::Error if the process cannot be started.
ProcessResult run_process(const std::string& executable, const std::vector<std::string>& args,
                          const std::string& stdin_text);

}  // namespace tcbpf::conformance
