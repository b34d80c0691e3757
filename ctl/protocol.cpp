// Encoding and decoding of control messages (the layout is in include/tcbpf/ctl.h). The decoder reads
// through a cursor that knows how much is left, so every length is checked before it is trusted and an
// error can say at which byte the message went wrong.
#include <algorithm>

#include <fmt/format.h>

#include "tcbpf/ctl.h"

namespace tcbpf::ctl {

namespace {

constexpr uint8_t kFlagStats = 1, kFlagJson = 2, kFlagDetails = 4, kFlagPretty = 8, kFlagPrometheus = 16;
constexpr uint8_t kKnownFlags = kFlagStats | kFlagJson | kFlagDetails | kFlagPretty | kFlagPrometheus;

void put_u16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v));
    out.push_back(static_cast<uint8_t>(v >> 8));
}
void put_u32(std::vector<uint8_t>& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

class Cursor {
   public:
    Cursor(std::span<const uint8_t> bytes, const char* what) : bytes_(bytes), what_(what) {}

    [[noreturn]] void fail(const std::string& message) const {
        throw ProtocolError(fmt::format("control {}: {} (at byte {})", what_, message, offset_));
    }
    void need(size_t n, const char* field) const {
        if (bytes_.size() - offset_ < n)
            fail(fmt::format("{} needs {} byte{}, only {} left", field, n, n == 1 ? "" : "s", bytes_.size() - offset_));
    }
    uint8_t u8(const char* field) {
        need(1, field);
        return bytes_[offset_++];
    }
    uint16_t u16(const char* field) {
        need(2, field);
        const uint16_t v = static_cast<uint16_t>(bytes_[offset_] | bytes_[offset_ + 1] << 8);
        offset_ += 2;
        return v;
    }
    uint32_t u32(const char* field) {
        need(4, field);
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(bytes_[offset_ + i]) << (8 * i);
        offset_ += 4;
        return v;
    }
    std::string text(size_t n, const char* field) {
        need(n, field);
        std::string s(reinterpret_cast<const char*>(bytes_.data() + offset_), n);
        offset_ += n;
        return s;
    }
    void finish() const {
        if (offset_ != bytes_.size()) fail(fmt::format("{} unexpected byte(s) after the {}", bytes_.size() - offset_, what_));
    }
    size_t offset() const { return offset_; }

   private:
    std::span<const uint8_t> bytes_;
    const char* what_;
    size_t offset_ = 0;
};

void check_version(Cursor& c) {
    const uint8_t version = c.u8("the version");
    if (version != kProtocolVersion) c.fail(fmt::format("protocol version {} is not supported (this daemon speaks {})", version, kProtocolVersion));
}

}  // namespace

bool Request::operator==(const Request& o) const {
    return kind == o.kind && words == o.words && globals.stats == o.globals.stats && globals.json == o.globals.json &&
           globals.details == o.globals.details && globals.pretty == o.globals.pretty && prometheus == o.prometheus;
}

std::vector<uint8_t> encode_request(const Request& request) {
    if (request.words.size() > kMaxWords) throw Error(fmt::format("control request: {} words (at most {})", request.words.size(), kMaxWords));
    std::vector<uint8_t> out = {kProtocolVersion, static_cast<uint8_t>(request.kind)};
    const tc::GlobalOptions& g = request.globals;
    out.push_back(static_cast<uint8_t>((g.stats ? kFlagStats : 0) | (g.json ? kFlagJson : 0) | (g.details ? kFlagDetails : 0) |
                                       (g.pretty ? kFlagPretty : 0) | (request.prometheus ? kFlagPrometheus : 0)));
    put_u16(out, static_cast<uint16_t>(request.words.size()));
    for (const std::string& w : request.words) {
        if (w.size() > UINT16_MAX) throw Error(fmt::format("control request: a word of {} bytes (at most {})", w.size(), UINT16_MAX));
        put_u16(out, static_cast<uint16_t>(w.size()));
        out.insert(out.end(), w.begin(), w.end());
    }
    if (out.size() > kMaxRequestBytes)
        throw Error(fmt::format("control request: {} bytes (at most {})", out.size(), kMaxRequestBytes));
    return out;
}

