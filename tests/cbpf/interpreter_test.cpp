// The reference interpreter against the semantics Linux gives tc programs (cbpf.md §5-§7).
#include <gtest/gtest.h>

#include "tcbpf/cbpf.h"

using namespace tcbpf::cbpf;

namespace {

// Ethernet + IPv4 (IHL 5) + TCP 10.0.0.1:1234 -> 10.0.0.2:80, 54 bytes.
std::vector<uint8_t> tcp_frame() {
    return {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00,  //
            0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 10, 0, 0, 1, 10, 0, 0, 2,
            0x04, 0xd2, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0};
}

uint32_t run_on(const Program& prog, const std::vector<uint8_t>& bytes, Packet p = {}) {
    check(prog);
    p.data = bytes;
    return run(prog, p);
}

constexpr Insn ret_a{0x16, 0, 0, 0};
constexpr uint32_t anc(uint32_t id) { return 0xfffff000u + id; }

}  // namespace

TEST(CbpfRun, PacketLoadsAreBigEndianFromTheMacHeader) {
    const auto f = tcp_frame();
    EXPECT_EQ(run_on({{0x28, 0, 0, 12}, ret_a}, f), 0x0800u);      // ldh [12]
    EXPECT_EQ(run_on({{0x30, 0, 0, 23}, ret_a}, f), 6u);           // ldb [23]: protocol
    EXPECT_EQ(run_on({{0x20, 0, 0, 26}, ret_a}, f), 0x0a000001u);  // ld [26]: source address
    EXPECT_EQ(run_on({{0x01, 0, 0, 36}, {0x48, 0, 0, 0}, ret_a}, f), 80u);  // ldh [x + 0]
}

TEST(CbpfRun, OutOfBoundsLoadsReturnZero) {
    const auto f = tcp_frame();
    EXPECT_EQ(run_on({{0x00, 0, 0, 7}, {0x20, 0, 0, 51}, ret_a}, f), 0u);  // 4 bytes at 51 of 54: not 7
    EXPECT_EQ(run_on({{0x00, 0, 0, 7}, {0x30, 0, 0, 53}, ret_a}, f), 0u);  // the last byte (0) loads
    EXPECT_EQ(run_on({{0x00, 0, 0, 7}, {0x28, 0, 0, 48}, ret_a}, f), 0xffffu);
    EXPECT_EQ(run_on({{0x00, 0, 0, 7}, {0x20, 0, 0, 46}, ret_a}, f), 0x5002ffffu);  // ends at 50: fits
    EXPECT_EQ(run_on({{0x00, 0, 0, 7}, {0x30, 0, 0, 54}, ret_a}, f), 0u);
    EXPECT_EQ(run_on({{0x01, 0, 0, 0xffffffff}, {0x50, 0, 0, 2}, ret_a}, f), 0x11u);  // x + k wraps to 1
}

TEST(CbpfRun, NegativeOffsetsAddressNetworkAndMacHeaders) {
    const auto f = tcp_frame();
    EXPECT_EQ(run_on({{0x30, 0, 0, static_cast<uint32_t>(kNetOff + 9)}, ret_a}, f), 6u);  // IP protocol
    EXPECT_EQ(run_on({{0x28, 0, 0, static_cast<uint32_t>(kLlOff + 12)}, ret_a}, f), 0x0800u);
    EXPECT_EQ(run_on({{0x00, 0, 0, 9}, {0x30, 0, 0, static_cast<uint32_t>(kLlOff - 1)}, ret_a}, f), 0u);
    Packet shifted;
    shifted.network_offset = 18;  // as after a VLAN tag
    EXPECT_EQ(run_on({{0x30, 0, 0, static_cast<uint32_t>(kNetOff)}, ret_a}, f, shifted), 0x00u);  // f[18]
}

TEST(CbpfRun, MshLoadsTheIpHeaderLength) {
    const auto f = tcp_frame();
    EXPECT_EQ(run_on({{0xb1, 0, 0, 14}, {0x87, 0, 0, 0}, ret_a}, f), 20u);
    EXPECT_EQ(run_on({{0x00, 0, 0, 3}, {0xb1, 0, 0, 54}, ret_a}, f), 0u);  // outside: whole program 0
}

TEST(CbpfRun, DivisionByZeroXReturnsZero) {
    const auto f = tcp_frame();
    EXPECT_EQ(run_on({{0x00, 0, 0, 9}, {0x3c, 0, 0, 0}, ret_a}, f), 0u);
    EXPECT_EQ(run_on({{0x00, 0, 0, 9}, {0x9c, 0, 0, 0}, ret_a}, f), 0u);
    EXPECT_EQ(run_on({{0x00, 0, 0, 9}, {0x01, 0, 0, 2}, {0x9c, 0, 0, 0}, ret_a}, f), 1u);
}

TEST(CbpfRun, AluIsUnsigned32BitWithMaskedShiftsByX) {
    const auto f = tcp_frame();
    EXPECT_EQ(run_on({{0x00, 0, 0, 0xffffffff}, {0x04, 0, 0, 2}, ret_a}, f), 1u);
    EXPECT_EQ(run_on({{0x00, 0, 0, 1}, {0x84, 0, 0, 0}, ret_a}, f), 0xffffffffu);
    EXPECT_EQ(run_on({{0x00, 0, 0, 0x80000000}, {0x74, 0, 0, 31}, ret_a}, f), 1u);
    EXPECT_EQ(run_on({{0x00, 0, 0, 1}, {0x01, 0, 0, 33}, {0x6c, 0, 0, 0}, ret_a}, f), 2u);  // 33 & 31
    EXPECT_EQ(run_on({{0x00, 0, 0, 7}, {0x24, 0, 0, 6}, {0x94, 0, 0, 5}, ret_a}, f), 2u);
}

