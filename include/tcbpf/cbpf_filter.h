// A classic filter ready to run on frames — what a libpcap user calls bpf_filter for — on the kernel's
// road: checked, converted to eBPF, proven safe by tcbpf's verifier (a refusal is the constructor's
// error: nothing runs unverified), then JIT-compiled (the interpreter where the JIT cannot compile).
//
// The fast path is the kernel's sk_filter one: the converted program of most tcpdump filters calls
// nothing (cbpf/DESIGN.md), so its native code is entered directly (jit::Program::direct_entry) with a
// context holding only the frame's pointers and length; run_batch goes further and runs many frames in
// one native loop (jit::Program::batch_entry). A program that reads skb fields (ancillary
// loads) or calls (the ancillary loads helpers compute, and LD_ABS/LD_IND for the negative bases and
// far offsets) runs on a whole skb built for each frame, through the runtime like a tc program.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "tcbpf/cbpf.h"
#include "tcbpf/jit.h"
#include "tcbpf/runtime.h"
#include "tcbpf/skb.h"

namespace tcbpf::cbpf {

// The skb fields of `packet` as the runtime's skb metadata (what a tc hook would carry).
skb::SkbMeta skb_meta(const Packet& packet);

class Filter {
   public:
    // Throws Error: what check() refuses, or the verifier's refusal of the conversion ("insn N: ...").
    explicit Filter(const Program& prog, runtime::Engine engine = runtime::Engine::Jit);
    ~Filter();
    Filter(const Filter&) = delete;
    Filter& operator=(const Filter&) = delete;

    // The verdict on one frame (from its MAC header on) with the skb fields of `packet`; what the
    // reference cbpf::run answers, except that SKF_AD_RANDOM and SKF_AD_CPU read the real prandom
    // helper and `packet.cpu` through it. One Filter serves one thread at a time (it keeps the context).
    uint32_t run(const Packet& packet);
    // bpf_filter's view: the frame and nothing else (the skb fields are Packet's defaults).
    uint32_t run(std::span<const uint8_t> frame) {
        if (direct_ == nullptr) return run(Packet{.data = frame});
        ctx_.data = reinterpret_cast<uint64_t>(frame.data());
        ctx_.data_end = ctx_.data + frame.size();
        ctx_.len = static_cast<uint32_t>(frame.size());
        return static_cast<uint32_t>(direct_(reinterpret_cast<uint64_t>(&ctx_), 0));
    }

    // verdicts[i] = run(frames[i]) for every frame that has a verdict slot (min of the two sizes). On
    // the direct path one native loop runs all of them (jit::Program::batch_entry), without a call or
    // context stores per frame; otherwise each frame runs as run(frame) does.
    void run_batch(std::span<const std::span<const uint8_t>> frames, std::span<uint32_t> verdicts);

    // Whether frames take the direct path: JIT code that calls nothing and reads no skb field.
    bool direct() const { return direct_ != nullptr; }
    // Whether run_batch runs frames in one native loop: the direct path, with the register layout of a
    // conversion that calls nothing (cbpf/DESIGN.md). A program whose legacy loads the verifier found
    // dead is direct but keeps the calling layout (r6..r9), and runs frame by frame.
    bool batched() const { return batch_ != nullptr; }
    runtime::Engine engine() const;
    const isa::Program& converted() const;

   private:
    uint32_t run_on_skb(const Packet& packet);

    std::unique_ptr<runtime::LoadedObject> object_;
    const runtime::PreparedProgram* program_ = nullptr;
    bool calls_ = false;        // the converted program calls a helper or a legacy packet load
    bool reads_fields_ = false; // some ancillary load reads an skb field
    jit::Program::DirectEntry direct_ = nullptr;
    jit::Program::BatchEntry batch_ = nullptr;
    skb::SkbContext ctx_;
    vm::Context cx_;
};

}  // namespace tcbpf::cbpf
