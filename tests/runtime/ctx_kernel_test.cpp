// The context rewrite against the kernel's own: every offset and size of __sk_buff, read plain and
// sign-extended, and written then read back, is loaded into the running kernel and into tcbpf. Both
// must accept and reject the same accesses (with the kernel's message), and accepted programs must
// return the same value on a frame whose context carries distinct bytes in every settable field.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tcbpf/asm.h"
#include "tcbpf/runtime.h"
#include "tests/support/kernel_bpf.h"

namespace tcbpf::runtime {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes frame() {
    Bytes f(64, 0);
    const uint8_t head[] = {0x01, 0, 0x5e, 0, 0, 1, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 50, 0, 1, 0, 0,
                            64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x03, 0xe8, 0, 53};
    std::memcpy(f.data(), head, sizeof head);
    return f;
}

// ctx_in with distinct bytes in every field BPF_PROG_TEST_RUN lets user space set.
Bytes context() {
    Bytes c(skb::kSkbCtxSize, 0);
    auto put32 = [&](size_t off, uint32_t v) { std::memcpy(&c[off], &v, 4); };
    auto put64 = [&](size_t off, uint64_t v) { std::memcpy(&c[off], &v, 8); };
    put32(8, 0x11223344);   // mark
    put32(32, 0x55667788);  // priority
    put32(36, 0x8899aabb);  // ingress_ifindex
    for (uint32_t i = 0; i < 5; ++i) put32(48 + 4 * i, 0x0a0b0c0d * (i + 1));
    put64(152, 0x0102030405060708);  // tstamp
    put32(160, 1500);                // wire_len
    put32(164, 0x1234);              // gso_segs
    put32(176, 0x5678);              // gso_size
    put64(184, 0x1112131415161718);  // hwtstamp
    return c;
}

struct Outcome {
    bool accepted = false;
    std::string message;  // rejection (tcbpf: without the "pc N: " prefix)
    uint32_t ret = 0;
};

Outcome run_tcbpf(const isa::Program& prog) {
    loader::Object object;
    object.path = "sweep.o";
    loader::ProgramDef& def = object.programs.emplace_back();
    def.name = std::string("sweep");
    def.section = std::string("tc");
    def.prog = prog;
    // Checked: what is compared is the context rewrite's own verdict, not the verifier's in front of it.
    LoadOptions checked;
    checked.checked = true;
    auto loaded = LoadedObject::load(object, checked);
    Outcome out;
    try {
        const PreparedProgram& p = loaded->select("sweep");
        const Bytes ctx = context();
        RunOptions options;
        options.ctx_in = ctx;
        const RunResult r = loaded->test_run(p, frame(), options);
        EXPECT_EQ(r.fault, vm::Fault::None) << r.fault_detail;
        out.accepted = true;
        out.ret = static_cast<uint32_t>(r.ret);
    } catch (const Error& e) {
        const std::string what = e.what();
        const size_t pc = what.find(": pc ");
        out.message = what.substr(what.find(": ", pc + 2) + 2);
    }
    return out;
}

Outcome run_kernel(const isa::Program& prog) {
    const auto raw = isa::encode(prog);
    kernel::LoadResult loaded = kernel::load_program(raw);
    Outcome out;
    if (!loaded.ok()) {
        out.message = loaded.log;
        return out;
    }
    const Bytes f = frame(), ctx = context();
    kernel::TestRunInput input;
    input.data = f;
    input.ctx = ctx;
    const kernel::TestRunResult r = kernel::test_run(loaded.fd, input);
    EXPECT_TRUE(r.ok()) << kernel::errno_text(r.error);
    out.accepted = true;
    out.ret = r.retval;
    return out;
}

// `value_matters` is false for reads of `sk`: test_run gives its skb a dummy socket, whose kernel
// address cannot match tcbpf's NULL (tcbpf has no sockets).
void compare(const std::string& source, size_t& accepted, size_t& rejected, bool value_matters = true) {
    const isa::Program prog = isa::assemble(source);
    const Outcome ours = run_tcbpf(prog), theirs = run_kernel(prog);
    ASSERT_EQ(ours.accepted, theirs.accepted) << source << "\ntcbpf: " << ours.message << "\nkernel: " << theirs.message;
    if (ours.accepted) {
        ++accepted;
        if (value_matters) {
            EXPECT_EQ(ours.ret, theirs.ret) << source;
        }
    } else {
        ++rejected;
        EXPECT_NE(theirs.message.find(ours.message), std::string::npos)
            << source << "\ntcbpf: " << ours.message << "\nkernel log:\n" << theirs.message;
    }
}

class CtxKernel : public ::testing::Test {
   protected:
    void SetUp() override {
        if (!kernel::probe().available) GTEST_SKIP() << "bpf() unavailable: " << kernel::probe().reason;
    }
};

const char* width(int size) { return size == 1 ? "u8" : size == 2 ? "u16" : size == 4 ? "u32" : "u64"; }

bool packet_pointer(int off) { return off == 76 || off == 80 || off == 140; }

TEST_F(CtxKernel, EveryReadMatches) {
    size_t accepted = 0, rejected = 0;
    for (int size : {1, 2, 4, 8}) {
        for (int off = 0; off < static_cast<int>(skb::kSkbCtxSize); off += size) {
            if (packet_pointer(off) && size == 4) continue;  // a pointer cannot be returned; see below
            compare(fmt::format("r0 = *({} *)(r1 + {})\nexit", width(size), off), accepted, rejected, off != 168);
            if (size != 8)
                compare(fmt::format("r0 = *(s{} *)(r1 + {})\nexit", size * 8, off), accepted, rejected);
        }
    }
    std::printf("reads: %zu accepted, %zu rejected, all as the kernel\n", accepted, rejected);
    EXPECT_GT(accepted, 100u);
    EXPECT_GT(rejected, 100u);
}

TEST_F(CtxKernel, PacketPointersSpanThePacket) {
    size_t accepted = 0, rejected = 0;
    compare("r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr0 = r3\nr0 -= r2\nexit", accepted, rejected);
    compare("r2 = *(u32 *)(r1 + 140)\nr3 = *(u32 *)(r1 + 76)\nr0 = r3\nr0 -= r2\nexit", accepted, rejected);
    EXPECT_EQ(accepted, 2u);
}

TEST_F(CtxKernel, LegacyPacketLoadsReadTheSameBytes) {
    size_t accepted = 0, rejected = 0;
    for (int size : {1, 2, 4}) {
        for (int off : {0, 12, 13, 30, 60, 61, 62, 63, 64, 1000}) {
            compare(fmt::format("r6 = r1\nr0 = *({} *)skb[{}]\nexit", width(size), off), accepted, rejected);
            compare(fmt::format("r6 = r1\nr7 = {}\nr0 = *({} *)skb[r7 + 1]\nexit", off, width(size)), accepted, rejected);
        }
        // Relative to the network header (SKF_NET_OFF) and the MAC header (SKF_LL_OFF); a negative MAC
        // offset reaches into headroom, which holds whatever the buffer held (not compared: zero here).
        for (int off : {0, 9, 12, 16, 49, 50}) {
            compare(fmt::format("r6 = r1\nr0 = *({} *)skb[{}]\nexit", width(size), -0x100000 + off), accepted, rejected);
            compare(fmt::format("r6 = r1\nr0 = *({} *)skb[{}]\nexit", width(size), -0x200000 + off), accepted, rejected);
        }
        compare(fmt::format("r6 = r1\nr0 = *({} *)skb[{}]\nexit", width(size), -0x300000), accepted, rejected);
    }
    EXPECT_EQ(rejected, 0u);
}

TEST_F(CtxKernel, EveryWriteReadsBackAsTheKernelStoresIt) {
    size_t accepted = 0, rejected = 0;
    for (int size : {1, 2, 4, 8}) {
        for (int off = 0; off < static_cast<int>(skb::kSkbCtxSize); off += size) {
            for (const char* value : {"0x12345678", "0x1ffff", "0xfffe", "-1"}) {
                // Read back the whole field at the access's offset when the size allows it.
                const int back = size == 8 ? 8 : 4;
                const int back_off = off - off % back;
                compare(fmt::format("r2 = {}\n*({} *)(r1 + {}) = r2\nr0 = *({} *)(r1 + {})\nexit", value, width(size),
                                    off, width(back), back_off),
                        accepted, rejected);
            }
            compare(fmt::format("*({} *)(r1 + {}) = 0x7ffe\nr0 = *({} *)(r1 + {})\nexit", width(size), off,
                                width(size == 8 ? 8 : 4), off - off % (size == 8 ? 8 : 4)),
                    accepted, rejected);
        }
    }
    std::printf("writes: %zu accepted, %zu rejected, all as the kernel\n", accepted, rejected);
    EXPECT_GT(accepted, 20u);
}

}  // namespace
}  // namespace tcbpf::runtime
