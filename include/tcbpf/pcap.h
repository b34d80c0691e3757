// Packet capture files in and out, through libpcap.
//
// Reading accepts what libpcap's offline reader accepts (pcap with µs or ns timestamps, and pcapng),
// always returns nanosecond timestamps, and insists on Ethernet framing since tc programs see Ethernet
// frames. Every failure — unreadable file, bad header, truncated or absurd record, wrong link type —
// is a tcbpf::Error naming the file, the frame index and byte offset where known, and libpcap's own
// words. Writing produces classic pcap with Ethernet link type, in µs or ns precision.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tcbpf/error.h"

namespace tcbpf::io {

struct Frame {
    uint64_t timestamp_ns = 0;
    uint32_t wire_len = 0;  // length on the wire; ≥ bytes.size() (a capture may be cut at snaplen)
    std::vector<uint8_t> bytes;
};

enum class TimePrecision { Micro, Nano };

class PcapReader {
   public:
    // Opens a file; throws tcbpf::Error if it cannot be opened as a capture or is not Ethernet.
    explicit PcapReader(const std::string& path);
    // Reads a capture held in memory (fuzzing, tests); `name` stands for the file in messages.
    PcapReader(std::span<const uint8_t> bytes, std::string name);
    ~PcapReader();
    PcapReader(const PcapReader&) = delete;
    PcapReader& operator=(const PcapReader&) = delete;

    // The next frame, or nullopt at the end; throws tcbpf::Error on a damaged record.
    std::optional<Frame> next();
    // Frames returned so far.
    uint64_t frames_read() const { return index_; }

   private:
    void open_stream(FILE* stream);
    [[noreturn]] void fail(const std::string& what) const;

    std::string name_;
    std::vector<uint8_t> memory_;  // backing store of an in-memory capture
    struct Handle;
    std::unique_ptr<Handle> handle_;
    uint64_t index_ = 0;
};

// Reads a whole capture.
std::vector<Frame> read_pcap(const std::string& path);
std::vector<Frame> read_pcap(std::span<const uint8_t> bytes, const std::string& name);

class PcapWriter {
   public:
    // Creates (truncates) path; throws tcbpf::Error naming it when that fails.
    PcapWriter(const std::string& path, TimePrecision precision = TimePrecision::Nano);
    ~PcapWriter();
    PcapWriter(const PcapWriter&) = delete;
    PcapWriter& operator=(const PcapWriter&) = delete;

    void write(const Frame& frame);
    void write(std::span<const uint8_t> bytes, uint64_t timestamp_ns);
    // Flushes and closes; throws on a write error (a full disk is reported, not lost). The destructor
    // closes silently if close() was not called.
    void close();

   private:
    std::string path_;
    TimePrecision precision_;
    struct Handle;
    std::unique_ptr<Handle> handle_;
};

void write_pcap(const std::string& path, std::span<const Frame> frames, TimePrecision precision = TimePrecision::Nano);

}  // namespace tcbpf::io
