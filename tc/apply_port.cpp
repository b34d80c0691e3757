// Ports for offline runs: `port add NAME type pcap in FILE ...` and `port peer A B`.
#include <algorithm>

#include <fmt/format.h>

#include "tc/apply.h"

namespace tcbpf::tc {

Port* Pipeline::State::port_by_name(std::string_view name) const {
    for (const auto& p : ports)
        if (p->spec.name == name) return p.get();
    return nullptr;
}

Port* Pipeline::State::port_by_ifindex(uint32_t ifindex) const {
    for (const auto& p : ports)
        if (p->ifindex == ifindex) return p.get();
    return nullptr;
}

Port& Pipeline::State::port_or_throw(std::string_view name) const {
    Port* p = port_by_name(name);
    if (p == nullptr) throw Error(fmt::format("Cannot find device \"{}\"", name));
    return *p;
}

void apply_port(Pipeline::State& state, const PortSpec& spec) {
    if (state.port_by_name(spec.name) != nullptr) throw Error(fmt::format("port \"{}\" already exists", spec.name));
    uint32_t ifindex = spec.ifindex;
    if (ifindex != 0) {
        if (const Port* other = state.port_by_ifindex(ifindex))
            throw Error(fmt::format("ifindex {} is already used by port \"{}\"", ifindex, other->spec.name));
    } else {
        ifindex = 2;  // 1 is loopback
        while (state.port_by_ifindex(ifindex) != nullptr) ++ifindex;
    }
    auto port = std::make_unique<Port>();
    port->spec = spec;
    port->ifindex = ifindex;
    port->device.ifindex = ifindex;
    std::fill(std::begin(port->device.broadcast), std::end(port->device.broadcast), 0xff);
    state.ports.push_back(std::move(port));
}

void apply_peer(Pipeline::State& state, const PeerSpec& spec) {
    Port& a = state.port_or_throw(spec.a);
    Port& b = state.port_or_throw(spec.b);
    if (&a == &b) throw Error(fmt::format("port \"{}\" cannot be its own peer", spec.a));
    for (Port* p : {&a, &b})
        if (p->peer != 0 && p->peer != a.ifindex && p->peer != b.ifindex)
            throw Error(fmt::format("port \"{}\" already has a peer", p->spec.name));
    a.peer = b.ifindex;
    b.peer = a.ifindex;
    a.peer_port = &b;
    b.peer_port = &a;
}

}  // namespace tcbpf::tc
