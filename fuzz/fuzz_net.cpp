// Text -> host model. Any input must give a Host or a tcbpf::Error naming a line (no crash, hang or
// other exception); on an accepted host, lookups of addresses taken from the input must answer with a
// route that covers the destination, in the family asked, through a device that exists and is up.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tcbpf/error.h"
#include "tcbpf/net.h"

namespace {

void check_lookup(const tcbpf::net::Host& host, const tcbpf::net::Ip& dst) {
    using namespace tcbpf::net;
    for (const uint32_t oif : {0u, 1u, 2u, 3u}) {
        Flow flow;
        flow.dst = dst;
        flow.src = dst;
        flow.oif = oif;
        flow.prefer_oif = oif;
        const FibResult r = host.lookup(flow);
        if (r.error != 0) continue;
        const Route& route = *r.route;
        if (route.dst.addr.family != dst.family || !route.dst.contains(dst)) {
            std::fprintf(stderr, "lookup of %s answered %s/%u\n", format_ip(dst).c_str(),
                         format_ip(route.dst.addr).c_str(), route.dst.len);
            std::abort();
        }
        const Device* dev = host.device(route.ifindex);
        if (route.type == RouteType::Unicast && (dev == nullptr || !dev->up)) {
            std::fprintf(stderr, "route to %s leaves through a missing or down device\n", format_ip(dst).c_str());
            std::abort();
        }
        if (dst.family == 4 && route.type == RouteType::Unicast) (void)host.select_source4(route);
        if (dst.family == 6) (void)host.select_source6(route.ifindex, dst);
        (void)host.neighbour(route.ifindex, route.gateway.value_or(dst));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const tcbpf::net::Host host = tcbpf::net::parse_host(text, "fuzz");
        // Every word that parses as an address (with any /LEN stripped) is looked up.
        size_t at = 0;
        while (at < text.size()) {
            const size_t end = text.find_first_of(" \t\n/", at);
            const std::string_view word = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
            if (const auto ip = tcbpf::net::parse_ip(word)) check_lookup(host, *ip);
            if (end == std::string_view::npos) break;
            at = end + 1;
        }
    } catch (const tcbpf::Error&) {
    }
    return 0;
}