TEST(CbpfRun, JumpsAndScratchMemory) {
    const auto f = tcp_frame();
    const Program p = {{0x28, 0, 0, 12},          {0x15, 0, 3, 0x0800},  {0x30, 0, 0, 23},
                       {0x45, 0, 1, 0x04},          {0x06, 0, 0, 111},     {0x02, 0, 0, 5},
                       {0x00, 0, 0, 0},             {0x60, 0, 0, 5},       ret_a};
    // IPv4, protocol 6: 6 & 4 is set → ret 111.
    EXPECT_EQ(run_on(p, f), 111u);
    auto arp = f;
    arp[12] = 0x08, arp[13] = 0x06;
    EXPECT_EQ(run_on(p, arp), 0x0806u);  // stored in M[5] and read back
    EXPECT_EQ(run_on({{0x05, 0, 0, 1}, {0x06, 0, 0, 1}, {0x06, 0, 0, 2}}, f), 2u);  // ja skips one
}

TEST(CbpfRun, AncillaryLoads) {
    const auto f = tcp_frame();
    Packet p;
    p.protocol = 0x0800;
    p.pkt_type = 3;
    p.ifindex = 7;
    p.mark = 0xabc;
    p.queue_mapping = 2;
    p.hatype = 1;
    p.rxhash = 0xdeadbeef;
    p.cpu = 1;
    p.vlan_tci = 0x2064;
    p.vlan_present = true;
    p.vlan_tpid = 0x8100;
    p.pay_offset = 54;
    p.random = 0x1234;
    const std::pair<uint32_t, uint32_t> cases[] = {
        {kAdProtocol, 0x0800}, {kAdPktType, 3},  {kAdIfindex, 7},      {kAdMark, 0xabc},
        {kAdQueue, 2},         {kAdHatype, 1},   {kAdRxhash, 0xdeadbeef}, {kAdCpu, 1},
        {kAdVlanTag, 0x2064},  {kAdVlanTagPresent, 1}, {kAdPayOffset, 54}, {kAdRandom, 0x1234},
        {kAdVlanTpid, 0x8100},
    };
    for (auto [id, want] : cases) {
        for (uint16_t size_code : {0x20, 0x28, 0x30})  // the size bits do not matter
            EXPECT_EQ(run_on({{size_code, 0, 0, anc(id)}, ret_a}, f, p), want) << "SKF_AD_OFF+" << id;
    }
    EXPECT_EQ(run_on({{0x00, 0, 0, 0xf0}, {0x01, 0, 0, 0x0f}, {0x20, 0, 0, anc(kAdAluXorX)}, ret_a}, f, p), 0xffu);
}

TEST(CbpfRun, NetlinkAttributeSearch) {
    // Two attributes: {len 8, type 1}, {len 6 (padded to 8), type 2}, then a nest {len 12, type 3}
    // holding {len 8, type 5}.
    const std::vector<uint8_t> nl = {8, 0, 1, 0, 0, 0, 0, 0,  6, 0, 2, 0, 0, 0, 0, 0,
                                     12, 0, 3, 0, 8, 0, 5, 0, 0, 0, 0, 0};
    EXPECT_EQ(run_on({{0x01, 0, 0, 2}, {0x00, 0, 0, 0}, {0x20, 0, 0, anc(kAdNlattr)}, ret_a}, nl), 8u);
    EXPECT_EQ(run_on({{0x01, 0, 0, 3}, {0x00, 0, 0, 0}, {0x20, 0, 0, anc(kAdNlattr)}, ret_a}, nl), 16u);
    EXPECT_EQ(run_on({{0x01, 0, 0, 9}, {0x00, 0, 0, 0}, {0x20, 0, 0, anc(kAdNlattr)}, ret_a}, nl), 0u);
    EXPECT_EQ(run_on({{0x01, 0, 0, 5}, {0x00, 0, 0, 16}, {0x20, 0, 0, anc(kAdNlattrNest)}, ret_a}, nl), 20u);
    EXPECT_EQ(run_on({{0x01, 0, 0, 5}, {0x00, 0, 0, 100}, {0x20, 0, 0, anc(kAdNlattr)}, ret_a}, nl), 0u);
}

TEST(CbpfDisasm, ReadsLikeTcpdump) {
    EXPECT_EQ(disassemble(Program{{0x28, 0, 0, 12}, {0x15, 0, 1, 0x800}, {0x06, 0, 0, 262144}, {0x06, 0, 0, 0}}),
              "(000) ldh      [12]\n"
              "(001) jeq      #0x800           jt 2\tjf 3\n"
              "(002) ret      #262144\n"
              "(003) ret      #0\n");
    EXPECT_EQ(disassemble(Insn{0x20, 0, 0, anc(kAdProtocol)}, 0), "(000) ld       #proto");
    EXPECT_EQ(disassemble(Insn{0xb1, 0, 0, 14}, 4), "(004) ldxb     4*([14]&0xf)");
}
