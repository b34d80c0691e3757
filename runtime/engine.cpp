// One engine per object. A program the JIT refuses (jit::Unsupported) sends every program of the object
// to the interpreter: a JIT program's bpf_tail_call continues in another program's native code, so a
// prog array cannot mix engines (the kernel refuses such mixes too, in prog_array_compatible). With
// fallback disabled the refusal becomes that program's preparation error instead, and the others keep
// their native code. Failing to map code memory is never a reason to fall back: it propagates.
#include "runtime/engine.h"

#include <fmt/format.h>

namespace tcbpf::runtime {

const char* engine_name(Engine engine) { return engine == Engine::Jit ? "jit" : "interp"; }

namespace detail {

void choose_engines(std::span<PreparedProgram> programs, const LoadOptions& options, const vm::HelperRegistry& helpers) {
    if (options.checked || options.engine != Engine::Jit) return;  // every program stays on the interpreter
    std::string refusal;  // the first program the JIT refused, with its reason
    for (PreparedProgram& p : programs) {
        if (!p.program) continue;
        try {
            p.native = jit::Program::compile(p.rewritten, helpers, options.jit);
            p.engine = Engine::Jit;
        } catch (const jit::Unsupported& e) {
            const std::string reason = fmt::format("program {}: {}", p.def->name, e.what());
            if (!options.jit_fallback) {
                p.program.reset();
                p.error = reason + " (fallback to the interpreter disabled)";
            } else if (refusal.empty()) {
                refusal = reason;
            }
        }
    }
    if (refusal.empty()) return;
    for (PreparedProgram& p : programs) {
        if (!p.program) continue;
        p.native.reset();
        p.engine = Engine::Interp;
        p.fallback = refusal;
    }
}

}  // namespace detail
}  // namespace tcbpf::runtime
