// The `ip`-syntax text format of a host: one command per line, applied in order, so a line may use
// what earlier lines created (a route's device must be up, its gateway on a connected subnet).
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "tcbpf/error.h"
#include "tcbpf/net.h"

namespace tcbpf::net {

namespace {

class Line {
   public:
    explicit Line(std::vector<std::string> words) : words_(std::move(words)) {}
    bool done() const { return pos_ >= words_.size(); }
    const std::string& peek() const { return words_[pos_]; }
    bool take(std::string_view word) {
        if (done() || words_[pos_] != word) return false;
        ++pos_;
        return true;
    }
    std::string next(std::string_view what) {
        if (done()) throw Error(fmt::format("expected {}", what));
        return words_[pos_++];
    }

   private:
    std::vector<std::string> words_;
    size_t pos_ = 0;
};

uint32_t parse_u32(const std::string& text, std::string_view what) {
    uint32_t value = 0;
    int base = 10;
    std::string_view digits = text;
    if (digits.starts_with("0x") || digits.starts_with("0X")) {
        base = 16;
        digits.remove_prefix(2);
    }
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
        throw Error(fmt::format("{} \"{}\" is not a 32-bit number", what, text));
    return value;
}

Mac parse_mac(const std::string& text) {
    Mac mac{};
    unsigned parts[6];
    char tail = 0;
    if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &parts[0], &parts[1], &parts[2], &parts[3], &parts[4],
                    &parts[5], &tail) != 6)
        throw Error(fmt::format("\"{}\" is not a MAC address", text));
    for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(parts[i]);
    return mac;
}

Ip need_ip(const std::string& text) {
    const std::optional<Ip> ip = parse_ip(text);
    if (!ip) throw Error(fmt::format("\"{}\" is not an IP address", text));
    return *ip;
}

// "IP/LEN" or "IP" (a host prefix); "default" and "all" are the family's zero prefix.
Prefix parse_prefix(const std::string& text, uint8_t family_hint) {
    if (text == "default" || text == "all") return Prefix{mask_ip(family_hint == 6 ? *parse_ip("::") : Ip::v4(0), 0), 0};
    const size_t slash = text.find('/');
    const Ip ip = need_ip(text.substr(0, slash));
    uint32_t len = ip.bits();
    if (slash != std::string::npos) len = parse_u32(text.substr(slash + 1), "prefix length");
    if (len > ip.bits()) throw Error(fmt::format("prefix length {} is too long for {}", len, format_ip(ip)));
    return Prefix{ip, static_cast<uint8_t>(len)};
}

uint32_t parse_table(const std::string& text) {
    if (text == "main") return kTableMain;
    if (text == "local") return kTableLocal;
    if (text == "default") return kTableDefault;
    const uint32_t table = parse_u32(text, "table");
    if (table == 0) throw Error("table 0 is not a table");
    return table;
}

uint8_t parse_nud(const std::string& text) {
    static const std::pair<const char*, uint8_t> states[] = {
        {"permanent", kNudPermanent}, {"noarp", kNudNoarp}, {"reachable", kNudReachable}, {"stale", kNudStale},
        {"delay", kNudDelay},         {"probe", kNudProbe}, {"failed", kNudFailed},       {"incomplete", kNudIncomplete}};
    for (const auto& [name, state] : states)
        if (text == name) return state;
    throw Error(fmt::format("unknown neighbour state \"{}\"", text));
}

struct LinkOptions {
    std::optional<uint32_t> ifindex, mtu;
    std::optional<Mac> mac;
};

// Reads link options up to the end or to `type`; returns the type named, if any.
std::optional<std::string> link_options(Line& line, LinkOptions& opts) {
    while (!line.done()) {
        const std::string key = line.next("an option");
        if (key == "ifindex" || key == "index") opts.ifindex = parse_u32(line.next("an ifindex"), "ifindex");
        else if (key == "address") opts.mac = parse_mac(line.next("a MAC address"));
        else if (key == "mtu") opts.mtu = parse_u32(line.next("an MTU"), "mtu");
        else if (key == "type") return line.next("a device type");
        else throw Error(fmt::format("unknown link option \"{}\"", key));
    }
    return std::nullopt;
}

