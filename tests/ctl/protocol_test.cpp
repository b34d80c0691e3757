// The control protocol: what a request and a response look like on the wire, that they survive a
// round trip, and that the decoder names what is wrong with a malformed one instead of trusting it.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include "tcbpf/ctl.h"
#include "tcbpf/daemon.h"

namespace tcbpf::ctl {
namespace {

std::string decode_error(const std::vector<uint8_t>& payload) {
    try {
        decode_request(payload);
    } catch (const ProtocolError& e) {
        return e.what();
    }
    return "(accepted)";
}

TEST(CtlProtocol, ARequestIsVersionKindFlagsAndLengthPrefixedWords) {
    Request r;
    r.words = {"qdisc", "show"};
    r.globals.stats = true;
    const std::vector<uint8_t> expected = {1, 1, 1, 2, 0, 5, 0, 'q', 'd', 'i', 's', 'c', 4, 0, 's', 'h', 'o', 'w'};
    EXPECT_EQ(encode_request(r), expected);
}

TEST(CtlProtocol, RequestsRoundTrip) {
    std::vector<Request> requests(4);
    requests[0].words = {"filter", "add", "dev", "eth 0", "", "bc", "1,6 0 0 0,", "caf\xc3\xa9"};
    requests[0].globals = {true, true, true, true};
    requests[1].kind = RequestKind::Save;
    requests[2].kind = RequestKind::Stats;
    requests[2].prometheus = true;
    requests[3].kind = RequestKind::Status;
    for (const Request& r : requests) EXPECT_EQ(decode_request(encode_request(r)), r);
}

TEST(CtlProtocol, ResponsesRoundTrip) {
    const Response r{.exit_status = 255, .out = "line 1\nline 2\n", .err = std::string("with\0nul", 8)};
    EXPECT_EQ(decode_response(encode_response(r)), r);
    EXPECT_EQ(decode_response(encode_response(Response{})), Response{});
}

TEST(CtlProtocol, MalformedRequestsAreNamedWithTheirOffset) {
    EXPECT_EQ(decode_error({}), "control request: the version needs 1 byte, only 0 left (at byte 0)");
    EXPECT_EQ(decode_error({2, 1, 0, 0, 0}), "control request: protocol version 2 is not supported (this daemon speaks 1) (at byte 1)");
    EXPECT_EQ(decode_error({1, 9, 0, 0, 0}), "control request: unknown kind 9 (1 command, 2 save, 3 stats, 4 status) (at byte 2)");
    EXPECT_EQ(decode_error({1, 1, 0x40, 1, 0}), "control request: unknown flags 0x40 (at byte 3)");
    EXPECT_EQ(decode_error({1, 1, 16, 1, 0}), "control request: the Prometheus flag belongs to a stats request (at byte 3)");
    EXPECT_EQ(decode_error({1, 1, 0, 0, 0}), "control request: a command without words (at byte 5)");
    EXPECT_EQ(decode_error({1, 2, 0, 1, 0, 0, 0}), "control request: 1 words in a request that takes none (at byte 5)");
    EXPECT_EQ(decode_error({1, 1, 0, 1}), "control request: the word count needs 2 bytes, only 1 left (at byte 3)");
    EXPECT_EQ(decode_error({1, 1, 0, 1, 0, 9, 0, 'a', 'b'}), "control request: word 1 needs 9 bytes, only 2 left (at byte 7)");
    EXPECT_EQ(decode_error({1, 1, 0, 1, 0, 3, 0, 'a', 0, 'b'}), "control request: word 1 contains a NUL byte (at byte 8)");
    EXPECT_EQ(decode_error({1, 1, 0, 1, 0, 2, 0, 'a', '\n'}), "control request: word 1 contains a line break (at byte 8)");
    EXPECT_EQ(decode_error({1, 4, 0, 0, 0, 7}), "control request: 1 unexpected byte(s) after the request (at byte 5)");
    EXPECT_EQ(decode_error({1, 1, 0, 0xff, 0xff}), "control request: 65535 words (at most 4096) (at byte 5)");
    std::vector<uint8_t> huge(kMaxRequestBytes + 1, 0);
    huge[0] = 1;
    EXPECT_EQ(decode_error(huge), "control request: 65537 bytes is too large (at most 65536) (at byte 0)");
}

TEST(CtlProtocol, MalformedResponsesAreRefused) {
    EXPECT_THROW(decode_response(std::vector<uint8_t>{1, 0, 5, 0, 0, 0, 'a'}), ProtocolError);
    EXPECT_THROW(decode_response(std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), ProtocolError);
}

// Frames over a connected socket pair: a clean close between frames is the end, an oversized length is
// refused before its body is read, a frame cut short is an error.
TEST(CtlProtocol, FramesOnAStream) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    const std::vector<uint8_t> payload = {1, 2, 3};
    write_frame(fds[0], payload);
    const uint8_t oversized[4] = {0x00, 0x00, 0x10, 0x00};  // 1 MiB
    ASSERT_EQ(::write(fds[0], oversized, 4), 4);
    EXPECT_EQ(read_frame(fds[1], 16), payload);
    try {
        read_frame(fds[1], kMaxRequestBytes);
        ADD_FAILURE() << "an oversized frame was accepted";
    } catch (const ProtocolError& e) {
        EXPECT_STREQ(e.what(), "control frame: 1048576 bytes is too large (at most 65536)");
    }
    const uint8_t cut[6] = {4, 0, 0, 0, 'a', 'b'};
    ASSERT_EQ(::write(fds[0], cut, 6), 6);
    ::close(fds[0]);
    try {
        read_frame(fds[1], 16);
        ADD_FAILURE() << "a cut frame was accepted";
    } catch (const ProtocolError& e) {
        EXPECT_STREQ(e.what(), "control frame: the connection closed after 2 of 4 bytes");
    }
    EXPECT_EQ(read_frame(fds[1], 16), std::nullopt);
    ::close(fds[1]);
}

TEST(CtlProtocol, SavedWordsReadBackUnchanged) {
    const std::vector<std::string> words = {"filter", "add", "bc", "1,6 0 0 0,", "", "#hash", "it's", "\"q\"", "back\\slash", "tab\there"};
    const std::string line = format_batch_line(words);
    EXPECT_EQ(tc::split_batch_line(line), words) << line;
}

TEST(CtlProtocol, BatchFileLinesAreNumberedAsWritten) {
    EXPECT_EQ(batch_file_lines("a\n\nb c\n"), (std::vector<std::string_view>{"a", "", "b c"}));
    EXPECT_EQ(batch_file_lines("last line without newline"), (std::vector<std::string_view>{"last line without newline"}));
    EXPECT_EQ(batch_file_lines(""), std::vector<std::string_view>{});
}

TEST(CtlProtocol, FileArgumentsBecomeAbsolute) {
    EXPECT_EQ(with_absolute_paths({"filter", "add", "dev", "obj", "ingress", "bpf", "da", "obj", "p.o", "sec", "tc"}, "/w"),
              (std::vector<std::string>{"filter", "add", "dev", "obj", "ingress", "bpf", "da", "obj", "/w/p.o", "sec", "tc"}));
    EXPECT_EQ(with_absolute_paths({"port", "add", "in", "type", "pcap", "in", "in", "out", "../o.pcap"}, "/w/x"),
              (std::vector<std::string>{"port", "add", "in", "type", "pcap", "in", "/w/x/in", "out", "/w/o.pcap"}));
    EXPECT_EQ(with_absolute_paths({"port", "add", "a", "type", "pcap", "in", "/abs.pcap"}, "/w"),
              (std::vector<std::string>{"port", "add", "a", "type", "pcap", "in", "/abs.pcap"}));
    EXPECT_EQ(with_absolute_paths({"filter", "frob", "obj", "p.o"}, "/w"), (std::vector<std::string>{"filter", "frob", "obj", "p.o"}));
}

}  // namespace
}  // namespace tcbpf::ctl
