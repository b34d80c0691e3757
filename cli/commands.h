// The `tcbpf` command: each family of subcommands registers itself on the CLI11 app from its own file.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tcbpf/tc_spec.h"

namespace tcbpf::cli {

// asm, disasm, exec: the instruction-set tools.
void add_isa_commands(CLI::App& app);

// prog run, prog show, prog dump: BPF objects (runtime/).
void add_prog_commands(CLI::App& app);
// prog verify, registered by add_prog_commands on its `prog` subcommand (cmd_verify.cpp).
void add_prog_verify_command(CLI::App& prog);

// map show|dump|lookup|update|delete|getnext|create|pin, -batch: pinned maps as bpftool handles them.
void add_map_commands(CLI::App& app);

// tc's own command line (qdisc, class, filter, actions, port, run, -batch), recognised before CLI11
// parses: the exit status when argv is a tc command, nullopt when it is not (cmd_tc.cpp).
std::optional<int> run_tc_command_line(int argc, char** argv);

// daemon, save, stats, status: the daemon and its clients; nullopt when argv is none of them (cmd_daemon.cpp).
std::optional<int> run_ctl_command_line(int argc, char** argv);
// The running daemon a tc command goes to: --ctl SOCKET, else $TCBPF_CTL, else /run/tcbpf.ctl when a
// socket is there; nullopt: no daemon, the command is offline.
std::optional<std::string> daemon_socket(const std::string& ctl_option);
// Sends one command, or a batch file's commands in order (stopping at the first failure with tc's
// "Command failed FILE:LINE"), to the daemon; prints its answers; returns the exit status.
int forward_command(const std::string& socket, const std::vector<std::string>& words, const tc::GlobalOptions& globals);
int forward_batch(const std::string& socket, const std::string& path, const tc::GlobalOptions& globals);

// Whole-file helpers shared by commands; they throw tcbpf::Error naming the path.
std::vector<uint8_t> read_file_bytes(const std::string& path);
std::string read_file_text(const std::string& path);
void write_file_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
// "aa bb cc", "aabbcc" or "0xaa 0xbb": hex bytes as users type them; throws naming the bad token.
std::vector<uint8_t> parse_hex_bytes(const std::string& text, const std::string& what);

}  // namespace tcbpf::cli
