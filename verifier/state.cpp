// Inclusion between states. Scalars compare by their facts (Scalar::includes); pointers must be the
// same type and offset, and a packet pointer with a larger proven range is more specific. An
// uninitialised register in the general state includes anything, since a continuation that was proven
// safe never read it. Stack bytes: a never-written byte includes anything, "unknown data" includes any
// byte that reads as a number (privileged: any byte at all), and a spilled register includes what its
// Reg includes. When pruning, what no continuation relied on (precision.h) is just "some number": an
// imprecise spilled scalar or known zero includes any bytes that read as numbers, and a precise whole
// spilled scalar includes plain bytes whose load it includes (zeros: 0; unknown data: any number).
#include "verifier/state.h"

#include <tuple>
#include <vector>

namespace tcbpf::verifier {

std::string_view type_name(RegType type) {
    switch (type) {
        case RegType::NotInit: return "?";
        case RegType::Scalar: return "scalar";
        case RegType::Ctx: return "ctx";
        case RegType::Stack: return "fp";
        case RegType::Packet: return "pkt";
        case RegType::PacketEnd: return "pkt_end";
        case RegType::PacketMeta: return "pkt_meta";
        case RegType::MapPtr: return "map_ptr";
        case RegType::MapValue: return "map_value";
        case RegType::MapValueOrNull: return "map_value_or_null";
        case RegType::Mem: return "mem";
        case RegType::RingbufMem: return "ringbuf_mem";
        case RegType::RingbufMemOrNull: return "ringbuf_mem_or_null";
    }
    return "?";
}

bool is_pointer(RegType type) { return type != RegType::NotInit && type != RegType::Scalar; }

StackSlot& State::slot_of(uint32_t f, int spi) {
    std::vector<StackSlot>& slots = stack_of(f);
    if (static_cast<size_t>(spi) >= slots.size()) slots.resize(static_cast<size_t>(spi) + 1);
    return slots[static_cast<size_t>(spi)];
}

State initial_state() {
    State s;
    s.regs[1] = Reg::pointer(RegType::Ctx);
    s.regs[isa::kFrameReg] = Reg::pointer(RegType::Stack);
    return s;
}

State initial_raw_state(uint32_t memory_size) {
    State s;
    // Without memory the runner passes a null r1, so it is the number 0 here too.
    s.regs[1] = memory_size == 0 ? Reg::scalar(Scalar::constant(0)) : Reg::pointer(RegType::Mem);
    s.regs[2] = Reg::scalar(Scalar::constant(memory_size));
    s.regs[isa::kFrameReg] = Reg::pointer(RegType::Stack);
    return s;
}

bool includes(const Reg& general, const Reg& specific, Inclusion how) {
    if (general.type == RegType::NotInit) return true;
    if (general.type != specific.type) return false;
    if (general.type == RegType::Scalar)
        return (how.use_precision && !general.precise) || general.value.includes(specific.value);
    if (general.off != specific.off || general.map != specific.map || general.frame != specific.frame ||
        !general.value.includes(specific.value))
        return false;
    return specific.range >= general.range;
}

namespace {

void mix(uint64_t& h, uint64_t v) { h = (h ^ v) * 0x100000001b3ULL + (h >> 29); }

void mix_reg(uint64_t& h, const Reg& r) {
    mix(h, static_cast<uint64_t>(r.type));
    if (r.type == RegType::NotInit) return;
    const Scalar& v = r.value;
    for (uint64_t x : {v.var_off.value, v.var_off.mask, static_cast<uint64_t>(v.smin), static_cast<uint64_t>(v.smax), v.umin,
                       v.umax, uint64_t{static_cast<uint32_t>(v.s32_min)}, uint64_t{static_cast<uint32_t>(v.s32_max)},
                       uint64_t{v.u32_min}, uint64_t{v.u32_max}})
        mix(h, x);
    mix(h, static_cast<uint64_t>(static_cast<uint32_t>(r.off)) | uint64_t{static_cast<uint32_t>(r.range)} << 32);
    mix(h, uint64_t{r.map} | uint64_t{r.frame} << 32);
}

void mix_frame(uint64_t& h, const std::array<Reg, isa::kNumRegs>& regs, const std::vector<StackSlot>& stack,
               uint16_t live) {
    for (size_t i = 0; i < regs.size(); ++i) mix_reg(h, (live >> i & 1) ? regs[i] : Reg{});
    size_t used = stack.size();
    while (used > 0 && stack[used - 1] == StackSlot{}) --used;  // trailing never-written slots
    for (size_t i = 0; i < used; ++i) {
        uint64_t bytes = 0;
        for (StackByte b : stack[i].bytes) bytes = bytes << 8 | static_cast<uint64_t>(b);
        mix(h, bytes);
        if (stack[i].is_spill()) mix_reg(h, stack[i].spilled);
    }
}

}  // namespace

uint64_t fingerprint(const State& state, std::span<const uint16_t> live_regs) {
    auto live = [&](size_t f) { return f < live_regs.size() ? live_regs[f] : uint16_t{0xffff}; };
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t f = 0; f < state.callers.size(); ++f) {
        mix(h, state.callers[f].callsite);
        mix_frame(h, state.callers[f].regs, state.callers[f].stack, live(f));
    }
    mix_frame(h, state.regs, state.stack, live(state.callers.size()));
    for (const Reference& ref : state.refs) mix(h, ref.insn);
    return h;
}

