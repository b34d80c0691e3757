// Bytes -> load_object_bytes. Rejection with tcbpf::Error is fine; anything else (crash, sanitizer
// report, another exception) is a bug. Accepted objects must also be internally consistent: every map
// reference in an instruction names an existing map, value offsets stay inside the value, and every
// local call or callback lands inside its program — later stages rely on that without re-checking.
#include <bpf/libbpf.h>

#include <cstdio>
#include <cstdlib>

#include "tcbpf/loader.h"

namespace {

int quiet(enum libbpf_print_level, const char*, va_list) { return 0; }

[[noreturn]] void broken(const tcbpf::loader::ProgramDef& p, size_t pc, const char* what) {
    std::fprintf(stderr, "program %s (section %s) pc %zu: %s\n", p.name.c_str(), p.section.c_str(), pc, what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tcbpf;
    static const auto previous = libbpf_set_print(quiet);  // malformed BTF is expected; keep output readable
    (void)previous;
    loader::Object object;
    try {
        object = loader::load_object_bytes({data, size}, "fuzz.o");
    } catch (const Error&) {
        return 0;
    }
    for (const loader::ProgramDef& p : object.programs) {
        for (size_t pc = 0; pc < p.prog.size(); ++pc) {
            const isa::Insn& insn = p.prog.insns[pc];
            if (insn.op == isa::Op::CALL_LOCAL || (insn.op == isa::Op::LDDW && insn.src == 4)) {
                const int64_t target = isa::branch_target(insn, pc);
                if (target < 0 || target >= static_cast<int64_t>(p.prog.size())) broken(p, pc, "call target outside");
            }
            if (insn.op != isa::Op::LDDW || (insn.src != 5 && insn.src != 6)) continue;
            if (insn.imm < 0 || static_cast<size_t>(insn.imm) >= object.maps.size()) broken(p, pc, "map index outside");
            const auto& map = object.maps[insn.imm];
            if (insn.src == 6 && static_cast<uint32_t>(p.prog.insns[pc + 1].imm) >= map.value_size)
                broken(p, pc, "value offset outside the map value");
        }
        for (uint32_t index : p.maps_used)
            if (index >= object.maps.size()) broken(p, 0, "maps_used names a missing map");
    }
    return 0;
}
