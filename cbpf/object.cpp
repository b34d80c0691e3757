// cBPF → a loader::Object holding the converted program. The kernel never runs its verifier on converted
// cBPF (it trusts its own conversion); tcbpf does, because the verdict decides whether the program may
// run unchecked, and because a rejection of something the verifier supports is a conversion bug the
// tests catch.
#include "tcbpf/cbpf_object.h"

namespace tcbpf::cbpf {

ConvertedObject to_object(const Program& prog, std::string_view name, loader::ProgType type) {
    ConvertedObject out;
    loader::ProgramDef def;
    def.name = std::string(name);
    def.section = type == loader::ProgType::Action ? "action" : "classifier";
    def.default_type = type;
    def.prog = convert(prog);
    verifier::Options options;
    options.prog_type = type == loader::ProgType::Action ? skb::ProgType::Action : skb::ProgType::Classifier;
    out.verdict = verifier::verify(def.prog, options);
    out.object.path = std::string(name);
    out.object.programs.push_back(std::move(def));
    return out;
}

}  // namespace tcbpf::cbpf
