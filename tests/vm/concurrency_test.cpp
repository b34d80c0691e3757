// One prepared Program run from several threads at once, each with its own Context: results stay
// per-thread (no shared run state) and atomics on shared memory lose no update.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "tests/vm/vm_test_util.h"

namespace tcbpf::testing {
namespace {

constexpr int kThreads = 4;
constexpr int kRuns = 2000;

// r0 = 1 + 2 + ... + r1, through a local call and the stack.
const std::vector<Insn> kSum{
    stx(Op::STX_DW, 10, 1, -8), call_local(1), exit_insn(),
    // callee: loops over r1, keeps the sum on its own stack
    st(Op::ST_DW, 10, -8, 0), jmp(Op::JEQ64_K, 1, 0, 5), ldx(Op::LDX_DW, 0, 10, -8), alux(Op::ADD64_X, 0, 1),
    stx(Op::STX_DW, 10, 0, -8), alu(Op::SUB64_K, 1, 1), ja(-6), ldx(Op::LDX_DW, 0, 10, -8), exit_insn(),
};

TEST(Concurrency, ThreadsSharingAProgramGetTheirOwnResults) {
    for (const bool checked : {false, true}) {
        auto prog = vm::Program::prepare(program(kSum), {}, {.checked = checked});
        std::vector<int> wrong(kThreads, 0);
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                vm::Context cx;
                for (int i = 0; i < kRuns; ++i) {
                    const uint64_t n = static_cast<uint64_t>(t * 100 + i % 50);
                    if (prog->run(cx, n) != n * (n + 1) / 2 || cx.fault != vm::Fault::None) ++wrong[t];
                }
            });
        }
        for (auto& thread : threads) thread.join();
        for (int t = 0; t < kThreads; ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t << " checked " << checked;
    }
}

TEST(Concurrency, AtomicAddsFromAllThreadsAreAllCounted) {
    for (const bool checked : {false, true}) {
        alignas(8) uint64_t counter = 0;
        // 1000 times: lock *(u64 *)(r1 + 0) += 1
        auto prog = vm::Program::prepare(program({mov(2, 1), mov(3, 1000), atomic(Op::ATOMIC64_ADD, 1, 2, 0),
                                                  alu(Op::SUB64_K, 3, 1), jmp(Op::JNE64_K, 3, 0, -3), mov(0, 0),
                                                  exit_insn()}),
                                         {}, {.checked = checked});
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&] {
                vm::Context cx;
                cx.regions = {region_of(&counter, sizeof counter, true, "counter")};
                for (int i = 0; i < 20; ++i) prog->run(cx, reinterpret_cast<uint64_t>(&counter));
            });
        }
        for (auto& thread : threads) thread.join();
        EXPECT_EQ(counter, uint64_t{kThreads} * 20 * 1000) << "checked " << checked;
    }
}

}  // namespace
}  // namespace tcbpf::testing
