// Loading tc programs and running them on a pipeline's skbs.
//
// eBPF programs run on the runtime's prepared program with the skb the pipeline owns: the context is
// filled from it (skb::sync_in), the program runs, the writable fields go back (skb::sync_out). In
// checked mode the packet, the context and the object's maps are the only memory it may touch. Classic
// programs run in the cBPF interpreter on the same skb's view (cls-act-semantics.md §7): a fault there
// returns 0, as the kernel's converted program does.
#include "tc/program.h"

#include <atomic>

#include <fmt/format.h>

#include "tcbpf/helpers.h"
#include "tcbpf/loader.h"

namespace tcbpf::tc {

namespace {

std::atomic<uint32_t> next_program_id{1};

bool object_memory(vm::Context* cx, uint64_t addr, uint64_t size, bool write) {
    const auto* object = static_cast<const runtime::LoadedObject*>(cx->host);
    return object != nullptr && object->map_memory_allows(addr, size, write);
}

}  // namespace

std::shared_ptr<TcProgram> TcProgram::load(const ProgramSource& source, skb::ProgType type) {
    auto program = std::make_shared<TcProgram>();
    program->id_ = next_program_id++;
    if (source.kind != ProgramSource::Kind::Object) {
        cbpf::check(source.bytecode);
        program->bytecode_ = source.bytecode;
        return program;
    }
    runtime::LoadOptions options;
    options.type = type == skb::ProgType::Action ? loader::ProgType::Action : loader::ProgType::Classifier;
    program->object_ = runtime::LoadedObject::load(loader::load_object(source.object), options);
    const std::string wanted = !source.program.empty() ? source.program
                               : !source.section.empty() ? source.section
                               : type == skb::ProgType::Action ? "action" : "classifier";
    // tc's own default sections; clang objects written for libbpf name theirs `tc`, which tc's
    // libbpf loader also finds when no section is given.
    const runtime::PreparedProgram* chosen = nullptr;
    try {
        chosen = &program->object_->select(wanted);
    } catch (const Error&) {
        if (!source.section.empty() || !source.program.empty()) throw;
        chosen = &program->object_->select("tc");
    }
    program->prepared_ = chosen;
    program->function_ = chosen->def->name;
    return program;
}

int32_t TcProgram::run(Skb& s, RunScratch& scratch, bool at_ingress) const {
    if (!object_) {
        cbpf::Packet view;
        view.data = s.packet.bytes();
        view.network_offset = static_cast<uint32_t>(s.packet.network_header().value_or(14));
        view.protocol = s.meta.protocol;
        view.pkt_type = s.meta.pkt_type;
        view.ifindex = s.meta.ifindex;
        view.mark = s.meta.mark;
        view.queue_mapping = s.meta.queue_mapping;
        view.rxhash = s.meta.hash;
        view.cpu = scratch.cpu;
        view.vlan_tci = s.meta.vlan_tci;
        view.vlan_present = s.meta.vlan_present;
        view.vlan_tpid = s.meta.vlan_proto;
        return static_cast<int32_t>(cbpf::run(bytecode_, view));
    }
    skb::SkbContext& ctx = scratch.ctx;
    ctx = skb::SkbContext{};
    skb::sync_in(s.meta, s.packet, ctx);
    helpers::RunEnv env;
    env.packet = &s.packet;
    env.meta = &s.meta;
    env.ctx = &ctx;
    env.tc_ingress = at_ingress;
    vm::Context& cx = scratch.cx;
    cx.user = &env;
    cx.host = object_.get();
    cx.cpu = scratch.cpu;
    cx.fault = vm::Fault::None;
    cx.tail_calls_done = 0;
    const vm::Program& program = *prepared_->program;
    if (program.checked()) {
        cx.regions.clear();
        const uint8_t* meta = s.packet.meta();
        cx.regions.push_back(vm::Region{reinterpret_cast<uint64_t>(meta),
                                        static_cast<uint64_t>(s.packet.end() - meta), true, helpers::kPacketRegion});
        cx.regions.push_back(vm::Region{reinterpret_cast<uint64_t>(&ctx), sizeof ctx, true, "ctx"});
        cx.extra_region = object_memory;
    }
    const uint64_t r0 = program.run(cx, reinterpret_cast<uint64_t>(&ctx));
    skb::sync_out(ctx, s.meta);
    // A checked-mode fault stops the program as the kernel's exception path would: r0 = 0.
    if (cx.fault != vm::Fault::None) return 0;
    return static_cast<int32_t>(static_cast<uint32_t>(r0));
}

}  // namespace tcbpf::tc
