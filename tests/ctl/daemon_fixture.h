// A test's own `tcbpf daemon`: started on a socket and bpffs directory inside the test's scratch folder,
// with its stderr (the log) captured to a file, and stopped at the end if the test did not stop it.
// Commands go through the real `tcbpf` command (--ctl SOCKET), as a user's would.
#pragma once

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <list>
#include <string>
#include <thread>
#include <vector>

#include "tcbpf/ctl.h"
#include "tests/cli/cli_fixture.h"

namespace tcbpf::test {

class DaemonFixture : public CliFixture {
   protected:
    struct Daemon {
        pid_t pid = -1;
        std::string ctl, bpffs, log;
    };

    void TearDown() override {
        for (Daemon& d : daemons_)
            if (d.pid > 0) {
                ::kill(d.pid, SIGKILL);
                ::waitpid(d.pid, nullptr, 0);
            }
        CliFixture::TearDown();
    }

    // Starts `tcbpf daemon --ctl DIR/NAME.ctl --bpffs DIR/BPFFS [-batch SETUP] EXTRA...` without waiting.
    // netns: "" the test's own network namespace, kPrivateNetns a new one of the daemon's own (live ports
    // it creates vanish with it), else the named namespace (/run/netns/NAME) to join.
    static constexpr const char* kPrivateNetns = "(private)";
    Daemon& spawn(const std::string& name, const std::string& setup = "", const std::string& bpffs = "bpffs",
                  std::vector<std::string> extra = {}, const std::string& netns = "") {
        Daemon d{-1, (dir / (name + ".ctl")).string(), (dir / bpffs).string(), (dir / (name + ".log")).string()};
        std::vector<std::string> args = {TCBPF_BINARY, "daemon", "--ctl", d.ctl, "--bpffs", d.bpffs};
        if (!setup.empty()) args.insert(args.end(), {"-batch", setup});
        args.insert(args.end(), extra.begin(), extra.end());
        d.pid = ::fork();
        if (d.pid == 0) {
            if (netns == kPrivateNetns) {
                if (::unshare(CLONE_NEWNET) != 0) ::_exit(126);
            } else if (!netns.empty()) {
                const int ns = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
                if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) ::_exit(126);
            }
            const int log = ::open(d.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            ::dup2(log, STDERR_FILENO);
            ::dup2(log, STDOUT_FILENO);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        daemons_.push_back(d);
        return daemons_.back();
    }

    // Starts a daemon and waits (generously) until it answers a status request.
    Daemon& start(const std::string& name, const std::string& setup = "", const std::string& bpffs = "bpffs",
                  std::vector<std::string> extra = {}, const std::string& netns = "") {
        Daemon& d = spawn(name, setup, bpffs, std::move(extra), netns);
        for (int i = 0; i < 600; ++i) {
            try {
                ctl::Client client(d.ctl);
                client.call(status_request());
                return d;
            } catch (const Error&) {
            }
            if (int status; ::waitpid(d.pid, &status, WNOHANG) == d.pid) {
                d.pid = -1;
                ADD_FAILURE() << "the daemon exited early: " << slurp(d.log);
                return d;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ADD_FAILURE() << "the daemon did not answer within 12 s: " << slurp(d.log);
        return d;
    }

    static ctl::Request status_request() {
        ctl::Request r;
        r.kind = ctl::RequestKind::Status;
        return r;
    }

    // Waits for the daemon to exit; its exit status, or -1 when it was killed by a signal.
    int wait_exit(Daemon& d) {
        int status = 0;
        ::waitpid(d.pid, &status, 0);
        d.pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    Outcome ctl(const Daemon& d, const std::string& args) { return tcbpf("--ctl " + d.ctl + " " + args); }
    Outcome client(const Daemon& d, const std::string& command) { return tcbpf(command + " --ctl " + d.ctl); }

    // Sends raw bytes on a fresh connection and returns the daemon's decoded answer.
    ctl::Response raw_exchange(const Daemon& d, const std::vector<uint8_t>& bytes) {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, d.ctl.c_str(), sizeof(addr.sun_path) - 1);
        EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0) << std::strerror(errno);
        EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
        const auto answer = ctl::read_frame(fd, ctl::kMaxResponseBytes);
        ::close(fd);
        if (!answer) {
            ADD_FAILURE() << "no answer";
            return {};
        }
        return ctl::decode_response(*answer);
    }

    std::list<Daemon> daemons_;  // a list: references to its daemons stay valid as more start
};

}  // namespace tcbpf::test
