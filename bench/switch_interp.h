// The baseline the threaded interpreter is measured against: the obvious interpreter, a loop with a
// `switch` over isa::Op walking isa::Program directly (operands extended, targets computed, on every
// execution). Same semantics as vm/ for the compute subset the benchmarks use — ALU, byte order,
// jumps, local calls, loads, stores, atomics, LDDW, exit; the constructor rejects anything else
// (helper calls, callx, packet loads) with tcbpf::Error. It trusts the program: no memory checks.
#pragma once

#include <cstdint>

#include "tcbpf/isa.h"

namespace tcbpf::bench {

class SwitchInterpreter {
   public:
    explicit SwitchInterpreter(const isa::Program& prog);
    // Runs with r1, r2 set; returns r0.
    uint64_t run(uint64_t r1, uint64_t r2 = 0) const;
    // The same run, also counting executed instructions (LDDW counts once) into `executed`.
    uint64_t run_counted(uint64_t r1, uint64_t r2, uint64_t& executed) const;

   private:
    template <bool Count>
    uint64_t execute(uint64_t r1, uint64_t r2, uint64_t* executed) const;
    const isa::Program& prog_;
};

}  // namespace tcbpf::bench
