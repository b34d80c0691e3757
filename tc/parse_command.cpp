// Command dispatch (tc.c's do_cmd: qdisc, class, filter, actions by prefix; tcbpf's `port`), the
// qdisc and class commands with their kinds' options (q_prio.c, q_htb.c, q_fifo.c, q_clsact.c,
// q_ingress.c), and batch-line splitting.
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "tc/parse.h"

namespace tcbpf::tc::detail {

std::string read_text_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) fail(fmt::format("Cannot open file \"{}\"", path));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Verb parse_verb(const std::string& word, std::string_view object, bool allow_get) {
    if (matches(word, "add")) return Verb::Add;
    if (matches(word, "change")) return Verb::Change;
    if (matches(word, "replace")) return Verb::Replace;
    if (matches(word, "delete")) return Verb::Delete;
    if (matches(word, "show") || matches(word, "list") || matches(word, "lst") || word == "ls") return Verb::Show;
    if (allow_get && matches(word, "get")) return Verb::Get;
    fail(fmt::format("Command \"{}\" is unknown, try \"tc {} help\".", word, object));
}

namespace {

uint32_t size_value(Words& w, std::string_view key, std::string_view message) {
    const std::string& v = w.value(key);
    const auto size = parse_size(v);
    if (!size) fail(std::string(message));
    return static_cast<uint32_t>(*size);
}

uint32_t u32_value(Words& w, std::string_view key, int base) {
    const std::string& v = w.value(key);
    const auto n = parse_unsigned(v, base, 0xFFFFFFFF);
    if (!n) fail(fmt::format("Illegal \"{}\"", key));
    return static_cast<uint32_t>(*n);
}

void parse_prio(Words& w, PrioOptions& o) {
    bool map_mode = false;
    size_t idx = 0;
    while (!w.done()) {
        const std::string& word = w.take();
        if (word == "bands") {
            map_mode = false;
            const auto bands = parse_unsigned(w.value(word), 10, 0x7FFFFFFF);
            if (!bands) fail("Illegal \"bands\"");
            o.bands = static_cast<uint32_t>(*bands);
        } else if (word == "priomap") {
            if (map_mode) fail("Error: duplicate priomap");
            map_mode = true;
        } else if (word == "multiqueue") {
            fail("tcbpf: prio \"multiqueue\" is not supported");
        } else if (map_mode) {
            if (idx > 15) fail("Too many priomap entries");
            const auto band = parse_unsigned(word, 10, 0x7FFFFFFF);
            if (!band) fail("Illegal \"priomap\" element");
            if (*band >= o.bands) fail("\"priomap\" element is out of bands");
            o.priomap[idx++] = static_cast<uint8_t>(*band);
        } else {
            fail(fmt::format("What is \"{}\"?", word));
        }
    }
    if (o.bands < 2 || o.bands > 16) fail("RTNETLINK answers: Invalid argument");
    for (uint8_t band : o.priomap)
        if (band >= o.bands) fail("RTNETLINK answers: Invalid argument");
}

void parse_htb_qdisc(Words& w, HtbOptions& o) {
    while (!w.done()) {
        const std::string& word = w.take();
        if (matches(word, "r2q")) o.r2q = u32_value(w, "r2q", 10);
        else if (matches(word, "default")) o.default_minor = u32_value(w, "default", 16);
        else if (matches(word, "direct_qlen")) o.direct_qlen = u32_value(w, "direct_qlen", 10);
        else fail(fmt::format("What is \"{}\"?", word));
    }
}

void parse_htb_class(Words& w, HtbClassOptions& o) {
    bool have_rate = false, have_ceil = false;
    while (!w.done()) {
        const std::string& word = w.take();
        if (matches(word, "prio")) {
            o.prio = u32_value(w, "prio", 10);
        } else if (matches(word, "mtu")) {
            o.mtu = u32_value(w, "mtu", 10);
        } else if (matches(word, "mpu")) {
            o.mpu = size_value(w, word, "Illegal \"mpu\"");
        } else if (matches(word, "quantum")) {
            o.quantum = u32_value(w, "quantum", 10);
        } else if (matches(word, "burst") || matches(word, "buffer") || matches(word, "maxburst")) {
            o.burst = size_value(w, word, "Illegal \"buffer\"");
        } else if (matches(word, "cburst") || matches(word, "cbuffer") || matches(word, "cmaxburst")) {
            o.cburst = size_value(w, word, "Illegal \"cbuffer\"");
        } else if (word == "ceil") {
            if (have_ceil) fail("Double \"ceil\" spec");
            const auto r = parse_rate(w.value(word));
            if (!r) fail("Illegal \"ceil\"");
            o.ceil = *r;
            have_ceil = true;
        } else if (word == "rate") {
            if (have_rate) fail("Double \"rate\" spec");
            const auto r = parse_rate(w.value(word));
            if (!r) fail("Illegal \"rate\"");
            o.rate = *r;
            have_rate = true;
        } else if (matches(word, "overhead")) {
            o.overhead = static_cast<int32_t>(u32_value(w, "overhead", 10));
        } else {
            fail(fmt::format("What is \"{}\"?", word));
        }
    }
    if (!have_rate) fail("\"rate\" is required.");
}

QdiscSpec parse_qdisc(Words& w, Verb verb) {
    QdiscSpec q;
    q.verb = verb;
    bool parent_set = false, handle_set = false;
    while (!w.done()) {
        const std::string& word = w.take();
        if (word == "dev") {
            if (!q.dev.empty()) duparg("dev", w.done() ? "" : w.peek());
            q.dev = w.value(word);
        } else if (word == "handle") {
            const std::string& v = w.value(word);
            if (handle_set) duparg("handle", v);
            q.handle = parse_qdisc_handle(v);
            handle_set = true;
        } else if (word == "parent") {
            const std::string& v = w.value(word);
            if (parent_set) fail("Error: \"parent\" is duplicate parent ID");
            try {
                q.parent = parse_classid(v);
            } catch (const Error&) {
                invarg("invalid parent ID", v);
            }
            parent_set = true;
        } else if (word == "root") {
            if (parent_set) fail("Error: \"root\" is duplicate parent ID");
            q.parent = kHandleRoot;
            parent_set = true;
        } else if (word == "clsact" || word == "ingress") {
            if (parent_set) fail(fmt::format("Error: \"{}\" is a duplicate parent ID", word));
            q.parent = kHandleIngress;
            q.kind = word;
            parent_set = true;
            break;
        } else if (matches(word, "estimator")) {
            fail("tcbpf: rate estimators are not supported");
        } else {
            q.kind = word;
            break;
        }
    }
    if (verb == Verb::Show) return q;
    if (q.dev.empty()) fail("Must specify dev");  // tc asks the kernel, which answers ENODEV
    if (q.kind == "clsact") {
        if (!w.done()) fail(fmt::format("What is \"{}\"?", w.peek()));
    } else if (q.kind == "ingress") {
        while (!w.done()) {
            const std::string& word = w.take();
            if (word != "handle") fail(fmt::format("What is \"{}\"?", word));
            w.value(word);
        }
    } else if (q.kind == "prio") {
        parse_prio(w, q.prio);
    } else if (q.kind == "htb") {
        parse_htb_qdisc(w, q.htb);
    } else if (q.kind == "pfifo" || q.kind == "bfifo") {
        while (!w.done()) {
            const std::string& word = w.take();
            if (word != "limit") fail(fmt::format("What is \"{}\"?", word));
            const std::string& v = w.value(word);
            const auto limit = parse_size(v);
            if (!limit) fail(fmt::format("{}: Illegal value for \"limit\": \"{}\"", q.kind, v));
            q.fifo.limit = static_cast<uint32_t>(*limit);
        }
    } else if (!q.kind.empty()) {
        if (!w.done()) fail(fmt::format("Unknown qdisc \"{}\", hence option \"{}\" is unparsable", q.kind, w.peek()));
        fail("Error: Specified qdisc kind is unknown.");
    } else if (verb != Verb::Delete) {
        fail("Error: Specified qdisc kind is unknown.");  // no kind given to add/change/replace
    }
    if (verb == Verb::Delete && !parent_set) fail("Error: Classid cannot be zero.\nRTNETLINK answers: Invalid argument");
    return q;
}

ClassSpec parse_class(Words& w, Verb verb) {
    ClassSpec c;
    c.verb = verb;
    bool parent_set = false;
    while (!w.done()) {
        const std::string& word = w.take();
        if (word == "dev") {
            if (!c.dev.empty()) duparg("dev", w.done() ? "" : w.peek());
            c.dev = w.value(word);
        } else if (word == "classid") {
            const std::string& v = w.value(word);
            try {
                c.classid = parse_classid(v);
            } catch (const Error&) {
                invarg("invalid class ID", v);
            }
        } else if (word == "handle") {
            fail("Error: try \"classid\" instead of \"handle\"");
        } else if (word == "root") {
            if (parent_set) fail("Error: \"root\" is duplicate parent ID");
            c.parent = kHandleRoot;
            parent_set = true;
        } else if (word == "parent") {
            const std::string& v = w.value(word);
            if (parent_set) fail("Error: \"parent\" is duplicate parent ID");
            try {
                c.parent = parse_classid(v);
            } catch (const Error&) {
                invarg("invalid parent ID", v);
            }
            parent_set = true;
        } else {
            c.kind = word;
            break;
        }
    }
    if (verb == Verb::Show || verb == Verb::Delete) {
        if (verb == Verb::Delete && c.dev.empty()) fail("Must specify dev");
        return c;
    }
    if (c.dev.empty()) fail("Must specify dev");
    if (c.kind == "htb") {
        parse_htb_class(w, c.htb);
    } else if (c.kind.empty()) {
        fail("Error: Specified class kind is unknown.");
    } else {
        if (!w.done()) fail(fmt::format("Unknown qdisc \"{}\", hence option \"{}\" is unparsable", c.kind, w.peek()));
        fail(fmt::format("Error: class kind \"{}\" is not supported", c.kind));
    }
    return c;
}

Command parse_port(Words& w) {
    if (w.done()) fail("port: expected \"add\" or \"peer\"");
    const std::string& verb = w.take();
    if (verb == "peer") {
        PeerSpec p;
        p.a = w.value("peer");
        p.b = w.value("peer");
        if (!w.done()) fail(fmt::format("port peer: What is \"{}\"?", w.peek()));
        return p;
    }
    if (verb != "add") fail(fmt::format("port: unknown command \"{}\" (expected \"add\" or \"peer\")", verb));
    PortSpec p;
    p.name = w.value("add");
    bool typed = false;
    while (!w.done()) {
        const std::string& word = w.take();
        if (word == "type") {
            const std::string& type = w.value(word);
            if (type == "pcap") p.type = PortType::Pcap;
            else if (type == "afpacket") p.type = PortType::AfPacket;
            else if (type == "afxdp") p.type = PortType::AfXdp;
            else if (type == "tap") p.type = PortType::Tap;
            else fail(fmt::format("port add {}: unknown port type \"{}\" (pcap, afpacket, afxdp or tap)", p.name, type));
            typed = true;
        } else if (word == "dev") p.dev = w.value(word);
        else if (word == "workers") {
            const auto n = parse_unsigned(w.value(word), 10, 1024);
            if (!n || *n < 1) fail(fmt::format("port add {}: workers must be a number from 1 to 1024", p.name));
            p.workers = static_cast<uint32_t>(*n);
        } else if (word == "in") p.in = w.value(word);
        else if (word == "out") p.out = w.value(word);
        else if (word == "host") p.host = w.value(word);
        else if (word == "ifindex") {
            const auto n = parse_unsigned(w.value(word), 10, 0x7FFFFFFF);
            if (!n || *n < 2) fail(fmt::format("port add {}: ifindex must be a number from 2 up (1 is loopback)", p.name));
            p.ifindex = static_cast<uint32_t>(*n);
        } else if (word == "vlan-offload") {
            const std::string& v = w.value(word);
            if (v != "on" && v != "off") fail(fmt::format("port add {}: vlan-offload takes \"on\" or \"off\", not \"{}\"", p.name, v));
            p.vlan_offload = v == "on";
        } else {
            fail(fmt::format("port add {}: What is \"{}\"?", p.name, word));
        }
    }
    if (!typed) fail(fmt::format("port add {}: expected \"type pcap|afpacket|afxdp|tap\"", p.name));
    const bool live = p.type != PortType::Pcap;
    if (live && p.dev.empty())
        fail(fmt::format("port add {}: type {} needs \"dev IFACE\"", p.name, port_type_name(p.type)));
    if (live && (!p.in.empty() || !p.out.empty() || !p.host.empty() || p.ifindex != 0))
        fail(fmt::format("port add {}: in/out/host/ifindex are for pcap ports ({} ports take traffic and ifindex from their device)",
                         p.name, port_type_name(p.type)));
    if (!live && (!p.dev.empty() || p.workers != 1))
        fail(fmt::format("port add {}: dev and workers are for live ports (type afpacket, afxdp or tap)", p.name));
    return p;
}

}  // namespace

}  // namespace tcbpf::tc::detail

