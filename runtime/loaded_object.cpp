// A loader::Object brought to life: maps created as BPF_MAP_CREATE would create them, global data
// initialised, programs prepared (context rewrite → map binding → vm prepare) and prog arrays filled.
// Programs are prepared independently and a failure is kept with the program, so an object whose
// unused sections call a helper tcbpf lacks still runs its other sections — as tc loads only the
// section it is asked for (and the tail-call targets, whose failures are therefore load errors here).
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "tcbpf/helpers.h"
#include "tcbpf/runtime.h"
#include "tcbpf/verifier.h"
#include "runtime/engine.h"
#include "runtime/packet_sharing.h"

namespace tcbpf::runtime {

namespace {

const vm::HelperRegistry& tc_helpers() {
    static const vm::HelperRegistry registry = [] {
        vm::HelperRegistry r;
        helpers::register_tc_helpers(r);
        return r;
    }();
    return registry;
}

// The kernel refuses a program calling a helper it does not offer at load time; tcbpf does the same
// for the ones it has not implemented, naming them so the user knows what is missing.
void check_helpers(const isa::Program& prog, const vm::HelperRegistry& registry) {
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        const isa::Insn& insn = prog.insns[pc];
        if (insn.op != isa::Op::CALL_HELPER || insn.imm == vm::kHelperTailCall || registry.find(insn.imm)) continue;
        const std::string_view name = helpers::helper_name(insn.imm);
        if (name.empty()) throw Error(fmt::format("pc {}: call to unknown helper id {}", pc, insn.imm));
        throw Error(fmt::format("pc {}: helper bpf_{} (id {}) is not implemented by tcbpf", pc, name, insn.imm));
    }
}

// Nothing runs unchecked unless the verifier proved it safe: a rejection is the program's preparation
// error, naming the instruction and the reason as the kernel's load would.
verifier::Result verify_for_run(const loader::Object& object, const loader::ProgramDef& def, skb::ProgType type) {
    verifier::Options options;
    options.prog_type = type;
    for (const loader::MapDef& m : object.maps)
        options.maps.push_back(verifier::MapInfo{m.type, m.key_size, m.value_size, m.max_entries, m.map_flags});
    options.gpl_compatible = object.license.empty() || license_is_gpl_compatible(object.license);
    options.btf_func_info = !def.funcs.empty();
    const verifier::Result r = verifier::verify(def.prog, options);
    if (!r.ok) throw Error(fmt::format("verifier rejects insn {}: {}", r.insn_idx, r.message));
    return r;
}

// LDDW map references become what helpers and loads expect: src 5 the maps::Map address, src 6 the
// address inside the global-data map's single value. Other pseudo forms name kernel objects (fds, BTF
// ids) that cannot exist here; the loader never produces them.
void bind_maps(isa::Program& prog, const std::vector<std::unique_ptr<maps::Map>>& maps) {
    static const uint32_t key0 = 0;
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        isa::Insn& insn = prog.insns[pc];
        if (insn.op != isa::Op::LDDW) continue;
        const auto pseudo = static_cast<isa::Pseudo>(insn.src);
        if (pseudo == isa::Pseudo::None || pseudo == isa::Pseudo::Func) continue;
        if (pseudo != isa::Pseudo::MapIdx && pseudo != isa::Pseudo::MapIdxValue)
            throw Error(fmt::format("pc {}: ld_imm64 with pseudo source {} refers to a kernel object", pc, insn.src));
        if (insn.imm < 0 || static_cast<size_t>(insn.imm) >= maps.size())
            throw Error(fmt::format("pc {}: map index {} out of range (object has {} maps)", pc, insn.imm, maps.size()));
        maps::Map& map = *maps[static_cast<size_t>(insn.imm)];
        uint64_t address = reinterpret_cast<uint64_t>(&map);
        if (pseudo == isa::Pseudo::MapIdxValue) {
            const uint64_t offset = insn.imm64 >> 32;
            void* value = map.type() == maps::kMapArray ? map.lookup(&key0, 0) : nullptr;
            if (value == nullptr || offset >= map.value_size())
                throw Error(fmt::format("pc {}: map {} has no value at offset {}", pc, map.spec().name, offset));
            address = reinterpret_cast<uint64_t>(value) + offset;
        }
        insn.src = 0;
        insn.imm = static_cast<int32_t>(static_cast<uint32_t>(address));
        insn.imm64 = address;
        prog.insns[pc + 1].imm = static_cast<int32_t>(static_cast<uint32_t>(address >> 32));
    }
}

}  // namespace

skb::ProgType to_skb_type(loader::ProgType type) {
    return type == loader::ProgType::Action ? skb::ProgType::Action : skb::ProgType::Classifier;
}

LoadedObject::LoadedObject(loader::Object object, const LoadOptions& options)
    : object_(std::move(object)), options_(options) {}

LoadedObject::~LoadedObject() = default;

std::unique_ptr<LoadedObject> LoadedObject::load(loader::Object object, const LoadOptions& options) {
    std::unique_ptr<LoadedObject> loaded(new LoadedObject(std::move(object), options));
    loaded->create_maps();
    loaded->prepare_programs();
    loaded->fill_prog_arrays();
    return loaded;
}

