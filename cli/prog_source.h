// Where a command's program comes from, in tc's words: an object file `OBJ [sec NAME] [type T]`, or
// classic BPF as tc takes it — `bytecode STRING`, `bytecode-file FILE` — or, beyond tc, a libpcap
// `filter EXPRESSION` (compiled for Ethernet as tcpdump would); classic BPF may be followed by
// `type classifier|action`. Shared by prog run/dump and prog verify.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tcbpf/cbpf.h"
#include "tcbpf/loader.h"

namespace tcbpf::cli {

// tc's positional keywords after an object: `sec NAME` and (when allow_type) `type classifier|action`.
struct Selection {
    std::string object, section;
    std::optional<loader::ProgType> type;
};
Selection parse_selection(const std::vector<std::string>& words, bool allow_type);

struct ProgramSource {
    loader::Object object;  // loaded from the file, or one program converted from classic BPF
    std::string section;    // what to select ("" = the default program)
    std::optional<loader::ProgType> type;
    std::optional<cbpf::Program> classic;  // the classic program, when the source was one
    // Classic BPF only: tcbpf's verifier proved the converted program safe (it may run unchecked).
    bool verified = false;
    std::string verifier_message;  // why not, when it did not
};

// Throws CLI::ValidationError for misplaced keywords and tcbpf::Error for what the source itself gets
// wrong (an unreadable file, bad bytecode, libpcap's message, a checker refusal).
ProgramSource resolve_program_source(const std::vector<std::string>& words, bool allow_type);

}  // namespace tcbpf::cli
