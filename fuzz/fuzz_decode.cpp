// Bytes -> decode. Whatever decode accepts must survive disassemble -> assemble -> encode bit for bit;
// anything else is a bug in one of the four, so the fuzzer aborts with the text that broke.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tcbpf/asm.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tcbpf::isa;
    Program prog;
    try {
        prog = decode_bytes({data, size});
    } catch (const tcbpf::Error&) {
        return 0;  // invalid programs are decode's business; its error path is exercised too
    }
    const std::string text = disassemble(prog);
    try {
        const std::vector<uint8_t> again = encode_bytes(assemble(text, "fuzz_decode"));
        if (again.size() != size || std::memcmp(again.data(), data, size) != 0) {
            std::fprintf(stderr, "round trip changed the bits of:\n%s", text.c_str());
            std::abort();
        }
    } catch (const tcbpf::Error& e) {
        std::fprintf(stderr, "disassembly does not assemble: %s\n%s", e.what(), text.c_str());
        std::abort();
    }
    return 0;
}