void LoadedObject::create_maps() {
    static const uint32_t key0 = 0;
    for (const loader::MapDef& def : object_.maps) {
        try {
            maps_.push_back(create_object_map(object_, def, options_));
        } catch (const Error& e) {
            throw Error(fmt::format("{}: map {}: {}", object_.path, def.name, e.what()));
        }
        if (def.global_data && !def.initial_value.empty()) {
            const int err = maps_.back()->update_user(&key0, def.initial_value.data(), maps::kBpfAny);
            if (err != 0)
                throw Error(fmt::format("{}: map {}: initialising global data failed ({})", object_.path, def.name, err));
        }
    }
}

bool license_is_gpl_compatible(std::string_view license) {
    for (const char* l : {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL",
                          "Dual MPL/GPL"})
        if (license == l) return true;
    return false;
}

void LoadedObject::prepare_programs() {
    const vm::HelperRegistry& registry = tc_helpers();
    programs_.resize(object_.programs.size());
    for (size_t i = 0; i < object_.programs.size(); ++i) {
        const loader::ProgramDef& def = object_.programs[i];
        PreparedProgram& p = programs_[i];
        p.def = &def;
        p.id = static_cast<uint32_t>(i + 1);
        p.type = to_skb_type(options_.type.value_or(def.default_type));
        try {
            std::optional<verifier::Result> proof;
            if (!options_.checked || options_.verify_checked) proof = verify_for_run(object_, def, p.type);
            p.rewritten = rewrite_ctx_accesses(def.prog, p.type, proof ? &*proof : nullptr);
            bind_maps(p.rewritten, maps_);
            check_helpers(p.rewritten, registry);
            p.program = vm::Program::prepare(p.rewritten, registry, vm::PrepareOptions{.checked = options_.checked});
            p.reads_packet_only = detail::reads_packet_only(p.rewritten, proof ? &*proof : nullptr, options_.checked);
        } catch (const Error& e) {
            p.error = fmt::format("{}: program {} (section {}): {}", object_.path, def.name, def.section, e.what());
        }
    }
    detail::choose_engines(programs_, options_, registry);
}

void LoadedObject::fill_prog_arrays() {
    auto install = [&](maps::Map& map, uint32_t slot, const PreparedProgram& p) {
        if (!p.program) throw Error(p.error);
        // The slot names the PreparedProgram (the tail-call hooks pick the engine's form from it) and
        // keeps its interpreter form alive; the PreparedProgram itself lives as long as this object.
        const int err = map.as_prog_array()->set_program(slot, std::shared_ptr<const void>(p.program, &p), p.id);
        if (err != 0)
            throw Error(fmt::format("{}: prog array {}: key {} out of bounds for program {}", object_.path,
                                    map.spec().name, slot, p.def->name));
    };
    for (size_t m = 0; m < object_.maps.size(); ++m) {
        for (const auto& entry : object_.maps[m].prog_array_init) {
            const uint32_t slot = entry.first;
            const std::string& name = entry.second;
            auto it = std::find_if(programs_.begin(), programs_.end(), [&](const PreparedProgram& p) { return p.def->name == name; });
            if (it == programs_.end())
                throw Error(fmt::format("{}: prog array {} slot {} names program {}, which the object lacks",
                                        object_.path, object_.maps[m].name, slot, name));
            install(*maps_[m], slot, *it);
        }
    }
    for (const PreparedProgram& p : programs_) {
        uint32_t map_id = 0, key = 0;
        if (!p.def->tail_call_slot(map_id, key)) continue;
        for (size_t m = 0; m < object_.maps.size(); ++m)
            if (object_.maps[m].type == maps::kMapProgArray && object_.maps[m].id == map_id) install(*maps_[m], key, p);
    }
}

maps::Map* LoadedObject::map(std::string_view name) const {
    for (const auto& m : maps_)
        if (m->spec().name == name) return m.get();
    for (size_t i = 0; i < object_.maps.size(); ++i)
        if (object_.maps[i].name == name) return maps_[i].get();
    return nullptr;
}

const PreparedProgram& LoadedObject::select(std::string_view sec_or_name) const {
    const loader::ProgramDef& def = loader::find_program(object_, sec_or_name);
    const PreparedProgram& p = programs_[static_cast<size_t>(&def - object_.programs.data())];
    if (!p.program) throw Error(p.error);
    return p;
}

bool LoadedObject::map_memory_allows(uint64_t addr, uint64_t size, bool write) const {
    for (const auto& m : maps_) {
        const std::span<uint8_t> mem = m->memory();
        const auto begin = reinterpret_cast<uint64_t>(mem.data());
        if (addr < begin || addr - begin > mem.size() || size > mem.size() - (addr - begin)) continue;
        return !(write && (m->spec().map_flags & maps::kFRdonlyProg));
    }
    return false;
}

maps::ProgArray* LoadedObject::prog_array_at(uint64_t map_address) const {
    for (const auto& m : maps_)
        if (reinterpret_cast<uint64_t>(m.get()) == map_address) return m->as_prog_array();
    return nullptr;
}

}  // namespace tcbpf::runtime
