// Pipeline replicas sharing program instances (tc/shared_loads.h explains the mechanism).
#include "tc/shared_loads.h"

#include <fmt/format.h>

#include "tc/pipeline_state.h"
#include "tcbpf/error.h"

namespace tcbpf::tc {

namespace {
thread_local SharedLoads::Impl* active = nullptr;
}  // namespace

SharedLoads::SharedLoads() : impl(std::make_unique<Impl>()) {}
SharedLoads::~SharedLoads() = default;

SharedLoads::Impl* active_shared_loads() { return active; }

std::shared_ptr<TcProgram> shared_load(const std::string& identity, const std::function<std::shared_ptr<TcProgram>()>& load) {
    SharedLoads::Impl* s = active;
    if (s == nullptr) return load();
    if (!s->recorded) {
        s->entries.push_back({load(), identity});
        return s->entries.back().program;
    }
    if (s->next >= s->entries.size() || s->entries[s->next].identity != identity)
        throw Error(fmt::format("replica asked for program {} the recorded command did not load", identity));
    return s->entries[s->next++].program;
}

void Pipeline::apply(const Command& command, SharedLoads& loads) {
    SharedLoads::Impl& impl = *loads.impl;
    struct Activation {
        explicit Activation(SharedLoads::Impl* s) { active = s; }
        ~Activation() { active = nullptr; }
    } activation(&impl);
    impl.next = 0;
    try {
        apply(command);
    } catch (...) {
        if (!impl.recorded) impl.entries.clear();  // a failed first apply leaves nothing to replay
        throw;
    }
    impl.recorded = true;
}

}  // namespace tcbpf::tc
