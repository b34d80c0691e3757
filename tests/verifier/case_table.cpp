// Reading the case table (format in case_table.h). Strictness matters more than convenience here: a
// typo in a field must fail loudly, or a case would silently test something other than what it says.
#include "tests/verifier/case_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tcbpf/asm.h"
#include "tcbpf/error.h"

namespace tcbpf::verifier::test {
namespace {

struct MapKind {
    const char* name;
    uint32_t type;
};
// uapi BPF_MAP_TYPE_* numbers.
constexpr MapKind kMapKinds[] = {
    {"hash", 1},       {"array", 2},          {"prog_array", 3}, {"perf_event_array", 4},
    {"percpu_hash", 5}, {"percpu_array", 6},  {"lru_hash", 9},   {"lpm_trie", 11},
    {"ringbuf", 27},
};

constexpr uint32_t kRdonlyProg = 0x80;   // BPF_F_RDONLY_PROG
constexpr uint32_t kWronlyProg = 0x100;  // BPF_F_WRONLY_PROG
constexpr uint32_t kNoPrealloc = 0x1;    // BPF_F_NO_PREALLOC (an LPM trie requires it)

std::string trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(" \t\r");
    return std::string(s.substr(b, e - b + 1));
}

[[noreturn]] void fail(const std::string& file, size_t line, const std::string& why) {
    throw Error(fmt::format("{}:{}: {}", file, line, why));
}

uint32_t parse_u32(const std::string& word, const std::string& file, size_t line) {
    try {
        size_t used = 0;
        unsigned long v = std::stoul(word, &used, 0);
        if (used == word.size() && v <= UINT32_MAX) return static_cast<uint32_t>(v);
    } catch (const std::exception&) {
    }
    fail(file, line, fmt::format("'{}' is not a 32-bit unsigned number", word));
}

// "hash key 4 value 16 entries 8 [rdonly|wronly]"
CaseMap parse_map(const std::string& spec, const std::string& file, size_t line) {
    std::istringstream in(spec);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    if (words.size() < 7 || words[1] != "key" || words[3] != "value" || words[5] != "entries")
        fail(file, line, fmt::format("map '{}': expected KIND key N value N entries N [rdonly|wronly]", spec));
    CaseMap m;
    m.kind = words[0];
    auto kind = std::find_if(std::begin(kMapKinds), std::end(kMapKinds),
                             [&](const MapKind& k) { return m.kind == k.name; });
    if (kind == std::end(kMapKinds)) fail(file, line, fmt::format("unknown map kind '{}'", m.kind));
    m.type = kind->type;
    m.key_size = parse_u32(words[2], file, line);
    m.value_size = parse_u32(words[4], file, line);
    m.max_entries = parse_u32(words[6], file, line);
    if (m.kind == "lpm_trie") m.flags |= kNoPrealloc;
    for (size_t i = 7; i < words.size(); ++i) {
        if (words[i] == "rdonly") m.flags |= kRdonlyProg;
        else if (words[i] == "wronly") m.flags |= kWronlyProg;
        else fail(file, line, fmt::format("unknown map flag '{}'", words[i]));
    }
    return m;
}

std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'n') {
            out += '\n';
            ++i;
        } else {
            out += s[i];
        }
    }
    return out;
}

void finish(Case& c, bool have_verdict, std::vector<Case>& out) {
    if (!have_verdict) fail(c.file, c.line, fmt::format("case '{}' has no accept/reject line", c.name));
    if (c.text.empty()) fail(c.file, c.line, fmt::format("case '{}' has no program", c.name));
    try {
        assemble_case(c);
    } catch (const Error& e) {
        fail(c.file, c.line, fmt::format("case '{}': {}", c.name, e.what()));
    }
    out.push_back(std::move(c));
}

