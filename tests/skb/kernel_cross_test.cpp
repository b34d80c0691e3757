// The skb model against the running kernel: the same context accesses offered to BPF_PROG_LOAD, the
// same frames and ctx_in offered to BPF_PROG_TEST_RUN. Skips (with the reason) where bpf() is unusable.
#include <gtest/gtest.h>

#include <net/if.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "generator.h"
#include "tcbpf/pcap.h"
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
    for (ProgType type : {ProgType::Classifier, ProgType::Action})
    for (int32_t off = 0; off < 196; ++off) {
        for (uint32_t size : {1u, 2u, 4u, 8u}) {
            for (bool write : {false, true}) {
                const std::vector<RawInsn> prog = {mov_r0_0(), write ? store_ctx(static_cast<int16_t>(off), size)
                                                                      : load_ctx(static_cast<int16_t>(off), size),
                                                   mov_r0_0(), exit_insn()};
                kernel::LoadOptions options;
                options.type = type == ProgType::Classifier ? BPF_PROG_TYPE_SCHED_CLS : BPF_PROG_TYPE_SCHED_ACT;
                const kernel::LoadResult kernel_result = kernel::load_program(prog, options);
                const CtxVerdict ours = check_ctx_access(type, off, size, write);
                ASSERT_EQ(ours.ok, kernel_result.ok())
                    << (type == ProgType::Classifier ? "sched_cls" : "sched_act") << " off=" << off << " size=" << size << (write ? " write" : " read") << "\n" << kernel_result.log;
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

TEST(KernelCross, GeneratedTrafficMeetsTheSameTestRunRules) {
    SKIP_WITHOUT_BPF();
    // Runts, short IP frames, tagged and fragmented frames from the generator, through both.
    const std::vector<io::Frame> frames = trafficgen::generate({.seed = 11, .count = 600});
    const std::vector<RawInsn> prog = {
        RawInsn{0x61, 0x12, 0, 0},  RawInsn{0x63, 0x21, 48, 0},
        RawInsn{0x61, 0x12, 4, 0},  RawInsn{0x63, 0x21, 52, 0},
        RawInsn{0x61, 0x12, 16, 0}, RawInsn{0x63, 0x21, 56, 0},
        mov_r0_0(), exit_insn()};
    kernel::LoadResult loaded = kernel::load_program(prog);
    ASSERT_TRUE(loaded.ok()) << loaded.log;
    int refused = 0;
    for (size_t i = 0; i < frames.size(); ++i) {
        const std::vector<uint8_t> ctx(kSkbCtxSize, 0);
        kernel::TestRunInput input;
        input.data = frames[i].bytes;
        input.ctx = ctx;
        const kernel::TestRunResult run = kernel::test_run(loaded.fd, input);
        const TestRunResult ours = prepare_test_run(frames[i].bytes, ctx);
        ASSERT_EQ(ours.error, run.error) << "frame " << i << ": " << ours.refusal;
        if (!run.ok()) {
            ++refused;
            continue;
        }
        uint32_t cb[3];
        std::memcpy(cb, run.ctx_out.data() + 48, sizeof cb);
        EXPECT_EQ(cb[0], ours.skb->packet.size()) << "frame " << i;
        EXPECT_EQ(cb[1], ours.skb->meta.pkt_type) << "frame " << i;
        EXPECT_EQ(cb[2], static_cast<uint32_t>((ours.skb->meta.protocol >> 8) | ((ours.skb->meta.protocol & 0xff) << 8)))
            << "frame " << i;
    }
    EXPECT_GT(refused, 10);  // the broken kinds really reach the refusal paths
}

// --- Checksum helpers: random inputs through the kernel's helpers and through ours. ---

class Lcg {
   public:
    explicit Lcg(uint64_t seed) : state_(seed) {}
    uint32_t next() {
        state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<uint32_t>(state_ >> 32);
    }
    uint32_t below(uint32_t n) { return next() % n; }

   private:
    uint64_t state_;
};

std::vector<RawInsn> lddw(uint8_t reg, uint64_t value) {
    return {RawInsn{0x18, reg, 0, static_cast<int32_t>(static_cast<uint32_t>(value))},
            RawInsn{0x00, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(value >> 32))}};
}

void append(std::vector<RawInsn>& to, const std::vector<RawInsn>& more) { to.insert(to.end(), more.begin(), more.end()); }

// Words of interest for one's-complement edge cases.
uint32_t edgy_word(Lcg& rng) {
    static constexpr uint32_t kEdges[] = {0, 0xffffffff, 0xffff0000, 0x0000ffff, 1, 0x80000000, 0xfffffffe};
    return rng.below(3) == 0 ? kEdges[rng.below(7)] : rng.next();
}

TEST(KernelCross, CsumDiffAgreesOnRandomAndEdgeInputs) {
    SKIP_WITHOUT_BPF();
    Lcg rng(2024);
    for (int round = 0; round < 300; ++round) {
        const uint32_t from_words = rng.below(5), to_words = rng.below(5);
        std::vector<uint32_t> from(from_words), to(to_words);
        for (uint32_t& w : from) w = edgy_word(rng);
        for (uint32_t& w : to) w = edgy_word(rng);
        const uint32_t seed = edgy_word(rng);
        std::vector<RawInsn> prog;
        for (uint32_t i = 0; i < from_words; ++i)
            prog.push_back(RawInsn{0x62, 0x0a, static_cast<int16_t>(-64 + 4 * i), static_cast<int32_t>(from[i])});
        for (uint32_t i = 0; i < to_words; ++i)
            prog.push_back(RawInsn{0x62, 0x0a, static_cast<int16_t>(-32 + 4 * i), static_cast<int32_t>(to[i])});
        if (from_words != 0) {
            prog.push_back(RawInsn{0xbf, 0xa1, 0, 0});   // r1 = r10
            prog.push_back(RawInsn{0x07, 0x01, 0, -64});  // r1 += -64
        } else {
            prog.push_back(RawInsn{0xb7, 0x01, 0, 0});
        }
        prog.push_back(RawInsn{0xb7, 0x02, 0, static_cast<int32_t>(4 * from_words)});
        if (to_words != 0) {
            prog.push_back(RawInsn{0xbf, 0xa3, 0, 0});
            prog.push_back(RawInsn{0x07, 0x03, 0, -32});
        } else {
            prog.push_back(RawInsn{0xb7, 0x03, 0, 0});
        }
        prog.push_back(RawInsn{0xb7, 0x04, 0, static_cast<int32_t>(4 * to_words)});
        append(prog, lddw(5, seed));
        prog.push_back(RawInsn{0x85, 0, 0, 28});  // call csum_diff
        prog.push_back(exit_insn());
        kernel::LoadResult loaded = kernel::load_program(prog);
        ASSERT_TRUE(loaded.ok()) << loaded.log;
        const std::vector<uint8_t> frame = ipv4_broadcast_frame();
        kernel::TestRunInput input;
        input.data = frame;
        const kernel::TestRunResult run = kernel::test_run(loaded.fd, input);
        ASSERT_TRUE(run.ok());
        std::vector<uint8_t> from_bytes(4 * from_words), to_bytes(4 * to_words);
        if (from_words) std::memcpy(from_bytes.data(), from.data(), from_bytes.size());
        if (to_words) std::memcpy(to_bytes.data(), to.data(), to_bytes.size());
        EXPECT_EQ(run.retval, static_cast<uint32_t>(csum_diff(from_bytes, to_bytes, seed)))
            << "round " << round << " from " << from_words << " words, to " << to_words << " words, seed " << seed;
    }
}

// Ether/IPv4/UDP "hello" with valid checksums (see checksum_test.cpp).
const char kUdpFrame[] =
    "000000000000112233445566080045000021000100004011ae1ec0a800010a01020304d20035000dea4d68656c6c6f";

std::vector<uint8_t> unhex(const char* text) {
    std::vector<uint8_t> out;
    for (size_t i = 0; text[i] && text[i + 1]; i += 2) {
        unsigned v = 0;
        std::sscanf(text + i, "%2x", &v);
        out.push_back(static_cast<uint8_t>(v));
    }
    return out;
}

// What bpf_l3/l4_csum_replace do around the pure functions: flags first, then the offset.
int64_t our_csum_replace(bool l4, std::vector<uint8_t>& pkt, uint32_t offset, uint64_t from, uint64_t to, uint64_t flags) {
    if (!(l4 ? l4_csum_flags_valid(flags) : l3_csum_flags_valid(flags))) return -EINVAL;
    if (offset > 0xffff || (offset & 1) || offset + 2 > pkt.size()) return -EFAULT;
    SkbMeta meta;
    return l4 ? l4_csum_replace(&pkt[offset], from, to, flags, meta) : l3_csum_replace(&pkt[offset], from, to, flags);
}

TEST(KernelCross, CsumReplaceAgreesOnRandomInputs) {
    SKIP_WITHOUT_BPF();
    static constexpr uint64_t kFlags[] = {0, 2, 4, 0x10, 0x12, 0x14, 0x20, 0x22, 0x24, 0x34, 0x74, 0x94, 0x64, 3, 0x100 | 4, 1};
    Lcg rng(77);
    std::vector<uint8_t> frame = unhex(kUdpFrame);
    for (int round = 0; round < 300; ++round) {
        const bool l4 = rng.below(2) == 1;
        if (rng.below(4) == 0) frame[40] = frame[41] = 0;  // a "no checksum" UDP field now and then
        const uint32_t offset = rng.below(8) == 0 ? rng.below(60) : 24 + 2 * rng.below(10);
        const uint64_t flags = kFlags[rng.below(std::size(kFlags))];
        uint64_t from = rng.below(3) == 0 ? 0 : edgy_word(rng);
        const uint64_t to = edgy_word(rng);
        if ((flags & 0xf) == 0 && rng.below(4) != 0) from = 0;
        std::vector<RawInsn> prog = {RawInsn{0xb7, 0x02, 0, static_cast<int32_t>(offset)}};
        append(prog, lddw(3, from));
        append(prog, lddw(4, to));
        append(prog, lddw(5, flags));
        prog.push_back(RawInsn{0x85, 0, 0, l4 ? 11 : 10});
        prog.push_back(exit_insn());
        kernel::LoadResult loaded = kernel::load_program(prog);
        ASSERT_TRUE(loaded.ok()) << loaded.log;
        kernel::TestRunInput input;
        input.data = frame;
        const kernel::TestRunResult run = kernel::test_run(loaded.fd, input);
        ASSERT_TRUE(run.ok());
        std::vector<uint8_t> ours = frame;
        const int64_t ret = our_csum_replace(l4, ours, offset, from, to, flags);
        ASSERT_EQ(static_cast<int32_t>(run.retval), ret) << "round " << round << (l4 ? " l4" : " l3") << " off " << offset
                                                         << " flags " << flags;
        ASSERT_EQ(run.data_out, ours) << "round " << round << (l4 ? " l4" : " l3") << " off " << offset << " flags "
                                      << flags << " from " << from << " to " << to;
        frame = ours;  // keep evolving the packet so later rounds start from unusual checksums
    }
}

}  // namespace
}  // namespace tcbpf::skb
