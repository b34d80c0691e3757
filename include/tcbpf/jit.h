// The x86-64 JIT: compiles a decoded eBPF program to native code once; `run` then calls it.
//
// The API mirrors vm::Program: `compile` ≈ `prepare` (same validation, same load errors, helpers
// resolved against the same registry), `run` ≈ the interpreter's unchecked mode — same results, same
// memory effects, same faults for what unchecked mode still reports (call depth, callx to an unknown
// helper). There are no per-access bounds checks: the JIT runs programs whose safety was proven (by the
// verifier, or by a checked-interpreter run on the same input in the differential tests).
//
// `compile` throws jit::Unsupported when the JIT cannot compile a program the interpreter can run (a
// non-x86-64 host, code above Options::code_limit, an instruction the encoder refuses): callers fall back
// to the interpreter and log that reason. Everything else is a plain tcbpf::Error the caller must report:
// an invalid program or unknown helper (the interpreter's own load errors) and code memory that cannot
// be mapped.
//
// Tail calls: a prog array of a JIT run holds jit::Programs, found through Context::jit_tail_call (the
// JIT twin of Context::tail_call). The target continues with the caller's registers and stack frame,
// as in the kernel. Every target must outlive the runs that may reach it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "tcbpf/error.h"
#include "tcbpf/isa.h"
#include "tcbpf/vm.h"

namespace tcbpf::jit {

// The JIT cannot compile this program; the interpreter can still run it.
class Unsupported : public Error {
   public:
    using Error::Error;
};

// Where a program's context holds the packet's start and end pointers (64-bit) and its length (32-bit).
struct FrameFields {
    int16_t data = 0;
    int16_t data_end = 0;
    int16_t len = 0;
};

// One frame for Program::batch_entry.
struct Frame {
    const uint8_t* data;
    uint64_t size;
};

struct Options {
    // Hardening against JIT spraying: immediates never appear verbatim in the code; each is emitted
    // xor-ed with a per-program random key and decoded into a scratch register at run time.
    bool blind_constants = false;
    // Zero each 512-byte stack frame when it is entered, as the checked interpreter does. Only for
    // differential testing of programs that may read stack they never wrote (the verifier forbids it).
    bool zero_stack_frames = false;
    // Largest machine code, in bytes, one program may occupy (0: no limit). Like the kernel's
    // bpf_jit_limit, a program above it is not compiled and runs in the interpreter instead.
    size_t code_limit = 0;
    // Also compile Program::batch_entry, for programs that can have one, with the context's packet
    // fields at these offsets: a second copy of the code.
    std::optional<FrameFields> batch_frames = std::nullopt;
};

class Program {
   public:
    static std::unique_ptr<Program> compile(const isa::Program& prog, const vm::HelperRegistry& helpers,
                                            Options options = {});
    ~Program();
    Program(const Program&) = delete;
    Program& operator=(const Program&) = delete;

    // Runs with r1 and r2 set (r0, r3..r9 zero, r10 the top of a fresh 512-byte frame). Returns r0; on
    // a fault returns 0 with cx.fault set, like the interpreter. Safe to call concurrently.
    uint64_t run(vm::Context& cx, uint64_t r1, uint64_t r2 = 0) const;

    // The native code as the kernel calls a program (bpf_func(ctx)), for programs that call nothing —
    // no helper, no local or tail call, no legacy packet load: their code never reads the vm::Context
    // and nothing in it can fault, so `direct_entry()(r1, r2)` returns what run() returns without run()'s
    // per-run Context bookkeeping (the classic-filter fast path, cbpf_filter.h). nullptr for programs
    // that call anything. Safe to call concurrently.
    using DirectEntry = uint64_t (*)(uint64_t r1, uint64_t r2);
    DirectEntry direct_entry() const;

    // One run per frame in one call, for programs that call nothing, use none of r6..r9 and read their
    // context only as Options::batch_frames' packet fields (converted classic filters), compiled with
    // that option: `batch_entry()(frames, count, results)` stores in results[i] the low 32 bits of r0 —
    // what the kernel's bpf_prog_run returns — of a run whose context holds frames[i] (data, data + size
    // and the 32-bit size at those offsets; r2 = 0). The body sits inline in a native loop that reads
    // those fields straight from the Frame: no call and return and no context stores per run, which
    // for filters a few instructions long are most of a direct_entry() run. nullptr when not compiled.
    // Safe to call concurrently (the stack of a program using r10 is per call).
    using BatchEntry = void (*)(const Frame* frames, uint64_t count, uint32_t* results);
    BatchEntry batch_entry() const;

    // Size of the generated machine code in bytes (for tests and `prog show`).
    size_t code_size() const;
    // Where the generated code starts (tests check its mapping is read-execute only).
    const void* code_address() const;
    // Where each eBPF instruction's code starts, as an offset from code_address() (one entry per slot;
    // an LDDW's second slot shares the next instruction's offset), then one more entry: where the cold
    // fault paths start. Before insn_offsets()[0] lies the entry sequence. For `prog dump jited`.
    std::span<const uint32_t> insn_offsets() const;
    const isa::Program& source() const;

    struct Impl;
    const Impl& impl() const { return *impl_; }

   private:
    explicit Program(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tcbpf::jit
