// tc's command line: `tcbpf [-s] [-j] qdisc|class|filter|actions ...`, `tcbpf port ...`,
// `tcbpf [-s] [-j] -batch FILE` and `tcbpf run -batch SETUP [-s] [-j] [--trace] [--bpffs DIR]`.
//
// These take tc's words as tc does (its own parser in tc/, not CLI11), so they are recognised before
// CLI11 sees the arguments. Exit statuses follow tc: 255 for a command tc itself rejects (its -1),
// 2 for one the kernel would refuse, 1 for a failed batch ("Command failed FILE:LINE").
//
// `run -batch` builds a pipeline of its own, pushes the traffic of its pcap ports through and prints
// the statistics. A lone command (or `-batch FILE` without `run`) goes to a running `tcbpf daemon`
// (`--ctl SOCKET`, $TCBPF_CTL or /run/tcbpf.ctl; cmd_daemon.cpp); with no daemon there, it has no
// pipeline to change and says so after checking its syntax.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include <signal.h>

#include "tcbpf/error.h"
#include "tcbpf/live.h"
#include "tcbpf/runtime.h"
#include "tcbpf/tc.h"

namespace tcbpf::cli {

namespace {

constexpr int kTcUsage = 255;   // tc's exit(-1)
constexpr int kTcKernel = 2;    // tc's "return 2" after the kernel refused
constexpr int kBatchFailed = 1;

bool is_tc_object(const std::string& word) {
    if (word.empty() || word[0] == '-') return false;
    const auto prefix_of = [&](const char* keyword) { return std::string(keyword).rfind(word, 0) == 0; };
    return prefix_of("qdisc") || prefix_of("class") || prefix_of("filter") || prefix_of("actions") || word == "action" ||
           word == "port";
}

struct TcArgs {
    tc::GlobalOptions globals;
    std::string batch;
    bool trace = false;
    bool run = false;
    std::string bpffs;  // run --bpffs DIR
    std::string ctl;    // --ctl SOCKET: the daemon to send the command to
    std::vector<std::string> words;
};

// Reads tc's global options wherever they appear before the command words.
std::optional<TcArgs> split_args(int argc, char** argv) {
    TcArgs args;
    int i = 1;
    if (i < argc && std::string(argv[i]) == "run") {
        args.run = true;
        ++i;
    }
    for (; i < argc; ++i) {
        const std::string a = argv[i];
        if (a.empty() || a[0] != '-' || !args.words.empty()) {
            args.words.push_back(a);
            continue;
        }
        if (a == "-s" || a == "-stats" || a == "-statistics") args.globals.stats = true;
        else if (a == "-j" || a == "-json") args.globals.json = true;
        else if (a == "-d" || a == "-details") args.globals.details = true;
        else if (a == "-p" || a == "-pretty") args.globals.pretty = true;
        else if (a == "--trace" && args.run) args.trace = true;
        else if (a == "--bpffs" && args.run) {
            if (i + 1 >= argc) throw Error("Option \"--bpffs\" needs a directory");
            args.bpffs = argv[++i];
        }
        else if (a == "--ctl" && !args.run) {
            if (i + 1 >= argc) throw Error("Option \"--ctl\" needs a socket path");
            args.ctl = argv[++i];
        }
        else if (a == "-b" || a == "-batch") {
            if (i + 1 >= argc) throw Error("Option \"-batch\" needs a file name");
            args.batch = argv[++i];
        } else {
            if (!args.run && !is_tc_object(a)) return std::nullopt;
            throw Error(fmt::format("Option \"{}\" is unknown, try \"tc -help\".", a));
        }
    }
    if (args.run) return args;
    if (!args.batch.empty() && args.words.empty()) return args;
    if (args.words.empty() || !is_tc_object(args.words[0])) return std::nullopt;
    return args;
}

bool is_show(const tc::Command& command) {
    return std::visit(
        [](const auto& spec) {
            using T = std::decay_t<decltype(spec)>;
            if constexpr (std::is_same_v<T, tc::PortSpec> || std::is_same_v<T, tc::PeerSpec>) return false;
            else return spec.verb == tc::Verb::Show || spec.verb == tc::Verb::Get;
        },
        command);
}

void print(const std::string& text) { std::fputs(text.c_str(), stdout); }
void print_error(const std::string& text) { std::fprintf(stderr, "%s\n", text.c_str()); }

// Applies (or shows) every command of a batch file; false after the first failure, reported as tc does.
// Target: a tc::Pipeline or a live::Runner (both apply and show commands).
template <typename Target>
bool apply_batch(Target& pipeline, const std::string& path, const tc::GlobalOptions& globals) {
    const std::string text = read_file_text(path);
    size_t line_no = 0, start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(start, end - start);
        start = end + 1;
        ++line_no;
        try {
            const std::vector<std::string> words = tc::split_batch_line(line);
            if (words.empty()) continue;
            const tc::Command command = tc::parse_command(words, globals);
            if (is_show(command))
                print(pipeline.show(command));
            else
                pipeline.apply(command);
        } catch (const Error& e) {
            print_error(e.what());
            print_error(fmt::format("Command failed {}:{}", path, line_no));
            return false;
        }
        if (end == text.size()) break;
    }
    return true;
}

// True when the setup declares a live port (`port add ... type afpacket|tap`): the run then goes on
// until SIGTERM/SIGINT instead of ending with the captures. Lines that do not parse are left to
// apply_batch, which reports them.
bool declares_live_port(const std::string& path) {
    const std::string text = read_file_text(path);
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        try {
            const std::vector<std::string> words = tc::split_batch_line(text.substr(start, end - start));
            if (!words.empty() && words[0] == "port") {
                const tc::Command command = tc::parse_command(words);
                const auto* port = std::get_if<tc::PortSpec>(&command);
                if (port != nullptr && port->type != tc::PortType::Pcap) return true;
            }
        } catch (const Error&) {
        }
        start = end + 1;
    }
    return false;
}

