// Filter expressions go through libpcap's own compiler, so `tcbpf ... filter "tcp port 80"` means exactly
// what `tcpdump "tcp port 80"` means on an Ethernet interface.
#include <pcap/pcap.h>

#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "tcbpf/cbpf.h"

namespace tcbpf::cbpf {

Program compile_filter(std::string_view expression) {
    // tcpdump's default snapshot length: accepted packets return 262144 ("ret #262144").
    constexpr int kSnaplen = 262144;
    // libpcap's compiler keeps global parser state in older releases; one compile at a time.
    static std::mutex compile_mutex;
    std::lock_guard lock(compile_mutex);

    std::unique_ptr<pcap_t, decltype(&pcap_close)> handle(pcap_open_dead(DLT_EN10MB, kSnaplen), pcap_close);
    if (!handle) throw Error("filter: libpcap could not open a compiler handle");
    bpf_program compiled{};
    const std::string expr(expression);
    if (pcap_compile(handle.get(), &compiled, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
        throw Error(fmt::format("filter '{}': {}", expr, pcap_geterr(handle.get())));
    Program prog;
    prog.reserve(compiled.bf_len);
    for (u_int i = 0; i < compiled.bf_len; ++i) {
        const bpf_insn& in = compiled.bf_insns[i];
        prog.push_back(Insn{in.code, in.jt, in.jf, in.k});
    }
    pcap_freecode(&compiled);
    return prog;
}

}  // namespace tcbpf::cbpf
