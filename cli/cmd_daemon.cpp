// `tcbpf daemon`, `tcbpf save`, `tcbpf stats`, `tcbpf status`, and the forwarding of tc's commands to
// a running daemon (used by cmd_tc.cpp).
//
//   tcbpf daemon [--ctl SOCKET] [--ctl-group GROUP] [--bpffs DIR] [-batch SETUP]
//   tcbpf save [--ctl SOCKET]                       the running configuration as a batch file
//   tcbpf stats [--prometheus] [--ctl SOCKET]       per-port counters, or everything in Prometheus text
//   tcbpf status [--ctl SOCKET]
//
// Like tc's, these options are single words tc-style (`-batch`), so they are read here rather than
// by CLI11. The socket is --ctl, else $TCBPF_CTL, else /run/tcbpf.ctl.
#include <grp.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "cli/commands.h"
#include "tcbpf/ctl.h"
#include "tcbpf/daemon.h"
#include "tcbpf/runtime.h"

namespace tcbpf::cli {

namespace {

gid_t group_id(const std::string& name) {
    if (const group* g = ::getgrnam(name.c_str())) return g->gr_gid;
    char* end = nullptr;
    const unsigned long n = std::strtoul(name.c_str(), &end, 10);
    if (!name.empty() && *end == '\0') return static_cast<gid_t>(n);
    throw Error(fmt::format("daemon: no group \"{}\"", name));
}

int print_response(const ctl::Response& r) {
    std::fputs(r.out.c_str(), stdout);
    std::fputs(r.err.c_str(), stderr);
    return r.exit_status;
}

int run_daemon_command(const std::vector<std::string>& args) {
    ctl::DaemonOptions options;
    options.ctl_path = ctl::default_socket_path();
    options.bpffs = runtime::default_bpffs();
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const auto value = [&]() -> const std::string& {
            if (i + 1 >= args.size()) throw Error(fmt::format("daemon: option \"{}\" needs a value", a));
            return args[++i];
        };
        if (a == "--ctl") options.ctl_path = value();
        else if (a == "--ctl-group") options.ctl_group = group_id(value());
        else if (a == "--bpffs") options.bpffs = value();
        else if (a == "-batch" || a == "-b" || a == "--batch") options.setup = value();
        else throw Error(fmt::format("daemon: What is \"{}\"? (usage: tcbpf daemon [--ctl SOCKET] [--ctl-group GROUP] "
                                     "[--bpffs DIR] [-batch SETUP])", a));
    }
    return ctl::run_daemon(options);
}

int run_client_command(const std::string& name, const std::vector<std::string>& args) {
    ctl::Request request;
    request.kind = name == "save" ? ctl::RequestKind::Save : name == "stats" ? ctl::RequestKind::Stats : ctl::RequestKind::Status;
    std::string socket = ctl::default_socket_path();
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--ctl" && i + 1 < args.size()) socket = args[++i];
        else if (args[i] == "--prometheus" && name == "stats") request.prometheus = true;
        else throw Error(fmt::format("{}: What is \"{}\"? (usage: tcbpf {} [--ctl SOCKET]{})", name, args[i], name,
                                     name == "stats" ? " [--prometheus]" : ""));
    }
    ctl::Client client(socket);
    return print_response(client.call(request));
}

}  // namespace

std::optional<int> run_ctl_command_line(int argc, char** argv) {
    if (argc < 2) return std::nullopt;
    const std::string name = argv[1];
    if (name != "daemon" && name != "save" && name != "stats" && name != "status") return std::nullopt;
    const std::vector<std::string> args(argv + 2, argv + argc);
    try {
        return name == "daemon" ? run_daemon_command(args) : run_client_command(name, args);
    } catch (const Error& e) {
        std::fprintf(stderr, "tcbpf: %s\n", e.what());
        return 1;
    }
}

// The daemon to talk to: the one named (--ctl or $TCBPF_CTL) even if unreachable, so the user hears why;
// the default socket only if something is there.
std::optional<std::string> daemon_socket(const std::string& ctl_option) {
    if (!ctl_option.empty()) return ctl_option;
    const std::string path = ctl::default_socket_path();
    if (const char* env = std::getenv("TCBPF_CTL"); env != nullptr && *env != '\0') return path;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return path;
    return std::nullopt;
}

namespace {
// Sends the commands on one connection; stops at the first that fails (a batch names its line).
int forward(const std::string& socket, const std::vector<std::vector<std::string>>& commands, const tc::GlobalOptions& globals,
            const std::string& batch_name) {
    ctl::Client client(socket);
    const std::string cwd = std::filesystem::current_path().string();
    for (size_t i = 0; i < commands.size(); ++i) {
        if (commands[i].empty()) continue;
        ctl::Request request;
        request.words = ctl::with_absolute_paths(commands[i], cwd);
        request.globals = globals;
        const int status = print_response(client.call(request));
        if (status == 0) continue;
        if (batch_name.empty()) return status;
        std::fprintf(stderr, "Command failed %s:%zu\n", batch_name.c_str(), i + 1);
        return 1;
    }
    return 0;
}
}  // namespace

int forward_command(const std::string& socket, const std::vector<std::string>& words, const tc::GlobalOptions& globals) {
    try {
        return forward(socket, {words}, globals, "");
    } catch (const Error& e) {
        std::fprintf(stderr, "tcbpf: %s\n", e.what());
        return 1;
    }
}

int forward_batch(const std::string& socket, const std::string& path, const tc::GlobalOptions& globals) {
    const std::string text = read_file_text(path);
    std::vector<std::vector<std::string>> lines;
    for (const std::string_view line : ctl::batch_file_lines(text)) {
        try {
            lines.push_back(tc::split_batch_line(line));
        } catch (const Error& e) {
            std::fprintf(stderr, "%s\nCommand failed %s:%zu\n", e.what(), path.c_str(), lines.size() + 1);
            return 1;
        }
    }
    try {
        return forward(socket, lines, globals, path);
    } catch (const Error& e) {
        std::fprintf(stderr, "tcbpf: %s\n", e.what());
        return 1;
    }
}

}  // namespace tcbpf::cli
