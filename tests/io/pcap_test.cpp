// pcap in and out. Damaged files are built byte by byte here so each test names exactly the damage;
// the messages are "FILE: where: what: libpcap: libpcap's words" (libpcap 1.10 wording).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tcbpf/pcap.h"

namespace tcbpf::io {
namespace {

namespace fs = std::filesystem;

class Bytes {
   public:
    Bytes& u8(uint8_t v) { data.push_back(v); return *this; }
    Bytes& u16(uint16_t v) { return u8(v & 0xff).u8(v >> 8); }
    Bytes& u32(uint32_t v) { return u16(v & 0xffff).u16(v >> 16); }
    Bytes& fill(size_t n, uint8_t v = 0) { data.insert(data.end(), n, v); return *this; }
    std::vector<uint8_t> data;
};

Bytes pcap_header(uint32_t linktype = 1, uint32_t magic = 0xa1b2c3d4) {
    Bytes b;
    b.u32(magic).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(linktype);
    return b;
}

class PcapFiles : public ::testing::Test {
   protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("tcbpf-pcap-test-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }
    std::string write_file(const std::string& name, const std::vector<uint8_t>& bytes) const {
        std::ofstream out(path(name), std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        return path(name);
    }
    std::string read_error(const std::string& file) const {
        try {
            read_pcap(file);
        } catch (const Error& e) {
            return e.what();
        }
        return "(no error)";
    }
    fs::path dir_;
};

std::vector<Frame> sample_frames() {
    Frame a;
    a.timestamp_ns = 1'700'000'000'123'456'789ULL;
    a.bytes.assign(60, 0xab);
    a.wire_len = 60;
    Frame b;
    b.timestamp_ns = 1'700'000'001'000'000'001ULL;
    b.bytes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    b.wire_len = 1514;  // cut by the capture
    return {a, b};
}

TEST_F(PcapFiles, NanosecondRoundTripKeepsEverything) {
    const std::vector<Frame> frames = sample_frames();
    write_pcap(path("ns.pcap"), frames, TimePrecision::Nano);
    const std::vector<Frame> back = read_pcap(path("ns.pcap"));
    ASSERT_EQ(back.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(back[i].timestamp_ns, frames[i].timestamp_ns);
        EXPECT_EQ(back[i].bytes, frames[i].bytes);
        EXPECT_EQ(back[i].wire_len, frames[i].wire_len);
    }
    // Classic pcap with the nanosecond magic, Ethernet link type: 24 + (16 + 60) + (16 + 14) bytes.
    EXPECT_EQ(fs::file_size(path("ns.pcap")), 130u);
    std::ifstream in(path("ns.pcap"), std::ios::binary);
    uint8_t header[24];
    in.read(reinterpret_cast<char*>(header), 24);
    EXPECT_EQ(header[0], 0x4d);
    EXPECT_EQ(header[3], 0xa1);
    EXPECT_EQ(header[20], 1);
}

TEST_F(PcapFiles, MicrosecondFilesTruncateToMicroseconds) {
    write_pcap(path("us.pcap"), sample_frames(), TimePrecision::Micro);
    const std::vector<Frame> back = read_pcap(path("us.pcap"));
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[0].timestamp_ns, 1'700'000'000'123'456'000ULL);
    EXPECT_EQ(back[1].timestamp_ns, 1'700'000'001'000'000'000ULL);
}

TEST_F(PcapFiles, StreamingReaderCountsFrames) {
    write_pcap(path("s.pcap"), sample_frames());
    PcapReader reader(path("s.pcap"));
    EXPECT_TRUE(reader.next());
    EXPECT_TRUE(reader.next());
    EXPECT_FALSE(reader.next());
    EXPECT_EQ(reader.frames_read(), 2u);
}

TEST_F(PcapFiles, ReadsFromMemory) {
    Bytes b = pcap_header();
    b.u32(5).u32(7).u32(3).u32(3).u8(0xaa).u8(0xbb).u8(0xcc);
    const std::vector<Frame> frames = read_pcap(b.data, "mem.pcap");
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].timestamp_ns, 5'000'007'000ULL);
    EXPECT_EQ(frames[0].bytes, (std::vector<uint8_t>{0xaa, 0xbb, 0xcc}));
}

TEST_F(PcapFiles, ReadsPcapng) {
    Bytes b;
    b.u32(0x0a0d0d0a).u32(28).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).u32(28);  // SHB
    b.u32(1).u32(20).u16(1).u16(0).u32(0).u32(20);  // IDB: Ethernet, default µs resolution
    b.u32(6).u32(32 + 16).u32(0).u32(0).u32(2'500'000).u32(14).u32(64);  // EPB: t = 2.5 s
    b.fill(14, 0x5a).fill(2).u32(32 + 16);
    const std::vector<Frame> frames = read_pcap(b.data, "ng.pcapng");
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].timestamp_ns, 2'500'000'000ULL);
    EXPECT_EQ(frames[0].bytes, std::vector<uint8_t>(14, 0x5a));
    EXPECT_EQ(frames[0].wire_len, 64u);
}

