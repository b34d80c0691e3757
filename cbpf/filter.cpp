// cbpf::Filter: the converted program loaded like a verified tc classifier, and the two ways a frame
// reaches it — directly into native code when the program needs nothing but the frame, or on a whole
// skb through the runtime when it reads skb fields or calls.
#include "tcbpf/cbpf_filter.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "cbpf/opcodes.h"
#include "tcbpf/cbpf_object.h"
#include "tcbpf/helpers.h"

namespace tcbpf::cbpf {
namespace {

// batch_entry reads frames as jit::Frame; a span of bytes is laid out the same way in the standard
// libraries tcbpf builds with, which this checks (once) rather than assumes.
bool span_is_a_jit_frame() {
    static const bool same = [] {
        static const uint8_t byte = 0;
        const std::span<const uint8_t> span(&byte, 1);
        if constexpr (sizeof span != sizeof(jit::Frame)) return false;
        jit::Frame frame{};
        std::memcpy(&frame, &span, sizeof frame);
        return frame.data == &byte && frame.size == 1;
    }();
    return same;
}

bool calls_anything(const isa::Program& prog) {
    for (const isa::Insn& insn : prog.insns) {
        const isa::Shape shape = isa::info(insn.op).shape;
        if (shape == isa::Shape::Call || shape == isa::Shape::Callx || shape == isa::Shape::LdAbs ||
            shape == isa::Shape::LdInd)
            return true;
    }
    return false;
}

// Ancillary loads other than SKF_AD_ALU_XOR_X read the skb beyond its bytes.
bool reads_skb_fields(const Program& prog) {
    for (const Insn& insn : prog) {
        const OpcodeRow* row = find_opcode(insn.code);
        if (row != nullptr && row->kind == Kind::LdAbs && insn.k >= static_cast<uint32_t>(kAdOff) &&
            insn.k - static_cast<uint32_t>(kAdOff) != kAdAluXorX)
            return true;
    }
    return false;
}

}  // namespace

skb::SkbMeta skb_meta(const Packet& p) {
    skb::SkbMeta meta;
    meta.protocol = p.protocol;
    meta.pkt_type = static_cast<uint8_t>(p.pkt_type);
    meta.ifindex = p.ifindex;
    meta.mark = p.mark;
    meta.queue_mapping = static_cast<uint16_t>(p.queue_mapping);
    meta.hash = p.rxhash;
    meta.vlan_tci = p.vlan_tci;
    meta.vlan_present = p.vlan_present;
    meta.vlan_proto = p.vlan_tpid;
    return meta;
}

Filter::Filter(const Program& prog, runtime::Engine engine) {
    ConvertedObject converted = to_object(prog, "filter");
    if (!converted.verified())
        throw Error(fmt::format("cBPF filter: tcbpf's verifier refuses the converted program: insn {}: {}",
                                converted.verdict.insn_idx, converted.verdict.message));
    // An unchecked load verifies again and runs the program on `engine` (the interpreter if the JIT
    // cannot compile it).
    runtime::LoadOptions options;
    options.checked = false;
    options.engine = engine;
    options.jit.batch_frames = jit::FrameFields{.data = offsetof(skb::SkbContext, data),
                                                .data_end = offsetof(skb::SkbContext, data_end),
                                                .len = offsetof(skb::SkbContext, len)};
    object_ = runtime::LoadedObject::load(std::move(converted.object), options);
    program_ = &object_->programs().front();
    if (!program_->program) throw Error(program_->error);
    calls_ = calls_anything(program_->rewritten);
    reads_fields_ = reads_skb_fields(prog);
    if (program_->native && !reads_fields_) {
        direct_ = program_->native->direct_entry();
        if (span_is_a_jit_frame()) batch_ = program_->native->batch_entry();
    }
}

Filter::~Filter() = default;

runtime::Engine Filter::engine() const { return program_->native ? runtime::Engine::Jit : runtime::Engine::Interp; }
const isa::Program& Filter::converted() const { return object_->object().programs.front().prog; }

uint32_t Filter::run(const Packet& packet) {
    if (calls_ || reads_fields_) return run_on_skb(packet);
    ctx_.data = reinterpret_cast<uint64_t>(packet.data.data());
    ctx_.data_end = ctx_.data + packet.data.size();
    ctx_.len = static_cast<uint32_t>(packet.data.size());
    const auto ctx = reinterpret_cast<uint64_t>(&ctx_);
    if (direct_ != nullptr) return static_cast<uint32_t>(direct_(ctx, 0));
    return static_cast<uint32_t>(program_->native ? program_->native->run(cx_, ctx) : program_->program->run(cx_, ctx));
}

void Filter::run_batch(std::span<const std::span<const uint8_t>> frames, std::span<uint32_t> verdicts) {
    const size_t n = std::min(frames.size(), verdicts.size());
    if (batch_ == nullptr) {
        for (size_t i = 0; i < n; ++i) verdicts[i] = run(frames[i]);
        return;
    }
    batch_(reinterpret_cast<const jit::Frame*>(frames.data()), n, verdicts.data());
}

uint32_t Filter::run_on_skb(const Packet& packet) {
    skb::Packet skb(packet.data);
    skb.set_mac_header(0);
    skb.set_network_header(static_cast<int32_t>(packet.network_offset));
    skb::SkbMeta meta = skb_meta(packet);
    helpers::RunEnv env;
    env.device_type = static_cast<uint16_t>(packet.hatype);
    cx_.cpu = packet.cpu;
    return static_cast<uint32_t>(object_->run_on_skb(*program_, skb, meta, cx_, ctx_, env));
}

}  // namespace tcbpf::cbpf