void load_file(const std::filesystem::path& path, std::vector<Case>& out) {
    std::ifstream in(path);
    const std::string file = path.filename().string();
    if (!in) throw Error(fmt::format("{}: cannot open", path.string()));
    std::optional<Case> current;
    bool have_verdict = false;
    size_t line_no = 0;
    for (std::string raw; std::getline(in, raw);) {
        ++line_no;
        if (!raw.empty() && (raw[0] == ' ' || raw[0] == '\t')) {
            if (trim(raw).empty()) continue;
            if (!current || !have_verdict) fail(file, line_no, "program line before a case's verdict line");
            current->text += trim(raw) + "\n";
            continue;
        }
        std::string line = trim(raw);
        if (line.empty() || line[0] == '#') continue;
        if (line.rfind("case:", 0) == 0) {
            if (current) finish(*current, have_verdict, out);
            current.emplace();
            current->name = trim(line.substr(5));
            current->file = file;
            current->line = line_no;
            have_verdict = false;
            if (current->name.empty()) fail(file, line_no, "case without a name");
            continue;
        }
        if (!current) fail(file, line_no, "field before the first 'case:' line");
        if (!current->text.empty()) fail(file, line_no, "field after the program (indent program lines)");
        Case& c = *current;
        if (line == "accept") {
            c.accept = true;
            have_verdict = true;
        } else if (line.rfind("reject ", 0) == 0) {
            size_t colon = line.find(':');
            if (colon == std::string::npos) fail(file, line_no, "expected 'reject N: message'");
            c.accept = false;
            std::string where = trim(line.substr(7, colon - 7));
            c.any_insn = where == "any";
            if (!c.any_insn) c.insn_idx = parse_u32(where, file, line_no);
            c.message = unescape(trim(line.substr(colon + 1)));
            if (c.message.empty()) fail(file, line_no, "a rejection needs its message fragment");
            have_verdict = true;
        } else if (line.rfind("type:", 0) == 0) {
            std::string t = trim(line.substr(5));
            if (t == "cls") c.type = CaseProgType::Classifier;
            else if (t == "act") c.type = CaseProgType::Action;
            else if (t == "raw") c.type = CaseProgType::Raw;
            else if (t.rfind("raw ", 0) == 0) {
                c.type = CaseProgType::Raw;
                c.raw_memory_size = parse_u32(trim(t.substr(4)), file, line_no);
            }
            else fail(file, line_no, fmt::format("unknown program type '{}' (cls, act, raw)", t));
        } else if (line.rfind("map:", 0) == 0) {
            c.maps.push_back(parse_map(trim(line.substr(4)), file, line_no));
        } else if (line.rfind("license:", 0) == 0) {
            c.license = trim(line.substr(8));
        } else if (line.rfind("strict:", 0) == 0) {
            std::string v = trim(line.substr(7));
            if (v != "yes" && v != "no") fail(file, line_no, "strict: yes or no");
            c.strict = v == "yes";
        } else if (line.rfind("btf:", 0) == 0) {
            std::string v = trim(line.substr(4));
            if (v != "yes" && v != "no") fail(file, line_no, "btf: yes or no");
            c.btf = v == "yes";
        } else if (line.rfind("kernel:", 0) == 0) {
            std::string v = trim(line.substr(7));
            if (v.rfind("no", 0) != 0 || trim(v.substr(2)).empty())
                fail(file, line_no, "expected 'kernel: no (reason)'");
            c.kernel_skip = trim(v.substr(2));
        } else {
            fail(file, line_no, fmt::format("unknown line '{}'", line));
        }
    }
    if (current) finish(*current, have_verdict, out);
}

// The header grows options as the verifier learns rules; a case needing one not there yet is skipped
// (options_gap) rather than run without it.
template <typename O>
constexpr bool kHasStrict = requires(O o) { o.strict = true; };
template <typename O>
constexpr bool kHasLicense = requires(O o) { o.gpl_compatible = true; };
template <typename O>
constexpr bool kHasBtf = requires(O o) { o.btf_func_info = true; };
template <typename O>
constexpr bool kHasRaw = requires(O o) { o.raw_memory_size = 1u; };

// The kernel's license_is_gpl_compatible list.
bool gpl_compatible(const std::string& license) {
    for (const char* l : {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL",
                          "Dual MPL/GPL"})
        if (license == l) return true;
    return false;
}

template <typename O>
void apply_mode(const Case& c, O& options) {
    if constexpr (kHasStrict<O>) options.strict = c.strict;
    if constexpr (kHasBtf<O>) options.btf_func_info = c.btf;
    if constexpr (kHasLicense<O>) options.gpl_compatible = gpl_compatible(c.license);
    if constexpr (kHasRaw<O>) {
        if (c.type == CaseProgType::Raw) options.raw_memory_size = c.raw_memory_size;
    }
}

}  // namespace

