// A classic BPF program as a runnable object: converted to eBPF, checked by tcbpf's verifier, and
// wrapped in a loader::Object (one program, no maps) so runtime::LoadedObject runs it like any
// clang-compiled program — what the kernel does when tc hands it `bytecode`.
#pragma once

#include <string_view>

#include "tcbpf/cbpf.h"
#include "tcbpf/loader.h"
#include "tcbpf/verifier.h"

namespace tcbpf::cbpf {

struct ConvertedObject {
    loader::Object object;     // path and program name `name`, section "classifier" or "action"
    verifier::Result verdict;  // tcbpf's verifier on the converted program
    // Whether the verifier proved the converted program safe, so it may run unchecked (JIT). A
    // rejection means the verifier does not support something yet: run it checked.
    bool verified() const { return verdict.ok; }
};

// Checks and converts `prog` (throws Error as check() does) and verifies the result for `type`.
ConvertedObject to_object(const Program& prog, std::string_view name, loader::ProgType type = loader::ProgType::Classifier);

}  // namespace tcbpf::cbpf
