// The abstract machine state the exploration carries along each path: eleven registers and one stack
// frame for the function running, plus the frames of its callers (bpf-to-bpf calls), each with the
// registers it will resume with and its own stack (the kernel's bpf_reg_state / bpf_func_state).
//
// A register is either uninitialised, a scalar (its Scalar facts), or a pointer of some type with a fixed
// offset `off` plus a variable part (Scalar facts too; only packet pointers have one so far). The
// stack is tracked per byte as never written, written with unknown data, written with a known zero, or
// holding part of a spilled register, whose full state is kept with its 8-byte slot so a fill restores
// pointers and scalar bounds exactly.
//
// `includes` is the pruning test: a state includes another when every concrete machine state the other
// describes is also described by it, so a continuation proven safe from it is safe from the other too.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcbpf/isa.h"
#include "verifier/scalar.h"

namespace tcbpf::verifier {

// Mem: the `raw` program type's memory (Options::raw_memory_size bytes). RingbufMem(OrNull): a ring
// buffer reservation (bpf_ringbuf_reserve), an acquired reference until submitted or discarded.
enum class RegType : uint8_t {
    NotInit, Scalar, Ctx, Stack, Packet, PacketEnd, PacketMeta, MapPtr, MapValue, MapValueOrNull, Mem,
    RingbufMem, RingbufMemOrNull
};

// The kernel log's name of a type ("scalar", "ctx", "fp", "pkt", "pkt_end", "pkt_meta", "map_ptr",
// "map_value", "map_value_or_null").
std::string_view type_name(RegType type);
bool is_pointer(RegType type);

struct Reg {
    RegType type = RegType::NotInit;
    Scalar value;      // scalars: the value; pointers: the variable part of the offset
    int32_t off = 0;   // pointers: the fixed offset from the object's start (stack: from r10)
    int32_t range = 0; // packet pointers: bytes from the packet start proven to lie before data_end;
                       // ring buffer reservations: their size
    // Scalars: registers and spills with the same nonzero id hold the same value (copies made by
    // `rX = rY`), so what a branch learns about one holds for all of them. Packet pointers: the same id
    // means the same variable part (0: none, the packet start plus constants), so a range proven for
    // one holds for all. Map values that may be null: copies of one lookup result, which one null
    // check settles together. Ring buffer reservations: the reference (State::refs) they hold.
    uint32_t id = 0;
    uint32_t map = 0;  // map pointers and map values: which map (index into Options::maps)
    uint32_t frame = 0;  // stack pointers: whose stack (0: the main program's; callers[i] is frame i)
    // Scalars in checkpoints: some continuation's safety depends on the value (precision.h). An
    // imprecise scalar includes every scalar when pruning.
    bool precise = false;

    static Reg scalar(const Scalar& s) { return Reg{RegType::Scalar, s, 0, 0, 0, 0, 0, false}; }
    static Reg pointer(RegType type, int32_t off = 0) { return Reg{type, Scalar::constant(0), off, 0, 0, 0, 0, false}; }
    bool operator==(const Reg&) const = default;
};

enum class StackByte : uint8_t { Invalid, Misc, Zero, Spill };

struct StackSlot {
    std::array<StackByte, 8> bytes{};  // bytes[i] is the byte at slot address + i
    // Valid when the slot's first byte is Spill (the kernel's "is a spill" test): a register spilled
    // whole, or a scalar's low 1, 2 or 4 bytes spilled at the slot's start (zero-extended here).
    Reg spilled;
    // In checkpoints: some continuation's safety depends on the slot's known-zero bytes being zero
    // (precision.h); otherwise a zero byte includes any byte that reads as a number.
    bool zero_precise = false;
    bool is_spill() const { return bytes[0] == StackByte::Spill; }
    bool operator==(const StackSlot&) const = default;
};

// A caller suspended in a bpf-to-bpf call: the registers it resumes with (r1-r5 dead) and its stack.
struct CallerFrame {
    std::array<Reg, isa::kNumRegs> regs;
    std::vector<StackSlot> stack;
    size_t callsite = 0;  // the call instruction; execution resumes after it
    bool operator==(const CallerFrame&) const = default;
};

// A reference the program acquired and must release on every path before it ends (the kernel's
// bpf_reference_state): a ring buffer reservation not yet submitted or discarded.
struct Reference {
    uint32_t id = 0;
    uint32_t insn = 0;  // the call that acquired it
    bool operator==(const Reference&) const = default;
};

struct State {
    std::array<Reg, isa::kNumRegs> regs;
    // stack[i] covers r10 - 8*(i+1) .. r10 - 8*i - 1; grown on demand.
    std::vector<StackSlot> stack;
    std::vector<CallerFrame> callers;  // outermost first; empty in the main program
    std::vector<Reference> refs;       // held references, in acquisition order

    uint32_t frame() const { return static_cast<uint32_t>(callers.size()); }
    // The stack of frame `f` (the current one when f == frame()).
    std::vector<StackSlot>& stack_of(uint32_t f) { return f == frame() ? stack : callers[f].stack; }
    StackSlot& slot(int spi) { return slot_of(frame(), spi); }
    StackSlot& slot_of(uint32_t f, int spi);
    bool operator==(const State&) const = default;
};

// Entry state: r1 = ctx, r10 = frame pointer, the rest uninitialised, empty stack.
State initial_state();
// For the raw program type: r1 = the memory, r2 = its size.
State initial_raw_state(uint32_t memory_size);

// How loosely pruning may compare (both off: exact value inclusion, as the infinite-loop test needs).
struct Inclusion {
    // A scalar of `general` not marked precise includes every scalar (its value matters to no continuation).
    bool use_precision = false;
    // Privileged rules (no --strict): a stack byte that reads as "some number" in `general` includes any
    // byte, even part of a spilled pointer — reading it there gave an unknown number, and a program may
    // do anything with a number (the kernel's allow_uninit_stack rule in stacksafe).
    bool misc_includes_any = false;
};

// Value inclusion of one register, ids aside.
bool includes(const Reg& general, const Reg& specific, Inclusion how = {});
// Whole-state inclusion, including the equalities ids state: values linked in `general` must be linked
// in `specific` too.
bool includes(const State& general, const State& specific, Inclusion how = {});

// A hash of everything `includes` compares both ways except ids: states equal up to id renaming have
// the same fingerprint (the infinite-loop test compares fingerprints before states). `live_regs[f]`,
// where given, masks the registers of frame f (callers first): the others hash as uninitialised.
uint64_t fingerprint(const State& state, std::span<const uint16_t> live_regs = {});

// Calls f(Reg&) for every register and spilled register of the state, callers' frames included.
template <typename F>
void for_each_reg(State& state, F&& f) {
    for (Reg& r : state.regs) f(r);
    for (StackSlot& slot : state.stack)
        if (slot.is_spill()) f(slot.spilled);
    for (CallerFrame& caller : state.callers) {
        for (Reg& r : caller.regs) f(r);
        for (StackSlot& slot : caller.stack)
            if (slot.is_spill()) f(slot.spilled);
    }
}

}  // namespace tcbpf::verifier
