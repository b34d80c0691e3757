// SharedLoads' insides (include/tcbpf/tc.h). While a pipeline applies a command for a replica set,
// TcProgram::load goes through the active SharedLoads of the applying thread: the first replica loads
// and records, later ones take the recorded programs in order. A thread-local "active" pointer keeps
// the apply_* functions unaware of replicas: only Pipeline::apply(command, loads) sets it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "tcbpf/tc.h"

namespace tcbpf::tc {

class TcProgram;

struct SharedLoads::Impl {
    struct Entry {
        std::shared_ptr<TcProgram> program;
        std::string identity;  // what was asked for: replicas must ask for the same thing
    };
    std::vector<Entry> entries;
    bool recorded = false;  // a complete apply has filled `entries`: later applies replay them
};

// The SharedLoads active on this thread (nullptr outside Pipeline::apply(command, loads)).
SharedLoads::Impl* active_shared_loads();

// Loads through the active SharedLoads if there is one: `load` runs only when recording.
std::shared_ptr<TcProgram> shared_load(const std::string& identity, const std::function<std::shared_ptr<TcProgram>()>& load);

}  // namespace tcbpf::tc
