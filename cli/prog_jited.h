// `tcbpf prog dump OBJ [sec NAME] jited`: the program as the JIT compiles it (after the context rewrite
// and map binding), its x86-64 code disassembled by capstone under each eBPF instruction it came from.
#pragma once

#include <string>

#include "tcbpf/loader.h"

namespace tcbpf::cli {

// The whole listing as text; throws tcbpf::Error when the section, loading or compilation fails.
std::string dump_jited(loader::Object object, const std::string& section);

}  // namespace tcbpf::cli
