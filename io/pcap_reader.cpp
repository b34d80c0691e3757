// Reading goes through libpcap's offline reader so every format libpcap knows (pcap µs/ns, swapped
// byte order, pcapng) works, and libpcap's own diagnosis of damage is what the user sees. tcbpf adds
// the context libpcap lacks: which file, which frame, which byte offset.
#include <pcap/pcap.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "tcbpf/pcap.h"

namespace tcbpf::io {

struct PcapReader::Handle {
    pcap_t* pcap = nullptr;
    ~Handle() {
        if (pcap != nullptr) pcap_close(pcap);  // also closes the FILE* it was opened on
    }
};

PcapReader::PcapReader(const std::string& path) : name_(path), handle_(std::make_unique<Handle>()) {
    FILE* stream = std::fopen(path.c_str(), "rb");
    if (stream == nullptr) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    open_stream(stream);
}

PcapReader::PcapReader(std::span<const uint8_t> bytes, std::string name)
    : name_(std::move(name)), memory_(bytes.begin(), bytes.end()), handle_(std::make_unique<Handle>()) {
    if (memory_.empty()) throw Error(fmt::format("{}: empty file, not a capture", name_));
    FILE* stream = fmemopen(memory_.data(), memory_.size(), "rb");
    if (stream == nullptr) throw Error(fmt::format("{}: cannot open in-memory capture: {}", name_, std::strerror(errno)));
    open_stream(stream);
}

PcapReader::~PcapReader() = default;

void PcapReader::open_stream(FILE* stream) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    handle_->pcap = pcap_fopen_offline_with_tstamp_precision(stream, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (handle_->pcap == nullptr) {
        std::fclose(stream);
        throw Error(fmt::format("{}: not a readable capture: libpcap: {}", name_, errbuf));
    }
    const int link = pcap_datalink(handle_->pcap);
    if (link != DLT_EN10MB) {
        const char* link_name = pcap_datalink_val_to_name(link);
        throw Error(fmt::format("{}: link type {} ({}) is not Ethernet (1, EN10MB); tc programs see Ethernet frames",
                                name_, link, link_name != nullptr ? link_name : "unknown"));
    }
}

void PcapReader::fail(const std::string& what) const { throw Error(fmt::format("{}: {}", name_, what)); }

std::optional<Frame> PcapReader::next() {
    FILE* stream = pcap_file(handle_->pcap);
    const long offset = stream != nullptr ? std::ftell(stream) : -1;
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(handle_->pcap, &header, &data);
    if (rc == PCAP_ERROR_BREAK) return std::nullopt;  // -2: end of file
    if (rc != 1) {
        const std::string where = offset >= 0 ? fmt::format("frame {} at byte {}", index_, offset)
                                              : fmt::format("frame {}", index_);
        fail(fmt::format("{}: damaged record: libpcap: {}", where, pcap_geterr(handle_->pcap)));
    }
    Frame frame;
    frame.timestamp_ns = static_cast<uint64_t>(header->ts.tv_sec) * 1'000'000'000ULL +
                         static_cast<uint64_t>(header->ts.tv_usec);  // ns: opened with nano precision
    frame.bytes.assign(data, data + header->caplen);
    frame.wire_len = std::max(header->len, header->caplen);
    ++index_;
    return frame;
}

std::vector<Frame> read_pcap(const std::string& path) {
    PcapReader reader(path);
    std::vector<Frame> frames;
    while (auto frame = reader.next()) frames.push_back(std::move(*frame));
    return frames;
}

std::vector<Frame> read_pcap(std::span<const uint8_t> bytes, const std::string& name) {
    PcapReader reader(bytes, name);
    std::vector<Frame> frames;
    while (auto frame = reader.next()) frames.push_back(std::move(*frame));
    return frames;
}

}  // namespace tcbpf::io
