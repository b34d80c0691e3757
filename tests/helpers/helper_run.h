// Running small programs that call helpers on a real skb, as the runtime will: the skb comes from
// skb::prepare_test_run (BPF_PROG_TEST_RUN's rules), sync_in before the run, sync_out after, checked
// mode with the packet, the context, a 64-byte output buffer (r2) and map memory as regions.
//
// Programs are llvm-syntax text. `{ctx:FIELD}` stands for a load of a __sk_buff field through r6 (the
// saved context): tcbpf reads skb::SkbContext, so the same text can also go to the kernel with the
// uapi offset (see render()).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tcbpf/helpers.h"
#include "tcbpf/maps.h"
#include "tcbpf/skb.h"
#include "tcbpf/vm.h"

namespace tcbpf::helpers::test {

// Ethernet (02:..:02 ← 02:..:01) + IPv4 10.0.0.1 → 10.0.0.2 + UDP 1234 → 80 with `payload` bytes of
// 0x41.., all checksums valid. The source address is 10.0.0.src_last_octet.
std::vector<uint8_t> ipv4_udp_frame(size_t payload = 8, uint8_t src_last_octet = 1);
// Ethernet + IPv6 2001:db8::1 → 2001:db8::2 + TCP 1234 → 80 (20-byte header), checksums valid.
std::vector<uint8_t> ipv6_tcp_frame();
// `frame` with an 802.1Q (or other TPID) tag inserted after the addresses.
std::vector<uint8_t> tagged(const std::vector<uint8_t>& frame, uint16_t tpid, uint16_t tci);

// Code storing `text` and its terminating NUL (padded to 4 bytes) at the top of the stack; *start is
// set to the string's offset from r10.
std::string stack_string(std::string_view text, int* start);

enum class Side { Tcbpf, Kernel };
// Replaces every `{ctx:FIELD}` with the load of that field for one side.
std::string render(std::string_view source, Side side);

struct HelperRun {
    explicit HelperRun(const std::vector<uint8_t>& frame);

    // Runs `source` (checked mode unless asked otherwise) and returns r0; a fault fails the test.
    uint64_t run(std::string_view source, bool checked = true);
    std::vector<uint8_t> bytes() const { return {packet.bytes().begin(), packet.bytes().end()}; }
    // A map's address as an immediate for `rN = ADDRESS ll`.
    static std::string address(const void* p);

    skb::Packet packet;
    skb::SkbMeta meta;
    skb::SkbContext ctx;
    RunEnv env;
    vm::Context cx;
    uint8_t out[64] = {};  // r2 at entry
    std::vector<std::string> trace;
    std::function<void(std::string_view)> trace_sink;
    std::vector<const maps::Map*> maps;  // their memory is accessible in checked mode
};

}  // namespace tcbpf::helpers::test