void link_command(Host& host, Line& line) {
    const std::string verb = line.next("add or set");
    if (verb == "add") {
        (void)(line.take("name") || line.take("dev"));
        const std::string name = line.next("a device name");
        LinkOptions opts;
        const std::optional<std::string> type = link_options(line, opts);
        if (type && *type == "veth") {
            // A veth pair: the kernel registers the peer first, so it gets the lower ifindex.
            LinkOptions peer_opts;
            std::string peer;
            if (line.take("peer")) {
                (void)line.take("name");
                peer = line.next("the peer's name");
                if (link_options(line, peer_opts)) throw Error("the peer takes no type");
            }
            if (peer.empty()) throw Error("expected \"peer name NAME\" (the model names no device itself)");
            host.add_link(peer, peer_opts.ifindex, peer_opts.mac, peer_opts.mtu);
        } else if (type) {
            // Every other device is an Ethernet device without a peer here.
            if (!line.done()) throw Error(fmt::format("unexpected \"{}\" after type {}", line.peek(), *type));
        }
        host.add_link(name, opts.ifindex, opts.mac, opts.mtu);
    } else if (verb == "set") {
        line.take("dev");
        const std::string name = line.next("a device name");
        if (line.done()) throw Error("expected up, down, mtu or address");
        while (!line.done()) {
            const std::string key = line.next("an option");
            if (key == "up" || key == "down") host.set_link_up(name, key == "up");
            else if (key == "mtu") host.set_link_mtu(name, parse_u32(line.next("an MTU"), "mtu"));
            else if (key == "addrgenmode" && line.take("none")) continue;  // the model generates none
            else if (key == "address") host.set_link_address(name, parse_mac(line.next("a MAC address")));
            else throw Error(fmt::format("unknown link option \"{}\"", key));
        }
    } else {
        throw Error(fmt::format("unknown link command \"{}\"", verb));
    }
}

void addr_command(Host& host, Line& line) {
    if (!line.take("add")) throw Error("expected \"add\"");
    const Prefix prefix = parse_prefix(line.next("an address"), 4);
    std::string dev;
    while (!line.done()) {
        const std::string key = line.next("an option");
        if (key == "dev") dev = line.next("a device name");
        else if (key == "nodad") continue;  // the model has no duplicate address detection
        else throw Error(fmt::format("unknown address option \"{}\"", key));
    }
    if (dev.empty()) throw Error("expected \"dev NAME\"");
    host.add_address(dev, prefix.addr, prefix.len);
}

void route_command(Host& host, Line& line, uint8_t family) {
    if (!line.take("add")) throw Error("expected \"add\"");
    Route route;
    if (line.take("unreachable")) route.type = RouteType::Unreachable;
    else if (line.take("blackhole")) route.type = RouteType::Blackhole;
    else if (line.take("prohibit")) route.type = RouteType::Prohibit;
    else line.take("unicast");
    const std::string dst = line.next("a destination prefix");
    std::string dev;
    std::optional<Ip> gateway;
    while (!line.done()) {
        const std::string key = line.next("an option");
        if (key == "via") {
            (void)(line.take("inet") || line.take("inet6"));
            gateway = need_ip(line.next("a gateway"));
        } else if (key == "dev") {
            dev = line.next("a device name");
        } else if (key == "table") {
            route.table = parse_table(line.next("a table"));
        } else if (key == "metric" || key == "preference" || key == "priority") {
            route.metric = parse_u32(line.next("a metric"), "metric");
        } else if (key == "src") {
            route.prefsrc = need_ip(line.next("a source address"));
        } else {
            throw Error(fmt::format("unknown route option \"{}\"", key));
        }
    }
    if (family == 0 && gateway) family = gateway->family;
    route.dst = parse_prefix(dst, family);
    route.gateway = gateway;
    host.add_route(route, dev);
}

