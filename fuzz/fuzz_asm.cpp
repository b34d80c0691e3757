// Text -> both assemblers. Any input must give a program or a tcbpf::Error (no crash, hang or other
// exception); an accepted program must be what decode() makes of its encoding and must survive
// disassemble -> assemble unchanged.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tcbpf/asm.h"

namespace {

void check_round_trip(const tcbpf::isa::Program& prog, const char* which) {
    using namespace tcbpf::isa;
    const std::string text = disassemble(prog);
    try {
        if (!(decode(encode(prog)).insns == prog.insns)) {
            std::fprintf(stderr, "%s built a program decode() reads differently:\n%s", which, text.c_str());
            std::abort();
        }
        if (!(assemble(text, "fuzz_asm").insns == prog.insns)) {
            std::fprintf(stderr, "%s program changed through disassemble -> assemble:\n%s", which, text.c_str());
            std::abort();
        }
    } catch (const tcbpf::Error& e) {
        std::fprintf(stderr, "%s program does not round trip: %s\n%s", which, e.what(), text.c_str());
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tcbpf::isa;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        check_round_trip(assemble(text, "fuzz_asm"), "assemble");
    } catch (const tcbpf::Error&) {
    }
    try {
        check_round_trip(assemble_conformance(text, "fuzz_asm"), "assemble_conformance");
    } catch (const tcbpf::Error&) {
    }
    return 0;
}
