// Engine choice for a loaded object's prepared programs (the rules are in include/tcbpf/runtime.h).
#pragma once

#include <span>
#include <string_view>

#include "tcbpf/runtime.h"

namespace tcbpf::runtime::detail {

// Compiles every successfully prepared program when the options ask for the JIT on verified programs,
// or records the interpreter and why. Throws tcbpf::Error when code memory cannot be mapped.
void choose_engines(std::span<PreparedProgram> programs, const LoadOptions& options, const vm::HelperRegistry& helpers);

}  // namespace tcbpf::runtime::detail
