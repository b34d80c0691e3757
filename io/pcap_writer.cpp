// Writing uses libpcap's dumper on a "dead" handle: classic pcap, Ethernet link type, the chosen
// timestamp precision (libpcap picks the ns magic 0xa1b23c4d for nano), snaplen 262144 (libpcap's
// MAXIMUM_SNAPLEN). Nothing time- or host-dependent goes into the file, so equal frames give equal bytes.
#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "tcbpf/pcap.h"

namespace tcbpf::io {

namespace {
constexpr int kSnaplen = 262144;
}

struct PcapWriter::Handle {
    pcap_t* dead = nullptr;
    pcap_dumper_t* dumper = nullptr;
    ~Handle() {
        if (dumper != nullptr) pcap_dump_close(dumper);
        if (dead != nullptr) pcap_close(dead);
    }
};

PcapWriter::PcapWriter(const std::string& path, TimePrecision precision)
    : path_(path), precision_(precision), handle_(std::make_unique<Handle>()) {
    const u_int pcap_precision =
        precision == TimePrecision::Nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO;
    handle_->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kSnaplen, pcap_precision);
    if (handle_->dead == nullptr) throw Error(fmt::format("{}: libpcap cannot create a writer", path));
    handle_->dumper = pcap_dump_open(handle_->dead, path.c_str());
    if (handle_->dumper == nullptr)
        throw Error(fmt::format("{}: cannot create capture: libpcap: {}", path, pcap_geterr(handle_->dead)));
}

PcapWriter::~PcapWriter() = default;

void PcapWriter::write(std::span<const uint8_t> bytes, uint64_t timestamp_ns) {
    Frame frame;
    frame.timestamp_ns = timestamp_ns;
    frame.wire_len = static_cast<uint32_t>(bytes.size());
    frame.bytes.assign(bytes.begin(), bytes.end());
    write(frame);
}

void PcapWriter::write(const Frame& frame) {
    if (!handle_->dumper) throw Error(fmt::format("{}: write after close", path_));
    if (frame.bytes.size() > static_cast<size_t>(kSnaplen))
        throw Error(fmt::format("{}: frame of {} bytes exceeds the snaplen {}", path_, frame.bytes.size(), kSnaplen));
    pcap_pkthdr header{};
    header.ts.tv_sec = static_cast<time_t>(frame.timestamp_ns / 1'000'000'000ULL);
    const uint64_t fraction = frame.timestamp_ns % 1'000'000'000ULL;
    // With a nano-precision handle libpcap stores tv_usec as nanoseconds.
    header.ts.tv_usec = static_cast<suseconds_t>(precision_ == TimePrecision::Nano ? fraction : fraction / 1000);
    header.caplen = static_cast<bpf_u_int32>(frame.bytes.size());
    header.len = std::max<bpf_u_int32>(frame.wire_len, header.caplen);
    pcap_dump(reinterpret_cast<u_char*>(handle_->dumper), &header, frame.bytes.data());
}

void PcapWriter::close() {
    if (!handle_->dumper) return;
    FILE* stream = pcap_dump_file(handle_->dumper);
    const bool failed = pcap_dump_flush(handle_->dumper) != 0 || std::ferror(stream) != 0;
    const int saved_errno = errno;
    pcap_dump_close(handle_->dumper);
    handle_->dumper = nullptr;
    if (failed) throw Error(fmt::format("{}: write failed: {}", path_, std::strerror(saved_errno)));
}

void write_pcap(const std::string& path, std::span<const Frame> frames, TimePrecision precision) {
    PcapWriter writer(path, precision);
    for (const Frame& frame : frames) writer.write(frame);
    writer.close();
}

}  // namespace tcbpf::io
