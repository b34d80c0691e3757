// Packet behaves like an skb head: room on both sides, header marks that stay on their bytes while
// data moves, a metadata area glued to the front of data, and reallocation that keeps all of it.
#include <gtest/gtest.h>

#include <vector>

#include "tcbpf/skb.h"

namespace tcbpf::skb {
namespace {

std::vector<uint8_t> bytes_of(const Packet& p) { return {p.data(), p.end()}; }

TEST(Packet, StartsWithTestRunHeadroom) {
    const std::vector<uint8_t> frame = {1, 2, 3, 4};
    Packet p(frame);
    EXPECT_EQ(p.headroom(), 64u);  // NET_SKB_PAD (64 on x86-64) + NET_IP_ALIGN (0)
    EXPECT_EQ(p.tailroom(), 64u);
    EXPECT_EQ(p.size(), 4u);
    EXPECT_EQ(bytes_of(p), frame);
    EXPECT_EQ(p.meta_len(), 0u);
    EXPECT_EQ(p.meta(), p.data());
    EXPECT_FALSE(p.mac_header().has_value());
}

TEST(Packet, PushAndPullMoveDataButNotHeaderMarks) {
    Packet p(std::vector<uint8_t>{0xaa, 0xbb, 0xcc});
    p.set_mac_header(0);
    p.set_network_header(2);
    uint8_t* front = p.push(4);
    EXPECT_EQ(front, p.data());
    EXPECT_EQ(p.size(), 7u);
    EXPECT_EQ(p.headroom(), 60u);
    EXPECT_EQ(p.mac_header(), 4);
    EXPECT_EQ(p.network_header(), 6);
    EXPECT_TRUE(p.pull(5));
    EXPECT_EQ(bytes_of(p), (std::vector<uint8_t>{0xbb, 0xcc}));
    EXPECT_EQ(p.mac_header(), -1);
    EXPECT_FALSE(p.pull(3));
    EXPECT_EQ(p.size(), 2u);
}

TEST(Packet, PushBeyondHeadroomReallocatesAndKeepsEverything) {
    Packet p(std::vector<uint8_t>{1, 2, 3}, 2, 0);
    p.set_network_header(1);
    ASSERT_TRUE(p.set_meta_len(2));
    p.meta()[0] = 0x11;
    p.meta()[1] = 0x22;
    p.push(10);
    EXPECT_EQ(p.size(), 13u);
    EXPECT_EQ(p.network_header(), 11);
    EXPECT_EQ(p.meta_len(), 2u);
    EXPECT_EQ(p.meta()[0], 0x11);
    EXPECT_EQ(p.meta()[1], 0x22);
    EXPECT_EQ(p.data()[10], 1);
    EXPECT_EQ(p.data()[12], 3);
    EXPECT_EQ(p.headroom(), 64u);  // grown by the shortfall plus one spare cache line
}

TEST(Packet, PutZeroFillsAndGrowsTailroom) {
    Packet p(std::vector<uint8_t>{9}, 64, 1);
    uint8_t* tail = p.put(5);
    EXPECT_EQ(tail, p.data() + 1);
    EXPECT_EQ(bytes_of(p), (std::vector<uint8_t>{9, 0, 0, 0, 0, 0}));
    EXPECT_TRUE(p.trim(2));
    EXPECT_EQ(bytes_of(p), (std::vector<uint8_t>{9, 0}));
    EXPECT_FALSE(p.trim(3));
}

TEST(Packet, MetadataNeedsHeadroom) {
    Packet p(std::vector<uint8_t>{1}, 8, 0);
    EXPECT_TRUE(p.set_meta_len(8));
    EXPECT_EQ(p.headroom(), 0u);
    EXPECT_FALSE(p.set_meta_len(9));
    EXPECT_EQ(p.meta_len(), 8u);
}

TEST(Packet, InsertGapMovesTheHeadersForwardAndZeroesTheGap) {
    // As bpf_skb_generic_push: the first `offset` bytes move to the new front, the gap is zeroed.
    Packet p(std::vector<uint8_t>{1, 2, 3, 4});
    ASSERT_TRUE(p.insert_gap(2, 3));
    EXPECT_EQ(bytes_of(p), (std::vector<uint8_t>{1, 2, 0, 0, 0, 3, 4}));
    ASSERT_TRUE(p.remove_gap(2, 3));
    EXPECT_EQ(bytes_of(p), (std::vector<uint8_t>{1, 2, 3, 4}));
    EXPECT_FALSE(p.remove_gap(2, 3));
    EXPECT_FALSE(p.insert_gap(5, 1));
}

TEST(Packet, ReserveKeepsBytesAndMarks) {
    Packet p(std::vector<uint8_t>{5, 6}, 0, 0);
    p.set_transport_header(1);
    p.reserve(100, 200);
    EXPECT_EQ(p.headroom(), 100u);
    EXPECT_EQ(p.tailroom(), 200u);
    EXPECT_EQ(bytes_of(p), (std::vector<uint8_t>{5, 6}));
    EXPECT_EQ(p.transport_header(), 1);
}

// A borrowed frame is read in place and looks like a fresh Packet of it; anything that may write copies
// it in first, after which the frame is never touched again.
TEST(Packet, ABorrowedFrameIsReadInPlaceUntilSomethingMayWrite) {
    const std::vector<uint8_t> frame = {1, 2, 3, 4, 5, 6};
    Packet p(std::vector<uint8_t>(200, 0x77));  // a used buffer, bigger than the frame
    p.borrow(frame);
    const Packet& view = p;
    EXPECT_TRUE(p.borrowed());
    EXPECT_EQ(view.data(), frame.data());
    EXPECT_EQ(view.size(), 6u);
    EXPECT_EQ(view.headroom(), 64u);
    EXPECT_EQ(view.tailroom(), 64u);
    EXPECT_EQ(view.meta_len(), 0u);
    EXPECT_FALSE(view.mac_header().has_value());
    p.set_mac_header(0);
    p.set_network_header(2);

    uint8_t* writable = p.data();  // may write: the packet takes its own copy
    EXPECT_FALSE(p.borrowed());
    EXPECT_NE(writable, frame.data());
    writable[0] = 0xff;
    EXPECT_EQ(frame[0], 1);
    EXPECT_EQ(bytes_of(p), (std::vector<uint8_t>{0xff, 2, 3, 4, 5, 6}));
    EXPECT_EQ(p.mac_header(), 0);
    EXPECT_EQ(p.network_header(), 2);
    EXPECT_EQ(p.headroom(), 64u);
    EXPECT_GE(p.tailroom(), 64u);
    EXPECT_EQ(std::vector<uint8_t>(p.data() - 64, p.data()), std::vector<uint8_t>(64, 0));  // no stale bytes
}

TEST(Packet, EveryChangeToABorrowedFrameLandsInTheCopy) {
    const std::vector<uint8_t> frame = {1, 2, 3, 4};
    Packet pushed;
    pushed.borrow(frame);
    pushed.push(2)[0] = 9;
    EXPECT_EQ(bytes_of(pushed), (std::vector<uint8_t>{9, 0, 1, 2, 3, 4}));
    Packet put;
    put.borrow(frame);
    put.put(1);
    EXPECT_EQ(bytes_of(put), (std::vector<uint8_t>{1, 2, 3, 4, 0}));
    Packet pulled;
    pulled.borrow(frame);
    EXPECT_TRUE(pulled.remove_gap(1, 2));
    EXPECT_EQ(bytes_of(pulled), (std::vector<uint8_t>{1, 4}));
    Packet trimmed;  // only moves the end: still shared
    trimmed.borrow(frame);
    EXPECT_TRUE(trimmed.trim(3));
    EXPECT_TRUE(trimmed.borrowed());
    EXPECT_EQ(bytes_of(trimmed), (std::vector<uint8_t>{1, 2, 3}));
    EXPECT_EQ(frame, (std::vector<uint8_t>{1, 2, 3, 4}));
}

}  // namespace
}  // namespace tcbpf::skb
