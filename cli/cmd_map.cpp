// `tcbpf map`: bpftool's map commands on pinned map files, one command or a `-batch FILE` of them.
// A batch runs as one unit: each change records what it replaced, and if any line fails every earlier
// change is undone before the error is reported, so a batch is applied whole or not at all (entries an
// LRU map evicted to make room cannot be brought back; that is the one exception).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/map_cli.h"

namespace tcbpf::cli {

namespace {

using namespace mapcmd;
using Bytes = std::vector<uint8_t>;

// What a change replaced, to put it back.
struct UndoStep {
    maps::Map* map = nullptr;   // an entry change
    Bytes key;
    std::optional<Bytes> old;   // the previous value, or none: the key was absent
    std::string created_file;   // a create or pin: the file it made
};

class Session {
   public:
    explicit Session(bool json) : json_(json) {}

    // Runs one command; output (if any) goes to `out`. Throws Failure.
    void run(const Command& cmd, std::string& out, std::vector<UndoStep>* undo) {
        if (cmd.verb == Verb::Create) return create(cmd, out, undo);
        maps::Map& map = open(cmd.path);
        switch (cmd.verb) {
            case Verb::Show: out += json_ ? json_show(map, cmd.path) : plain_show(map, cmd.path); break;
            case Verb::Dump: dump(map, out); break;
            case Verb::Lookup: lookup(map, cmd, out); break;
            case Verb::GetNext: get_next(map, cmd, out); break;
            case Verb::Update: update(map, cmd, out, undo); break;
            case Verb::Delete: remove(map, cmd, out, undo); break;
            case Verb::Pin: pin(cmd, out, undo); break;
            case Verb::Peek: lookup(map, cmd, out); break;  // bpftool's peek is a lookup without a key
            case Verb::Push: push(map, cmd, out); break;
            case Verb::Pop: pop(map, out, undo); break;
            case Verb::Create: break;
        }
    }

    static void undo_all(std::vector<UndoStep>& steps) {
        for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
            if (!it->created_file.empty()) {
                ::unlink(it->created_file.c_str());
            } else if (it->old) {
                it->map->update_user(it->key.data(), it->old->data(), maps::kBpfAny);
            } else {
                it->map->delete_user(it->key.data());
            }
        }
        steps.clear();
    }

   private:
    maps::Map& open(const std::string& path) {
        auto& slot = open_[path];
        if (!slot) slot = open_map(path);
        return *slot;
    }

    Bytes key_of(const maps::Map& map, const Command& cmd) const {
        return parse_bytes(cmd.key, cmd.key_hex, map.key_size(), "key");
    }

    void dump(const maps::Map& map, std::string& out) const {
        Bytes key(map.key_size()), next(map.key_size()), value(map.user_value_size());
        std::vector<std::string> entries;
        bool first = true;
        for (uint64_t guard = 0; guard <= uint64_t(map.max_entries()) * 2 + 1; ++guard) {
            const int err = map.get_next_key(first ? nullptr : key.data(), next.data());
            if (err == -ENOENT) break;
            if (err != 0 && first) {  // a queue, stack or ring buffer: bpftool lists nothing and fails quietly
                out += json_ ? "[]" : "Found 0 elements\n";
                throw Failure{"", static_cast<uint8_t>(err)};
            }
            if (err != 0) throw errno_failure("can't get next key", err);
            first = false;
            key = next;
            if (map.lookup_user(key.data(), value.data()) != 0) continue;  // deleted meanwhile, as bpftool
            entries.push_back(json_ ? json_entry(map, key.data(), value.data())
                                    : plain_entry(map, key.data(), value.data()));
        }
        if (json_) {
            out += fmt::format("[{}]", fmt::join(entries, ","));
            return;
        }
        for (const auto& e : entries) out += e;
        out += fmt::format("Found {} element{}\n", entries.size(), entries.size() == 1 ? "" : "s");
    }

    void lookup(const maps::Map& map, const Command& cmd, std::string& out) const {
        const Bytes key = key_of(map, cmd);
        Bytes value(map.user_value_size());
        const int err = map.lookup_user(key.data(), value.data());
        if (err == -ENOENT) {
            out += json_ ? std::string("null") : fmt::format("key:\n{}\n\nNot found\n", hex_block(key.data(), key.size()));
            throw Failure{"", static_cast<uint8_t>(err)};  // bpftool: no message, status -ENOENT
        }
        if (err != 0) throw errno_failure("lookup failed", err);
        out += json_ ? json_entry(map, key.data(), value.data()) : plain_entry(map, key.data(), value.data());
    }

