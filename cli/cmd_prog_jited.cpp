// `prog dump ... jited`. The object is loaded as it would run verified (JIT, no fallback: a listing of
// interpreter code would answer a different question), so the code shown is exactly what test_run calls.
// Offsets are from the start of the program's code, so listings are comparable between runs; addresses
// of helpers (absolute immediates) still differ with ASLR.
//
// Layout: `; entry` and the prologue, then each eBPF instruction as `prog dump` prints it followed by
// its native instructions, then `; cold paths` (fault stubs). Instructions that compile to nothing (a
// jump to the next instruction, LE64) show no native lines.
#include "cli/prog_jited.h"

#include <capstone/capstone.h>

#include <memory>
#include <utility>

#include <fmt/format.h>

#include "tcbpf/asm.h"
#include "tcbpf/error.h"
#include "tcbpf/loader.h"
#include "tcbpf/runtime.h"

namespace tcbpf::cli {
namespace {

struct Disassembly {
    csh handle = 0;
    cs_insn* insns = nullptr;
    size_t count = 0;

    Disassembly(const uint8_t* code, size_t size) {
        if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK) throw Error("capstone: cannot open an x86-64 disassembler");
        count = cs_disasm(handle, code, size, 0, 0, &insns);
    }
    ~Disassembly() {
        if (insns != nullptr) cs_free(insns, count);
        cs_close(&handle);
    }
    Disassembly(const Disassembly&) = delete;
    Disassembly& operator=(const Disassembly&) = delete;
};

}  // namespace

std::string dump_jited(loader::Object object_def, const std::string& section) {
    runtime::LoadOptions options;
    options.checked = false;  // nothing runs; compile as a verified program is compiled
    options.engine = runtime::Engine::Jit;
    options.jit_fallback = false;
    const auto object = runtime::LoadedObject::load(std::move(object_def), options);
    const runtime::PreparedProgram& p = object->select(section);
    const jit::Program& native = *p.native;  // select() threw if the JIT refused it

    const auto* code = static_cast<const uint8_t*>(native.code_address());
    const Disassembly listing(code, native.code_size());
    const std::span<const uint32_t> starts = native.insn_offsets();
    const isa::Program& prog = p.rewritten;
    const size_t width = fmt::formatted_size("{}", prog.size() == 0 ? 0 : prog.size() - 1);

    std::string out = fmt::format("{} (section {}): {} bytes of x86-64 code for {} instructions\n; entry\n",
                                  p.def->name, p.def->section, native.code_size(), prog.size());
    size_t pc = 0;
    // Prints the eBPF instructions whose code starts at or before `offset` (the ones that compiled to
    // nothing come out together with the next one that did).
    auto catch_up = [&](uint64_t offset) {
        for (; pc < prog.size() && starts[pc] <= offset; ++pc)
            if (prog.insns[pc].op != isa::Op::LDDW_TAIL)
                out += fmt::format("{:>{}}: {}\n", pc, width, isa::disassemble(prog.insns[pc], pc));
        if (pc == prog.size() && starts[pc] <= offset) {
            out += "; cold paths\n";
            ++pc;
        }
    };
    size_t decoded = 0;
    for (size_t i = 0; i < listing.count; ++i) {
        const cs_insn& x = listing.insns[i];
        catch_up(x.address);
        out += fmt::format("    {:>4x}:  {}{}{}\n", x.address, x.mnemonic, x.op_str[0] != '\0' ? " " : "", x.op_str);
        decoded = x.address + x.size;
    }
    if (decoded != native.code_size())
        out += fmt::format("; capstone stopped at offset {:#x} of {:#x}\n", decoded, native.code_size());
    return out;
}

}  // namespace tcbpf::cli
