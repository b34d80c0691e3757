#include "cli/prog_source.h"

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "tcbpf/cbpf_object.h"

namespace tcbpf::cli {

namespace {

std::optional<loader::ProgType> parse_type(const std::string& value) {
    if (value == "classifier" || value == "cls") return loader::ProgType::Classifier;
    if (value == "action" || value == "act") return loader::ProgType::Action;
    throw CLI::ValidationError("type", "type must be classifier or action, not '" + value + "'");
}

bool is_classic_keyword(const std::string& word) {
    return word == "bytecode" || word == "bytecode-file" || word == "filter";
}

// `bytecode STRING | bytecode-file FILE | filter EXPRESSION... [type T]`. A filter expression may come
// as one argument or as several (joined with spaces), up to a trailing `type T`.
ProgramSource classic_source(std::vector<std::string> words, bool allow_type) {
    const std::string keyword = words[0];
    std::optional<loader::ProgType> type;
    if (allow_type && words.size() >= 4 && words[words.size() - 2] == "type") {
        type = parse_type(words.back());
        words.resize(words.size() - 2);
    }
    if (words.size() < 2) throw CLI::ValidationError(keyword, "'" + keyword + "' needs a value");
    std::string value = words[1];
    if (keyword == "filter") {
        for (size_t i = 2; i < words.size(); ++i) value += " " + words[i];
    } else if (words.size() > 2) {
        throw CLI::ValidationError(words[2], "unexpected '" + words[2] + "' after " + keyword +
                                                 (allow_type ? " (expected type T)" : ""));
    }
    const cbpf::Program prog = keyword == "bytecode"        ? cbpf::parse_bytecode(value)
                               : keyword == "bytecode-file" ? cbpf::parse_bytecode_file(read_file_text(value), value)
                                                            : cbpf::compile_filter(value);
    cbpf::ConvertedObject converted =
        cbpf::to_object(prog, keyword == "filter" ? "filter" : "bytecode", type.value_or(loader::ProgType::Classifier));
    ProgramSource source;
    source.object = std::move(converted.object);
    source.type = type;
    source.classic = prog;
    source.verified = converted.verified();
    source.verifier_message = converted.verdict.message;
    return source;
}

}  // namespace

Selection parse_selection(const std::vector<std::string>& words, bool allow_type) {
    if (words.empty()) throw CLI::ValidationError("OBJ", "an object file is required");
    Selection s{words[0], "", std::nullopt};
    for (size_t i = 1; i < words.size(); i += 2) {
        const std::string& keyword = words[i];
        if (i + 1 >= words.size()) throw CLI::ValidationError(keyword, "'" + keyword + "' needs a value");
        const std::string& value = words[i + 1];
        if (keyword == "sec" || keyword == "section") {
            s.section = value;
        } else if (keyword == "type" && allow_type) {
            s.type = parse_type(value);
        } else {
            throw CLI::ValidationError(keyword, "unknown keyword '" + keyword + "' (expected sec NAME" +
                                                    std::string(allow_type ? " or type T" : "") + ")");
        }
    }
    return s;
}

ProgramSource resolve_program_source(const std::vector<std::string>& words, bool allow_type) {
    if (!words.empty() && is_classic_keyword(words[0])) return classic_source(words, allow_type);
    const Selection sel = parse_selection(words, allow_type);
    ProgramSource source;
    source.object = loader::load_object(sel.object);
    source.section = sel.section;
    source.type = sel.type;
    return source;
}

}  // namespace tcbpf::cli