namespace tcbpf::tc {

const char* port_type_name(PortType type) {
    switch (type) {
        case PortType::Pcap: return "pcap";
        case PortType::AfPacket: return "afpacket";
        case PortType::Tap: return "tap";
        case PortType::AfXdp: return "afxdp";
    }
    return "unknown";
}

bool command_is_show(const Command& command) {
    return std::visit(
        [](const auto& spec) {
            using T = std::decay_t<decltype(spec)>;
            if constexpr (std::is_same_v<T, PortSpec> || std::is_same_v<T, PeerSpec>) return false;
            else return spec.verb == Verb::Show || spec.verb == Verb::Get;
        },
        command);
}

bool command_shows_stats(const Command& command) {
    return std::visit(
        [](const auto& spec) {
            using T = std::decay_t<decltype(spec)>;
            if constexpr (std::is_same_v<T, PortSpec> || std::is_same_v<T, PeerSpec>) return false;
            else return (spec.verb == Verb::Show || spec.verb == Verb::Get) && spec.stats;
        },
        command);
}

Command parse_command(const std::vector<std::string>& words, const GlobalOptions& globals) {
    using namespace detail;
    if (words.empty()) fail("Usage: tc [ OPTIONS ] OBJECT { COMMAND | help }");
    Words w(words, 1);
    const std::string& object = words[0];
    if (object == "port") return parse_port(w);
    const bool is_qdisc = matches(object, "qdisc"), is_class = !is_qdisc && matches(object, "class");
    const bool is_filter = !is_qdisc && !is_class && matches(object, "filter");
    const bool is_actions = !is_qdisc && !is_class && !is_filter && (matches(object, "actions") || object == "action");
    if (!is_qdisc && !is_class && !is_filter && !is_actions)
        fail(fmt::format("Object \"{}\" is unknown, try \"tc help\".", object));
    const char* name = is_qdisc ? "qdisc" : is_class ? "class" : is_filter ? "filter" : "actions";
    const Verb verb = w.done() ? Verb::Show : parse_verb(w.take(), name, is_filter || is_actions);
    if (is_qdisc) {
        QdiscSpec q = parse_qdisc(w, verb);
        q.stats = globals.stats;
        q.json = globals.json;
        return q;
    }
    if (is_class) {
        ClassSpec c = parse_class(w, verb);
        c.stats = globals.stats;
        c.json = globals.json;
        return c;
    }
    if (is_filter) {
        FilterSpec f = parse_filter(w, verb);
        f.stats = globals.stats;
        f.json = globals.json;
        return f;
    }
    ActionCommandSpec a = parse_actions_command(w, verb);
    a.stats = globals.stats;
    a.json = globals.json;
    return a;
}

std::vector<std::string> split_batch_line(std::string_view line) {
    std::vector<std::string> words;
    std::string current;
    bool in_word = false;
    char quote = 0;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quote != 0) {
            if (c == quote) quote = 0;
            else current += c;
            continue;
        }
        if (c == '\\' && i + 1 < line.size()) {
            current += line[++i];
            in_word = true;
        } else if (c == '"' || c == '\'') {
            quote = c;
            in_word = true;
        } else if (c == '#' && !in_word) {
            break;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            if (in_word) words.push_back(std::move(current));
            current.clear();
            in_word = false;
        } else {
            current += c;
            in_word = true;
        }
    }
    if (quote != 0) throw Error("unterminated quoted string");
    if (in_word) words.push_back(std::move(current));
    return words;
}

}  // namespace tcbpf::tc
