// The __sk_buff contract. Expected verdicts and loaded values are the kernel's, measured on Linux 6.18
// with BPF_PROG_LOAD / BPF_PROG_TEST_RUN (kernel_cross_test.cpp repeats the sweep live when bpf() works).
#include <gtest/gtest.h>

#include <cstddef>

#include "tcbpf/skb.h"

namespace tcbpf::skb {
namespace {

struct Access {
    int32_t off;
    uint32_t size;
    bool write;
    bool ok;
};

TEST(SkbFields, CoverAll192BytesInOrder) {
    uint32_t next = 0;
    for (const SkbField& f : skb_fields()) {
        EXPECT_EQ(f.offset, next) << f.name;
        next = f.offset + f.size;
    }
    EXPECT_EQ(next, kSkbCtxSize);
    EXPECT_EQ(skb_field_at(50)->name, "cb");
    EXPECT_EQ(skb_field_at(183)->name, "padding");
    EXPECT_EQ(skb_field_at(192), nullptr);
}

TEST(CheckCtxAccess, MatchesTheKernelVerdicts) {
    const Access cases[] = {
        {0, 4, false, true},     {0, 4, true, false},     {4, 1, false, true},    {46, 2, false, true},
        {47, 1, false, true},    {8, 2, true, false},     {8, 4, true, true},     {12, 4, true, true},
        {12, 2, true, false},    {66, 2, true, true},     {72, 4, true, true},    {48, 8, false, true},
        {56, 8, false, true},    {64, 8, false, false},   {60, 8, false, false},  {76, 4, false, true},
        {76, 8, false, false},   {76, 2, false, false},   {76, 4, true, false},   {83, 4, false, false},
        {84, 1, false, true},    {88, 4, false, false},   {141, 1, false, false}, {140, 4, false, true},
        {144, 8, false, false},  {152, 8, true, true},    {152, 4, false, false}, {156, 4, false, false},
        {164, 2, false, true},   {168, 8, false, true},   {168, 4, false, false}, {172, 4, false, false},
        {168, 8, true, false},   {180, 1, false, true},   {180, 2, false, false}, {180, 1, true, false},
        {181, 1, false, false},  {184, 8, false, true},   {184, 8, true, false},  {188, 4, false, false},
        {190, 2, false, false},  {192, 4, false, false},  {-4, 4, false, false},  {50, 4, false, false},
        {0, 8, false, false},    {0, 3, false, false},
    };
    for (const Access& a : cases) {
        for (ProgType type : {ProgType::Classifier, ProgType::Action}) {
            const CtxVerdict v = check_ctx_access(type, a.off, a.size, a.write);
            EXPECT_EQ(v.ok, a.ok) << "off=" << a.off << " size=" << a.size << (a.write ? " write" : " read");
            if (!a.ok)
                EXPECT_EQ(v.message, "invalid bpf_context access off=" + std::to_string(a.off) +
                                         " size=" + std::to_string(a.size));
            else
                EXPECT_EQ(v.message, "");
        }
    }
}

TEST(MapCtxAccess, PacketPointersBecome64BitLoads) {
    const auto data = map_ctx_access(ProgType::Classifier, 76, 4, false);
    ASSERT_TRUE(data);
    EXPECT_EQ(data->kind, CtxKind::PacketPointer);
    EXPECT_EQ(data->offset, offsetof(SkbContext, data));
    EXPECT_EQ(data->size, 8);
    const auto end = map_ctx_access(ProgType::Classifier, 80, 4, false);
    EXPECT_EQ(end->offset, offsetof(SkbContext, data_end));
    const auto meta = map_ctx_access(ProgType::Action, 140, 4, false);
    EXPECT_EQ(meta->offset, offsetof(SkbContext, data_meta));
    EXPECT_FALSE(map_ctx_access(ProgType::Classifier, 76, 4, true));
}

TEST(MapCtxAccess, CbIsPlainMemoryOfAnySize) {
    const auto m = map_ctx_access(ProgType::Classifier, 58, 2, true);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->offset, offsetof(SkbContext, cb) + 10);
    EXPECT_EQ(m->size, 2);
    EXPECT_FALSE(m->narrow);
}

// Writes `value` through uapi offset `woff` (4 bytes), then reads `rsize` bytes at `roff`.
uint64_t write_then_read(int32_t woff, uint64_t value, int32_t roff, uint32_t rsize, SkbContext& ctx) {
    const auto w = map_ctx_access(ProgType::Classifier, woff, 4, true);
    const auto r = map_ctx_access(ProgType::Classifier, roff, rsize, false);
    EXPECT_TRUE(w && r);
    if (!w || !r) return ~0ULL;
    ctx_store(ctx, *w, value);
    return ctx_load(ctx, *r);
}

TEST(MapCtxAccess, SixteenBitFieldsKeepTheLowHalfOnWrite) {
    SkbContext ctx;
    EXPECT_EQ(write_then_read(44, 0x12345, 44, 4, ctx), 0x2345u);  // tc_index
    EXPECT_EQ(write_then_read(72, 0x12345, 72, 4, ctx), 0x2345u);  // tc_classid
}

TEST(MapCtxAccess, NarrowLoadsShiftOnlyWhenNarrowerThanTheKernelField) {
    SkbContext ctx;
    EXPECT_EQ(write_then_read(8, 0x11223344, 9, 1, ctx), 0x33u);     // mark: u32
    EXPECT_EQ(write_then_read(8, 0x11223344, 10, 2, ctx), 0x1122u);
    EXPECT_EQ(write_then_read(8, 0x11223344, 11, 1, ctx), 0x11u);
    EXPECT_EQ(write_then_read(44, 0x12345, 46, 2, ctx), 0x2345u);    // tc_index: u16, 2-byte read = all
    EXPECT_EQ(write_then_read(44, 0x12345, 45, 1, ctx), 0x23u);
    EXPECT_EQ(write_then_read(44, 0x12345, 47, 1, ctx), 0x00u);
    EXPECT_EQ(write_then_read(72, 0x12345, 74, 2, ctx), 0x2345u);    // tc_classid

    ctx.pkt_type = kPacketMulticast;  // u8 in the kernel: every narrow read returns all of it
    for (int32_t off : {4, 5, 6, 7})
        EXPECT_EQ(ctx_load(ctx, *map_ctx_access(ProgType::Classifier, off, 1, false)), 2u) << off;
    EXPECT_EQ(ctx_load(ctx, *map_ctx_access(ProgType::Classifier, 6, 2, false)), 2u);
    ctx.protocol = 0x0008;  // IPv4 in network order
    EXPECT_EQ(ctx_load(ctx, *map_ctx_access(ProgType::Classifier, 16, 1, false)), 0x08u);
    EXPECT_EQ(ctx_load(ctx, *map_ctx_access(ProgType::Classifier, 17, 1, false)), 0x00u);
    EXPECT_EQ(ctx_load(ctx, *map_ctx_access(ProgType::Classifier, 18, 2, false)), 0x08u);
    EXPECT_EQ(ctx_load(ctx, *map_ctx_access(ProgType::Classifier, 16, 4, false)), 0x08u);
}

TEST(MapCtxAccess, QueueMappingIgnoresWritesOfNoQueueMappingAndAbove) {
    SkbContext ctx;
    EXPECT_EQ(write_then_read(12, 0xfffe, 12, 4, ctx), 0xfffeu);
    EXPECT_EQ(write_then_read(12, 0xffff, 12, 4, ctx), 0xfffeu);
    EXPECT_EQ(write_then_read(12, 0x10000, 12, 4, ctx), 0xfffeu);
    const auto m = map_ctx_access(ProgType::Classifier, 12, 4, true);
    EXPECT_EQ(m->store_limit, 0xffffu);
}

TEST(MapCtxAccess, RejectedAccessesHaveNoMapping) {
    EXPECT_FALSE(map_ctx_access(ProgType::Classifier, 0, 4, true));
    EXPECT_FALSE(map_ctx_access(ProgType::Classifier, 88, 4, false));
    EXPECT_FALSE(map_ctx_access(ProgType::Classifier, 181, 1, false));
}

TEST(Sync, InShowsMetaAndPacketOutReturnsOnlyWritableFields) {
    Packet packet(std::vector<uint8_t>(60, 0xab));
    ASSERT_TRUE(packet.set_meta_len(8));
    SkbMeta meta;
    meta.protocol = 0x86dd;
    meta.vlan_proto = 0x8100;
    meta.pkt_type = kPacketOtherHost;
    meta.mark = 7;
    meta.hash = 0xdeadbeef;
    meta.wire_len = 60;
    meta.tc_classid = 0x10;
    SkbContext ctx;
    sync_in(meta, packet, ctx);
    EXPECT_EQ(ctx.data, reinterpret_cast<uint64_t>(packet.data()));
    EXPECT_EQ(ctx.data_end - ctx.data, 60u);
    EXPECT_EQ(ctx.data - ctx.data_meta, 8u);
    EXPECT_EQ(ctx.len, 60u);
    EXPECT_EQ(ctx.protocol, 0xdd86u);
    EXPECT_EQ(ctx.vlan_proto, 0x0081u);
    EXPECT_EQ(ctx.pkt_type, 3u);
    EXPECT_EQ(ctx.hash, 0xdeadbeefu);
    EXPECT_EQ(ctx.sk, 0u);

    ctx.mark = 9;
    ctx.priority = 3;
    ctx.tc_index = 5;
    ctx.tc_classid = 0x11;
    ctx.cb[4] = 44;
    ctx.tstamp = 1000;
    ctx.queue_mapping = 2;
    ctx.hash = 1;  // read-only: a program cannot change it, so it must not travel back
    ctx.len = 1;
    sync_out(ctx, meta);
    EXPECT_EQ(meta.mark, 9u);
    EXPECT_EQ(meta.priority, 3u);
    EXPECT_EQ(meta.tc_index, 5u);
    EXPECT_EQ(meta.tc_classid, 0x11u);
    EXPECT_EQ(meta.cb[4], 44u);
    EXPECT_EQ(meta.tstamp, 1000u);
    EXPECT_EQ(meta.queue_mapping, 2u);
    EXPECT_EQ(meta.hash, 0xdeadbeefu);
}

}  // namespace
}  // namespace tcbpf::skb