TEST_F(PcapFiles, MissingFile) {
    EXPECT_EQ(read_error(path("absent.pcap")), path("absent.pcap") + ": cannot open: No such file or directory");
}

TEST_F(PcapFiles, EmptyFile) {
    const std::string file = write_file("empty.pcap", {});
    EXPECT_EQ(read_error(file), file + ": not a readable capture: libpcap: truncated dump file; tried to read 4 file header bytes, only got 0");
}

TEST_F(PcapFiles, TruncatedFileHeader) {
    std::vector<uint8_t> bytes = pcap_header().data;
    bytes.resize(10);  // libpcap reads the 4-byte magic first and counts only the 6 bytes after it
    const std::string file = write_file("short-header.pcap", bytes);
    EXPECT_EQ(read_error(file), file + ": not a readable capture: libpcap: truncated dump file; tried to read 24 file header bytes, only got 6");
}

TEST_F(PcapFiles, UnknownMagic) {
    const std::string file = write_file("magic.pcap", pcap_header(1, 0x12345678).data);
    EXPECT_EQ(read_error(file), file + ": not a readable capture: libpcap: unknown file format");
}

TEST_F(PcapFiles, WrongLinkType) {
    const std::string file = write_file("wifi.pcap", pcap_header(105).data);
    EXPECT_EQ(read_error(file),
              file + ": link type 105 (IEEE802_11) is not Ethernet (1, EN10MB); tc programs see Ethernet frames");
}

TEST_F(PcapFiles, TruncatedRecordHeader) {
    Bytes b = pcap_header();
    b.u32(1).u32(0).u32(4).u32(4).fill(4);  // frame 0 is fine
    b.u32(2).u8(0);                         // frame 1 stops after 5 header bytes
    const std::string file = write_file("short-record.pcap", b.data);
    EXPECT_EQ(read_error(file), file + ": frame 1 at byte 44: damaged record: libpcap: truncated dump file; "
                                       "tried to read 16 header bytes, only got 5");
}

TEST_F(PcapFiles, TruncatedRecordData) {
    Bytes b = pcap_header();
    b.u32(1).u32(0).u32(100).u32(100).fill(10);
    const std::string file = write_file("short-data.pcap", b.data);
    EXPECT_EQ(read_error(file), file + ": frame 0 at byte 24: damaged record: libpcap: truncated dump file; "
                                       "tried to read 100 captured bytes, only got 10");
}

TEST_F(PcapFiles, AbsurdCaptureLength) {
    Bytes b = pcap_header();
    b.u32(1).u32(0).u32(0xffffffff).u32(60).fill(60);
    const std::string file = write_file("caplen.pcap", b.data);
    EXPECT_EQ(read_error(file), file + ": frame 0 at byte 24: damaged record: libpcap: invalid packet capture "
                                       "length 4294967295, bigger than snaplen of 65535");
}

TEST_F(PcapFiles, EmptyMemoryCapture) {
    try {
        read_pcap(std::vector<uint8_t>{}, "nothing.pcap");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "nothing.pcap: empty file, not a capture");
    }
}

TEST_F(PcapFiles, UnwritablePath) {
    const std::string file = path("no/such/dir/out.pcap");
    try {
        PcapWriter writer(file);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), file + ": cannot create capture: libpcap: " + file + ": No such file or directory");
    }
}

TEST_F(PcapFiles, OversizedFrameIsRefused) {
    PcapWriter writer(path("big.pcap"));
    Frame huge;
    huge.bytes.assign(262145, 0);
    try {
        writer.write(huge);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), path("big.pcap") + ": frame of 262145 bytes exceeds the snaplen 262144");
    }
}

TEST_F(PcapFiles, FullDiskIsReportedOnClose) {
    if (!fs::exists("/dev/full")) GTEST_SKIP() << "/dev/full is not available";
    PcapWriter writer("/dev/full");
    for (int i = 0; i < 200; ++i) writer.write(std::vector<uint8_t>(1000, 1), static_cast<uint64_t>(i));
    try {
        writer.close();
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "/dev/full: write failed: No space left on device");
    }
}

}  // namespace
}  // namespace tcbpf::io
