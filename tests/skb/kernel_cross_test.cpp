// The skb model against the running kernel: the same context accesses offered to BPF_PROG_LOAD, the
// same frames and ctx_in offered to BPF_PROG_TEST_RUN. Skips (with the reason) where bpf() is unusable.
#include <gtest/gtest.h>

#include <net/if.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "tcbpf/skb.h"
#include "tests/support/kernel_bpf.h"

namespace tcbpf::skb {
namespace {

using isa::RawInsn;

uint8_t size_bits(uint32_t size) { return size == 1 ? 0x10 : size == 2 ? 0x08 : size == 4 ? 0x00 : 0x18; }
RawInsn mov_r0_0() { return RawInsn{0xb7, 0x00, 0, 0}; }
RawInsn exit_insn() { return RawInsn{0x95, 0, 0, 0}; }
// r0 = *(size *)(r1 + off)
RawInsn load_ctx(int16_t off, uint32_t size) { return RawInsn{static_cast<uint8_t>(0x61 | size_bits(size)), 0x10, off, 0}; }
// *(size *)(r1 + off) = r0
RawInsn store_ctx(int16_t off, uint32_t size) { return RawInsn{static_cast<uint8_t>(0x63 | size_bits(size)), 0x01, off, 0}; }

#define SKIP_WITHOUT_BPF()                                                                    \
    do {                                                                                      \
        const auto& availability = kernel::probe();                                           \
        if (!availability.available) GTEST_SKIP() << "kernel bpf() unavailable: " << availability.reason; \
    } while (0)

TEST(KernelCross, EveryContextAccessGetsTheKernelsVerdict) {
    SKIP_WITHOUT_BPF();
    for (int32_t off = 0; off < 196; ++off) {
        for (uint32_t size : {1u, 2u, 4u, 8u}) {
            for (bool write : {false, true}) {
                const std::vector<RawInsn> prog = {mov_r0_0(), write ? store_ctx(static_cast<int16_t>(off), size)
                                                                      : load_ctx(static_cast<int16_t>(off), size),
                                                   mov_r0_0(), exit_insn()};
                kernel::LoadOptions options;
                options.type = BPF_PROG_TYPE_SCHED_CLS;
                const kernel::LoadResult kernel_result = kernel::load_program(prog, options);
                const CtxVerdict ours = check_ctx_access(ProgType::Classifier, off, size, write);
                ASSERT_EQ(ours.ok, kernel_result.ok())
                    << "off=" << off << " size=" << size << (write ? " write" : " read") << "\n" << kernel_result.log;
                if (!ours.ok) {
                    EXPECT_NE(kernel_result.log.find(ours.message), std::string::npos) << kernel_result.log;
                }
            }
        }
    }
}

std::vector<uint8_t> ipv4_broadcast_frame() {
    std::vector<uint8_t> f(60, 0);
    std::memset(f.data(), 0xff, 6);
    f[6] = 0x02;
    f[12] = 0x08;
    f[14] = 0x45;
    return f;
}

std::vector<uint8_t> rich_ctx() {
    std::vector<uint8_t> ctx(kSkbCtxSize, 0);
    auto put32 = [&ctx](uint32_t off, uint32_t v) { std::memcpy(ctx.data() + off, &v, 4); };
    put32(8, 0x11223344);
    put32(32, 0x55667788);
    put32(36, 0x0a0b0c0d);
    for (uint32_t i = 0; i < 5; ++i) put32(48 + 4 * i, 0x01020304u * (i + 1));
    put32(152, 0x05060708);
    put32(156, 0x01020304);
    put32(160, 0x1234);
    put32(164, 0x4321);
    put32(176, 0x1abcd);
    put32(184, 0x0badcafe);
    return ctx;
}

TEST(KernelCross, EveryReadableFieldLoadsTheKernelsValue) {
    SKIP_WITHOUT_BPF();
    const std::vector<uint8_t> frame = ipv4_broadcast_frame();
    const std::vector<uint8_t> ctx_in = rich_ctx();
    TestRunResult ours = prepare_test_run(frame, ctx_in);
    ASSERT_TRUE(ours.skb) << ours.refusal;
    SkbContext ctx;
    sync_in(ours.skb->meta, ours.skb->packet, ctx);
    for (int32_t off = 0; off < static_cast<int32_t>(kSkbCtxSize); ++off) {
        for (uint32_t size : {1u, 2u, 4u, 8u}) {
            const auto mapping = map_ctx_access(ProgType::Classifier, off, size, false);
            if (!mapping || mapping->kind == CtxKind::PacketPointer || off == 168) continue;  // pointers differ
            const std::vector<RawInsn> prog = {load_ctx(static_cast<int16_t>(off), size), exit_insn()};
            kernel::LoadResult loaded = kernel::load_program(prog);
            ASSERT_TRUE(loaded.ok()) << loaded.log;
            kernel::TestRunInput input;
            input.data = frame;
            input.ctx = ctx_in;
            const kernel::TestRunResult run = kernel::test_run(loaded.fd, input);
            ASSERT_TRUE(run.ok()) << kernel::errno_text(run.error);
            // The kernel reports r0 truncated to 32 bits.
            EXPECT_EQ(run.retval, static_cast<uint32_t>(ctx_load(ctx, *mapping)))
                << skb_field_at(static_cast<uint32_t>(off))->name << " off=" << off << " size=" << size;
        }
    }
}

bool parse_mac(const std::string& text, uint8_t out[6]) {
    unsigned v[6];
    if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return false;
    for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(v[i]);
    return true;
}

// The host's real devices, so ctx_in->ifindex resolves exactly as the kernel resolves it.
std::optional<TestRunDevice> host_device(uint32_t ifindex) {
    char name[IF_NAMESIZE] = {};
    if (if_indextoname(ifindex, name) == nullptr) return std::nullopt;
    TestRunDevice device;
    device.ifindex = ifindex;
    std::string address, broadcast;
    std::ifstream(std::string("/sys/class/net/") + name + "/address") >> address;
    std::ifstream(std::string("/sys/class/net/") + name + "/broadcast") >> broadcast;
    parse_mac(address, device.mac);
    parse_mac(broadcast, device.broadcast);
    return device;
}

struct Input {
    std::vector<uint8_t> frame;
    std::vector<uint8_t> ctx;
};

std::vector<uint8_t> framed(uint16_t type, size_t size, uint8_t dst0 = 0) {
    std::vector<uint8_t> f(size, 0);
    if (size > 0) f[0] = dst0;
    if (size >= 14) {
        f[12] = static_cast<uint8_t>(type >> 8);
        f[13] = static_cast<uint8_t>(type);
    }
    return f;
}

std::vector<uint8_t> ctx_with(uint32_t offset, uint32_t value) {
    std::vector<uint8_t> ctx(kSkbCtxSize, 0);
    std::memcpy(ctx.data() + offset, &value, 4);
    return ctx;
}

TEST(KernelCross, TestRunAcceptsAndRefusesTheSameInputs) {
    SKIP_WITHOUT_BPF();
    std::vector<Input> inputs = {
        {framed(0, 0), {}},         {framed(0, 13), {}},        {framed(0x0806, 14), {}},
        {framed(0x0800, 14), {}},   {framed(0x0800, 33), {}},   {framed(0x0800, 34), {}},
        {framed(0x86dd, 53), {}},   {framed(0x86dd, 54), {}},   {framed(0x8100, 18), {}},
        {framed(0x88a8, 22), {}},   {framed(0x002e, 60), {}},   {framed(0xaaaa, 3712), {}},
        {framed(0xaaaa, 3713), {}}, {framed(0x0800, 42, 0x01), {}}, {framed(0x0800, 42, 0x02), {}},
        {framed(0x0800, 42), ctx_with(160, 41)}, {framed(0x0800, 42), ctx_with(160, 65537)},
        {framed(0x0800, 42), ctx_with(164, 65536)}, {framed(0x0800, 30), ctx_with(40, 9999)},
        {framed(0x0800, 42), ctx_with(72, 1)},   {framed(0x0800, 42), ctx_with(12, 1)},
        {framed(0x0800, 42), ctx_with(8, 1)},    {framed(0x0800, 42), ctx_with(188, 1)},
        {framed(0x0800, 42, 0xff), {}},
    };
    // Through every host device, with a broadcast, a multicast and a unicast destination.
    for (uint32_t ifindex = 1; ifindex < 8; ++ifindex)
        for (uint8_t dst0 : {uint8_t{0xff}, uint8_t{0x33}, uint8_t{0x02}, uint8_t{0x00}}) {
            std::vector<uint8_t> f = framed(0x0800, 42, dst0);
            if (dst0 == 0xff) std::memset(f.data(), 0xff, 6);
            inputs.push_back({f, ctx_with(40, ifindex)});
        }
    for (uint32_t off = 0; off < kSkbCtxSize; off += 4) inputs.push_back({framed(0x0800, 42), ctx_with(off, 3)});
    // The program reports len, pkt_type, protocol into cb[0..2] (ctx_out) and returns 0.
    const std::vector<RawInsn> prog = {
        RawInsn{0x61, 0x12, 0, 0},  RawInsn{0x63, 0x21, 48, 0},  // r2 = len; cb[0] = r2
        RawInsn{0x61, 0x12, 4, 0},  RawInsn{0x63, 0x21, 52, 0},  // pkt_type
        RawInsn{0x61, 0x12, 16, 0}, RawInsn{0x63, 0x21, 56, 0},  // protocol
        mov_r0_0(), exit_insn()};
    kernel::LoadResult loaded = kernel::load_program(prog);
    ASSERT_TRUE(loaded.ok()) << loaded.log;
    for (size_t i = 0; i < inputs.size(); ++i) {
        const Input& in = inputs[i];
        std::vector<uint8_t> ctx = in.ctx.empty() ? std::vector<uint8_t>(kSkbCtxSize, 0) : in.ctx;
        kernel::TestRunInput input;
        input.data = in.frame;
        input.ctx = ctx;
        const kernel::TestRunResult run = kernel::test_run(loaded.fd, input);
        TestRunEnv env;
        env.device_for = host_device;
        const TestRunResult ours = prepare_test_run(in.frame, ctx, env);
        ASSERT_EQ(ours.error, run.error) << "input " << i << ": " << ours.refusal;
        if (!run.ok()) continue;
        ASSERT_TRUE(ours.skb);
        uint32_t cb[3];
        std::memcpy(cb, run.ctx_out.data() + 48, sizeof cb);
        EXPECT_EQ(cb[0], ours.skb->packet.size()) << "input " << i;
        EXPECT_EQ(cb[1], ours.skb->meta.pkt_type) << "input " << i;
        EXPECT_EQ(cb[2], static_cast<uint32_t>((ours.skb->meta.protocol >> 8) | ((ours.skb->meta.protocol & 0xff) << 8)))
            << "input " << i;
        uint32_t ifindex;
        std::memcpy(&ifindex, run.ctx_out.data() + 40, 4);
        EXPECT_EQ(ifindex, ours.skb->meta.ifindex) << "input " << i;
    }
}

}  // namespace
}  // namespace tcbpf::skb
