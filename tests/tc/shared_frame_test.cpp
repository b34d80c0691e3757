// A received frame is shared, not copied (skb::Packet::borrow): programs that only read it run on the
// caller's bytes, a program that may write gets its own copy first (the kernel's unclone), and a
// packet that waits in a queue takes its bytes in before the caller's buffer goes back to the caller.
// Whatever is shared, what leaves the pipeline and what programs see are the same as with a copy.
#include "tcbpf/loader.h"
#include "tcbpf/runtime.h"
#include "tests/tc/pipeline_fixture.h"

namespace tcbpf::test {
namespace {

using namespace tc;

std::vector<uint8_t> word_b(const std::vector<uint8_t>& f) { return {f.begin() + 18, f.begin() + 22}; }

class SharedFrame : public PipelineTest {};

TEST_F(SharedFrame, AProgramWritingThePacketChangesWhatLeavesButNeverTheCallersFrame) {
    run("qdisc add dev eth0 clsact");
    run("filter add dev eth0 ingress bpf da obj " + kObject + " sec rewrite");
    const std::vector<uint8_t> f = frame(0xaabbccdd, 0x01020304);
    send("eth0", f);
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(word_b(left[0].frame), (std::vector<uint8_t>{0xaa, 0xbb, 0xcc, 0xdd}));
    EXPECT_EQ(word_b(f), (std::vector<uint8_t>{0x01, 0x02, 0x03, 0x04}));
}

TEST_F(SharedFrame, AHelperWriteIsSeenThroughThePacketPointersReloadedAfterIt) {
    run("qdisc add dev eth0 clsact");
    run("filter add dev eth0 ingress bpf obj " + kObject + " sec store");  // classid = word B after the store
    const std::vector<uint8_t> f = frame(0x00010002, 0x00010003);  // A = classid 1:2, B = 1:3
    send("eth0", f);
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].tc_index, 2u);  // the classid's minor: word B read back was A, so the store was seen
    EXPECT_EQ(word_b(left[0].frame), (std::vector<uint8_t>{0x00, 0x01, 0x00, 0x02}));
    EXPECT_EQ(word_b(f), (std::vector<uint8_t>{0x00, 0x01, 0x00, 0x03}));
}

TEST_F(SharedFrame, AQueuedPacketKeepsItsBytesAfterTheCallerReusesItsBuffer) {
    run("qdisc add dev eth1 root handle 1: htb default 10");
    run("class add dev eth1 parent 1: classid 1:10 htb rate 1mbit ceil 1mbit burst 1500");
    std::vector<uint8_t> buffer = frame(0, 0, 0x0800, 978);  // 1000 bytes: the second one has to wait
    for (uint32_t i = 0; i < 5; ++i) {
        buffer[14] = static_cast<uint8_t>(0x10 + i);
        send("eth0", buffer);
    }
    std::fill(buffer.begin(), buffer.end(), 0xee);  // the caller's buffer is the caller's again
    pipeline.drain();
    ASSERT_EQ(left.size(), 5u);
    for (uint32_t i = 0; i < 5; ++i) {
        EXPECT_EQ(left[i].frame[14], 0x10 + i) << "frame " << i;
        EXPECT_EQ(left[i].frame[13], 0x00) << "frame " << i;
    }
}

// Which programs may run on a shared frame: only those proven to read packet bytes from data on.
TEST(PacketSharing, OnlyProgramsProvenToReadThePacketRunOnASharedFrame) {
    if (!std::filesystem::exists(kObject)) GTEST_SKIP() << "clang did not build " << kObject;
    const auto verified = runtime::LoadedObject::load(loader::load_object(kObject), runtime::LoadOptions{});
    EXPECT_TRUE(verified->select("classifier").reads_packet_only);  // direct reads only
    EXPECT_TRUE(verified->select("redirect").reads_packet_only);    // bpf_redirect leaves the bytes alone
    EXPECT_FALSE(verified->select("rewrite").reads_packet_only);    // a direct write into the packet
    EXPECT_FALSE(verified->select("store").reads_packet_only);      // bpf_skb_store_bytes
    runtime::LoadOptions checked;
    checked.checked = true;
    const auto unverified = runtime::LoadedObject::load(loader::load_object(kObject), checked);
    EXPECT_FALSE(unverified->select("classifier").reads_packet_only);  // its packet region is writable
    const std::string policy = std::string(TCBPF_EXAMPLES_DIR) + "/policy.o";
    if (std::filesystem::exists(policy)) {
        const auto loaded = runtime::LoadedObject::load(loader::load_object(policy), runtime::LoadOptions{});
        EXPECT_TRUE(loaded->select("").reads_packet_only);  // map lookups and counters; packet bytes only read
    }
}

}  // namespace
}  // namespace tcbpf::test
