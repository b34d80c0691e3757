// The conversion is right when the converted eBPF, run by tcbpf's interpreter, returns what the
// reference cBPF interpreter returns, for libpcap-compiled and random programs over generated traffic.
// The harness gives the eBPF side what the runtime gives it: a __sk_buff image in r1 (uapi offsets;
// the fields cBPF can read are plain u32s there), the kernel's LD_ABS/LD_IND packet access, and the
// helpers the conversion calls.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "generator.h"
#include "tcbpf/asm.h"
#include "tcbpf/cbpf.h"
#include "tcbpf/vm.h"

using namespace tcbpf;

namespace {

struct Harness {
    const cbpf::Packet* packet = nullptr;
    alignas(8) uint8_t skb[192] = {};

    void fill(const cbpf::Packet& p) {
        packet = &p;
        std::memset(skb, 0, sizeof skb);
        auto put32 = [&](size_t off, uint32_t v) { std::memcpy(skb + off, &v, 4); };
        put32(0, static_cast<uint32_t>(p.data.size()));
        put32(4, p.pkt_type);
        put32(8, p.mark);
        put32(12, p.queue_mapping);
        put32(16, __builtin_bswap16(p.protocol));
        put32(20, p.vlan_present ? 1 : 0);
        put32(24, p.vlan_tci);
        put32(28, __builtin_bswap16(p.vlan_tpid));
        put32(40, p.ifindex);
        put32(68, p.rxhash);
    }
};

const cbpf::Packet& packet_of(vm::Context* cx) { return *static_cast<Harness*>(cx->user)->packet; }

bool load_packet(vm::Context* cx, uint64_t, int64_t offset, int size, uint64_t* out) {
    const cbpf::Packet& p = packet_of(cx);
    int64_t at = offset;
    if (offset < 0) {
        if (offset >= cbpf::kNetOff)
            at = p.network_offset + (offset - cbpf::kNetOff);
        else if (offset >= cbpf::kLlOff)
            at = offset - cbpf::kLlOff;
        else
            return false;
    }
    if (at < 0 || at + size > static_cast<int64_t>(p.data.size())) return false;
    uint64_t v = 0;
    for (int i = 0; i < size; ++i) v = v << 8 | p.data[at + i];
    *out = v;
    return true;
}

vm::HelperRegistry converted_helpers() {
    vm::HelperRegistry r;
    r.add(7, "get_prandom_u32", [](uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) -> uint64_t {
        return packet_of(cx).random;
    });
    r.add(8, "get_smp_processor_id", [](uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) -> uint64_t {
        return packet_of(cx).cpu;
    });
    r.add(cbpf::kHelperCbpfPayOffset, "cbpf_pay_offset",
          [](uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) -> uint64_t {
              return packet_of(cx).pay_offset;
          });
    r.add(cbpf::kHelperCbpfHatype, "cbpf_hatype",
          [](uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::Context* cx) -> uint64_t {
              return packet_of(cx).hatype;
          });
    r.add(cbpf::kHelperCbpfNlattr, "cbpf_nlattr",
          [](uint64_t, uint64_t a, uint64_t x, uint64_t, uint64_t, vm::Context* cx) -> uint64_t {
              return cbpf::nlattr_offset(packet_of(cx).data, static_cast<uint32_t>(a), static_cast<uint32_t>(x), false);
          });
    r.add(cbpf::kHelperCbpfNlattrNest, "cbpf_nlattr_nest",
          [](uint64_t, uint64_t a, uint64_t x, uint64_t, uint64_t, vm::Context* cx) -> uint64_t {
              return cbpf::nlattr_offset(packet_of(cx).data, static_cast<uint32_t>(a), static_cast<uint32_t>(x), true);
          });
    return r;
}

// Runs the converted program on one packet in the checked interpreter.
uint32_t run_converted(const vm::Program& prog, Harness& h, const cbpf::Packet& p) {
    h.fill(p);
    vm::Context cx;
    cx.user = &h;
    cx.load_packet = load_packet;
    cx.regions.push_back(vm::Region{reinterpret_cast<uint64_t>(h.skb), sizeof h.skb, false, "skb"});
    const uint64_t r0 = prog.run(cx, reinterpret_cast<uint64_t>(h.skb));
    EXPECT_EQ(cx.fault, vm::Fault::None) << cx.fault_detail;
    EXPECT_EQ(r0 >> 32, 0u) << "A is 32 bits wide";
    return static_cast<uint32_t>(r0);
}

cbpf::Packet packet_for(const std::vector<uint8_t>& bytes, uint32_t n) {
    cbpf::Packet p;
    p.data = bytes;
    p.protocol = bytes.size() >= 14 ? static_cast<uint16_t>(bytes[12] << 8 | bytes[13]) : 0;
    p.pkt_type = n % 4;
    p.ifindex = 2 + n % 3;
    p.mark = n * 2654435761u;
    p.queue_mapping = n % 8;
    p.rxhash = n * 40503u;
    p.cpu = n % 2;
    p.vlan_tci = static_cast<uint16_t>(n * 7);
    p.vlan_present = n % 5 == 0;
    p.vlan_tpid = n % 2 ? 0x8100 : 0x88a8;
    p.pay_offset = 54;
    p.random = n * 97u;
    return p;
}

// A random program the checker accepts: random allowed opcodes with operands drawn so most checks pass,
// forward jumps within the program, and a return at the end.
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
            switch (rng() % 6) {
                case 0: i.k = rng() % 16; break;
                case 1: i.k = rng() % 80; break;
                case 2: i.k = 0xfffff000u + 4 * (rng() % 16); break;  // ancillary
                case 3: i.k = static_cast<uint32_t>(cbpf::kNetOff) + rng() % 40; break;
                case 4: i.k = static_cast<uint32_t>(cbpf::kLlOff) + rng() % 40; break;
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

}  // namespace

TEST(CbpfConvert, SmallProgramReadsAsExpected) {
    // ldh [12]; jeq #0x800 jt 2 jf 3; ret #262144; ret #0
    const isa::Program e =
        cbpf::convert({{0x28, 0, 0, 12}, {0x15, 0, 1, 0x800}, {0x06, 0, 0, 262144}, {0x06, 0, 0, 0}});
    EXPECT_EQ(isa::disassemble(e),
              "0: w0 = 0\n"
              "1: w7 = 0\n"
              "2: r6 = r1\n"
              "3: r0 = *(u16 *)skb[12]\n"
              "4: if w0 != 2048 goto +2\n"
              "5: w0 = 262144\n"
              "6: exit\n"
              "7: w0 = 0\n"
              "8: exit\n");
}

TEST(CbpfConvert, RefusesWhatTheCheckerRefuses) {
    try {
        cbpf::convert({{0x34, 0, 0, 0}, {0x06, 0, 0, 0}});
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "cBPF insn 0: division by constant zero");
    }
}

