// Running test programs: every program runs in both modes, and the modes must agree.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tcbpf/vm.h"
#include "tests/vm/insn_builder.h"

namespace tcbpf::testing {

inline vm::Region region_of(const void* p, size_t size, bool writable, const char* name) {
    return vm::Region{reinterpret_cast<uint64_t>(p), size, writable, name};
}

// Runs `insns` unchecked and checked (with `regions` registered) and returns r0; a fault in either
// mode, or the two modes disagreeing, fails the test. Memory the program changes is changed twice, so
// programs under test here are written to be idempotent or to check state between the runs themselves.
inline uint64_t eval(const std::vector<Insn>& insns, uint64_t r1 = 0, uint64_t r2 = 0,
                     std::vector<vm::Region> regions = {}, const vm::HelperRegistry& helpers = {}) {
    const isa::Program prog = program(insns);
    auto fast = vm::Program::prepare(prog, helpers);
    auto checked = vm::Program::prepare(prog, helpers, {.checked = true});
    vm::Context cx;
    const uint64_t unchecked_result = fast->run(cx, r1, r2);
    EXPECT_EQ(cx.fault, vm::Fault::None) << cx.fault_detail;
    cx.regions = std::move(regions);
    const uint64_t checked_result = checked->run(cx, r1, r2);
    EXPECT_EQ(cx.fault, vm::Fault::None) << cx.fault_detail;
    EXPECT_EQ(unchecked_result, checked_result) << "unchecked and checked mode disagree";
    return unchecked_result;
}

// One checked run expected to fault.
struct FaultReport {
    uint64_t result;
    vm::Fault fault;
    uint32_t pc;
    std::string detail;
};
inline FaultReport run_faulting(const std::vector<Insn>& insns, vm::Context& cx, uint64_t r1 = 0,
                                const vm::HelperRegistry& helpers = {}, bool checked = true) {
    auto prog = vm::Program::prepare(program(insns), helpers, {.checked = checked});
    const uint64_t result = prog->run(cx, r1);
    return {result, cx.fault, cx.fault_pc, cx.fault_detail};
}

inline std::string prepare_error(const isa::Program& prog, const vm::HelperRegistry& helpers = {}) {
    try {
        vm::Program::prepare(prog, helpers);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace tcbpf::testing