    void get_next(const maps::Map& map, const Command& cmd, std::string& out) const {
        const std::optional<Bytes> key = cmd.key_given ? std::optional(key_of(map, cmd)) : std::nullopt;
        Bytes next(map.key_size());
        const int err = map.get_next_key(key ? key->data() : nullptr, next.data());
        if (err != 0) throw errno_failure("can't get next key", err);
        const size_t ks = map.key_size();
        if (json_) {
            out += fmt::format("{{\"key\":{},\"next_key\":{}}}", key ? json_bytes(key->data(), ks) : "null",
                               json_bytes(next.data(), ks));
        } else {
            out += key ? fmt::format("key:\n{}\n", hex_block(key->data(), ks)) : std::string("key: None\n");
            out += fmt::format("next key:\n{}\n", hex_block(next.data(), ks));
        }
    }

    // The previous value of `key` (none if absent), for undo.
    static std::optional<Bytes> current(const maps::Map& map, const Bytes& key) {
        Bytes old(map.user_value_size());
        if (map.lookup_user(key.data(), old.data()) != 0) return std::nullopt;
        return old;
    }

    void update(maps::Map& map, const Command& cmd, std::string& out, std::vector<UndoStep>* undo) {
        const Bytes key = key_of(map, cmd);
        Bytes value = parse_bytes(cmd.value, cmd.value_hex, map.value_size(), "value");
        if (map.is_percpu()) {  // bpftool gives every CPU the value typed
            const uint32_t stride = (map.value_size() + 7) / 8 * 8;
            Bytes all(map.user_value_size(), 0);
            for (uint32_t cpu = 0; cpu < map.ncpus(); ++cpu)
                std::copy(value.begin(), value.end(), all.begin() + cpu * stride);
            value = std::move(all);
        }
        std::optional<Bytes> old = undo ? current(map, key) : std::nullopt;
        if (const int err = map.update_user(key.data(), value.data(), cmd.flags); err != 0)
            throw errno_failure("update failed", err);
        if (undo) undo->push_back(UndoStep{&map, key, std::move(old), ""});
        if (json_) out += "null";
    }

    void remove(maps::Map& map, const Command& cmd, std::string& out, std::vector<UndoStep>* undo) {
        const Bytes key = key_of(map, cmd);
        std::optional<Bytes> old = undo ? current(map, key) : std::nullopt;
        if (const int err = map.delete_user(key.data()); err != 0) throw errno_failure("delete failed", err);
        if (undo) undo->push_back(UndoStep{&map, key, std::move(old), ""});
        if (json_) out += "null";
    }

    void push(maps::Map& map, const Command& cmd, std::string& out) {
        const Bytes value = parse_bytes(cmd.value, cmd.value_hex, map.value_size(), "value");
        if (const int err = map.update_user(nullptr, value.data(), maps::kBpfAny); err != 0)
            throw errno_failure("update failed", err);
        if (json_) out += "null";
    }

    void pop(maps::Map& map, std::string& out, std::vector<UndoStep>* undo) {
        if (undo) throw Failure{"pop cannot be part of a batch: a popped value cannot be put back in its place", 255};
        Bytes value(map.user_value_size());
        const int err = map.lookup_and_delete(nullptr, value.data());
        if (err == -ENOENT) {
            if (json_) out += "null";
            throw Failure{json_ ? "" : "empty map", static_cast<uint8_t>(err)};
        }
        if (err != 0) throw errno_failure("pop failed", err);
        out += json_ ? json_entry(map, nullptr, value.data()) : plain_entry(map, nullptr, value.data());
    }

    void create(const Command& cmd, std::string& out, std::vector<UndoStep>* undo) {
        try {
            open_[cmd.path] = maps::create_pinned_map(cmd.create, maps::default_ncpus(), cmd.path);
        } catch (const maps::MapError& e) {
            if (e.error() == -EEXIST || e.error() == -ENOENT || e.error() == -EACCES)
                throw errno_failure(fmt::format("can't pin the object ({})", cmd.path), e.error());
            throw Failure{fmt::format("map create failed: {} ({})", std::strerror(-e.error()), e.what()), 255};
        }
        if (undo) undo->push_back(UndoStep{nullptr, {}, std::nullopt, cmd.path});
        if (json_) out += "null";
    }