TEST(CbpfConvert, CompiledFiltersAgreeWithTheReferenceOnGeneratedTraffic) {
    const char* expressions[] = {"ip", "ip6", "tcp port 80 and not src net 10.0.0.0/8", "udp portrange 1000-3000",
                                 "vlan and (tcp or udp)", "ip[6:2] & 0x1fff != 0", "icmp or icmp6",
                                 "tcp[tcpflags] & tcp-syn != 0", "greater 500", "ether multicast"};
    const auto frames = trafficgen::generate({.seed = 11, .count = 10000});
    const vm::HelperRegistry helpers = converted_helpers();
    Harness h;
    size_t runs = 0;
    for (const char* expr : expressions) {
        const cbpf::Program prog = cbpf::compile_filter(expr);
        const auto ebpf = vm::Program::prepare(cbpf::convert(prog), helpers, {.checked = true});
        for (uint32_t n = 0; n < frames.size(); ++n) {
            const cbpf::Packet p = packet_for(frames[n].bytes, n);
            ASSERT_EQ(run_converted(*ebpf, h, p), cbpf::run(prog, p)) << "filter '" << expr << "', frame " << n;
            ++runs;
        }
    }
    EXPECT_EQ(runs, std::size(expressions) * frames.size());
}

TEST(CbpfConvert, RandomProgramsAgreeWithTheReference) {
    std::mt19937 rng(2024);
    const auto frames = trafficgen::generate({.seed = 3, .count = 40});
    const vm::HelperRegistry helpers = converted_helpers();
    Harness h;
    for (int i = 0; i < 3000; ++i) {
        const cbpf::Program prog = random_program(rng);
        const auto ebpf = vm::Program::prepare(cbpf::convert(prog), helpers, {.checked = true});
        for (uint32_t n = 0; n < frames.size(); ++n) {
            const cbpf::Packet p = packet_for(frames[n].bytes, n);
            ASSERT_EQ(run_converted(*ebpf, h, p), cbpf::run(prog, p))
                << "program " << i << " (" << cbpf::format_bytecode(prog) << "), frame " << n << "\n"
                << cbpf::disassemble(prog);
        }
    }
}
