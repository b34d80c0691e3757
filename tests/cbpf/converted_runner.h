// Runs a converted cBPF program the way the runtime does — context rewrite, an skb::SkbContext filled
// by skb::sync_in, the helpers reading a helpers::RunEnv, the kernel's LD_ABS/LD_IND access — but on
// an skb whose every field a cBPF program can observe is taken from a cbpf::Packet, so the reference
// interpreter and the converted program see the same skb. Three engines: the checked interpreter,
// the unchecked interpreter and the JIT.
#pragma once

#include <memory>
#include <random>
#include <span>

#include "tcbpf/cbpf.h"
#include "tcbpf/jit.h"
#include "tcbpf/vm.h"

namespace tcbpf::cbpf_test {

enum class Engine { Checked, Interp, Jit };
inline const char* engine_name(Engine e) { return e == Engine::Checked ? "checked" : e == Engine::Interp ? "interp" : "jit"; }
inline constexpr Engine kEngines[] = {Engine::Checked, Engine::Interp, Engine::Jit};

class ConvertedRunner {
   public:
    // Converts (throws what convert throws), expects tcbpf's verifier to accept the result (a gtest
    // failure otherwise), rewrites the context accesses and prepares every engine.
    explicit ConvertedRunner(const cbpf::Program& prog);
    ~ConvertedRunner();

    // The converted program's answer on `packet`; a checked-mode fault is a test failure (reported
    // through gtest) and yields 0. SKF_AD_RANDOM returns packet.random, SKF_AD_CPU packet.cpu.
    uint32_t run(const cbpf::Packet& packet, Engine engine) const;

    const isa::Program& converted() const { return converted_; }

   private:
    isa::Program converted_;
    std::unique_ptr<vm::Program> checked_, interp_;
    std::unique_ptr<jit::Program> jit_;
};

// A packet's observable fields as a varied but deterministic function of `n` (for differential runs),
// with protocol and the payload offset taken from the bytes as the kernel would.
cbpf::Packet varied_packet(std::span<const uint8_t> bytes, uint32_t n);

// libpcap's own interpreter (bpf_filter) on `bytes`, as a capture sees them (wire length = length).
uint32_t libpcap_filter(const cbpf::Program& prog, std::span<const uint8_t> bytes);

// A random program the checker accepts, using every allowed opcode and all ancillary loads.
cbpf::Program random_program(std::mt19937& rng);

}  // namespace tcbpf::cbpf_test