Request decode_request(std::span<const uint8_t> payload) {
    Cursor c(payload, "request");
    if (payload.size() > kMaxRequestBytes) c.fail(fmt::format("{} bytes is too large (at most {})", payload.size(), kMaxRequestBytes));
    check_version(c);
    Request r;
    const uint8_t kind = c.u8("the kind");
    if (kind < 1 || kind > 4) c.fail(fmt::format("unknown kind {} (1 command, 2 save, 3 stats, 4 status)", kind));
    r.kind = static_cast<RequestKind>(kind);
    const uint8_t flags = c.u8("the flags");
    if (flags & ~kKnownFlags) c.fail(fmt::format("unknown flags 0x{:02x}", flags & ~kKnownFlags));
    r.globals = {.stats = (flags & kFlagStats) != 0, .json = (flags & kFlagJson) != 0, .details = (flags & kFlagDetails) != 0,
                 .pretty = (flags & kFlagPretty) != 0};
    r.prometheus = (flags & kFlagPrometheus) != 0;
    if (r.prometheus && r.kind != RequestKind::Stats) c.fail("the Prometheus flag belongs to a stats request");
    const uint16_t count = c.u16("the word count");
    if (count > kMaxWords) c.fail(fmt::format("{} words (at most {})", count, kMaxWords));
    if (r.kind == RequestKind::Command && count == 0) c.fail("a command without words");
    if (r.kind != RequestKind::Command && count != 0) c.fail(fmt::format("{} words in a request that takes none", count));
    r.words.reserve(count);
    for (uint16_t i = 0; i < count; ++i) {
        const std::string field = fmt::format("word {}", i + 1);
        const uint16_t length = c.u16(field.c_str());
        const size_t at = c.offset();
        std::string word = c.text(length, field.c_str());
        if (const size_t bad = word.find_first_of(std::string_view("\0\n\r", 3)); bad != std::string::npos)
            throw ProtocolError(fmt::format("control request: word {} contains a {} (at byte {})", i + 1,
                                            word[bad] == '\0' ? "NUL byte" : "line break", at + bad));
        r.words.push_back(std::move(word));
    }
    c.finish();
    return r;
}

std::vector<uint8_t> encode_response(const Response& response) {
    std::vector<uint8_t> out = {kProtocolVersion, response.exit_status};
    put_u32(out, static_cast<uint32_t>(response.out.size()));
    out.insert(out.end(), response.out.begin(), response.out.end());
    put_u32(out, static_cast<uint32_t>(response.err.size()));
    out.insert(out.end(), response.err.begin(), response.err.end());
    if (out.size() > kMaxResponseBytes) throw Error(fmt::format("control response: {} bytes (at most {})", out.size(), kMaxResponseBytes));
    return out;
}

Response decode_response(std::span<const uint8_t> payload) {
    Cursor c(payload, "response");
    check_version(c);
    Response r;
    r.exit_status = c.u8("the exit status");
    r.out = c.text(c.u32("the output length"), "the output");
    r.err = c.text(c.u32("the error length"), "the error text");
    c.finish();
    return r;
}

std::string quote_batch_word(const std::string& word) {
    if (word.empty()) return "''";
    std::string out;
    for (size_t i = 0; i < word.size(); ++i) {
        const char ch = word[i];
        // '#' only starts a comment at the start of a word, but escaping it everywhere is as correct.
        if (ch == ' ' || ch == '\t' || ch == '"' || ch == '\'' || ch == '\\' || ch == '#') out += '\\';
        out += ch;
    }
    return out;
}

std::string format_batch_line(const std::vector<std::string>& words) {
    std::string line;
    for (const std::string& w : words) line += (line.empty() ? "" : " ") + quote_batch_word(w);
    return line;
}

std::vector<std::string_view> batch_file_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    for (size_t start = 0; start < text.size();) {
        const size_t end = std::min(text.find('\n', start), text.size());
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

}  // namespace tcbpf::ctl
