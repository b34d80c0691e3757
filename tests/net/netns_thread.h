// Running kernel work inside a network namespace of the test's own: a thread unshares its network
// namespace (namespaces are per thread, so the rest of the process keeps the host's), configures it
// with `ip`/`sysctl` commands, then runs whatever must see that namespace (BPF_PROG_TEST_RUN uses the
// caller's). The namespace disappears when the thread ends.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace tcbpf::net::test {

// Why kernel namespaces cannot be used here ("not root", "unshare(CLONE_NEWNET): ...", "no `ip`
// command"), or "" when they can.
std::string netns_unavailable_reason();

// In a fresh namespace: applies `script` (lines of the model's text format: `sysctl KEY=VALUE` lines
// run sysctl, every other line runs `ip` with the line's words; `#` comments and blank lines are
// skipped), waits until the kernel has installed every IPv6 address's local route (addrconf does that
// asynchronously), then calls `work`. Returns "" or what failed (the command and its output).
std::string run_in_netns(std::string_view script, const std::function<void()>& work);

}  // namespace tcbpf::net::test
