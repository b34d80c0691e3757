#include "tests/net/netns_thread.h"

#include <sched.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace tcbpf::net::test {

namespace {

// Runs a shell command; returns "" or the command with its exit status and output.
std::string shell(const std::string& command) {
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return fmt::format("{}: popen: {}", command, std::strerror(errno));
    std::string output;
    std::array<char, 256> buf{};
    while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) output += buf.data();
    const int status = pclose(pipe);
    if (status == 0) return "";
    return fmt::format("`{}` failed (status {}): {}", command, status, output);
}

std::string command_for(const std::string& line) {
    std::istringstream in(line);
    std::string first;
    in >> first;
    if (first == "sysctl") {
        std::string rest, word;
        while (in >> word)
            if (word != "-w" && word != "-q") rest += " " + word;
        return "sysctl -q -w" + rest;
    }
    return "ip " + line;
}

size_t output_lines(const std::string& command) {
    FILE* pipe = popen((command + " 2>/dev/null").c_str(), "r");
    if (pipe == nullptr) return 0;
    size_t lines = 0;
    for (int c; (c = std::fgetc(pipe)) != EOF;) lines += c == '\n';
    pclose(pipe);
    return lines;
}

// IPv6 addresses get their local routes from addrconf's work queue, after `ip addr add` returned
// (even with nodad): wait until every address has one, so lookups never race the kernel's setup.
std::string settle_ipv6_local_routes() {
    for (int i = 0; i < 300; ++i) {
        if (output_lines("ip -6 route show table local type local") >= output_lines("ip -6 -o addr show")) return "";
        usleep(10000);
    }
    return "IPv6 local routes did not appear within 3 s";
}

}  // namespace

std::string netns_unavailable_reason() {
    if (geteuid() != 0) return "not root: cannot create network namespaces";
    std::string reason;
    std::thread probe([&] {
        if (unshare(CLONE_NEWNET) != 0) reason = fmt::format("unshare(CLONE_NEWNET): {}", std::strerror(errno));
        else if (!shell("ip link show lo").empty()) reason = "no working `ip` command";
    });
    probe.join();
    return reason;
}

std::string run_in_netns(std::string_view script, const std::function<void()>& work) {
    std::string failure;
    std::thread worker([&] {
        if (unshare(CLONE_NEWNET) != 0) {
            failure = fmt::format("unshare(CLONE_NEWNET): {}", std::strerror(errno));
            return;
        }
        std::istringstream lines{std::string(script)};
        for (std::string line; std::getline(lines, line);) {
            if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
            if (line.find_first_not_of(" \t") == std::string::npos) continue;
            failure = shell(command_for(line));
            if (!failure.empty()) return;
        }
        failure = settle_ipv6_local_routes();
        if (!failure.empty()) return;
        work();
    });
    worker.join();
    return failure;
}

}  // namespace tcbpf::net::test
