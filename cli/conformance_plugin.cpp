// tcbpf-conformance: the plugin the eBPF conformance suite's runner (bpf_conformance_runner) starts once
// per test file. Protocol (shared/conformance/README.md, "Plugin protocol"):
//
//   tcbpf-conformance [MEM] [OPTIONS...] [--elf]      program bytes as "aa  bb  ...\n" on stdin
//
// MEM is the first argument when it does not start with "--": the input memory in the same hex
// encoding. The program runs as the `raw` program type: r1 = a private copy of MEM (0 without one),
// r2 = its length, helper 5 returns its first argument (as in uBPF, which the suite was written for).
// Success prints r0 in hex and a newline; any rejection or fault prints one line on stderr and exits 1,
// which the runner reports as ERROR with that line.
//
// The verifier is not consulted yet, so the program first runs in checked mode with the memory copy as
// its only region besides the stack: a bad access becomes a fault message instead of undefined behaviour.
// The engine (`--engine jit|interp`; `--jit` and `--interpret` are the runner's spellings of the same)
// decides what runs next and prints r0: `interp` prints that checked run's r0; `jit`, the default, runs
// the JIT-compiled program after the checked run proved it safe on this input, on a fresh copy of MEM.
// The JIT refusing the program is an error, never a silent fallback to the interpreter.
#include <cstdio>
#include <exception>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "tcbpf/error.h"
#include "tcbpf/isa.h"
#include "tcbpf/jit.h"
#include "tcbpf/verifier.h"
#include "tcbpf/vm.h"

namespace {

constexpr std::string_view kUsage =
    "usage: tcbpf-conformance [MEM] [--engine jit|interp] [--jit] [--interpret] [--elf] < PROGRAM";

// A runaway loop must end the test, not hang the runner; the suite's longest program needs a few
// thousand instructions.
constexpr uint64_t kInstructionBudget = 100'000'000;

// Hex bytes separated by whitespace, the runner's encoding for both MEM and the program.
std::vector<uint8_t> parse_hex_bytes(std::string_view text, std::string_view what) {
    std::vector<uint8_t> bytes;
    size_t i = 0;
    while (i < text.size()) {
        if (std::string_view(" \t\r\n").find(text[i]) != std::string_view::npos) {
            ++i;
            continue;
        }
        const size_t start = i;
        while (i < text.size() && std::string_view(" \t\r\n").find(text[i]) == std::string_view::npos) ++i;
        const std::string_view piece = text.substr(start, i - start);
        unsigned value = 0;
        bool ok = piece.size() <= 2;
        for (char c : piece) {
            const int digit = c >= '0' && c <= '9'   ? c - '0'
                              : c >= 'a' && c <= 'f' ? c - 'a' + 10
                              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                     : -1;
            ok = ok && digit >= 0;
            value = value * 16 + static_cast<unsigned>(digit < 0 ? 0 : digit);
        }
        if (!ok)
            throw tcbpf::Error(fmt::format("{}: '{}' at byte {} is not a hex byte", what,
                                           piece.size() > 16 ? std::string(piece.substr(0, 16)) + "..." : std::string(piece),
                                           bytes.size()));
        bytes.push_back(static_cast<uint8_t>(value));
    }
    return bytes;
}

uint64_t return_first_argument(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, tcbpf::vm::Context*) {
    return r1;
}

struct Invocation {
    std::optional<std::vector<uint8_t>> mem;
    bool jit = true;  // the default engine
};

Invocation parse_arguments(int argc, char** argv) {
    Invocation invocation;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg.empty()) continue;  // "a  b" in --plugin_options gives empty args
        if (i == 1 && !arg.starts_with("--")) {
            invocation.mem = parse_hex_bytes(arg, "memory argument");
            continue;
        }
        if (arg == "--jit" || arg == "--interpret") {
            invocation.jit = arg == "--jit";
            continue;
        }
        if (arg == "--engine" || arg.starts_with("--engine=")) {
            const std::string_view engine = arg == "--engine" ? (i + 1 < argc ? std::string_view(argv[++i]) : "")
                                                              : arg.substr(std::string_view("--engine=").size());
            if (engine != "jit" && engine != "interp")
                throw tcbpf::Error(fmt::format("--engine: '{}' is not jit or interp", engine));
            invocation.jit = engine == "jit";
            continue;
        }
        if (arg == "--elf")
            throw tcbpf::Error("--elf: ELF programs are not supported yet; run the runner without --elf true");
        throw tcbpf::Error(fmt::format("unexpected argument '{}' ({})", arg, kUsage));
    }
    return invocation;
}

