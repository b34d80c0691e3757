#include "tests/helpers/helper_run.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "tcbpf/asm.h"

namespace tcbpf::helpers::test {

namespace {

void put16(std::vector<uint8_t>& f, size_t at, uint16_t v) {
    f[at] = static_cast<uint8_t>(v >> 8);
    f[at + 1] = static_cast<uint8_t>(v);
}

struct CtxField {
    std::string_view name;
    int uapi_offset;
    size_t uapi_size;
    size_t ours_offset;
    size_t ours_size;
};

#define FIELD(name, uapi, uapi_size) \
    CtxField{#name, uapi, uapi_size, offsetof(skb::SkbContext, name), sizeof(skb::SkbContext::name)}
const CtxField kFields[] = {
    FIELD(len, 0, 4),        FIELD(pkt_type, 4, 4),  FIELD(mark, 8, 4),          FIELD(protocol, 16, 4),
    FIELD(vlan_present, 20, 4), FIELD(vlan_tci, 24, 4), FIELD(vlan_proto, 28, 4), FIELD(hash, 68, 4),
    FIELD(data, 76, 4),      FIELD(data_end, 80, 4), FIELD(data_meta, 140, 4),   FIELD(tstamp, 152, 8),
    FIELD(tstamp_type, 180, 1),
};
#undef FIELD

const char* width_name(size_t size) {
    switch (size) {
        case 1: return "u8";
        case 2: return "u16";
        case 4: return "u32";
        default: return "u64";
    }
}

}  // namespace

std::vector<uint8_t> ipv4_udp_frame(size_t payload, uint8_t src_last_octet) {
    std::vector<uint8_t> f(14 + 20 + 8 + payload, 0);
    const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    std::memcpy(f.data(), macs, 12);
    put16(f, 12, 0x0800);
    uint8_t* ip = f.data() + 14;
    ip[0] = 0x45;
    put16(f, 16, static_cast<uint16_t>(20 + 8 + payload));
    put16(f, 18, 0x1234);
    ip[8] = 64;
    ip[9] = 17;
    const uint8_t addrs[8] = {10, 0, 0, src_last_octet, 10, 0, 0, 2};
    std::memcpy(ip + 12, addrs, 8);
    const uint16_t ip_sum = skb::internet_checksum({ip, 20});
    std::memcpy(ip + 10, &ip_sum, 2);
    put16(f, 34, 1234);
    put16(f, 36, 80);
    put16(f, 38, static_cast<uint16_t>(8 + payload));
    for (size_t i = 0; i < payload; ++i) f[42 + i] = static_cast<uint8_t>(0x41 + i);
    // UDP checksum over the pseudo header (addresses, zero, protocol, length) and the datagram.
    std::vector<uint8_t> pseudo(addrs, addrs + 8);
    pseudo.insert(pseudo.end(), {0, 17, static_cast<uint8_t>((8 + payload) >> 8), static_cast<uint8_t>(8 + payload)});
    pseudo.insert(pseudo.end(), f.begin() + 34, f.end());
    const uint16_t udp_sum = skb::internet_checksum(pseudo);
    std::memcpy(f.data() + 40, &udp_sum, 2);
    return f;
}

std::vector<uint8_t> ipv6_tcp_frame() {
    std::vector<uint8_t> f(14 + 40 + 20, 0);
    const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    std::memcpy(f.data(), macs, 12);
    put16(f, 12, 0x86dd);
    f[14] = 0x60;
    put16(f, 18, 20);
    f[20] = 6;
    f[21] = 64;
    const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    std::memcpy(f.data() + 22, src, 16);
    std::memcpy(f.data() + 38, src, 16);
    f[53] = 2;
    put16(f, 54, 1234);
    put16(f, 56, 80);
    f[66] = 0x50;  // data offset 5 words
    f[67] = 0x02;  // SYN
    put16(f, 68, 0xffff);
    std::vector<uint8_t> pseudo(f.begin() + 22, f.begin() + 54);
    pseudo.insert(pseudo.end(), {0, 0, 0, 20, 0, 0, 0, 6});
    pseudo.insert(pseudo.end(), f.begin() + 54, f.end());
    const uint16_t sum = skb::internet_checksum(pseudo);
    std::memcpy(f.data() + 70, &sum, 2);
    return f;
}

std::vector<uint8_t> tagged(const std::vector<uint8_t>& frame, uint16_t tpid, uint16_t tci) {
    // Built in place rather than by inserts into a 12-byte vector: g++ 12 misreads those as overflows.
    std::vector<uint8_t> f(frame.size() + 4);
    std::copy(frame.begin(), frame.begin() + 12, f.begin());
    f[12] = static_cast<uint8_t>(tpid >> 8);
    f[13] = static_cast<uint8_t>(tpid);
    f[14] = static_cast<uint8_t>(tci >> 8);
    f[15] = static_cast<uint8_t>(tci);
    std::copy(frame.begin() + 12, frame.end(), f.begin() + 16);
    return f;
}

std::string stack_string(std::string_view text, int* start) {
    std::string padded(text);
    padded.push_back('\0');
    while (padded.size() % 4) padded.push_back('\0');
    *start = -static_cast<int>(padded.size());
    std::string code;
    for (size_t i = 0; i < padded.size(); i += 4) {
        uint32_t word;
        std::memcpy(&word, padded.data() + i, 4);
        code += fmt::format("*(u32 *)(r10 {}) = {:#x}\n", *start + static_cast<int>(i), word);
    }
    return code;
}

std::string render(std::string_view source, Side side) {
    std::string out;
    size_t at = 0;
    while (true) {
        const size_t open = source.find("{ctx:", at);
        if (open == std::string_view::npos) break;
        const size_t close = source.find('}', open);
        out.append(source.substr(at, open - at));
        const std::string_view name = source.substr(open + 5, close - open - 5);
        const CtxField* field = nullptr;
        for (const CtxField& f : kFields)
            if (f.name == name) field = &f;
        if (field == nullptr) throw std::runtime_error(fmt::format("no ctx field {} in the test table", name));
        if (side == Side::Kernel)
            out += fmt::format("*({} *)(r6 + {})", width_name(field->uapi_size), field->uapi_offset);
        else out += fmt::format("*({} *)(r6 + {})", width_name(field->ours_size), field->ours_offset);
        at = close + 1;
    }
    out.append(source.substr(at));
    return out;
}

HelperRun::HelperRun(const std::vector<uint8_t>& frame) {
    skb::TestRunResult prepared = skb::prepare_test_run(frame);
    if (!prepared.skb) throw std::runtime_error("test frame refused: " + prepared.refusal);
    packet = std::move(prepared.skb->packet);
    meta = prepared.skb->meta;
    env.packet = &packet;
    env.meta = &meta;
    env.ctx = &ctx;
    env.prandom_state = 1;
    trace_sink = [this](std::string_view line) { trace.emplace_back(line); };
    env.trace = &trace_sink;
    cx.user = &env;
}

uint64_t HelperRun::run(std::string_view source, bool checked) {
    vm::HelperRegistry registry;
    register_tc_helpers(registry);
    const isa::Program program = isa::assemble(render(source, Side::Tcbpf), "test");
    const auto prepared = vm::Program::prepare(program, registry, {.checked = checked});
    skb::sync_in(meta, packet, ctx);
    cx.regions = {
        {reinterpret_cast<uint64_t>(packet.meta()), packet.meta_len() + packet.size(), true, kPacketRegion},
        {reinterpret_cast<uint64_t>(&ctx), sizeof ctx, true, "ctx"},
        {reinterpret_cast<uint64_t>(out), sizeof out, true, "out"},
    };
    for (const maps::Map* map : maps)
        cx.regions.push_back({reinterpret_cast<uint64_t>(map->memory().data()), map->memory().size(), true, "map"});
    const uint64_t r0 = prepared->run(cx, reinterpret_cast<uint64_t>(&ctx), reinterpret_cast<uint64_t>(out));
    EXPECT_EQ(cx.fault, vm::Fault::None) << cx.fault_detail;
    skb::sync_out(ctx, meta);
    return r0;
}

std::string HelperRun::address(const void* p) { return fmt::format("{:#x}", reinterpret_cast<uint64_t>(p)); }

}  // namespace tcbpf::helpers::test
