// Bytes -> (memory, program) -> interpreter vs JIT. Input layout: byte 0 gives the memory length
// (mod 65), the next that many bytes are the memory r1 points at (r2 = its length), the rest is the
// program. Only programs the decoder accepts and the checked interpreter runs to completion — within
// its instruction budget, without a fault, with outputs that do not depend on the stack's address —
// reach the JIT (tests/jit/differential.h), so the JIT never runs anything unproven. Any difference in
// r0 or the memory, or the JIT refusing such a program, aborts with the reason.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "tests/jit/differential.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const size_t memory_size = std::min<size_t>(data[0] % 65, size - 1);
    const std::span<const uint8_t> memory(data + 1, memory_size);
    tcbpf::isa::Program prog;
    try {
        prog = tcbpf::isa::decode_bytes({data + 1 + memory_size, size - 1 - memory_size});
    } catch (const tcbpf::Error&) {
        return 0;
    }
    for (const bool blind : {false, true}) {
        const tcbpf::testing::DifferentialRun run = tcbpf::testing::run_differential(prog, memory, {.blind_constants = blind});
        if (run.mismatch) {
            std::fprintf(stderr, "JIT%s differs from the interpreter: %s\n", blind ? " (blinded)" : "", run.mismatch->c_str());
            std::abort();
        }
        if (!run.compared) break;
    }
    return 0;
}
