// Loading tc programs and running them on a pipeline's skbs.
//
// eBPF programs run through the runtime's loaded object on the skb the pipeline owns
// (LoadedObject::run_on_skb: tail calls, legacy packet loads, the JIT when the program runs unchecked,
// the checked interpreter's regions otherwise). Classic programs take the kernel's road: converted to
// eBPF, verified, and run the same way (a load past the packet or a division by a zero X returns 0 in
// the converted code, cls-act-semantics.md §7).
#include "tc/program.h"
#include "tc/shared_loads.h"

#include <atomic>

#include <fmt/format.h>

#include "tcbpf/cbpf_object.h"
#include "tcbpf/helpers.h"
#include "tcbpf/loader.h"

namespace tcbpf::tc {

namespace {

std::atomic<uint32_t> next_program_id{1};

}  // namespace

std::shared_ptr<TcProgram> TcProgram::load(const ProgramSource& source, skb::ProgType type,
                                           const runtime::LoadOptions& base) {
    if (active_shared_loads() == nullptr) return load_fresh(source, type, base);
    const std::string identity = fmt::format("{}:{}:{}:{}:{}:{}", static_cast<int>(type), static_cast<int>(source.kind),
                                             source.object, source.section, source.program, source.text);
    return shared_load(identity, [&] { return load_fresh(source, type, base); });
}

std::shared_ptr<TcProgram> TcProgram::load_fresh(const ProgramSource& source, skb::ProgType type,
                                                 const runtime::LoadOptions& base) {
    auto program = std::make_shared<TcProgram>();
    program->id_ = next_program_id++;
    runtime::LoadOptions options = base;
    options.type = type == skb::ProgType::Action ? loader::ProgType::Action : loader::ProgType::Classifier;
    if (source.kind != ProgramSource::Kind::Object) {
        program->classic_ = true;
        program->bytecode_ = source.bytecode;
        cbpf::ConvertedObject converted = cbpf::to_object(source.bytecode, "bytecode", *options.type);
        // A conversion the verifier cannot prove yet still runs, every access checked.
        if (!converted.verified()) options.checked = true;
        program->object_ = runtime::LoadedObject::load(std::move(converted.object), options);
        program->prepared_ = &program->object_->programs().front();
        if (program->prepared_->program == nullptr) throw Error(program->prepared_->error);
        return program;
    }
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

}  // namespace tcbpf::tc
