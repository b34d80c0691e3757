// Differential execution, interpreter vs JIT, shared by tests/jit/differential_test.cpp and
// fuzz/fuzz_jit_diff.cpp.
//
// The JIT has no bounds checks, so it may only run what the checked interpreter proved safe on the very
// same input: the program must load, run to its exit within an instruction budget and without a fault.
// Outputs (r0 and the memory at r1) must then be equal. The stack lives at a different address in each
// engine, and a program may legally compute with r10 (store it, return it, hash it); such a program's
// outputs depend on where the stack is, so the interpreter runs it again with the stack moved by each
// power of two from 16 bytes to 1 MiB, and only a program whose outputs do not move with the stack is
// compared. Every run uses the same memory buffer (re-filled in between), so r1-derived values agree.
#pragma once

#include <alloca.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tcbpf/error.h"
#include "tcbpf/jit.h"
#include "tcbpf/vm.h"

namespace tcbpf::testing {

inline constexpr uint64_t kDifferentialBudget = 200'000;

struct DifferentialRun {
    bool compared = false;        // false: the interpreter did not prove the program safe and stable
    std::optional<std::string> mismatch;  // set when the JIT disagrees (or refused to compile)
};

namespace differential_detail {

struct Observed {
    uint64_t r0 = 0;
    vm::Fault fault = vm::Fault::None;
    std::vector<uint8_t> memory;
};

[[gnu::noinline]] inline Observed interpret(const vm::Program& prepared, std::vector<uint8_t>& buffer,
                                            std::span<const uint8_t> initial, size_t stack_shift) {
    void* shift = alloca(stack_shift + 16);  // sizes are multiples of 16: the stack moves by exactly stack_shift
    asm volatile("" : : "r"(shift) : "memory");  // keep the shift; the interpreter's frame sits below it
    if (!initial.empty()) std::memcpy(buffer.data(), initial.data(), initial.size());
    vm::Context cx;
    cx.insn_budget = kDifferentialBudget;
    const uint64_t r1 = buffer.empty() ? 0 : reinterpret_cast<uintptr_t>(buffer.data());
    if (!buffer.empty()) cx.regions.push_back({.begin = r1, .size = buffer.size(), .writable = true, .name = "memory"});
    Observed observed;
    observed.r0 = prepared.run(cx, r1, buffer.size());
    observed.fault = cx.fault;
    observed.memory = buffer;
    return observed;
}

}  // namespace differential_detail

inline DifferentialRun run_differential(const isa::Program& prog, std::span<const uint8_t> initial,
                                        jit::Options options = {}) {
    using differential_detail::Observed;
    DifferentialRun run;
    std::unique_ptr<vm::Program> prepared;
    try {
        prepared = vm::Program::prepare(prog, {}, {.checked = true});
    } catch (const Error&) {
        return run;  // not a program: nothing to compare
    }
    std::vector<uint8_t> buffer(initial.begin(), initial.end());
    const Observed a = differential_detail::interpret(*prepared, buffer, initial, 0);
    if (a.fault != vm::Fault::None) return run;
    // Move the stack by 16 << k for every bit position a 16-byte aligned stack top can differ in.
    for (size_t shift = 16; shift <= (size_t{1} << 20); shift <<= 1) {
        const Observed b = differential_detail::interpret(*prepared, buffer, initial, shift);
        if (b.r0 != a.r0 || b.memory != a.memory) return run;  // outputs depend on the stack's address
    }
    run.compared = true;

    options.zero_stack_frames = true;  // the checked interpreter zeroes frames; reads of unwritten stack agree
    std::unique_ptr<jit::Program> compiled;
    try {
        compiled = jit::Program::compile(prog, {}, options);
    } catch (const Error& e) {
        run.mismatch = fmt::format("the JIT refused a program the interpreter runs: {}", e.what());
        return run;
    }
    if (!initial.empty()) std::memcpy(buffer.data(), initial.data(), initial.size());
    vm::Context cx;
    const uint64_t r1 = buffer.empty() ? 0 : reinterpret_cast<uintptr_t>(buffer.data());
    const uint64_t r0 = compiled->run(cx, r1, buffer.size());
    if (cx.fault != vm::Fault::None) {
        run.mismatch = fmt::format("JIT faulted ({}) where the interpreter did not", cx.fault_detail);
    } else if (r0 != a.r0) {
        run.mismatch = fmt::format("r0: JIT {:#x}, interpreter {:#x}", r0, a.r0);
    } else if (buffer != a.memory) {
        size_t i = 0;
        while (buffer[i] == a.memory[i]) ++i;
        run.mismatch = fmt::format("memory byte {}: JIT {:#x}, interpreter {:#x}", i, buffer[i], a.memory[i]);
    }
    return run;
}

}  // namespace tcbpf::testing
