// The eBPF interpreter: runs a decoded program with the ISA's exact semantics.
//
// `vm::Program::prepare` turns an isa::Program into a pre-decoded, threaded form once (helpers resolved,
// jump targets turned into addresses); `run` then executes it any number of times, from any number of
// threads at once (a Program is immutable; all per-run state lives in the caller's `Context`).
//
// Two modes. Unchecked mode trusts that the verifier proved every access safe and costs nothing per
// access. Checked mode (tests, fuzzing, and anything not yet verified) validates every load and store
// against the regions the embedder registered plus the live stack frames, and stops the program with a
// fault naming the pc instead of touching memory it may not touch. Running never throws.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tcbpf/isa.h"

namespace tcbpf::jit {
class Program;
}

namespace tcbpf::vm {

struct Context;

// A helper receives the program's r1..r5 and the run's context; its result goes to r0. The argument
// order lets a JIT call it directly with r1..r5 already in the System V argument registers.
using HelperFn = uint64_t (*)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, Context* cx);

struct Helper {
    int32_t id = 0;  // the kernel's BPF_FUNC_* number
    std::string name;
    HelperFn fn = nullptr;
};

class HelperRegistry {
   public:
    void add(int32_t id, std::string name, HelperFn fn);
    const Helper* find(int32_t id) const;
    std::span<const Helper> all() const { return helpers_; }
    // callx's id → function table: every helper with an id below kCallxIdLimit, nullptr elsewhere.
    // Ids above the kernel's numbering (tcbpf's internal helpers) are not reachable through callx,
    // which keeps the table small whatever ids are registered.
    std::vector<HelperFn> callx_table() const;
    static constexpr int32_t kCallxIdLimit = 1 << 12;

   private:
    std::vector<Helper> helpers_;
};

// Kernel helper id the interpreter treats specially: control never returns on success.
inline constexpr int32_t kHelperTailCall = 12;
// Kernel limit on chained tail calls (MAX_TAIL_CALL_CNT).
inline constexpr uint32_t kMaxTailCalls = 33;

// A memory range a checked-mode program may access, besides its own stack.
struct Region {
    uint64_t begin = 0;
    uint64_t size = 0;
    bool writable = false;
    const char* name = "";
};

enum class Fault : uint8_t {
    None,
    OutOfBounds,        // checked mode: access outside every region
    ReadOnly,           // checked mode: store into a read-only region
    CallDepth,          // a local call would make more than isa::kMaxCallDepth frames (main included)
    UnknownHelper,      // callx to an id with no registered helper
    InstructionBudget,  // checked mode: Context::insn_budget exhausted (fuzzing termination guard)
    BadCallTarget,      // callx to a register value that is not a helper id
};
const char* fault_name(Fault fault);

class Program;

// Per-run state, owned by the caller. Cheap to reuse across runs; the interpreter resets what it uses.
struct Context {
    // Embedder data for helpers (the skb, the map set, ...).
    void* user = nullptr;
    // Embedder data for the hooks below (tail_call, extra_region): the runtime's loaded object, kept
    // apart from `user`, which belongs to the helpers.
    const void* host = nullptr;
    // The CPU (worker) index the program runs on, for per-CPU maps and bpf_get_smp_processor_id.
    uint32_t cpu = 0;

    // Checked mode: regions the program may touch besides its stack.
    std::vector<Region> regions;
    // Checked mode: optional extra check for regions created during the run (e.g. map values returned
    // by helpers). Returns true if [addr, addr+size) may be accessed (written if `write`).
    bool (*extra_region)(Context* cx, uint64_t addr, uint64_t size, bool write) = nullptr;
    // Checked mode: instructions the run may execute before it faults; 0 means unlimited.
    uint64_t insn_budget = 0;
    // Checked mode: instructions the last run executed (set on every exit, faults included).
    uint64_t insns_executed = 0;

    // Tail calls (helper 12): map the (prog array, index) pair to the program to continue with, or
    // nullptr to fall through to the next instruction as the kernel does when the slot is empty.
    const Program* (*tail_call)(Context* cx, uint64_t prog_array, uint64_t index) = nullptr;
    uint32_t tail_calls_done = 0;
    // The same mapping for runs of JIT-compiled programs (jit::Program::run), whose prog arrays hold
    // jit::Programs; nullptr from it falls through as above. Shares tail_calls_done and its limit.
    const jit::Program* (*jit_tail_call)(Context* cx, uint64_t prog_array, uint64_t index) = nullptr;

    // Legacy packet loads (LD_ABS/LD_IND). Reads `size` (1, 2, 4) bytes at `offset` of the packet
    // behind the context pointer `ctx` (r6), in network byte order, into `out` (host order). Returns
    // false when the offset is outside the packet: the program then returns 0. Without a hook every
    // legacy packet load fails that way.
    bool (*load_packet)(Context* cx, uint64_t ctx, int64_t offset, int size, uint64_t* out) = nullptr;

    // Filled on a fault.
    Fault fault = Fault::None;
    uint32_t fault_pc = 0;
    std::string fault_detail;
};

struct PrepareOptions {
    bool checked = false;
};

// A program ready to run. Immutable after prepare; safe to run concurrently.
class Program {
   public:
    // Resolves helpers against `helpers` (an unknown helper id is a load-time Error naming it).
    static std::unique_ptr<Program> prepare(const isa::Program& prog, const HelperRegistry& helpers,
                                            PrepareOptions options = {});
    ~Program();
    Program(const Program&) = delete;
    Program& operator=(const Program&) = delete;

    // Runs with r1 and r2 set (r3..r5 zero, r10 the top of a fresh 512-byte frame). Returns r0; on a
    // fault returns 0 with cx.fault set (fail closed).
    uint64_t run(Context& cx, uint64_t r1, uint64_t r2 = 0) const;

    bool checked() const;
    const isa::Program& source() const;

    struct Impl;
    // The prepared form, for the interpreter (tail calls) and a JIT; its layout is private to vm/.
    const Impl& impl() const { return *impl_; }

   private:
    explicit Program(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tcbpf::vm