void rule_command(Host& host, Line& line, uint8_t family) {
    if (!line.take("add")) throw Error("expected \"add\"");
    Rule rule;
    bool pref_given = false, table_given = false;
    std::string from, to;
    while (!line.done()) {
        const std::string key = line.next("an option");
        if (key == "pref" || key == "priority" || key == "order") {
            rule.pref = parse_u32(line.next("a preference"), "preference");
            pref_given = true;
        } else if (key == "from") {
            from = line.next("a source prefix");
        } else if (key == "to") {
            to = line.next("a destination prefix");
        } else if (key == "fwmark") {
            const std::string mark = line.next("a mark");
            const size_t slash = mark.find('/');
            rule.fwmark = parse_u32(mark.substr(0, slash), "fwmark");
            if (slash != std::string::npos) rule.fwmask = parse_u32(mark.substr(slash + 1), "fwmark mask");
        } else if (key == "iif" || key == "dev") {
            rule.iif = line.next("a device name");
        } else if (key == "oif") {
            rule.oif = line.next("a device name");
        } else if (key == "table" || key == "lookup") {
            rule.table = parse_table(line.next("a table"));
            table_given = true;
        } else {
            throw Error(fmt::format("unknown rule option \"{}\"", key));
        }
    }
    if (!table_given) throw Error("expected \"table N\"");
    for (const std::string* text : {&from, &to})
        if (family == 0 && !text->empty() && *text != "all") family = parse_prefix(*text, 4).addr.family;
    rule.family = family == 0 ? 4 : family;
    if (!from.empty() && from != "all") rule.from = parse_prefix(from, rule.family);
    if (!to.empty() && to != "all") rule.to = parse_prefix(to, rule.family);
    for (const auto& p : {rule.from, rule.to})
        if (p && p->addr.family != rule.family) throw Error("rule prefixes of different families");
    if (rule.from) rule.from->addr = mask_ip(rule.from->addr, rule.from->len);
    if (rule.to) rule.to->addr = mask_ip(rule.to->addr, rule.to->len);
    host.add_rule(rule, pref_given);
}

void neigh_command(Host& host, Line& line) {
    if (!line.take("add")) throw Error("expected \"add\"");
    const Ip ip = need_ip(line.next("an address"));
    std::optional<Mac> mac;
    std::string dev;
    uint8_t state = kNudPermanent;
    while (!line.done()) {
        const std::string key = line.next("an option");
        if (key == "lladdr") mac = parse_mac(line.next("a MAC address"));
        else if (key == "dev") dev = line.next("a device name");
        else if (key == "nud") state = parse_nud(line.next("a state"));
        else throw Error(fmt::format("unknown neighbour option \"{}\"", key));
    }
    if (dev.empty()) throw Error("expected \"dev NAME\"");
    host.add_neighbour(ip, dev, mac, state);
}

void sysctl_command(Host& host, Line& line) {
    while (line.take("-w") || line.take("-q")) {
    }
    const std::string setting = line.next("KEY=VALUE");
    const size_t eq = setting.find('=');
    if (eq == std::string::npos || !line.done()) throw Error("expected one KEY=VALUE");
    host.set_sysctl(setting.substr(0, eq), setting.substr(eq + 1));
}

void apply_line(Host& host, std::vector<std::string> words) {
    Line line(std::move(words));
    line.take("ip");
    uint8_t family = 0;
    if (line.take("-4")) family = 4;
    else if (line.take("-6")) family = 6;
    const std::string object = line.next("a command");
    if (object == "link" || object == "l") link_command(host, line);
    else if (object == "addr" || object == "address" || object == "a") addr_command(host, line);
    else if (object == "route" || object == "r" || object == "ro") route_command(host, line, family);
    else if (object == "rule" || object == "ru") rule_command(host, line, family);
    else if (object == "neigh" || object == "neighbour" || object == "neighbor" || object == "n") neigh_command(host, line);
    else if (object == "sysctl" && family == 0) sysctl_command(host, line);
    else throw Error(fmt::format("unknown command \"{}\"", object));
}

}  // namespace

Host parse_host(std::string_view text, std::string_view name) {
    Host host;
    size_t line_no = 0;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view content = text.substr(start, end - start);
        ++line_no;
        start = end + 1;
        if (const size_t hash = content.find('#'); hash != std::string_view::npos) content = content.substr(0, hash);
        std::vector<std::string> words;
        std::istringstream in{std::string(content)};
        for (std::string w; in >> w;) words.push_back(w);
        if (words.empty()) continue;
        try {
            apply_line(host, std::move(words));
        } catch (const Error& e) {
            throw Error(fmt::format("{}:{}: {}", name, line_no, e.what()));
        }
    }
    return host;
}

Host load_host(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    std::stringstream buffer;
    buffer << in.rdbuf();
    return parse_host(buffer.str(), path);
}

}  // namespace tcbpf::net
