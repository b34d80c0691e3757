// Formatting for the verifier log (log.h): register and stack states in the kernel's 6.6+ style, with
// `off=0`/`imm=0` left out; the per-instruction line; the final statistics line.
#include "verifier/log.h"

#include <fmt/format.h>

#include "tcbpf/asm.h"

namespace tcbpf::verifier::detail {

namespace {

std::string scalar_attrs(const Scalar& s) {
    std::string text = to_string(s);  // "scalar(...)": keep what is inside the parentheses
    return text.starts_with("scalar(") ? text.substr(7, text.size() - 8) : "imm=" + text;
}

std::string format_reg(const Reg& r, const Options& options) {
    if (r.type == RegType::Scalar) return r.value.is_const() ? to_string(r.value) : to_string(r.value);
    if (r.type == RegType::Stack && r.value.is_const())
        return fmt::format("fp{}", r.off + static_cast<int64_t>(r.value.const_value()));
    std::vector<std::string> attrs;
    if (r.id) attrs.push_back(fmt::format("id={}", r.id));
    if (r.off) attrs.push_back(fmt::format("off={}", r.off));
    if (r.type == RegType::Packet || r.type == RegType::PacketMeta) attrs.push_back(fmt::format("r={}", r.range));
    if (r.type == RegType::RingbufMem || r.type == RegType::RingbufMemOrNull) {
        attrs.push_back(fmt::format("ref_obj_id={}", r.id));
        attrs.push_back(fmt::format("sz={}", r.range));
    }
    bool map = r.type == RegType::MapValue || r.type == RegType::MapValueOrNull || r.type == RegType::MapPtr;
    if (map && r.map < options.maps.size())
        attrs.push_back(fmt::format("ks={},vs={}", options.maps[r.map].key_size, options.maps[r.map].value_size));
    if (!r.value.is_const() || r.value.const_value() != 0) attrs.push_back(scalar_attrs(r.value));
    return fmt::format("{}({})", type_name(r.type), fmt::join(attrs, ","));
}

char byte_char(StackByte b) {
    switch (b) {
        case StackByte::Invalid: return '?';
        case StackByte::Misc: return 'm';
        case StackByte::Zero: return '0';
        case StackByte::Spill: return 'r';
    }
    return '?';
}

void append_frame(std::string& out, const std::array<Reg, isa::kNumRegs>& regs, const std::vector<StackSlot>& stack,
                  const Options& options) {
    for (int i = 0; i < isa::kNumRegs; ++i)
        if (regs[static_cast<size_t>(i)].type != RegType::NotInit)
            out += fmt::format(" R{}={}", i, format_reg(regs[static_cast<size_t>(i)], options));
    for (size_t i = 0; i < stack.size(); ++i) {
        const StackSlot& slot = stack[i];
        bool empty = true;
        for (StackByte b : slot.bytes) empty = empty && b == StackByte::Invalid;
        if (empty) continue;
        int off = -8 * static_cast<int>(i + 1);
        if (slot.is_spill() && slot.bytes[7] == StackByte::Spill) {
            out += fmt::format(" fp{}={}", off, format_reg(slot.spilled, options));
        } else {
            std::string bytes;
            for (size_t b = 8; b-- > 0;) bytes += byte_char(slot.bytes[b]);
            out += fmt::format(" fp{}={}", off, bytes);
        }
    }
}

}  // namespace

std::string format_state(const State& state, const Options& options) {
    std::string out;
    for (size_t f = 0; f < state.callers.size(); ++f) {
        if (f > 0) out += fmt::format(" frame{}:", f);
        append_frame(out, state.callers[f].regs, state.callers[f].stack, options);
    }
    if (!state.callers.empty()) out += fmt::format(" frame{}:", state.frame());
    append_frame(out, state.regs, state.stack, options);
    return out;
}

std::string format_insn(const isa::Program& prog, size_t pc, const Options& options, size_t& last_line_pc) {
    std::string out;
    if (pc < options.source_lines.size() && !options.source_lines[pc].empty() &&
        (last_line_pc >= options.source_lines.size() || options.source_lines[last_line_pc] != options.source_lines[pc])) {
        out += fmt::format("; {}\n", options.source_lines[pc]);
        last_line_pc = pc;
    }
    const isa::Insn& insn = prog.insns[pc];
    out += fmt::format("{}: ({:02x}) {}\n", pc, isa::info(insn.op).opcode, isa::disassemble(insn, pc));
    return out;
}

std::string format_stats(const Stats& stats) {
    std::string depths;
    for (size_t i = 0; i < stats.subprog_stack_depth.size(); ++i)
        depths += fmt::format("{}{}", i ? "+" : "", stats.subprog_stack_depth[i]);
    return fmt::format("processed {} insns (limit 1000000) max_states_per_insn 0 total_states {} peak_states {} mark_read 0\n"
                       "verification time {} usec\nstack depth {}\n",
                       stats.insns_processed, stats.states_stored, stats.peak_states, stats.verification_usec,
                       depths.empty() ? "0" : depths);
}

}  // namespace tcbpf::verifier::detail
