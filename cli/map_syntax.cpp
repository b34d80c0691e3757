// bpftool's map grammar. Every word is checked before anything is touched, so a bad command changes
// nothing; sizes are checked once the map is open (they depend on it).
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "cli/map_cli.h"

namespace tcbpf::cli::mapcmd {

namespace {

// bpftool's is_prefix: a word names a keyword if it is a non-empty prefix of it.
bool is_prefix(const std::string& word, std::string_view keyword) {
    return !word.empty() && word.size() <= keyword.size() && keyword.substr(0, word.size()) == word;
}

struct VerbName {
    std::string_view name;
    Verb verb;
};
// bpftool's table order decides which verb a prefix abbreviates ("d" is dump, not delete).
constexpr VerbName kVerbs[] = {{"show", Verb::Show},       {"list", Verb::Show},     {"dump", Verb::Dump},
                               {"update", Verb::Update},   {"lookup", Verb::Lookup}, {"getnext", Verb::GetNext},
                               {"delete", Verb::Delete},   {"pin", Verb::Pin},       {"create", Verb::Create},
                               {"peek", Verb::Peek},       {"push", Verb::Push},     {"enqueue", Verb::Push},
                               {"pop", Verb::Pop},         {"dequeue", Verb::Pop}};

constexpr struct {
    std::string_view name;
    uint32_t type;
} kTypes[] = {{"hash", maps::kMapHash},
              {"array", maps::kMapArray},
              {"prog_array", maps::kMapProgArray},
              {"perf_event_array", maps::kMapPerfEventArray},
              {"percpu_hash", maps::kMapPercpuHash},
              {"percpu_array", maps::kMapPercpuArray},
              {"lru_hash", maps::kMapLruHash},
              {"lru_percpu_hash", maps::kMapLruPercpuHash},
              {"lpm_trie", maps::kMapLpmTrie},
              {"queue", maps::kMapQueue},
              {"stack", maps::kMapStack},
              {"ringbuf", maps::kMapRingbuf}};

[[noreturn]] void fail(std::string message) { throw Failure{std::move(message), 255}; }

class Words {
   public:
    explicit Words(const std::vector<std::string>& words) : words_(words) {}
    bool done() const { return at_ >= words_.size(); }
    const std::string& peek() const { return words_[at_]; }
    std::string next(const char* what) {
        if (done()) fail(fmt::format("{} expected", what));
        return words_[at_++];
    }
    // Byte tokens: everything up to the next keyword of the element grammar.
    std::vector<std::string> bytes(bool& hex) {
        hex = !done() && is_prefix(peek(), "hex");
        if (hex) ++at_;
        std::vector<std::string> out;
        while (!done() && !is_keyword(peek())) out.push_back(words_[at_++]);
        return out;
    }

   private:
    static bool is_keyword(const std::string& w) {
        return w == "key" || w == "value" || w == "any" || w == "noexist" || w == "exist";
    }
    const std::vector<std::string>& words_;
    size_t at_ = 0;
};

uint32_t parse_u32(const std::string& text, const char* what) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 0);
    if (text.empty() || *end || errno || v > 0xffffffffull) fail(fmt::format("can't parse {}: {}", what, text));
    return static_cast<uint32_t>(v);
}

// bpftool's parse_elem: key/value/flags in any order, each at most once.
void parse_element(Words& w, Command& cmd) {
    bool flags_given = false;
    while (!w.done()) {
        const std::string word = w.next("key or value");
        if (word == "key" && !cmd.key_given) {
            cmd.key_given = true;
            cmd.key = w.bytes(cmd.key_hex);
        } else if (word == "key" && cmd.verb == Verb::Push) {
            fail(fmt::format("expected key or value, got: {}", word));  // queues and stacks have no keys
        } else if (word == "value" && !cmd.value_given && (cmd.verb == Verb::Update || cmd.verb == Verb::Push)) {
            cmd.value_given = true;
            cmd.value = w.bytes(cmd.value_hex);
        } else if (cmd.verb == Verb::Update && !flags_given &&
                   (word == "any" || word == "noexist" || word == "exist")) {
            flags_given = true;
            cmd.flags = word == "any" ? maps::kBpfAny : word == "noexist" ? maps::kBpfNoExist : maps::kBpfExist;
        } else {
            fail(fmt::format("expected key or value, got: {}", word));
        }
    }
    const bool key_needed = cmd.verb != Verb::GetNext && cmd.verb != Verb::Push;
    if (key_needed && !cmd.key_given) fail("did not find key");
    if ((cmd.verb == Verb::Update || cmd.verb == Verb::Push) && !cmd.value_given) fail("did not find value");
}

