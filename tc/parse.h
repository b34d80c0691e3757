// The parser's internal pieces, one file per command family (parse_command.cpp: qdisc, class, port;
// parse_filter.cpp; parse_action.cpp; parse_program.cpp: the bpf MODE_SPEC).
#pragma once

#include "tc/parse_util.h"
#include "tcbpf/tc_spec.h"

namespace tcbpf::tc::detail {

ProgramSource parse_program_source(Words& w);
FilterSpec parse_filter(Words& w, Verb verb);
// One `action KIND ...` list entry (after the `action` word); `in_filter` allows `goto chain`.
ActionSpec parse_action(Words& w);
ActionCommandSpec parse_actions_command(Words& w, Verb verb);
// action_a2n: a control word (with `goto chain N` / `jump N` taking the following words); nullopt
// when the word is not one (nothing consumed then).
std::optional<int32_t> parse_control(Words& w);
Verb parse_verb(const std::string& word, std::string_view object, bool allow_get);

}  // namespace tcbpf::tc::detail
