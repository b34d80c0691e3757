// See subprocess.h. stdin, stdout and stderr are serviced together with poll(): a child that writes a lot
// before reading all of its input must not deadlock against a parent that writes everything first.
#include "tests/conformance/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "tcbpf/error.h"

namespace tcbpf::conformance {
namespace {

void make_pipe(int fds[2]) {
    if (pipe2(fds, O_CLOEXEC) != 0) throw Error(fmt::format("pipe: {}", std::strerror(errno)));
}

}  // namespace

ProcessResult run_process(const std::string& executable, const std::vector<std::string>& args,
                          const std::string& stdin_text) {
    int in[2], out[2], err[2];
    make_pipe(in);
    make_pipe(out);
    make_pipe(err);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(executable.c_str()));
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);

    const pid_t pid = fork();
    if (pid < 0) throw Error(fmt::format("fork: {}", std::strerror(errno)));
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        execv(executable.c_str(), argv.data());
        const std::string message = fmt::format("exec {}: {}\n", executable, std::strerror(errno));
        [[maybe_unused]] ssize_t n = write(STDERR_FILENO, message.data(), message.size());
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);

    // A child that exits without reading its input must not kill us with SIGPIPE.
    struct sigaction ignore {}, previous {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, &previous);

    ProcessResult result;
    size_t written = 0;
    int stdin_fd = in[1];
    if (stdin_text.empty()) {
        close(stdin_fd);
        stdin_fd = -1;
    }
    bool out_open = true, err_open = true;
    while (out_open || err_open || stdin_fd >= 0) {
        pollfd fds[3] = {{stdin_fd, POLLOUT, 0}, {out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
        if (poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (stdin_fd >= 0 && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
            const ssize_t n = write(stdin_fd, stdin_text.data() + written, stdin_text.size() - written);
            if (n > 0) written += static_cast<size_t>(n);
            if (n < 0 || written == stdin_text.size()) {
                close(stdin_fd);
                stdin_fd = -1;
            }
        }
        auto drain = [](int fd, short revents, std::string& sink, bool& open) {
            if ((revents & (POLLIN | POLLHUP | POLLERR)) == 0) return;
            char buffer[4096];
            const ssize_t n = read(fd, buffer, sizeof buffer);
            if (n > 0)
                sink.append(buffer, static_cast<size_t>(n));
            else
                open = false;
        };
        if (out_open) drain(out[0], fds[1].revents, result.out, out_open);
        if (err_open) drain(err[0], fds[2].revents, result.err, err_open);
    }
    close(out[0]);
    close(err[0]);
    sigaction(SIGPIPE, &previous, nullptr);

    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    return result;
}

}  // namespace tcbpf::conformance
