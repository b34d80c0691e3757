// The control protocol's decoder on arbitrary bytes: it must either refuse them with ProtocolError or
// return a request that encodes back to exactly the same bytes (nothing accepted is misread), and the
// same for responses. Frames are read from a socket pair holding the input, with a small limit, so the
// framing's length checks are exercised too.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "tcbpf/ctl.h"

using namespace tcbpf;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> bytes(data, size);
    try {
        const ctl::Request request = ctl::decode_request(bytes);
        const std::vector<uint8_t> again = ctl::encode_request(request);
        if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
    } catch (const ctl::ProtocolError&) {
    }
    try {
        const ctl::Response response = ctl::decode_response(bytes);
        const std::vector<uint8_t> again = ctl::encode_response(response);
        if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
    } catch (const ctl::ProtocolError&) {
    }
    if (size > 4096) return 0;  // a socket pair's buffer holds this much without a reader
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return 0;
    if (::write(fds[0], data, size) == static_cast<ssize_t>(size)) {
        ::close(fds[0]);
        try {
            while (const auto frame = ctl::read_frame(fds[1], 1024))
                if (frame->size() > 1024) std::abort();
        } catch (const Error&) {
        }
    } else {
        ::close(fds[0]);
    }
    ::close(fds[1]);
    return 0;
}