std::vector<Case> load_cases(const std::string& dir) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.path().extension() == ".cases") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    if (files.empty()) throw Error(fmt::format("{}: no .cases files", dir));
    std::vector<Case> cases;
    for (const auto& f : files) load_file(f, cases);
    std::set<std::string> names;
    for (const Case& c : cases)
        if (!names.insert(test_name(c.name)).second)
            fail(c.file, c.line, fmt::format("duplicate case name '{}'", c.name));
    return cases;
}

std::map<std::string, std::string> load_known_gaps(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(fmt::format("{}: cannot open", path));
    std::map<std::string, std::string> gaps;
    size_t line_no = 0;
    for (std::string raw; std::getline(in, raw);) {
        ++line_no;
        std::string line = trim(raw);
        if (line.empty() || line[0] == '#') continue;
        size_t bar = line.find('|');
        if (bar == std::string::npos || trim(line.substr(0, bar)).empty() || trim(line.substr(bar + 1)).empty())
            fail(path, line_no, "expected 'case name | reason'");
        gaps[trim(line.substr(0, bar))] = trim(line.substr(bar + 1));
    }
    return gaps;
}

isa::Program assemble_case(const Case& c) {
    return isa::assemble(c.text, fmt::format("{}:{} ({})", c.file, c.line, c.name));
}

isa::Program with_map_fds(isa::Program prog, const std::vector<int>& fds) {
    constexpr uint8_t kMapFd = 1, kMapValue = 2, kMapIdx = 5, kMapIdxValue = 6;
    for (isa::Insn& insn : prog.insns) {
        if (insn.op != isa::Op::LDDW || (insn.src != kMapIdx && insn.src != kMapIdxValue)) continue;
        size_t idx = static_cast<uint32_t>(insn.imm);
        if (idx >= fds.size()) continue;  // left as is: the verifiers reject the bad index themselves
        insn.src = insn.src == kMapIdx ? kMapFd : kMapValue;
        insn.imm = fds[idx];
        insn.imm64 = (insn.imm64 & ~uint64_t{0xffffffff}) | static_cast<uint32_t>(fds[idx]);
    }
    return prog;
}

Options case_options(const Case& c, const std::vector<int>& fds) {
    Options options;
    options.prog_type = c.type == CaseProgType::Action ? skb::ProgType::Action : skb::ProgType::Classifier;
    apply_mode<Options>(c, options);
    for (size_t i = 0; i < c.maps.size(); ++i) {
        const CaseMap& m = c.maps[i];
        options.maps.push_back(MapInfo{m.type, m.key_size, m.value_size, m.max_entries, m.flags,
                                       i < fds.size() ? fds[i] : -1});
    }
    return options;
}

std::string options_gap(const Case& c) {
    if (c.strict && !kHasStrict<Options>) return "verifier::Options has no strict mode yet";
    if (c.btf && !kHasBtf<Options>) return "verifier::Options has no BTF function info yet";
    if (!gpl_compatible(c.license) && !kHasLicense<Options>) return "verifier::Options has no license yet";
    if (c.type == CaseProgType::Raw && !kHasRaw<Options>) return "verifier::Options has no raw type yet";
    return {};
}

std::optional<uint32_t> kernel_prog_type(const Case& c) {
    switch (c.type) {
        case CaseProgType::Classifier: return 3;  // BPF_PROG_TYPE_SCHED_CLS
        case CaseProgType::Action: return 4;      // BPF_PROG_TYPE_SCHED_ACT
        case CaseProgType::Raw: return std::nullopt;
    }
    return std::nullopt;
}

std::string test_name(const std::string& case_name) {
    std::string out;
    for (char ch : case_name) {
        bool word = std::isalnum(static_cast<unsigned char>(ch));
        if (word) out += ch;
        else if (!out.empty() && out.back() != '_') out += '_';
    }
    while (!out.empty() && out.back() == '_') out.pop_back();
    return out;
}

}  // namespace tcbpf::verifier::test