int run(int argc, char** argv) {
    const Invocation invocation = parse_arguments(argc, argv);
    const std::string input{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    const std::vector<uint8_t> code = parse_hex_bytes(input, "program on standard input");
    const tcbpf::isa::Program program = tcbpf::isa::decode_bytes(code);

    std::vector<uint8_t> mem = invocation.mem.value_or(std::vector<uint8_t>{});
    // Verified as the `raw` type first (r1 = the memory, r2 its length), like every load path.
    tcbpf::verifier::Options verify_options;
    verify_options.raw_memory_size = static_cast<uint32_t>(mem.size());
    const tcbpf::verifier::Result verdict = tcbpf::verifier::verify(program, verify_options);
    if (!verdict.ok) {
        // The protocol's error is one line; the kernel-style message may have several.
        std::string message = verdict.message;
        for (size_t nl; (nl = message.find('\n')) != std::string::npos;) message.replace(nl, 1, "; ");
        throw tcbpf::Error(fmt::format("verifier: insn {}: {}", verdict.insn_idx, message));
    }

    tcbpf::vm::HelperRegistry helpers;
    helpers.add(5, "return_first_argument", return_first_argument);
    const auto prepared = tcbpf::vm::Program::prepare(program, helpers, {.checked = true});

    tcbpf::vm::Context cx;
    cx.insn_budget = kInstructionBudget;
    uint64_t r1 = 0;
    if (!mem.empty()) {
        r1 = reinterpret_cast<uintptr_t>(mem.data());
        cx.regions.push_back({.begin = r1, .size = mem.size(), .writable = true, .name = "memory"});
    }
    const uint64_t r0 = prepared->run(cx, r1, mem.size());
    if (cx.fault != tcbpf::vm::Fault::None)
        // The interpreter's detail already reads "pc N: what happened".
        throw tcbpf::Error(!cx.fault_detail.empty()
                               ? cx.fault_detail
                               : fmt::format("pc {}: {}", cx.fault_pc, tcbpf::vm::fault_name(cx.fault)));
    if (!invocation.jit) {
        fmt::print("{:x}\n", r0);
        return 0;
    }
    std::unique_ptr<tcbpf::jit::Program> compiled;
    try {
        compiled = tcbpf::jit::Program::compile(program, helpers);
    } catch (const tcbpf::Error& e) {
        throw tcbpf::Error(fmt::format("jit: the JIT cannot compile this program (no fallback): {}", e.what()));
    }
    std::vector<uint8_t> jit_mem = invocation.mem.value_or(std::vector<uint8_t>{});
    tcbpf::vm::Context jit_cx;
    const uint64_t jit_r0 = compiled->run(jit_cx, jit_mem.empty() ? 0 : reinterpret_cast<uintptr_t>(jit_mem.data()),
                                          jit_mem.size());
    if (jit_cx.fault != tcbpf::vm::Fault::None) throw tcbpf::Error(jit_cx.fault_detail);
    fmt::print("{:x}\n", jit_r0);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        // One line: the runner shows it verbatim as the test's ERROR message.
        std::string message = e.what();
        for (char& c : message)
            if (c == '\n' || c == '\r') c = ' ';
        fmt::print(stderr, "tcbpf-conformance: {}\n", message);
        return 1;
    }
}
