// Any byte string handed to the pcap reader must end in frames or a tcbpf::Error — never a crash, a
// leak or a read past the input. libpcap reads through a FILE*, so the reader's in-memory path
// (fmemopen + pcap_fopen_offline) is exactly what is fuzzed here. Frames that come back must be
// self-consistent: a capture never claims fewer wire bytes than it holds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "tcbpf/pcap.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        tcbpf::io::PcapReader reader({data, size}, "fuzz.pcap");
        while (auto frame = reader.next()) {
            if (frame->wire_len < frame->bytes.size()) std::abort();
        }
    } catch (const tcbpf::Error&) {
        // Rejected input: the expected outcome for most mutations.
    }
    return 0;
}
