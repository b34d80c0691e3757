#include "converted_runner.h"

#include <gtest/gtest.h>

#include <pcap/pcap.h>

#include "tcbpf/asm.h"
#include "tcbpf/cbpf_filter.h"
#include "tcbpf/cbpf_object.h"
#include "tcbpf/helpers.h"
#include "tcbpf/runtime.h"
#include "tcbpf/skb.h"

namespace tcbpf::cbpf_test {

namespace {

// The run's cbpf::Packet, for the two helpers whose answer the reference takes as given.
struct Env {
    helpers::RunEnv run;
    const cbpf::Packet* packet = nullptr;
};
const cbpf::Packet& packet_of(vm::Context* cx) { return *static_cast<Env*>(cx->user)->packet; }

const vm::HelperRegistry& registry() {
    static const vm::HelperRegistry r = [] {
        vm::HelperRegistry reg;
        helpers::register_cbpf_helpers(reg);
        reg.add(7, "get_prandom_u32", [](uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) -> uint64_t {
            return packet_of(cx).random;
        });
        reg.add(8, "get_smp_processor_id",
                [](uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) -> uint64_t { return cx->cpu; });
        return reg;
    }();
    return r;
}

// bpf_skb_load_helper_*: the packet from the MAC header on, SKF_NET_OFF/SKF_LL_OFF bases.
bool load_packet(vm::Context* cx, uint64_t, int64_t offset, int size, uint64_t* out) {
    const skb::Packet& packet = *static_cast<Env*>(cx->user)->run.packet;
    int64_t at = offset;
    if (offset < 0) {
        if (offset >= cbpf::kNetOff)
            at = *packet.network_header() + (offset - cbpf::kNetOff);
        else if (offset >= cbpf::kLlOff)
            at = *packet.mac_header() + (offset - cbpf::kLlOff);
        else
            return false;
    }
    if (at < 0 || at + size > static_cast<int64_t>(packet.size())) return false;
    uint64_t v = 0;
    for (int i = 0; i < size; ++i) v = v << 8 | packet.data()[at + i];
    *out = v;
    return true;
}

}  // namespace

ConvertedRunner::ConvertedRunner(const cbpf::Program& prog) {
    // The kernel trusts its conversion; tcbpf's verifier must accept every converted program.
    const cbpf::ConvertedObject object = cbpf::to_object(prog, "test");
    converted_ = object.object.programs[0].prog;
    EXPECT_TRUE(object.verified()) << cbpf::format_bytecode(prog) << ": insn " << object.verdict.insn_idx << ": "
                                   << object.verdict.message << "\n" << isa::disassemble(converted_);
    const isa::Program rewritten = runtime::rewrite_ctx_accesses(converted_, skb::ProgType::Classifier);
    checked_ = vm::Program::prepare(rewritten, registry(), {.checked = true});
    interp_ = vm::Program::prepare(rewritten, registry(), {.checked = false});
    jit_ = jit::Program::compile(rewritten, registry());
}

ConvertedRunner::~ConvertedRunner() = default;

uint32_t ConvertedRunner::run(const cbpf::Packet& p, Engine engine) const {
    skb::Packet packet(p.data);
    packet.set_mac_header(0);
    packet.set_network_header(static_cast<int32_t>(p.network_offset));
    skb::SkbMeta meta = cbpf::skb_meta(p);
    skb::SkbContext ctx;
    skb::sync_in(meta, packet, ctx);

    Env env;
    env.packet = &p;
    env.run.packet = &packet;
    env.run.meta = &meta;
    env.run.ctx = &ctx;
    env.run.device_type = static_cast<uint16_t>(p.hatype);
    vm::Context cx;
    cx.user = &env;
    cx.cpu = p.cpu;
    cx.load_packet = load_packet;
    const auto ctx_address = reinterpret_cast<uint64_t>(&ctx);
    uint64_t r0 = 0;
    switch (engine) {
        case Engine::Checked:
            cx.regions.push_back(vm::Region{reinterpret_cast<uint64_t>(packet.data()), packet.size(), false, "packet"});
            cx.regions.push_back(vm::Region{ctx_address, sizeof ctx, false, "ctx"});
            r0 = checked_->run(cx, ctx_address);
            break;
        case Engine::Interp: r0 = interp_->run(cx, ctx_address); break;
        case Engine::Jit: r0 = jit_->run(cx, ctx_address); break;
    }
    EXPECT_EQ(cx.fault, vm::Fault::None) << engine_name(engine) << ": " << cx.fault_detail;
    EXPECT_EQ(r0 >> 32, 0u) << engine_name(engine) << ": A is 32 bits wide";
    return static_cast<uint32_t>(r0);
}

uint32_t libpcap_filter(const cbpf::Program& prog, std::span<const uint8_t> bytes) {
    std::vector<bpf_insn> raw;
    for (const auto& i : prog) raw.push_back(bpf_insn{i.code, i.jt, i.jf, i.k});
    return bpf_filter(raw.data(), bytes.data(), static_cast<u_int>(bytes.size()), static_cast<u_int>(bytes.size()));
}

cbpf::Packet varied_packet(std::span<const uint8_t> bytes, uint32_t n) {
    cbpf::Packet p;
    p.data = bytes;
    p.protocol = bytes.size() >= 14 ? static_cast<uint16_t>(bytes[12] << 8 | bytes[13]) : 0;
    p.pkt_type = n % 5;
    p.ifindex = n % 7 == 0 ? 0 : 1 + n % 3;  // sometimes no device at all
    p.mark = n * 2654435761u;
    p.queue_mapping = n % 8;
    p.hatype = n % 2 ? helpers::kArphrdEther : helpers::kArphrdLoopback;
    p.rxhash = n * 40503u;
    p.cpu = n % 2;
    p.vlan_tci = static_cast<uint16_t>(n * 7);
    p.vlan_present = n % 5 == 0;
    p.vlan_tpid = n % 2 ? 0x8100 : 0x88a8;
    p.pay_offset = helpers::payload_offset(bytes, p.network_offset, p.protocol, p.vlan_present, p.vlan_tpid);
    p.random = n * 97u;
    return p;
}

cbpf::Program random_program(std::mt19937& rng) {
    static const std::vector<uint16_t> codes = [] {
        std::vector<uint16_t> v;
        for (uint16_t c = 0; c < 0x100; ++c) {
            cbpf::Program probe = {{c, 0, 0, 1}, {0x06, 0, 0, 0}};
            try {
                cbpf::check(probe);
                v.push_back(c);
            } catch (const Error&) {
                if (c == 0x05 || c == 0x60 || c == 0x61) v.push_back(c);  // valid with other operands
            }
        }
        return v;
    }();
    for (;;) {
        const size_t n = 2 + rng() % 30;
        cbpf::Program p(n);
        for (size_t pc = 0; pc + 1 < n; ++pc) {
            cbpf::Insn& i = p[pc];
            i.code = codes[rng() % codes.size()];
            const size_t room = n - pc - 1;
            i.jt = static_cast<uint8_t>(rng() % room);
            i.jf = static_cast<uint8_t>(rng() % room);
            switch (rng() % 7) {
                case 0: i.k = rng() % 16; break;
                case 1: i.k = rng() % 80; break;
                case 2: i.k = 0xfffff000u + 4 * (rng() % 16); break;  // ancillary
                case 3: i.k = static_cast<uint32_t>(cbpf::kNetOff) + rng() % 40; break;
                case 4: i.k = static_cast<uint32_t>(cbpf::kLlOff) + rng() % 40; break;
                case 5: i.k = 0xffffffffu - rng() % 80; break;  // X + k wrapping around
                default: i.k = rng(); break;
            }
            if (i.code == 0x05) i.k = rng() % room;
        }
        p[n - 1] = cbpf::Insn{static_cast<uint16_t>(rng() % 2 ? 0x16 : 0x06), 0, 0, static_cast<uint32_t>(rng())};
        try {
            cbpf::check(p);
            return p;
        } catch (const Error&) {
        }
    }
}

}  // namespace tcbpf::cbpf_test
