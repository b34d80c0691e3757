// A program as a classifier or action runs it: eBPF from an object (through the runtime's loaded
// object, maps included) or classic BPF (tc's bytecode, a bytecode file, a libpcap expression)
// converted to eBPF and run the same way. `run` returns r0 as the kernel's int; it never throws.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tc/skb_pool.h"
#include "tcbpf/helpers.h"
#include "tcbpf/runtime.h"
#include "tcbpf/tc_spec.h"
#include "tcbpf/vm.h"

namespace tcbpf::tc {

// What one run needs besides the skb; one per pipeline, reused by every run.
struct RunScratch {
    vm::Context cx;
    skb::SkbContext ctx;
    helpers::RunEnv env;
    uint32_t cpu = 0;
};

class TcProgram {
   public:
    // Loads and prepares the program `source` names, as tc would for a classifier or an action, with
    // the pipeline's load options (checked mode, engine). Throws tcbpf::Error (missing file or
    // section, a program the runtime refuses).
    static std::shared_ptr<TcProgram> load(const ProgramSource& source, skb::ProgType type,
                                           const runtime::LoadOptions& options);

    // At the ingress hook the kernel pushes the MAC header before the run; tcbpf holds packets from the
    // MAC header on at both hooks, so `at_ingress` matters only for what helpers do with checksums.
    // Inline: it is one step of every classification.
    int32_t run(Skb& skb, RunScratch& scratch, bool at_ingress) const {
        scratch.env.tc_ingress = at_ingress;
        scratch.cx.cpu = scratch.cpu;
        return object_->run_on_skb(*prepared_, skb.packet, skb.meta, scratch.cx, scratch.ctx, scratch.env);
    }

    bool classic() const { return classic_; }
    const cbpf::Program& bytecode() const { return bytecode_; }
    // "name PROGNAME" / "id N name F tag T" part of tc's show line.
    const std::string& function_name() const { return function_; }
    uint32_t id() const { return id_; }
    const runtime::LoadedObject* object() const { return object_.get(); }

   private:
    static std::shared_ptr<TcProgram> load_fresh(const ProgramSource& source, skb::ProgType type,
                                                 const runtime::LoadOptions& options);
    std::shared_ptr<runtime::LoadedObject> object_;
    const runtime::PreparedProgram* prepared_ = nullptr;
    cbpf::Program bytecode_;
    std::string function_;
    uint32_t id_ = 0;
    bool classic_ = false;
};

}  // namespace tcbpf::tc
