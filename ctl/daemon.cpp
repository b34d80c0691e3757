// run_daemon: the control loop. One thread serves the control socket, one connection at a time, and
// applies each request to the runner; signals arrive through a signalfd polled next to the socket, so
// SIGTERM is handled between requests, never inside one.
//
// `tcbpf save` prints the journal: the commands that built the running configuration, in order — the
// setup's and then every command a client applied — which replayed into an empty pipeline rebuild it
// (handles and prefs are allocated deterministically, so auto-allocated ones come out the same).
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include "ctl/endpoint.h"
#include "ctl/exposition.h"
#include "ctl/log.h"
#include "tcbpf/ctl.h"
#include "tcbpf/daemon.h"

namespace tcbpf::ctl {

namespace {

constexpr int kStatusRefused = 2;   // the pipeline refused the command (tc's kernel refusal)
constexpr int kStatusSyntax = 255;  // tc's own syntax error
constexpr int kStatusMalformed = 1;
constexpr auto kClientTimeout = std::chrono::seconds(5);

// Commands in the log: quoted as in a batch file, cut short so one line stays short.
std::string loggable(const std::vector<std::string>& words) {
    std::string line = format_batch_line(words);
    if (line.size() > 200) line = line.substr(0, 200) + "...";
    return log_value(line);
}

class Daemon {
   public:
    Daemon(const DaemonOptions& options, std::unique_ptr<Runner> runner)
        : options_(options), runner_(std::move(runner)), started_(std::chrono::steady_clock::now()) {}

    // Applies the -batch SETUP; false (after saying where) when a line fails.
    bool apply_setup() {
        if (options_.setup.empty()) return true;
        std::string text;
        try {
            std::ifstream in(options_.setup, std::ios::binary);
            if (!in) throw Error(fmt::format("cannot read the setup {}: {}", options_.setup, std::strerror(errno)));
            text.assign(std::istreambuf_iterator<char>(in), {});
        } catch (const Error& e) {
            std::fprintf(stderr, "%s\n", e.what());
            return false;
        }
        const std::string base = std::filesystem::current_path().string();
        const std::vector<std::string_view> lines = batch_file_lines(text);
        for (size_t line_no = 1; line_no <= lines.size(); ++line_no) {
            try {
                const std::vector<std::string> words = with_absolute_paths(tc::split_batch_line(lines[line_no - 1]), base);
                if (words.empty()) continue;
                const tc::Command command = tc::parse_command(words);
                if (tc::command_is_show(command)) {
                    std::fputs(runner_->show(command).c_str(), stdout);
                    continue;
                }
                runner_->apply(command);
                journal_.push_back(words);
            } catch (const Error& e) {
                std::fprintf(stderr, "%s\nCommand failed %s:%zu\n", e.what(), options_.setup.c_str(), line_no);
                log(Level::Error, "daemon.setup_failed", fmt::format("setup={} line={}", options_.setup, line_no));
                return false;
            }
        }
        log(Level::Info, "daemon.setup_applied", fmt::format("setup={} commands={}", options_.setup, journal_.size()));
        return true;
    }

    int serve(int listen_fd, int signal_fd) {
        runner_->start();
        log(Level::Info, "daemon.ready", fmt::format("ctl={} bpffs={}", options_.ctl_path, options_.bpffs));
        pollfd fds[2] = {{listen_fd, POLLIN, 0}, {signal_fd, POLLIN, 0}};
        while (true) {
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                log(Level::Error, "daemon.poll_failed", fmt::format("error={}", log_value(std::strerror(errno))));
                break;
            }
            if (fds[1].revents & POLLIN) {
                signalfd_siginfo info{};
                if (::read(signal_fd, &info, sizeof(info)) == sizeof(info)) {
                    log(Level::Info, "daemon.stopping", fmt::format("signal={}", sigabbrev_np(static_cast<int>(info.ssi_signo))));
                    break;
                }
            }
            if (fds[0].revents & POLLIN) {
                const int client = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
                if (client >= 0) {
                    serve_connection(client);
                    ::close(client);
                }
            }
        }
        runner_->stop();
        log(Level::Info, "daemon.stopped", fmt::format("commands_applied={} uptime_s={:.1f}", counters_.requests_ok, uptime()));
        return 0;
    }

   private:
    double uptime() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count(); }

    void reply(int fd, const Response& response) {
        try {
            write_frame(fd, encode_response(response));
        } catch (const Error& e) {
            log(Level::Warn, "ctl.reply_failed", fmt::format("error={}", log_value(e.what())));
        }
    }

