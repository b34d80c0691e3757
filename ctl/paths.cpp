// with_absolute_paths: a command's file arguments resolved where the command was typed, before it is
// sent to a daemon that runs in another directory (and saved into a batch file that must still work).
#include <algorithm>
#include <filesystem>

#include "tcbpf/daemon.h"

namespace tcbpf::ctl {

std::vector<std::string> with_absolute_paths(const std::vector<std::string>& words, const std::string& base) {
    std::vector<std::string> paths;  // the file arguments as the parser read them
    try {
        const tc::Command command = tc::parse_command(words);
        if (const auto* port = std::get_if<tc::PortSpec>(&command)) paths = {port->in, port->out, port->host};
        const auto add_program = [&](const tc::ProgramSource& p) {
            if (p.kind == tc::ProgramSource::Kind::Object) paths.push_back(p.object);
            if (p.kind == tc::ProgramSource::Kind::BytecodeFile) paths.push_back(p.text);
        };
        if (const auto* filter = std::get_if<tc::FilterSpec>(&command)) {
            add_program(filter->program);
            for (const tc::ActionSpec& a : filter->actions) add_program(a.program);
        }
        if (const auto* actions = std::get_if<tc::ActionCommandSpec>(&command))
            for (const tc::ActionSpec& a : actions->actions) add_program(a.program);
    } catch (const Error&) {
        return words;
    }
    // A word is a file argument when the parser read it as one and it follows a keyword that takes a file
    // (so a port named like its capture keeps its name).
    const auto takes_file = [](std::string_view k) {
        return k == "in" || k == "out" || k == "host" || k == "obj" || k == "bcf" || (k.size() >= 2 && std::string_view("object-file").starts_with(k)) ||
               (k.size() > 8 && std::string_view("bytecode-file").starts_with(k));
    };
    std::vector<std::string> out = words;
    for (size_t i = 1; i < out.size(); ++i)
        if (!out[i].empty() && out[i][0] != '/' && takes_file(words[i - 1]) && std::find(paths.begin(), paths.end(), out[i]) != paths.end())
            out[i] = (std::filesystem::path(base) / out[i]).lexically_normal().string();
    return out;
}

}  // namespace tcbpf::ctl
