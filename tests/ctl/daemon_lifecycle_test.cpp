// The daemon's lifecycle and safety: SIGTERM drains and exits cleanly, a daemon killed with -9 leaves
// its pinned maps intact and a restarted one re-applies its setup, a second daemon on the same socket
// or bpffs directory is refused, the socket is owner-only (or shared with a chosen group), a peer
// without permission is refused, and a failing setup stops the daemon before it serves anything.
#include <fmt/format.h>

#include <sys/stat.h>

#include "tcbpf/pcap.h"
#include "tests/ctl/daemon_fixture.h"

namespace tcbpf::test {
namespace {

using DaemonLifecycle = DaemonFixture;

TEST_F(DaemonLifecycle, SigtermDrainsAndExitsCleanly) {
    std::vector<io::Frame> frames;
    for (uint64_t i = 0; i < 50; ++i) {
        std::vector<uint8_t> f = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
        f.resize(60);
        frames.push_back(io::Frame{i * 1000, 60, f});
    }
    io::write_pcap((dir / "in.pcap").string(), frames);
    Daemon& d = start("d", write("setup.tc", fmt::format("port add a type pcap in {0}/in.pcap\nport add b type pcap out {0}/out.pcap\n"
                                                         "port peer a b\n", dir.string())));
    for (int i = 0; i < 500 && client(d, "stats --prometheus").out.find("tcbpf_port_input_pending{port=\"a\"} 0\n") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ::kill(d.pid, SIGTERM);
    EXPECT_EQ(wait_exit(d), 0);
    const std::string log = slurp(d.log);
    EXPECT_NE(log.find("info daemon.stopping signal=TERM"), std::string::npos) << log;
    EXPECT_NE(log.find("info daemon.stopped"), std::string::npos) << log;
    EXPECT_FALSE(std::filesystem::exists(d.ctl)) << "the socket outlived the daemon";
    EXPECT_EQ(io::read_pcap((dir / "out.pcap").string()).size(), 50u);  // a complete capture: every packet left
}

TEST_F(DaemonLifecycle, AfterKill9TheMapsSurviveAndARestartReappliesTheSetup) {
    const std::string policy = std::string(TCBPF_EXAMPLES_DIR) + "/policy.o";
    if (!std::filesystem::exists(policy)) GTEST_SKIP() << "examples/progs not built (no BPF clang): " << policy;
    const std::string setup = write("setup.tc", fmt::format("port add eth0 type pcap\nqdisc add dev eth0 clsact\n"
                                                            "filter add dev eth0 ingress bpf da obj {} sec tc\n", policy));
    Daemon& first = start("d", setup);
    const std::string map = first.bpffs + "/tc/globals/policy_map";
    std::string key, value = "2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0";
    for (int i = 0; i < 40; ++i) key += (i ? " " : "") + std::to_string(i);
    ASSERT_EQ(tcbpf(fmt::format("map update pinned {} key {} value {}", map, key, value)).status, 0);
    const std::string filters = ctl(first, "filter show dev eth0 ingress").out;
    ::kill(first.pid, SIGKILL);
    EXPECT_EQ(wait_exit(first), -1);

    Daemon& second = start("d", setup);
    EXPECT_EQ(ctl(second, "filter show dev eth0 ingress").out, filters);
    const Outcome lookup = tcbpf(fmt::format("map lookup pinned {} key {}", map, key));
    EXPECT_EQ(lookup.status, 0) << lookup.err;
    EXPECT_NE(lookup.out.find("value:\n02 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00"), std::string::npos) << lookup.out;
}

TEST_F(DaemonLifecycle, ASecondDaemonOnTheSameSocketOrBpffsIsRefused) {
    Daemon& first = start("d");
    Daemon& same_socket = spawn("d", "", "other-bpffs");
    EXPECT_EQ(wait_exit(same_socket), 1);
    EXPECT_NE(slurp(same_socket.log).find(fmt::format("error daemon.refused error=\"another tcbpf daemon (pid {}) already uses the control socket {}\"",
                                                      first.pid, first.ctl)),
              std::string::npos)
        << slurp(same_socket.log);
    Daemon& same_bpffs = spawn("e");
    EXPECT_EQ(wait_exit(same_bpffs), 1);
    EXPECT_NE(slurp(same_bpffs.log).find(fmt::format("another tcbpf daemon (pid {}) already uses the bpffs directory {}", first.pid,
                                                     first.bpffs)),
              std::string::npos)
        << slurp(same_bpffs.log);
    EXPECT_EQ(client(first, "status").status, 0);  // the first one is untouched
}

TEST_F(DaemonLifecycle, TheSocketIsOwnerOnlyOrSharedWithAGroup) {
    struct stat st {};
    const Daemon& d = start("d");
    ASSERT_EQ(::stat(d.ctl.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    const Daemon& g = start("g", "", "bpffs-g", {"--ctl-group", "65534"});
    ASSERT_EQ(::stat(g.ctl.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0660u);
    EXPECT_EQ(st.st_gid, 65534u);
}

TEST_F(DaemonLifecycle, APeerWithoutPermissionIsRefused) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to connect as another user";
    const Daemon& d = start("d");
    ASSERT_EQ(::chmod(d.ctl.c_str(), 0666), 0);  // past the file permission, the credential check must hold
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t child = ::fork();
    if (child == 0) {
        std::string answer;
        if (::setgid(65534) == 0 && ::setuid(65534) == 0) {
            try {
                ctl::Client c(d.ctl);
                answer = c.call(status_request()).err;
            } catch (const Error& e) {
                answer = e.what();
            }
        }
        const ssize_t ignored = ::write(pipe_fds[1], answer.data(), answer.size());
        (void)ignored;
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    char buffer[512] = {};
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof(buffer) - 1);
    ::waitpid(child, nullptr, 0);
    ::close(pipe_fds[0]);
    EXPECT_NE(std::string(buffer, n > 0 ? static_cast<size_t>(n) : 0).find("tcbpf daemon: permission denied (uid=65534 gid=65534"),
              std::string::npos)
        << buffer;
    EXPECT_NE(slurp(d.log).find("warn ctl.denied uid=65534"), std::string::npos);
}

TEST_F(DaemonLifecycle, AFailingSetupStopsTheDaemonBeforeItServes) {
    const std::string setup = write("bad.tc", "port add eth0 type pcap\nqdisc add dev eth1 clsact\n");
    Daemon& d = spawn("d", setup);
    EXPECT_EQ(wait_exit(d), 1);
    EXPECT_NE(slurp(d.log).find("Cannot find device \"eth1\"\nCommand failed " + setup + ":2\n"), std::string::npos) << slurp(d.log);
    EXPECT_FALSE(std::filesystem::exists(d.ctl));
}

}  // namespace
}  // namespace tcbpf::test
