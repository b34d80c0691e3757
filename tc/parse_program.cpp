// The bpf MODE_SPEC tc shares between the classifier and the action (lib/bpf_legacy.c bpf_parse):
// bytecode|bc, bytecode-file|bcf, object-file|obj with [type] [section] [program] [export] [verbose] in
// that order, object-pinned|pinned|fd — and tcbpf's `expression EXPR` (a libpcap filter compiled to
// classic BPF, as `tcpdump -ddd EXPR` would feed bytecode-file).
#include <fmt/format.h>

#include "tc/parse.h"
#include "tcbpf/error.h"

namespace tcbpf::tc::detail {

std::string read_text_file(const std::string& path);

ProgramSource parse_program_source(Words& w) {
    ProgramSource s;
    const std::string& mode = w.take();
    if (matches(mode, "bytecode") || mode == "bc") {
        s.kind = ProgramSource::Kind::Bytecode;
    } else if (matches(mode, "bytecode-file") || mode == "bcf") {
        s.kind = ProgramSource::Kind::BytecodeFile;
    } else if (matches(mode, "object-file") || mode == "obj") {
        s.kind = ProgramSource::Kind::Object;
    } else if (matches(mode, "object-pinned") || matches(mode, "pinned") || matches(mode, "fd")) {
        fail("tcbpf: pinned programs (object-pinned) are not supported; load the object with \"obj FILE\"");
    } else if (matches(mode, "expression")) {
        s.kind = ProgramSource::Kind::Expression;
    } else {
        fail(fmt::format("What mode is \"{}\"?", mode));
    }
    const std::string& arg = w.value(mode);
    switch (s.kind) {
        case ProgramSource::Kind::Bytecode:
            s.text = arg;
            s.bytecode = cbpf::parse_bytecode(arg);
            return s;
        case ProgramSource::Kind::BytecodeFile:
            s.text = arg;
            s.bytecode = cbpf::parse_bytecode_file(read_text_file(arg), arg);
            return s;
        case ProgramSource::Kind::Expression:
            s.text = arg;
            s.bytecode = cbpf::compile_filter(arg);
            return s;
        case ProgramSource::Kind::Object: break;
    }
    s.object = arg;
    if (!w.done() && matches(w.peek(), "section")) {
        w.take();
        s.section = w.value("section");
    }
    if (!w.done() && w.peek() == "program") {
        w.take();
        s.program = w.value("program");
    }
    if (!w.done() && matches(w.peek(), "export")) {
        w.take();
        w.value("export");
        fail("tcbpf: \"export\" (map fds over a Unix socket) is not supported; pin the maps instead");
    }
    if (!w.done() && matches(w.peek(), "verbose")) {
        w.take();
        s.verbose = true;
    }
    return s;
}

}  // namespace tcbpf::tc::detail

namespace tcbpf::tc {

std::string ProgramSource::annotation() const {
    if (kind != Kind::Object) return {};
    const size_t slash = object.rfind('/');
    const std::string base = slash == std::string::npos ? object : object.substr(slash + 1);
    return fmt::format("{}:[{}]", base, !program.empty() ? program : section.empty() ? "classifier" : section);
}

}  // namespace tcbpf::tc
