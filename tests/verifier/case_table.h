// The verifier's specification as a table of small programs (tests/verifier/cases/*.cases), read by the
// unit runner (our verifier), the kernel runner (the running kernel must give the same verdict and print
// the same message fragment) and the soundness fuzzer (as seeds).
//
// File format, one case after another:
//
//   # a comment line
//   case: lookup result used without a null check
//   type: cls                          cls (default) | act | raw [BYTES] (r1 = BYTES of memory, 64 default)
//   map: hash key 4 value 16 entries 8  one line per map, referenced in order as map[idx:0], map[idx:1], ...
//                                      (array hash percpu_array percpu_hash lru_hash prog_array
//                                      perf_event_array ringbuf lpm_trie; optional trailing rdonly|wronly)
//   license: Proprietary               default GPL
//   strict: yes                        the unprivileged rules on top (issue #4 item 2)
//   btf: yes                           the program comes with BTF function info, as clang's objects do
//   kernel: no (why)                   tcbpf's own rule or message: no kernel comparison
//   reject 7: R0 invalid mem access 'map_value_or_null'
//       r2 = *(u32 *)(r1 + 8)          the program, indented, in the assembler's syntax (tcbpf/asm.h)
//       ...
//
// The verdict line is `accept` or `reject N: FRAGMENT` (N the rejected instruction, FRAGMENT the exact
// text the message must contain; `\n` stands for a line break inside it). `reject any: FRAGMENT` is for
// whole-program verdicts such as the processed-instruction budget, where which instruction happened to
// be the last one processed depends on the exploration order.
//
// cases/known_gaps.txt lists cases tcbpf does not get right yet, one per line as `NAME | reason`: the
// runner reports them as skipped with the reason while tcbpf's verdict still differs, so each turns on
// by itself when the verifier learns the rule (the line should then be removed). A reason starting
// "slow:" skips the case without running it (tcbpf takes minutes on it; the kernel runner still runs it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tcbpf/isa.h"
#include "tcbpf/verifier.h"

namespace tcbpf::verifier::test {

enum class CaseProgType { Classifier, Action, Raw };

struct CaseMap {
    std::string kind;  // as written: "array", "hash", ...
    uint32_t type = 0;  // BPF_MAP_TYPE_*
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t flags = 0;
};

struct Case {
    std::string name;
    std::string file;  // "stack.cases"
    size_t line = 0;   // of the `case:` line
    CaseProgType type = CaseProgType::Classifier;
    uint32_t raw_memory_size = 64;
    std::vector<CaseMap> maps;
    std::string license = "GPL";
    bool strict = false;
    bool btf = false;  // BTF function info present
    std::string kernel_skip;  // non-empty: why the kernel is not asked
    bool accept = true;
    size_t insn_idx = 0;
    bool any_insn = false;  // `reject any:`
    std::string message;  // the fragment a rejection contains
    std::string text;     // the program
};

// Reads every *.cases file in `dir` (sorted by name). Throws tcbpf::Error "FILE:LINE: reason" on any
// malformed line, unknown field, program that does not assemble, or duplicate case name.
std::vector<Case> load_cases(const std::string& dir);

// cases/known_gaps.txt: case name → reason. Throws on a malformed line.
std::map<std::string, std::string> load_known_gaps(const std::string& path);

// The program with its maps referenced by index (map[idx:N]).
isa::Program assemble_case(const Case& c);

// The same program with every map reference rewritten to the given file descriptors (map[fd:N]), as the
// kernel needs without an fd_array.
isa::Program with_map_fds(isa::Program prog, const std::vector<int>& fds);

// What the case's own verifier options say (type, maps by index or by the given fds, license, strict).
Options case_options(const Case& c, const std::vector<int>& fds = {});

// Empty when Options can express everything the case asks for; otherwise what is missing
// ("Options has no strict mode yet"), so the runner skips instead of testing the wrong thing.
std::string options_gap(const Case& c);

// The kernel's program type number (BPF_PROG_TYPE_SCHED_CLS/ACT); nullopt for raw.
std::optional<uint32_t> kernel_prog_type(const Case& c);

// "stack_write_below_the_frame": a GoogleTest-friendly name.
std::string test_name(const std::string& case_name);

}  // namespace tcbpf::verifier::test
