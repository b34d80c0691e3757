// `tcbpf asm`, `tcbpf disasm`, `tcbpf exec`: the instruction set at the command line.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "tcbpf/asm.h"
#include "tcbpf/error.h"
#include "tcbpf/isa.h"
#include "tcbpf/vm.h"

namespace tcbpf::cli {
namespace {

bool looks_like_assembly(const std::string& path) {
    for (const char* ext : {".s", ".S", ".asm", ".data"}) {
        const std::string e(ext);
        if (path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0) return true;
    }
    return false;
}

isa::Program load_program(const std::string& path, const std::string& syntax) {
    if (syntax == "bin" || (syntax == "auto" && !looks_like_assembly(path))) {
        const auto bytes = read_file_bytes(path);
        try {
            return isa::decode_bytes(bytes);
        } catch (const Error& e) {
            throw Error(fmt::format("{}: {}", path, e.what()));
        }
    }
    const std::string text = read_file_text(path);
    return syntax == "conformance" ? isa::assemble_conformance(text, path) : isa::assemble(text, path);
}

}  // namespace

void add_isa_commands(CLI::App& app) {
    struct Options {
        std::string in_path, out_path, syntax = "auto", mem_hex, mem_file;
    };
    // Owned by the callbacks: CLI11 keeps them alive as long as the app.
    auto o = std::make_shared<Options>();

    auto* as = app.add_subcommand("asm", "Assemble eBPF assembly into raw little-endian 8-byte slots");
    as->add_option("IN", o->in_path, "assembly source (llvm-objdump / verifier-log syntax)")->required();
    as->add_option("-o,--output", o->out_path, "output file of raw instructions")->required();
    as->add_option("--syntax", o->syntax, "llvm (default) or conformance (the bpf_conformance suite's)")
        ->check(CLI::IsMember({"auto", "llvm", "conformance"}));
    as->callback([o] {
        const std::string text = read_file_text(o->in_path);
        const isa::Program prog =
            o->syntax == "conformance" ? isa::assemble_conformance(text, o->in_path) : isa::assemble(text, o->in_path);
        write_file_bytes(o->out_path, isa::encode_bytes(prog));
    });

    auto* dis = app.add_subcommand("disasm", "Disassemble raw little-endian 8-byte instruction slots");
    dis->add_option("IN", o->in_path, "raw program")->required();
    dis->callback([o] {
        const isa::Program prog = load_program(o->in_path, "bin");
        std::fputs(isa::disassemble(prog).c_str(), stdout);
    });

    auto* exec = app.add_subcommand(
        "exec", "Run a raw program (r1 = memory, r2 = its length) in the checked interpreter; print r0");
    exec->add_option("PROG", o->in_path, "program: assembly (.s/.asm) or raw slots")->required();
    exec->add_option("--syntax", o->syntax, "auto (by extension), llvm, conformance or bin")
        ->check(CLI::IsMember({"auto", "llvm", "conformance", "bin"}));
    exec->add_option("--mem", o->mem_hex, "input memory as hex bytes");
    exec->add_option("--mem-file", o->mem_file, "input memory from a file");
    exec->callback([o] {
        const isa::Program prog = load_program(o->in_path, o->syntax);
        std::vector<uint8_t> mem = o->mem_file.empty() ? parse_hex_bytes(o->mem_hex, "--mem") : read_file_bytes(o->mem_file);
        vm::HelperRegistry helpers;
        // No verifier has proven this program safe, so it runs in checked mode: every access is
        // validated and a violation stops it with the pc instead of touching foreign memory.
        const auto program = vm::Program::prepare(prog, helpers, vm::PrepareOptions{.checked = true});
        vm::Context cx;
        const uint64_t base = mem.empty() ? 0 : reinterpret_cast<uint64_t>(mem.data());
        if (!mem.empty()) cx.regions.push_back(vm::Region{base, mem.size(), true, "memory"});
        const uint64_t r0 = program->run(cx, base, mem.size());
        if (cx.fault != vm::Fault::None)
            throw Error(fmt::format("{}: fault at pc {}: {}", o->in_path, cx.fault_pc, cx.fault_detail));
        std::printf("0x%llx\n", static_cast<unsigned long long>(r0));
    });
}

}  // namespace tcbpf::cli
