// `tcbpf prog verify OBJ [sec NAME] [type cls|act] [--log-level 0|1|2] [--json] [--strict]`: the verifier's
// verdict on an object's programs, as the kernel would give it at load time, without running anything.
//
// Every program of the object is verified (or only `sec NAME`), against all of the object's maps and its
// license. An accepted program prints what the verification cost (instructions processed, states
// explored, peak states, time); a rejected one prints what the kernel prints — the C source line where
// the object has BTF line info, the instruction with its index, the reason — and the command exits 1.
// Verification judges every helper whose prototype tcbpf knows, whether or not the runtime implements
// it: a program that verifies but calls helpers the runtime cannot run is "verified, not runnable",
// naming them.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/map_cli.h"
#include "cli/prog_source.h"
#include "tcbpf/asm.h"
#include "tcbpf/error.h"
#include "tcbpf/helpers.h"
#include "tcbpf/loader.h"
#include "tcbpf/runtime.h"
#include "tcbpf/verifier.h"
#include "tcbpf/vm.h"

namespace tcbpf::cli {
namespace {

using mapcmd::json_string;

struct VerifyArgs {
    std::vector<std::string> words;  // OBJ [sec NAME] [type T]
    int log_level = 0;
    bool json = false, strict = false;
};

std::string trimmed_source(const loader::LineInfo& line) {
    std::string_view text = line.source_line;
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    return std::string(text);
}

verifier::Options options_for(const loader::Object& object, const loader::ProgramDef& program,
                              std::optional<loader::ProgType> type, const VerifyArgs& a) {
    verifier::Options options;
    options.prog_type = type.value_or(program.default_type) == loader::ProgType::Action ? skb::ProgType::Action
                                                                                         : skb::ProgType::Classifier;
    for (const loader::MapDef& m : object.maps)
        options.maps.push_back(verifier::MapInfo{m.type, m.key_size, m.value_size, m.max_entries, m.map_flags});
    // Converted classic BPF has no license section; it calls no GPL-only helper either.
    options.gpl_compatible = object.license.empty() || runtime::license_is_gpl_compatible(object.license);
    options.strict = a.strict;
    options.btf_func_info = !program.funcs.empty();
    options.log_level = a.log_level;
    options.source_lines.resize(program.prog.size());
    for (const loader::LineInfo& line : program.lines)
        if (line.insn < options.source_lines.size()) options.source_lines[line.insn] = trimmed_source(line);
    return options;
}

// Helpers the verifier saw called that the runtime has no implementation of (tail calls are the
// interpreter's own), as "bpf_NAME#ID".
std::vector<std::string> unrunnable_helpers(const verifier::Result& r) {
    static const vm::HelperRegistry registry = [] {
        vm::HelperRegistry reg;
        helpers::register_tc_helpers(reg);
        return reg;
    }();
    std::vector<std::string> out;
    for (int32_t id : r.helpers_called) {
        if (id == vm::kHelperTailCall || registry.find(id) != nullptr) continue;
        std::string_view name = verifier::helper_name(id);
        out.push_back(fmt::format("bpf_{}#{}", name.empty() ? "unknown" : name, id));
    }
    return out;
}

struct Report {
    std::string text, json;
    bool ok = false;
};

Report verify_program(const loader::Object& object, const loader::ProgramDef& p,
                      std::optional<loader::ProgType> type, const VerifyArgs& a) {
    const verifier::Options options = options_for(object, p, type, a);
    const auto start = std::chrono::steady_clock::now();
    const verifier::Result r = verifier::verify(p.prog, options);
    const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
    const verifier::Stats& s = r.stats;
    Report out;
    out.ok = r.ok;
    std::string log = r.log;
    if (!log.empty() && log.back() != '\n') log += '\n';
    std::string json_error = "null";
    std::vector<std::string> missing;
    if (r.ok) {
        missing = unrunnable_helpers(r);
        out.text = fmt::format(
            "{}prog {} (section {}): verified, {} insns, {} insns processed, {} states explored, {} peak states "
            "({} bytes), {} usec\n",
            log, p.name, p.section, p.prog.size(), s.insns_processed, s.states_stored, s.peak_states, s.peak_bytes,
            usec);
        if (!missing.empty()) {
            std::string names;
            for (const std::string& m : missing) names += (names.empty() ? "" : ", ") + m;
            out.text += fmt::format("prog {}: not runnable: calls helpers tcbpf cannot run: {}\n", p.name, names);
        }
    } else {
        std::string where;
        std::string source, disasm;
        if (r.insn_idx < p.prog.size()) {
            disasm = isa::disassemble(p.prog.insns[r.insn_idx], r.insn_idx);
            if (const loader::LineInfo* line = loader::line_for(p, static_cast<uint32_t>(r.insn_idx))) {
                source = trimmed_source(*line);
                if (!source.empty()) where += fmt::format("; {} @ {}:{}\n", source, line->file, line->line);
            }
            std::vector<isa::RawInsn> raw;
            isa::encode_insn(p.prog.insns[r.insn_idx], raw);
            where += fmt::format("{}: ({:02x}) {}\n", r.insn_idx, raw.empty() ? 0 : raw[0].opcode, disasm);
        }
        // At log level 0 the message stands alone; at 1 and 2 the verifier's log already ends with it.
        out.text = log.empty() ? fmt::format("prog {} (section {}): rejected at insn {}\n{}{}\n", p.name, p.section,
                                             r.insn_idx, where, r.message)
                               : fmt::format("{}prog {} (section {}): rejected at insn {}: {}\n", log, p.name,
                                             p.section, r.insn_idx, r.message);
        json_error = fmt::format("{{\"insn\": {}, \"disasm\": {}, \"source\": {}, \"message\": {}}}", r.insn_idx,
                                 json_string(disasm), json_string(source), json_string(r.message));
    }
    std::string names;
    for (const std::string& m : missing) names += (names.empty() ? "" : ", ") + json_string(m);
    out.json = fmt::format(
        "{{\"name\": {}, \"section\": {}, \"insns\": {}, \"verified\": {}, \"runnable\": {}, "
        "\"unrunnable_helpers\": [{}], \"insns_processed\": {}, \"states_explored\": {}, \"peak_states\": {}, "
        "\"peak_bytes\": {}, \"stack_depth\": {}, \"time_usec\": {}, \"error\": {}, \"log\": {}}}",
        json_string(p.name), json_string(p.section), p.prog.size(), r.ok, r.ok && missing.empty(), names,
        s.insns_processed, s.states_stored, s.peak_states, s.peak_bytes, s.stack_depth, usec, json_error,
        json_string(r.log));
    return out;
}

void verify_command(const VerifyArgs& a) {
    const ProgramSource source = resolve_program_source(a.words, true);
    std::vector<const loader::ProgramDef*> programs;
    if (source.section.empty() && !source.classic) {
        for (const loader::ProgramDef& p : source.object.programs) programs.push_back(&p);
    } else {
        programs.push_back(&loader::find_program(source.object, source.section));
    }
    if (programs.empty()) throw Error(fmt::format("{}: no programs", source.object.path));
    std::string text, json;
    size_t rejected = 0;
    std::string first_rejection;
    for (const loader::ProgramDef* p : programs) {
        Report r = verify_program(source.object, *p, source.type, a);
        text += r.text;
        json += (json.empty() ? "" : ", ") + r.json;
        if (!r.ok && rejected++ == 0) first_rejection = p->name;
    }
    if (a.json)
        std::printf("{\"object\": %s, \"programs\": [%s]}\n", json_string(source.object.path).c_str(), json.c_str());
    else
        std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    if (rejected != 0)
        throw Error(fmt::format("{}: {} of {} programs rejected by the verifier (first: {})", source.object.path,
                                rejected, programs.size(), first_rejection));
}

}  // namespace

void add_prog_verify_command(CLI::App& prog) {
    auto a = std::make_shared<VerifyArgs>();
    auto* verify = prog.add_subcommand(
        "verify", "Verify an object's programs as the kernel would at load: OBJ [sec NAME] [type classifier|action]");
    verify->add_option("OBJ", a->words, "object file, then tc keywords: sec NAME, type classifier|action")
        ->required()
        ->expected(1, -1);
    verify->add_option("--log-level", a->log_level, "0: verdict only; 1: the failing path; 2: the state at every instruction")
        ->check(CLI::Range(0, 2));
    verify->add_flag("--json", a->json, "one JSON document");
    verify->add_flag("--strict", a->strict, "the unprivileged rules on top: no pointer leaks, no uninitialised stack reads");
    verify->callback([a] { verify_command(*a); });
}

}  // namespace tcbpf::cli
