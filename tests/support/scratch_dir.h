// A directory of the test's own under the system's temporary directory (tcbpf-TAG-PID-N), removed
// with everything in it when the test ends, also when an assertion fails on the way: where tests pin
// maps, write captures or keep a bpffs. Forked children leave with _exit, so only the test removes it.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>

namespace tcbpf::test {

class ScratchDir {
   public:
    explicit ScratchDir(const std::string& tag) {
        static std::atomic<int> made{0};
        path = std::filesystem::temp_directory_path() /
               ("tcbpf-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(made++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~ScratchDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    // A file's path inside the directory, as the string the map and capture APIs take.
    std::string file(const std::string& name) const { return (path / name).string(); }

    std::filesystem::path path;
};

}  // namespace tcbpf::test
