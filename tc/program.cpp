// Loading tc programs and running them on a pipeline's skbs.
//
// eBPF programs run through the runtime's loaded object on the skb the pipeline owns
// (LoadedObject::run_on_skb: tail calls, legacy packet loads, the JIT when the program runs unchecked,
// the checked interpreter's regions otherwise). Classic programs run in the cBPF interpreter on the
// same skb's view (cls-act-semantics.md §7): a fault there returns 0, as the kernel's converted program
// does.
#include "tc/program.h"

#include <atomic>

#include <fmt/format.h>

#include "tcbpf/helpers.h"
#include "tcbpf/loader.h"

namespace tcbpf::tc {

namespace {

std::atomic<uint32_t> next_program_id{1};

}  // namespace

std::shared_ptr<TcProgram> TcProgram::load(const ProgramSource& source, skb::ProgType type,
                                           const runtime::LoadOptions& base) {
    auto program = std::make_shared<TcProgram>();
    program->id_ = next_program_id++;
    if (source.kind != ProgramSource::Kind::Object) {
        cbpf::check(source.bytecode);
        program->bytecode_ = source.bytecode;
        return program;
    }
    runtime::LoadOptions options = base;
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
    scratch.env.tc_ingress = at_ingress;
    scratch.cx.cpu = scratch.cpu;
    return object_->run_on_skb(*prepared_, s.packet, s.meta, scratch.cx, scratch.ctx, scratch.env);
}

}  // namespace tcbpf::tc