    void pin(const Command& cmd, std::string& out, std::vector<UndoStep>* undo) {
        // A map file is the map: pinning it again is a second name for the same file.
        if (::link(cmd.path.c_str(), cmd.pin_target.c_str()) != 0)
            throw Failure{fmt::format("can't pin the object ({}): {}", cmd.pin_target, std::strerror(errno)), 255};
        if (undo) undo->push_back(UndoStep{nullptr, {}, std::nullopt, cmd.pin_target});
        if (json_) out += "null";
    }

    bool json_;
    std::map<std::string, std::unique_ptr<maps::Map>> open_;
};

// One line of a batch file as words; '#' starts a comment.
std::vector<std::string> batch_words(const std::string& line) {
    std::vector<std::string> words;
    std::istringstream in(line.substr(0, line.find('#')));
    for (std::string w; in >> w;) words.push_back(w);
    if (!words.empty() && words[0] == "map") words.erase(words.begin());
    return words;
}

std::string json_words(const std::vector<std::string>& words) {
    std::vector<std::string> quoted;
    quoted.push_back("\"map\"");
    for (const auto& w : words) quoted.push_back(json_string(w));
    return fmt::format("[{}]", fmt::join(quoted, ","));
}

int run_batch(const std::string& file, bool json, std::string& out) {
    const std::string text = read_file_text(file);
    struct Line {
        size_t number;
        Command cmd;
    };
    std::vector<Line> lines;
    std::istringstream in(text);
    size_t number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        const auto words = batch_words(line);
        if (words.empty()) continue;
        try {
            lines.push_back({number, parse_command(words)});
        } catch (Failure& f) {
            f.message = fmt::format("{}:{}: {}", file, number, f.message);
            throw;
        }
    }
    Session session(json);
    std::vector<UndoStep> undo;
    std::vector<std::string> outputs;
    for (const Line& line : lines) {
        std::string one;
        try {
            session.run(line.cmd, one, &undo);
        } catch (Failure& f) {
            Session::undo_all(undo);
            f.message = fmt::format("{}:{}: {}{}", file, line.number,
                                    f.message.empty() ? fmt::format("{} found nothing", line.cmd.words[0]) : f.message,
                                    lines.size() > 1 ? "; no line of the batch was applied" : "");
            throw;
        }
        outputs.push_back(json ? fmt::format("{{\"command\":{},\"output\":{}}}", json_words(line.cmd.words),
                                             one.empty() ? "null" : one)
                               : one);
    }
    if (json) {
        out = fmt::format("[{}]", fmt::join(outputs, ","));
    } else {
        out = fmt::format("{}processed {} commands\n", fmt::join(outputs, ""), lines.size());
    }
    return 0;
}

int run_map_command(const std::vector<std::string>& args) {
    bool json = false;
    std::optional<std::string> batch;
    std::vector<std::string> words;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "-j" || a == "--json" || a == "-p" || a == "--pretty") {
            json = true;
        } else if ((a == "-batch" || a == "--batch") && words.empty()) {
            if (i + 1 >= args.size()) throw Failure{"-batch needs a FILE", 255};
            batch = args[++i];
        } else {
            words.push_back(a);
        }
    }
    std::string out;
    try {
        if (batch) {
            if (!words.empty()) throw Failure{fmt::format("unexpected argument with -batch: {}", words[0]), 255};
            run_batch(*batch, json, out);
        } else {
            Session session(json);
            session.run(parse_command(words), out, nullptr);
        }
    } catch (const Failure& f) {
        if (!out.empty()) std::printf("%s%s", out.c_str(), json ? "\n" : "");
        if (json && !f.message.empty()) std::printf("{\"error\":%s}\n", json_string(f.message).c_str());
        if (!f.message.empty()) std::fprintf(stderr, "Error: %s\n", f.message.c_str());
        return f.status;
    }
    if (!out.empty()) std::printf("%s%s", out.c_str(), json ? "\n" : "");
    return 0;
}

}  // namespace

void add_map_commands(CLI::App& app) {
    auto* map = app.add_subcommand("map",
                                   "bpftool's map commands on pinned maps: show|dump|lookup|update|delete|getnext "
                                   "pinned FILE [key [hex] BYTES] [value [hex] BYTES] [any|noexist|exist], "
                                   "create FILE type T key N value N entries N name NAME [flags F], pin pinned "
                                   "FILE NEWFILE, push|enqueue|pop|dequeue|peek for queues and stacks; -j for JSON; "
                                   "-batch FILE runs one command per line, all or nothing");
    map->prefix_command();
    map->callback([map] {
        const int status = run_map_command(map->remaining());
        std::fflush(stdout);
        if (status != 0) std::exit(status);
    });
}

}  // namespace tcbpf::cli
