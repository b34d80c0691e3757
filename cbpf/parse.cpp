// The textual forms of cBPF that tc reads. tc's parser is sscanf-based and forgiving in ways that hide
// mistakes (a number too large for its field silently wraps); this one accepts the same texts that are
// well formed and names the tuple and field of anything else.
#include <charconv>

#include <fmt/format.h>

#include "tcbpf/cbpf.h"

namespace tcbpf::cbpf {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// A decimal field of at most `max`; k also takes negative 32-bit values (tc's %u turns -1 into
// 4294967295) and 0x-prefixed hex.
uint64_t parse_number(std::string_view field, uint64_t max, bool allow_negative, const std::string& where) {
    std::string_view digits = field;
    bool negative = false;
    if (allow_negative && !digits.empty() && digits.front() == '-') {
        negative = true;
        digits.remove_prefix(1);
    }
    int base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        base = 16;
        digits.remove_prefix(2);
    }
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
        throw Error(fmt::format("{}: '{}' is not a number", where, field));
    if (negative) {
        if (value > 0x80000000ull) throw Error(fmt::format("{}: {} is out of range", where, field));
        return static_cast<uint32_t>(-static_cast<int64_t>(value));
    }
    if (value > max) throw Error(fmt::format("{}: {} is larger than {}", where, field, max));
    return value;
}

}  // namespace

Program parse_bytecode(std::string_view text) {
    text = trim(text);
    const size_t comma = text.find(',');
    if (comma == std::string_view::npos)
        throw Error("bytecode: expected 'N,code jt jf k,...' (instruction count, then a comma)");
    const uint64_t count = parse_number(trim(text.substr(0, comma)), 0xffff, false, "bytecode: instruction count");
    if (count == 0 || count > kMaxInsns)
        throw Error(fmt::format("bytecode: instruction count {} is outside 1..{}", count, kMaxInsns));

    Program prog;
    std::string_view rest = text.substr(comma + 1);
    while (!rest.empty()) {
        const size_t end = rest.find(',');
        const std::string_view tuple = trim(rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
        if (tuple.empty()) {
            if (rest.empty()) break;  // a trailing comma
            throw Error(fmt::format("bytecode: instruction {} is empty", prog.size()));
        }
        if (prog.size() == count)
            throw Error(fmt::format("bytecode: more instructions than the count {} says", count));
        const std::string where = fmt::format("bytecode: instruction {}", prog.size());
        std::string_view fields[4];
        size_t n = 0;
        std::string_view t = tuple;
        while (!t.empty()) {
            const size_t sp = t.find_first_of(" \t");
            if (n == 4) throw Error(fmt::format("{}: '{}' has more than 4 fields (code jt jf k)", where, tuple));
            fields[n++] = t.substr(0, sp);
            t = sp == std::string_view::npos ? std::string_view{} : trim(t.substr(sp));
        }
        if (n != 4) throw Error(fmt::format("{}: '{}' needs 4 fields (code jt jf k)", where, tuple));
        Insn insn;
        insn.code = static_cast<uint16_t>(parse_number(fields[0], 0xffff, false, where + " code"));
        insn.jt = static_cast<uint8_t>(parse_number(fields[1], 0xff, false, where + " jt"));
        insn.jf = static_cast<uint8_t>(parse_number(fields[2], 0xff, false, where + " jf"));
        insn.k = static_cast<uint32_t>(parse_number(fields[3], 0xffffffff, true, where + " k"));
        prog.push_back(insn);
    }
    if (prog.size() != count)
        throw Error(fmt::format("bytecode: the count says {} instructions but {} follow", count, prog.size()));
    return prog;
}

Program parse_bytecode_file(std::string_view text, std::string_view name) {
    // tc joins the lines with commas; blank lines and comment-free tcpdump -ddd output both work.
    std::string joined;
    size_t line_start = 0;
    while (line_start <= text.size()) {
        size_t line_end = text.find('\n', line_start);
        if (line_end == std::string_view::npos) line_end = text.size();
        const std::string_view line = trim(text.substr(line_start, line_end - line_start));
        if (!line.empty()) {
            if (!joined.empty() && joined.back() != ',') joined += ',';
            joined += line;
        }
        line_start = line_end + 1;
    }
    try {
        return parse_bytecode(joined);
    } catch (const Error& e) {
        throw Error(fmt::format("{}: {}", name, e.what()));
    }
}

std::string format_bytecode(const Program& prog) {
    std::string out = fmt::format("{},", prog.size());
    for (const Insn& i : prog) out += fmt::format("{} {} {} {},", i.code, i.jt, i.jf, i.k);
    return out;
}

}  // namespace tcbpf::cbpf