    void serve_connection(int fd) {
        const std::optional<ucred> peer = peer_credentials(fd);
        if (!peer || !peer_allowed(*peer, options_.ctl_group)) {
            ++counters_.peers_denied;
            const std::string who = peer ? fmt::format("uid={} gid={} pid={}", peer->uid, peer->gid, peer->pid) : "uid=?";
            log(Level::Warn, "ctl.denied", who);
            reply(fd, {kStatusMalformed, "", fmt::format("tcbpf daemon: permission denied ({}): only root, the daemon's user{} may "
                                                         "use {}\n", who, options_.ctl_group ? " and its control group" : "",
                                                         options_.ctl_path)});
            return;
        }
        const timeval timeout{static_cast<time_t>(kClientTimeout.count()), 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
        while (true) {
            std::optional<std::vector<uint8_t>> frame;
            try {
                frame = read_frame(fd, kMaxRequestBytes);
            } catch (const ProtocolError& e) {  // the stream cannot be followed past this: answer and hang up
                ++counters_.requests_malformed;
                log(Level::Warn, "ctl.malformed", fmt::format("uid={} error={}", peer->uid, log_value(e.what())));
                reply(fd, {kStatusMalformed, "", std::string(e.what()) + "\n"});
                return;
            } catch (const Error& e) {
                log(Level::Warn, "ctl.connection_lost", fmt::format("uid={} error={}", peer->uid, log_value(e.what())));
                return;
            }
            if (!frame) return;
            Request request;
            try {
                request = decode_request(*frame);
            } catch (const ProtocolError& e) {  // the frame was whole: the next one can still be read
                ++counters_.requests_malformed;
                log(Level::Warn, "ctl.malformed", fmt::format("uid={} error={}", peer->uid, log_value(e.what())));
                reply(fd, {kStatusMalformed, "", std::string(e.what()) + "\n"});
                continue;
            }
            const Response response = handle(request, *peer);
            ++(response.exit_status == 0 ? counters_.requests_ok : counters_.requests_failed);
            reply(fd, response);
        }
    }

    Response handle(const Request& request, const ucred& peer) {
        switch (request.kind) {
            case RequestKind::Command: return handle_command(request, peer);
            case RequestKind::Save: return {0, save_text(), ""};
            case RequestKind::Stats:
                if (request.prometheus) return {0, format_prometheus(runner_->counters(), runner_->port_counters(), prometheus_counters()), ""};
                return {0, format_port_table(runner_->port_counters()), ""};
            case RequestKind::Status:
                return {0, fmt::format("tcbpf daemon pid {} ctl {} bpffs {} up {:.1f}s commands {}\n", ::getpid(), options_.ctl_path, options_.bpffs,
                                       uptime(), journal_.size()),
                        ""};
        }
        return {kStatusMalformed, "", "unknown request\n"};
    }

    Response handle_command(const Request& request, const ucred& peer) {
        tc::Command command;
        try {
            command = tc::parse_command(request.words, request.globals);
        } catch (const Error& e) {
            log(Level::Warn, "ctl.rejected", fmt::format("uid={} cmd={} error={}", peer.uid, loggable(request.words), log_value(e.what())));
            return {kStatusSyntax, "", std::string(e.what()) + "\n"};
        }
        try {
            if (tc::command_is_show(command)) return {0, runner_->show(command), ""};
            runner_->apply(command);
        } catch (const std::exception& e) {  // tcbpf::Error, or anything else a command provoked: nothing changed
            log(Level::Warn, "ctl.refused", fmt::format("uid={} cmd={} error={}", peer.uid, loggable(request.words), log_value(e.what())));
            return {kStatusRefused, "", std::string(e.what()) + "\n"};
        }
        journal_.push_back(request.words);
        log(Level::Info, "ctl.applied", fmt::format("uid={} cmd={}", peer.uid, loggable(request.words)));
        return {0, "", ""};
    }

    std::string save_text() const {
        std::string out = fmt::format(
            "# tcbpf save: the configuration of the daemon at {} (pid {}), as the commands that built it.\n"
            "# Replay with: tcbpf daemon -batch FILE   or   tcbpf run -batch FILE\n",
            options_.ctl_path, ::getpid());
        for (const auto& words : journal_) out += format_batch_line(words) + "\n";
        return out;
    }

    DaemonCounters prometheus_counters() const {
        DaemonCounters c = counters_;
        c.uptime_seconds = uptime();
        return c;
    }

    const DaemonOptions& options_;
    std::unique_ptr<Runner> runner_;
    std::vector<std::vector<std::string>> journal_;
    DaemonCounters counters_;
    const std::chrono::steady_clock::time_point started_;
};

}  // namespace

int run_daemon(const DaemonOptions& options, std::unique_ptr<Runner> (*make_runner)(const tc::PipelineOptions&)) {
    // Signals are taken through a signalfd: blocked here, before any thread exists, so every thread
    // inherits the mask and none is interrupted by them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    try {
        check_socket_path(options.ctl_path);  // before the setup runs, not after
        std::filesystem::create_directories(options.bpffs);
        const InstanceLock socket_lock(options.ctl_path + ".lock", "the control socket " + options.ctl_path);
        const InstanceLock bpffs_lock((std::filesystem::path(options.bpffs) / ".tcbpf-daemon.lock").string(),
                                      "the bpffs directory " + options.bpffs);
        Daemon daemon(options, make_runner({.checked = false, .bpffs = options.bpffs}));
        if (!daemon.apply_setup()) return 1;
        const int listen_fd = listen_control_socket(options.ctl_path, options.ctl_group);
        const int signal_fd = ::signalfd(-1, &signals, SFD_CLOEXEC);
        if (signal_fd < 0) throw Error(fmt::format("signalfd failed: {}", std::strerror(errno)));
        const int status = daemon.serve(listen_fd, signal_fd);
        ::close(listen_fd);
        ::close(signal_fd);
        ::unlink(options.ctl_path.c_str());
        return status;
    } catch (const std::exception& e) {  // one line, the log's, so a supervisor's journal has it once
        log(Level::Error, "daemon.refused", fmt::format("error={}", log_value(e.what())));
        return 1;
    }
}

}  // namespace tcbpf::ctl
