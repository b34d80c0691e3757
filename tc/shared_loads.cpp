// Pipeline replicas sharing program instances (tc/shared_loads.h explains the mechanism).
#include "tc/shared_loads.h"

#include <fmt/format.h>

#include "tc/pipeline_state.h"
#include "tcbpf/error.h"

namespace tcbpf::tc {

namespace {
// The loads this thread applies through and its place among the recorded ones. The place is the
// thread's own: live workers replay one command's loads at the same time, each from the start.
struct Replay {
    SharedLoads::Impl* loads = nullptr;
    size_t next = 0;
};
thread_local Replay active;
}  // namespace

SharedLoads::SharedLoads() : impl(std::make_unique<Impl>()) {}
SharedLoads::~SharedLoads() = default;

SharedLoads::Impl* active_shared_loads() { return active.loads; }

std::shared_ptr<TcProgram> shared_load(const std::string& identity, const std::function<std::shared_ptr<TcProgram>()>& load) {
    SharedLoads::Impl* s = active.loads;
    if (s == nullptr) return load();
    if (!s->recorded) {
        s->entries.push_back({load(), identity});
        return s->entries.back().program;
    }
    if (active.next >= s->entries.size() || s->entries[active.next].identity != identity)
        throw Error(fmt::format("replica asked for program {} the recorded command did not load", identity));
    return s->entries[active.next++].program;
}

void Pipeline::apply(const Command& command, SharedLoads& loads) {
    SharedLoads::Impl& impl = *loads.impl;
    struct Activation {
        explicit Activation(SharedLoads::Impl* s) { active = {s, 0}; }
        ~Activation() { active = {}; }
    } activation(&impl);
    try {
        apply(command);
    } catch (...) {
        if (!impl.recorded) impl.entries.clear();  // a failed first apply leaves nothing to replay
        throw;
    }
    if (!impl.recorded) impl.recorded = true;  // only the recording apply writes; replays only read
}

}  // namespace tcbpf::tc