namespace {

// The number a full 8-byte load of a slot without a spill gives: zero when every byte is a known zero.
Reg loaded_from_bytes(const StackSlot& slot) {
    for (StackByte b : slot.bytes)
        if (b != StackByte::Zero) return Reg::scalar(Scalar::unknown());
    return Reg::scalar(Scalar::constant(0));
}

// Whether a byte of `specific` reads as some number: what a general byte whose value no continuation
// relied on allows. Never-written bytes read as numbers only where the rules allow reading them.
bool reads_as_number(StackByte b, const StackSlot& specific, Inclusion how) {
    switch (b) {
        case StackByte::Invalid: return how.misc_includes_any;
        case StackByte::Misc:
        case StackByte::Zero: return true;
        case StackByte::Spill: return specific.spilled.type == RegType::Scalar || how.misc_includes_any;
    }
    return false;
}

// One byte of a slot without a spill in `general`.
bool byte_includes(const StackSlot& general, StackByte g, StackByte s, const StackSlot& specific, Inclusion how) {
    if (g == StackByte::Invalid || g == s) return true;
    if (g == StackByte::Misc) return reads_as_number(s, specific, how);
    if (g == StackByte::Zero) return how.use_precision && !general.zero_precise && reads_as_number(s, specific, how);
    return false;
}

bool slot_includes(const StackSlot& general, const StackSlot& specific, Inclusion how) {
    if (general.is_spill()) {
        if (specific.is_spill() && general.bytes == specific.bytes) return includes(general.spilled, specific.spilled, how);
        if (general.spilled.type != RegType::Scalar) return false;
        if (how.use_precision && !general.spilled.precise) {
            // No continuation relied on the spilled number: any bytes that read as numbers will do.
            for (size_t i = 0; i < 8; ++i) {
                StackByte g = general.bytes[i], s = specific.bytes[i];
                bool ok = g == StackByte::Spill ? reads_as_number(s, specific, how) : byte_includes(general, g, s, specific, how);
                if (!ok) return false;
            }
            return true;
        }
        // A whole spilled scalar against plain bytes (the kernel's "scalar spill vs MISC" rule): the
        // bytes load as an unknown number (or zero), which the spilled scalar must include.
        if (specific.is_spill() || general.bytes[7] != StackByte::Spill) return false;
        for (StackByte b : specific.bytes)
            if (b == StackByte::Invalid && !how.misc_includes_any) return false;
        return includes(general.spilled, loaded_from_bytes(specific), how);
    }
    for (size_t i = 0; i < 8; ++i)
        if (!byte_includes(general, general.bytes[i], specific.bytes[i], specific, how)) return false;
    return true;
}

}  // namespace

bool includes(const State& general, const State& specific, Inclusion how) {
    // Same call chain first: frames at the same depth, suspended at the same call sites.
    if (general.callers.size() != specific.callers.size()) return false;
    for (size_t f = 0; f < general.callers.size(); ++f)
        if (general.callers[f].callsite != specific.callers[f].callsite) return false;
    // Positions: registers 0..10, then spill slots, frame by frame. Every id general uses must correspond
    // to one id of specific (so general's equalities hold there); several general ids may share one
    // specific id. Packet pointers' ids (0 included: the packet start) are mapped the same way, per type.
    // Reused across calls: pruning compares states often enough for the allocation to show.
    thread_local std::vector<std::tuple<RegType, uint32_t, uint32_t>> id_map;
    id_map.clear();
    auto ids_agree = [](const Reg& g, const Reg& s) {
        bool packet = g.type == RegType::Packet || g.type == RegType::PacketMeta || g.type == RegType::MapValueOrNull ||
                      g.type == RegType::RingbufMem || g.type == RegType::RingbufMemOrNull;
        if (!packet && (g.type != RegType::Scalar || g.id == 0)) return true;
        if (!packet && s.id == 0) return false;
        // A reservation keeps its reference id through its null check.
        RegType key = g.type == RegType::RingbufMemOrNull ? RegType::RingbufMem : g.type;
        for (auto [type, from, to] : id_map)
            if (type == key && from == g.id) return to == s.id;
        id_map.emplace_back(key, g.id, s.id);
        return true;
    };
    auto frame_includes = [&](const std::array<Reg, isa::kNumRegs>& g_regs, const std::vector<StackSlot>& g_stack,
                              const std::array<Reg, isa::kNumRegs>& s_regs, const std::vector<StackSlot>& s_stack) {
        for (size_t r = 0; r < g_regs.size(); ++r)
            if (!includes(g_regs[r], s_regs[r], how) || !ids_agree(g_regs[r], s_regs[r])) return false;
        static const StackSlot kEmpty{};
        for (size_t i = 0; i < g_stack.size(); ++i) {
            const StackSlot& s = i < s_stack.size() ? s_stack[i] : kEmpty;
            if (!slot_includes(g_stack[i], s, how)) return false;
            if (g_stack[i].is_spill() && !ids_agree(g_stack[i].spilled, s.is_spill() ? s.spilled : Reg{})) return false;
        }
        return true;
    };
    // The same references held, matched by id as registers match them (the kernel's refsafe).
    if (general.refs.size() != specific.refs.size()) return false;
    for (size_t i = 0; i < general.refs.size(); ++i) {
        Reg g = Reg::pointer(RegType::RingbufMem), s = g;
        g.id = general.refs[i].id, s.id = specific.refs[i].id;
        if (!ids_agree(g, s)) return false;
    }
    for (size_t f = 0; f < general.callers.size(); ++f)
        if (!frame_includes(general.callers[f].regs, general.callers[f].stack, specific.callers[f].regs,
                            specific.callers[f].stack))
            return false;
    return frame_includes(general.regs, general.stack, specific.regs, specific.stack);
}

}  // namespace tcbpf::verifier