// `run -batch SETUP` with live ports: workers move packets until SIGTERM or SIGINT, then drain, and the
// statistics are printed as for an offline run, followed by each port's traffic.
int run_live(const TcArgs& args) {
    if (args.trace) throw Error("run: --trace is for offline runs (a run with live ports goes on until SIGTERM)");
    sigset_t termination;
    sigemptyset(&termination);
    sigaddset(&termination, SIGTERM);
    sigaddset(&termination, SIGINT);
    pthread_sigmask(SIG_BLOCK, &termination, nullptr);  // before any worker exists: the signal waits for us
    live::RunnerOptions options;
    options.bpffs = args.bpffs.empty() ? runtime::default_bpffs() : args.bpffs;
    live::Runner runner(options);
    if (!apply_batch(runner, args.batch, args.globals)) return kBatchFailed;
    runner.start();
    const int signal = live::wait_for_termination();
    std::fprintf(stderr, "tcbpf: %s, draining\n", signal == SIGINT ? "SIGINT" : "SIGTERM");
    runner.stop();
    print(runner.show_all(args.globals.stats, args.globals.json));
    if (!args.globals.json)
        for (const live::PortCounters& p : runner.port_counters())
            print(fmt::format("port {} dev {} {}: rx {} packets {} bytes, tx {} packets {} bytes, tx errors {}, host {} packets\n",
                              p.name, p.dev, tc::port_type_name(p.type), p.rx_packets, p.rx_bytes, p.tx_packets, p.tx_bytes,
                              p.tx_errors, p.host_packets));
    return 0;
}

int run_pipeline(const TcArgs& args) {
    if (args.batch.empty()) throw Error("run: a setup is required: tcbpf run -batch SETUP [-s] [-j] [--trace]");
    if (!args.words.empty()) throw Error(fmt::format("run: What is \"{}\"?", args.words[0]));
    if (declares_live_port(args.batch)) return run_live(args);
    // checked = false: every eBPF program is verified as it loads and then runs JIT-compiled.
    tc::Pipeline pipeline({.checked = false, .bpffs = args.bpffs.empty() ? runtime::default_bpffs() : args.bpffs});
    if (!apply_batch(pipeline, args.batch, args.globals)) return kBatchFailed;
    if (args.trace) pipeline.set_trace([](std::string_view line) { std::printf("%.*s\n", static_cast<int>(line.size()), line.data()); });
    pipeline.run_captures();
    print(args.globals.json ? pipeline.show_all_json(args.globals.stats) : pipeline.show_all(args.globals.stats));
    return 0;
}

}  // namespace

std::optional<int> run_tc_command_line(int argc, char** argv) {
    std::optional<TcArgs> args;
    try {
        args = split_args(argc, argv);
    } catch (const Error& e) {
        print_error(e.what());
        return kTcUsage;
    }
    if (!args) return std::nullopt;
    try {
        if (args->run) return run_pipeline(*args);
        const std::optional<std::string> daemon = daemon_socket(args->ctl);
        if (args->words.empty()) {
            if (daemon) return forward_batch(*daemon, args->batch, args->globals);
            // No daemon: check and apply into a pipeline that ends with the batch.
            tc::Pipeline pipeline;
            return apply_batch(pipeline, args->batch, args->globals) ? 0 : kBatchFailed;
        }
        if (daemon) return forward_command(*daemon, args->words, args->globals);
        const tc::Command command = tc::parse_command(args->words, args->globals);
        print_error(fmt::format(
            "tcbpf: no running pipeline to {} (pipelines live inside `tcbpf run -batch SETUP`; put this command in the "
            "setup file)",
            is_show(command) ? "show" : "change"));
        return 1;
    } catch (const Error& e) {
        print_error(e.what());
        return args->run ? kTcKernel : kTcUsage;
    }
}

}  // namespace tcbpf::cli
