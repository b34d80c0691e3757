#include "example_workload.h"

#include <algorithm>
#include <cstring>

#include "tcbpf/loader.h"
#include "tcbpf/runtime.h"

namespace tcbpf::examples {
namespace {

template <typename T>
Bytes bytes_of(const T& value) {
    Bytes b(sizeof value);
    std::memcpy(b.data(), &value, sizeof value);
    return b;
}

const Example kExamples[] = {
    {"pass_all", "pass_all", nullptr},
    {"port_classifier", "port_classifier", nullptr},
    {"policy", "policy_classifier", policy_entries},
    {"flow_counters", "flow_counters", nullptr},
    {"lpm_acl", "lpm_acl", lpm_acl_entries},
    {"l4_lb", "l4_lb", l4_lb_entries},
    {"payload_scan", "payload_scan", nullptr},
    {"tail_dispatch", "dispatch", nullptr},
    {"datapath", "datapath", datapath_entries},
};

}  // namespace

std::span<const Example> examples() { return kExamples; }

std::vector<Bytes> harvest_flow_keys(const std::string& flow_counters_object, const std::vector<io::Frame>& frames) {
    auto object = runtime::LoadedObject::load(loader::load_object(flow_counters_object));
    const runtime::PreparedProgram& program = object->select("flow_counters");
    for (const io::Frame& f : frames) object->test_run(program, f.bytes);
    std::vector<Bytes> keys;
    object->map("flow_stats")->for_each([&](std::span<const uint8_t> key, std::span<const uint8_t>) {
        keys.emplace_back(key.begin(), key.end());
    });
    // Hash iteration order depends on the map's random seed. Keys all have one size; memcmp directly
    // (g++ 12 warns falsely on vector's operator<).
    std::sort(keys.begin(), keys.end(), [](const Bytes& a, const Bytes& b) {
        return std::memcmp(a.data(), b.data(), std::min(a.size(), b.size())) < 0;
    });
    return keys;
}

std::vector<Prefill> policy_entries(const std::vector<Bytes>& flows) {
    std::vector<Prefill> out;
    const int32_t verdicts[] = {0, 2, 1, -1, 3};
    for (size_t i = 0; i < flows.size(); ++i) {
        if (i % 3 == 0) continue;  // misses too
        struct {
            int32_t verdict;
            uint32_t classid, priority, mark;
        } policy{verdicts[i % 5], 0x10000u | static_cast<uint32_t>(i), static_cast<uint32_t>(i * 7),
                 0x1000u + static_cast<uint32_t>(i)};
        out.push_back({"policy_map", flows[i], bytes_of(policy)});
    }
    return out;
}

std::vector<Prefill> l4_lb_entries(const std::vector<Bytes>& flows) {
    std::vector<Prefill> out;
    for (uint32_t idx = 0; idx < 1024; ++idx) {
        struct {
            uint8_t addr[4];
            uint16_t port;
            uint8_t mac[6];
            uint32_t ifindex;
        } backend{{10, 1, static_cast<uint8_t>(idx >> 8), static_cast<uint8_t>(idx)},
                  static_cast<uint16_t>(__builtin_bswap16(static_cast<uint16_t>(8000 + idx))),
                  {0x02, 0xbe, 0, 0, static_cast<uint8_t>(idx >> 8), static_cast<uint8_t>(idx)},
                  2 + idx % 5};
        static_assert(sizeof backend == 16);
        out.push_back({"backends", bytes_of(idx), bytes_of(backend)});
    }
    size_t services = 0;
    for (size_t i = 0; i < flows.size() && services < 200; ++i) {  // the map holds 256
        const Bytes& k = flows[i];
        const uint8_t proto = k[36], family = k[37];
        if (family != 4 || (proto != 6 && proto != 17) || i % 2 == 0) continue;
        Bytes service_key(8, 0);
        std::memcpy(service_key.data(), &k[28], 4);   // vip = daddr (IPv4-mapped tail)
        std::memcpy(service_key.data() + 4, &k[34], 2);  // dport, network order
        service_key[6] = proto;
        // Some services point past the backend table (a failed lookup drops), some have no backend.
        struct {
            uint32_t first_backend, backend_count;
        } service{static_cast<uint32_t>((i * 37) % 1030), static_cast<uint32_t>(i % 5)};
        out.push_back({"services", service_key, bytes_of(service)});
        ++services;
    }
    return out;
}

std::vector<Prefill> lpm_acl_entries(const std::vector<Bytes>& flows) {
    std::vector<Prefill> out;
    for (size_t i = 0; i < flows.size(); ++i) {
        const Bytes& k = flows[i];
        const uint32_t action = i % 3 == 0 ? 1 : 0;
        if (k[37] == 4) {
            Bytes key(8, 0);
            const uint32_t prefix = i % 2 == 0 ? 24 : 16;
            std::memcpy(key.data(), &prefix, 4);
            std::memcpy(key.data() + 4, &k[12], 4);
            out.push_back({"acl_v4", key, bytes_of(action)});
        } else {
            Bytes key(20, 0);
            const uint32_t prefix = i % 2 == 0 ? 64 : 48;
            std::memcpy(key.data(), &prefix, 4);
            std::memcpy(key.data() + 4, &k[0], 16);
            out.push_back({"acl_v6", key, bytes_of(action)});
        }
    }
    return out;
}

// datapath's policy (deny some destination ports, classify others, a per-protocol default for UDP)
// and destination NAT for some IPv4 services, all taken from the traffic's own flows.
std::vector<Prefill> datapath_entries(const std::vector<Bytes>& flows) {
    std::vector<Prefill> out;
    size_t policies = 0, nats = 0;
    for (size_t i = 0; i < flows.size(); ++i) {
        const Bytes& k = flows[i];
        const uint8_t proto = k[36], family = k[37];
        if (proto != 6 && proto != 17) continue;
        const uint16_t dport = static_cast<uint16_t>(k[34] << 8 | k[35]);
        if (i % 4 == 1 && policies < 200) {  // the policy map holds 256
            struct {
                uint16_t port;
                uint8_t proto, family;
            } key{dport, proto, family};
            struct {
                uint32_t allow, classid;
            } value{i % 3 != 0 ? 1u : 0u, 0x10000u | static_cast<uint32_t>(i)};
            out.push_back({"dp_policy", bytes_of(key), bytes_of(value)});
            ++policies;
        }
        if (family == 4 && i % 4 == 2 && nats < 200) {
            Bytes key(8, 0), value(8, 0);
            std::memcpy(key.data(), &k[28], 4);   // daddr (IPv4-mapped tail)
            std::memcpy(key.data() + 4, &k[34], 2);  // dport, network order
            key[6] = proto;
            value[0] = 10, value[1] = 99, value[2] = static_cast<uint8_t>(i >> 8), value[3] = static_cast<uint8_t>(i);
            value[4] = 0x1f, value[5] = 0x90;  // port 8080
            out.push_back({"dp_nat", key, value});
            ++nats;
        }
    }
    struct {
        uint16_t port;
        uint8_t proto, family;
    } udp_default{0, 17, 4};
    const uint64_t allow_class = 0x0001002000000001ull;  // allow = 1, classid = 0x10020
    out.push_back({"dp_policy", bytes_of(udp_default), bytes_of(allow_class)});
    return out;
}

}  // namespace tcbpf::examples