std::string pinned_path(Words& w) {
    if (w.done()) fail("expected 'pinned FILE': tcbpf maps are addressed by the path they are pinned at");
    const std::string how = w.next("pinned");
    if (how == "id" || how == "name")
        fail(fmt::format("tcbpf maps have no kernel {}: address them as 'pinned FILE'", how));
    if (how != "pinned") fail(fmt::format("expected 'id', 'name' or 'pinned', got: '{}'?", how));
    return w.next("FILE after 'pinned'");
}

void parse_create(Words& w, Command& cmd) {
    cmd.path = w.next("FILE");
    bool have_type = false, have_key = false, have_value = false, have_entries = false, have_name = false;
    while (!w.done()) {
        const std::string word = w.next("keyword");
        if (is_prefix(word, "type")) {
            const std::string type = w.next("type");
            bool known = false;
            for (const auto& t : kTypes)
                if (t.name == type) cmd.create.type = t.type, known = true;
            if (!known) fail(fmt::format("unrecognized map type: {}", type));
            have_type = true;
        } else if (is_prefix(word, "key")) {
            cmd.create.key_size = parse_u32(w.next("key size"), "key size"), have_key = true;
        } else if (is_prefix(word, "value")) {
            cmd.create.value_size = parse_u32(w.next("value size"), "value size"), have_value = true;
        } else if (is_prefix(word, "entries")) {
            cmd.create.max_entries = parse_u32(w.next("entries"), "max entries"), have_entries = true;
        } else if (is_prefix(word, "name")) {
            cmd.create.name = w.next("name"), have_name = true;
        } else if (is_prefix(word, "flags")) {
            cmd.create.map_flags = parse_u32(w.next("flags"), "flags");
        } else {
            fail(fmt::format("unknown arg {}", word));
        }
    }
    if (!have_type) fail("map type not specified");
    if (!have_name) fail("map name not specified");
    // bpftool leaves unspecified sizes 0, which map creation then refuses.
    (void)have_key, (void)have_value, (void)have_entries;
}

}  // namespace

Failure errno_failure(const std::string& what, int negative_errno) {
    return Failure{fmt::format("{}: {}", what, std::strerror(-negative_errno)), static_cast<uint8_t>(negative_errno)};
}

Command parse_command(const std::vector<std::string>& words) {
    Command cmd;
    cmd.words = words;
    Words w(words);
    if (w.done())
        fail("expected a command: show, dump, lookup, update, delete, getnext, create, pin, peek, push, pop, enqueue "
             "or dequeue");
    const std::string verb = w.next("command");
    const VerbName* found = nullptr;
    for (const auto& v : kVerbs)
        if (is_prefix(verb, v.name)) {
            found = &v;
            break;
        }
    if (!found) fail(fmt::format("unknown command '{}'", verb));
    cmd.verb = found->verb;
    switch (cmd.verb) {
        case Verb::Create: parse_create(w, cmd); break;
        case Verb::Pin:
            cmd.path = pinned_path(w);
            cmd.pin_target = w.next("FILE to pin at");
            if (!w.done()) fail(fmt::format("unexpected argument: {}", w.peek()));
            break;
        case Verb::Show:
        case Verb::Dump:
        case Verb::Peek:
        case Verb::Pop:
            cmd.path = pinned_path(w);
            if (!w.done()) fail(fmt::format("unexpected argument: {}", w.peek()));
            break;
        default:
            cmd.path = pinned_path(w);
            parse_element(w, cmd);
    }
    return cmd;
}

std::vector<uint8_t> parse_bytes(const std::vector<std::string>& tokens, bool hex, uint32_t size, const char* what) {
    std::vector<uint8_t> out;
    for (const std::string& token : tokens) {
        if (out.size() == size) fail(fmt::format("expected key or value, got: {}", token));
        char* end = nullptr;
        const unsigned long v = std::strtoul(token.c_str(), &end, hex ? 16 : 0);
        if (token.empty() || *end) fail(fmt::format("error parsing byte: {}", token));
        out.push_back(static_cast<uint8_t>(v));  // bpftool keeps the low byte: 300 is 0x2c
    }
    if (out.size() != size) fail(fmt::format("{} expected {} bytes got {}", what, size, out.size()));
    return out;
}

std::unique_ptr<maps::Map> open_map(const std::string& path) {
    try {
        return maps::open_pinned_map(path);
    } catch (const maps::MapError& e) {
        if (e.error() == -ENOENT || e.error() == -EACCES || e.error() == -EPERM)
            fail(fmt::format("bpf obj get ({}): {}", path, std::strerror(-e.error())));
        fail(fmt::format("bpf obj get ({}): {}", path, e.what()));
    }
}

}  // namespace tcbpf::cli::mapcmd
