// See merge_stats.h. Numbers are found by a small scanner rather than parsed per show format, so every
// show (qdisc, class, filter, actions, JSON) goes through the same rule.
#include "live/merge_stats.h"

#include <cctype>
#include <cstdint>
#include <set>
#include <string_view>

#include <fmt/format.h>

namespace tcbpf::live {

namespace {

const std::set<std::string_view> kCounterWords = {"Sent",       "bytes",     "dropped",   "overlimits", "requeues",
                                                  "backlog",    "lended:",   "borrowed:", "giants:"};
const std::set<std::string_view> kCounterMembers = {"bytes",    "packets", "drops",    "overlimits", "requeues",
                                                    "backlog",  "qlen",    "lended",   "borrowed",   "giants"};

struct Piece {
    std::string text;       // what precedes the number (the whole line's tail for the last piece)
    bool has_number = false;
    uint64_t number = 0;
    bool counter = false;
};

// The word before position `at` (punctuation such as "(" stripped from its front).
std::string_view word_before(std::string_view line, size_t at) {
    size_t end = at;
    while (end > 0 && line[end - 1] == ' ') --end;
    size_t start = end;
    while (start > 0 && line[start - 1] != ' ' && line[start - 1] != '(' && line[start - 1] != '{' && line[start - 1] != ',') --start;
    return line.substr(start, end - start);
}

std::vector<Piece> split(std::string_view line) {
    std::vector<Piece> pieces;
    Piece current;
    bool previous_counter = false;
    for (size_t i = 0; i < line.size();) {
        const bool starts_number = std::isdigit(static_cast<unsigned char>(line[i])) &&
                                   (i == 0 || !std::isalnum(static_cast<unsigned char>(line[i - 1]))) &&
                                   !(i > 0 && (line[i - 1] == 'x' || line[i - 1] == '.')) &&
                                   !(i > 1 && line[i - 1] == ':' && line[i - 2] != '"');  // "1:10", not "bytes":1
        if (!starts_number) {
            current.text += line[i++];
            continue;
        }
        size_t end = i;
        uint64_t value = 0;
        while (end < line.size() && std::isdigit(static_cast<unsigned char>(line[end]))) value = value * 10 + static_cast<uint64_t>(line[end++] - '0');
        // A number glued to letters or a hex/handle tail ("1a", "1:10") is not a counter: copy it as text.
        if (end < line.size() && (std::isalpha(static_cast<unsigned char>(line[end])) && line[end] != 'b' && line[end] != 'p')) {
            current.text.append(line.substr(i, end - i));
            i = end;
            continue;
        }
        if (end < line.size() && (line[end] == ':' || line[end] == '.' || line[end] == 'x')) {
            current.text.append(line.substr(i, end - i));
            i = end;
            continue;
        }
        current.has_number = true;
        current.number = value;
        const std::string_view before = word_before(line, i);
        bool counter = kCounterWords.count(before) != 0 || (previous_counter && before.size() > 1 && before.back() == 'b');
        if (before.size() > 3 && before.front() == '"' && before.substr(before.size() - 2) == "\":")
            counter = kCounterMembers.count(before.substr(1, before.size() - 3)) != 0;
        current.counter = counter;
        previous_counter = counter;
        pieces.push_back(std::move(current));
        current = Piece{};
        i = end;
    }
    pieces.push_back(std::move(current));
    return pieces;
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

bool merge_line(const std::vector<std::string_view>& versions, std::string& out) {
    std::vector<std::vector<Piece>> split_versions;
    for (std::string_view v : versions) split_versions.push_back(split(v));
    std::vector<Piece>& merged = split_versions[0];
    for (size_t w = 1; w < split_versions.size(); ++w) {
        const std::vector<Piece>& other = split_versions[w];
        if (other.size() != merged.size()) return false;
        for (size_t i = 0; i < merged.size(); ++i) {
            if (other[i].text != merged[i].text || other[i].has_number != merged[i].has_number) return false;
            if (merged[i].counter) merged[i].number += other[i].number;
        }
    }
    for (const Piece& p : merged) {
        out += p.text;
        if (p.has_number) out += std::to_string(p.number);
    }
    return true;
}

}  // namespace

std::string merge_stats_text(const std::vector<std::string>& per_worker) {
    if (per_worker.size() == 1) return per_worker[0];
    std::vector<std::vector<std::string_view>> lines;
    for (const std::string& text : per_worker) lines.push_back(lines_of(text));
    std::string merged;
    bool same_shape = true;
    for (const auto& l : lines) same_shape = same_shape && l.size() == lines[0].size();
    for (size_t i = 0; same_shape && i < lines[0].size(); ++i) {
        std::vector<std::string_view> versions;
        for (const auto& l : lines) versions.push_back(l[i]);
        same_shape = merge_line(versions, merged);
        merged += '\n';
    }
    if (same_shape) {
        if (!per_worker[0].empty() && per_worker[0].back() != '\n') merged.pop_back();
        return merged;
    }
    std::string separate;
    for (size_t w = 0; w < per_worker.size(); ++w) separate += fmt::format("# worker {}\n{}", w, per_worker[w]);
    return separate;
}

}  // namespace tcbpf::live
