// Running one program under both the interpreter and the JIT, for tests that say "the JIT gives what
// the interpreter gives". The interpreter runs in checked mode (so a wrong test program is a named
// fault, not a crash) and the JIT with zeroed frames (as checked mode zeroes them); each gets its own
// copy of the same initial memory at r1, r2 = its length. JIT compilation must not fail: no fallback.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tcbpf/jit.h"
#include "tcbpf/vm.h"
#include "tests/vm/insn_builder.h"

namespace tcbpf::testing {

struct RunResult {
    uint64_t r0 = 0;
    std::vector<uint8_t> memory;
    vm::Fault fault = vm::Fault::None;
    std::string fault_detail;
    bool operator==(const RunResult&) const = default;
};

inline RunResult run_interpreter(const isa::Program& prog, const vm::HelperRegistry& helpers, std::vector<uint8_t> memory,
                                 vm::Context cx = {}) {
    const auto prepared = vm::Program::prepare(prog, helpers, {.checked = true});
    const uint64_t r1 = memory.empty() ? 0 : reinterpret_cast<uintptr_t>(memory.data());
    if (!memory.empty()) cx.regions.push_back({.begin = r1, .size = memory.size(), .writable = true, .name = "memory"});
    if (cx.insn_budget == 0) cx.insn_budget = 10'000'000;
    RunResult result;
    result.r0 = prepared->run(cx, r1, memory.size());
    result.fault = cx.fault;
    result.fault_detail = cx.fault_detail;
    result.memory = std::move(memory);
    return result;
}

inline RunResult run_jit(const isa::Program& prog, const vm::HelperRegistry& helpers, std::vector<uint8_t> memory,
                         jit::Options options = {}, vm::Context cx = {}) {
    options.zero_stack_frames = true;
    const auto compiled = jit::Program::compile(prog, helpers, options);
    const uint64_t r1 = memory.empty() ? 0 : reinterpret_cast<uintptr_t>(memory.data());
    RunResult result;
    result.r0 = compiled->run(cx, r1, memory.size());
    result.fault = cx.fault;
    result.fault_detail = cx.fault_detail;
    result.memory = std::move(memory);
    return result;
}

// The fault and the first few 8-byte memory slots where `r` differs from `other`.
inline std::string describe(const RunResult& r, const RunResult& other) {
    std::string text = "r0 = " + std::to_string(r.r0) + ", fault " + vm::fault_name(r.fault) + " \"" + r.fault_detail + "\"";
    int shown = 0;
    for (size_t i = 0; i + 8 <= r.memory.size() && i + 8 <= other.memory.size() && shown < 4; i += 8) {
        uint64_t mine, theirs;
        std::memcpy(&mine, r.memory.data() + i, 8);
        std::memcpy(&theirs, other.memory.data() + i, 8);
        if (mine == theirs) continue;
        text += ", [" + std::to_string(i) + "] = " + std::to_string(mine);
        ++shown;
    }
    return text;
}

// The JIT (plain and with constant blinding) matches the interpreter; returns the common result.
inline RunResult expect_same(const std::vector<Insn>& insns, std::vector<uint8_t> memory = {},
                             const vm::HelperRegistry& helpers = {}) {
    const isa::Program prog = program(insns);
    const RunResult expected = run_interpreter(prog, helpers, memory);
    const RunResult plain = run_jit(prog, helpers, memory);
    EXPECT_EQ(plain, expected) << "JIT:         " << describe(plain, expected) << "\ninterpreter: " << describe(expected, plain);
    const RunResult blinded = run_jit(prog, helpers, memory, {.blind_constants = true});
    EXPECT_EQ(blinded, expected) << "JIT (blinded): " << describe(blinded, expected) << "\ninterpreter:   " << describe(expected, blinded);
    return expected;
}

}  // namespace tcbpf::testing
