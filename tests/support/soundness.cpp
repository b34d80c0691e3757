#include "tests/support/soundness.h"

#include <fmt/format.h>

#include <map>
#include <memory>

#include "tcbpf/error.h"
#include "tcbpf/helpers.h"
#include "tcbpf/maps.h"
#include "tcbpf/runtime.h"
#include "tcbpf/skb.h"
#include "tcbpf/vm.h"

namespace tcbpf::test {
namespace {

uint64_t next(uint64_t& s) {  // splitmix64
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// Frames of 14..300 bytes, mostly IPv4/IPv6 Ethernet so parsers get past their first check.
std::vector<uint8_t> random_frame(uint64_t& s) {
    std::vector<uint8_t> f(14 + next(s) % 287);
    for (uint8_t& b : f) b = static_cast<uint8_t>(next(s));
    switch (next(s) % 4) {
        case 0: f[12] = 0x08, f[13] = 0x00; if (f.size() > 14) f[14] = 0x45; break;
        case 1: f[12] = 0x86, f[13] = 0xdd; if (f.size() > 14) f[14] = 0x60; break;
        case 2: f[12] = 0x81, f[13] = 0x00; break;
        default: break;
    }
    return f;
}

// Helpers whose results legitimately differ between two runs (clocks).
bool uses_clock(const isa::Program& prog) {
    for (const isa::Insn& insn : prog.insns)
        if (insn.op == isa::Op::CALL_HELPER && (insn.imm == 5 || insn.imm == 125 || insn.imm == 208 || insn.imm == 118))
            return true;
    return false;
}

isa::Program with_poison(const isa::Program& prog, uint64_t poison) {
    isa::Program out;
    for (uint8_t reg : {0, 2, 3, 4, 5, 6, 7, 8, 9}) {
        isa::Insn lddw;
        lddw.op = isa::Op::LDDW;
        lddw.dst = reg;
        lddw.imm64 = poison + reg;
        lddw.imm = static_cast<int32_t>(static_cast<uint32_t>(lddw.imm64));
        out.insns.push_back(lddw);
        isa::Insn tail;
        tail.op = isa::Op::LDDW_TAIL;
        tail.imm = static_cast<int32_t>(static_cast<uint32_t>(lddw.imm64 >> 32));
        out.insns.push_back(tail);
    }
    out.insns.insert(out.insns.end(), prog.insns.begin(), prog.insns.end());
    return out;
}

struct Outcome {
    std::string fault;  // non-empty: the run broke a rule
    int32_t ret = 0;
    std::vector<uint8_t> packet;
    uint32_t mark = 0, priority = 0, tc_classid = 0, tc_index = 0;
    std::map<std::string, std::map<std::vector<uint8_t>, std::vector<uint8_t>>> maps;
    bool operator==(const Outcome&) const = default;
};

std::vector<Outcome> run_all(const isa::Program& prog, const SoundnessOptions& options) {
    loader::Object object;
    object.path = "<soundness>";
    object.license = "GPL";
    object.maps = soundness_maps();
    loader::ProgramDef def;
    def.name = def.section = "soundness";
    def.prog = prog;
    for (uint32_t i = 0; i < object.maps.size(); ++i) def.maps_used.push_back(i);
    object.programs.push_back(std::move(def));
    runtime::LoadOptions lo;
    lo.checked = true;
    lo.verify_checked = true;
    lo.engine = runtime::Engine::Interp;
    lo.ncpus = 1;
    auto loaded = runtime::LoadedObject::load(std::move(object), lo);
    const runtime::PreparedProgram& program = loaded->select("soundness");
    std::vector<Outcome> out;
    uint64_t s = options.seed;
    for (size_t i = 0; i < options.frames; ++i) {
        std::vector<uint8_t> frame = random_frame(s);
        skb::TestRunResult prepared = skb::prepare_test_run(frame);
        if (!prepared.skb) continue;
        skb::Packet packet = std::move(prepared.skb->packet);
        skb::SkbMeta meta = prepared.skb->meta;
        vm::Context cx;
        cx.insn_budget = options.insn_budget;
        skb::SkbContext ctx;
        helpers::RunEnv env;
        env.prandom_state = 0x5eed + i;
        std::function<void(std::string_view)> quiet = [](std::string_view) {};
        env.trace = &quiet;
        Outcome o;
        o.ret = loaded->run_on_skb(program, packet, meta, cx, ctx, env);
        if (cx.fault != vm::Fault::None)
            o.fault = fmt::format("frame {} ({} bytes): {} at pc {}{}{}", i, frame.size(), vm::fault_name(cx.fault),
                                  cx.fault_pc, cx.fault_detail.empty() ? "" : ": ", cx.fault_detail);
        o.packet.assign(packet.bytes().begin(), packet.bytes().end());
        o.mark = meta.mark, o.priority = meta.priority, o.tc_classid = meta.tc_classid, o.tc_index = meta.tc_index;
        for (const auto& m : loaded->maps())
            m->for_each([&](std::span<const uint8_t> k, std::span<const uint8_t> v) {
                o.maps[m->spec().name][{k.begin(), k.end()}] = {v.begin(), v.end()};
            });
        out.push_back(std::move(o));
    }
    return out;
}

}  // namespace

std::vector<loader::MapDef> soundness_maps() {
    auto def = [](const char* name, uint32_t type, uint32_t key, uint32_t value, uint32_t entries) {
        loader::MapDef m;
        m.name = name;
        m.type = type, m.key_size = key, m.value_size = value, m.max_entries = entries;
        m.section = ".maps";
        return m;
    };
    return {def("array", 2, 4, 16, 1), def("hash", 1, 4, 16, 8), def("progs", 3, 4, 4, 2),
            def("percpu", 6, 4, 8, 2)};
}

std::string check_soundness(const isa::Program& prog, const SoundnessOptions& options) {
    std::vector<Outcome> a, b;
    try {
        a = run_all(with_poison(prog, 0x1111111111111100ull), options);
        b = run_all(with_poison(prog, 0x7777777777777700ull), options);
    } catch (const Error& e) {
        return fmt::format("the runtime refused a verified program: {}", e.what());
    }
    for (const Outcome& o : a)
        if (!o.fault.empty()) return o.fault;
    for (const Outcome& o : b)
        if (!o.fault.empty()) return o.fault;
    if (options.compare_runs && !uses_clock(prog) && a != b) {
        for (size_t i = 0; i < a.size() && i < b.size(); ++i)
            if (!(a[i] == b[i]))
                return fmt::format("frame {}: results depend on uninitialised registers (ret {} vs {})", i, a[i].ret,
                                   b[i].ret);
    }
    return {};
}

}  // namespace tcbpf::test
