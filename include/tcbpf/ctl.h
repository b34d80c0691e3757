// The control protocol between `tcbpf` commands and a running `tcbpf daemon`, and its client.
//
// A client connects to the daemon's Unix stream socket and sends requests; each gets one response, in
// order, on the same connection. Every message is a frame: a 4-byte little-endian payload length, then
// the payload. Payloads are small, fixed-layout binary records (all integers little-endian):
//
//   request  = version:u8 (1)  kind:u8  flags:u8  word_count:u16  { length:u16  bytes }*word_count
//   response = version:u8 (1)  exit_status:u8  out_length:u32 out  err_length:u32 err
//
// kind: 1 command (tc's words: "filter", "add", ...), 2 save, 3 stats, 4 status. flags: bit 0 -s,
// bit 1 -j, bit 2 -d, bit 3 -p, bit 4 Prometheus text (stats). Only a command carries words.
//
// The decoder is the daemon's first line of defence: it checks every length against what is left,
// every value against its range, and that nothing trails the record, and throws ProtocolError naming
// what is wrong and where. Words are tc's words as typed — no NUL bytes and no line breaks (a word
// must fit on one line of a batch file, so `tcbpf save` can write it back).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcbpf/error.h"
#include "tcbpf/tc_spec.h"

namespace tcbpf::ctl {

inline constexpr uint8_t kProtocolVersion = 1;
inline constexpr uint32_t kMaxRequestBytes = 64 * 1024;          // a tc command line is far smaller
inline constexpr uint32_t kMaxResponseBytes = 64 * 1024 * 1024;  // show output of a large configuration
inline constexpr uint16_t kMaxWords = 4096;

enum class RequestKind : uint8_t { Command = 1, Save = 2, Stats = 3, Status = 4 };

struct Request {
    RequestKind kind = RequestKind::Command;
    std::vector<std::string> words;  // Command only
    tc::GlobalOptions globals;
    bool prometheus = false;  // Stats: Prometheus text format
    bool operator==(const Request& o) const;
};

struct Response {
    uint8_t exit_status = 0;  // as the tcbpf command exits: 0, 1, 2 or 255 (tc's own statuses)
    std::string out;          // for the client's standard output
    std::string err;          // for its standard error
    bool operator==(const Response&) const = default;
};

// A malformed message: "control request: ..." naming the field and the byte offset.
class ProtocolError : public Error {
   public:
    using Error::Error;
};

std::vector<uint8_t> encode_request(const Request& request);
Request decode_request(std::span<const uint8_t> payload);
std::vector<uint8_t> encode_response(const Response& response);
Response decode_response(std::span<const uint8_t> payload);

// ---- frames on a connected stream socket (blocking; the socket's SO_RCVTIMEO/SO_SNDTIMEO bound waits)

// Writes the length prefix and the payload; throws tcbpf::Error when the peer is gone.
void write_frame(int fd, std::span<const uint8_t> payload);
// Reads one frame. nullopt: the peer closed the connection cleanly before a new frame began. Throws
// ProtocolError for a frame longer than `limit` (before reading its body) and tcbpf::Error for a
// connection that breaks or times out mid-frame.
std::optional<std::vector<uint8_t>> read_frame(int fd, uint32_t limit);

// ---- the client side

// Where the daemon listens unless told: $TCBPF_CTL if set and not empty, else /run/tcbpf.ctl.
std::string default_socket_path();

class Client {
   public:
    // Connects; throws tcbpf::Error "cannot reach the tcbpf daemon at PATH: REASON".
    explicit Client(const std::string& socket_path);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    Response call(const Request& request);

   private:
    int fd_ = -1;
    std::string path_;
};

// Quotes a word so tc::split_batch_line reads it back unchanged (backslashes before the characters
// the splitter treats specially; '' for an empty word); joins a command's words into one batch line.
std::string quote_batch_word(const std::string& word);
std::string format_batch_line(const std::vector<std::string>& words);
// A batch file's lines, line i + 1 at index i (the line numbers "Command failed FILE:LINE" names).
std::vector<std::string_view> batch_file_lines(std::string_view text);

}  // namespace tcbpf::ctl
