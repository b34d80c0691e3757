// cBPF input paths: the tc bytecode text parser, and raw instructions through the checker and, when it
// accepts them, the reference interpreter on a packet taken from the same input, and the conversion to
// eBPF. Only tcbpf::Error may come out; an accepted program must finish (jumps are forward) without
// touching memory it may not, and its conversion must pass tcbpf's verifier (the kernel trusts its
// conversion; tcbpf proves it).
#include <cstdint>
#include <cstring>
#include <string_view>

#include "tcbpf/cbpf.h"
#include "tcbpf/cbpf_object.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tcbpf;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const cbpf::Program p = cbpf::parse_bytecode(text);
        if (cbpf::parse_bytecode(cbpf::format_bytecode(p)) != p) __builtin_trap();
    } catch (const Error&) {
    }
    try {
        cbpf::parse_bytecode_file(text, "fuzz");
    } catch (const Error&) {
    }

    // First byte: instruction count; then that many 8-byte instructions; the rest is the packet.
    if (size < 1) return 0;
    const size_t n = data[0] % 64 + 1;
    if (size < 1 + n * 8) return 0;
    cbpf::Program prog(n);
    for (size_t i = 0; i < n; ++i) std::memcpy(&prog[i], data + 1 + i * 8, 8);
    try {
        cbpf::check(prog);
    } catch (const Error&) {
        return 0;
    }
    cbpf::Packet packet;
    packet.data = std::span<const uint8_t>(data + 1 + n * 8, size - 1 - n * 8);
    packet.network_offset = packet.data.size() > 14 ? 14 : 0;
    (void)cbpf::run(prog, packet);
    (void)cbpf::disassemble(prog);
    if (!cbpf::to_object(prog, "fuzz").verified()) __builtin_trap();
    return 0;
}
