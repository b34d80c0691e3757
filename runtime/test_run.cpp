// BPF_PROG_TEST_RUN for a prepared program (net/bpf/test_run.c, bpf_prog_test_run_skb): the frame
// becomes an skb under skb::prepare_test_run's rules (or is refused, and nothing runs), the context is
// filled from it, the program runs `repeat` times on that one skb — so writes and packet changes of
// one repetition are what the next sees, as in the kernel — and what the kernel copies back (retval as
// a 32-bit value, the packet bytes, the writable fields) is returned.
#include <chrono>

#include "tcbpf/helpers.h"
#include "tcbpf/runtime.h"

namespace tcbpf::runtime {

namespace {

// The object whose program is running: the interpreter's hooks receive only the vm::Context, whose
// `user` belongs to the helpers (RunEnv) and whose `host` is this object.
const LoadedObject* running_object(const vm::Context* cx) { return static_cast<const LoadedObject*>(cx->host); }

bool map_region(vm::Context* cx, uint64_t addr, uint64_t size, bool write) {
    return running_object(cx) != nullptr && running_object(cx)->map_memory_allows(addr, size, write);
}

const PreparedProgram* tail_call_slot(vm::Context* cx, uint64_t prog_array, uint64_t index) {
    if (running_object(cx) == nullptr) return nullptr;
    maps::ProgArray* array = running_object(cx)->prog_array_at(prog_array);
    if (array == nullptr) return nullptr;
    // The helper's index argument is a u32: the kernel compares only its low half with max_entries.
    return static_cast<const PreparedProgram*>(array->program_at(static_cast<uint32_t>(index)));
}

const vm::Program* tail_call_target(vm::Context* cx, uint64_t prog_array, uint64_t index) {
    const PreparedProgram* target = tail_call_slot(cx, prog_array, index);
    return target == nullptr ? nullptr : target->program.get();
}

// All programs of an object share one engine (runtime/engine.cpp), so a JIT caller finds native code.
const jit::Program* jit_tail_call_target(vm::Context* cx, uint64_t prog_array, uint64_t index) {
    const PreparedProgram* target = tail_call_slot(cx, prog_array, index);
    return target == nullptr ? nullptr : target->native.get();
}

// Legacy LD_ABS/LD_IND (bpf_skb_load_helper_*): big-endian reads at an offset from the packet start;
// negative offsets select the network (SKF_NET_OFF) or MAC (SKF_LL_OFF) header and may reach back into
// headroom, since the kernel checks only against the buffer's head and tail.
constexpr int64_t kSkfNetOff = -0x100000;
constexpr int64_t kSkfLlOff = -0x200000;

bool load_packet(vm::Context* cx, uint64_t, int64_t offset, int size, uint64_t* out) {
    const auto* env = static_cast<const helpers::RunEnv*>(cx->user);
    const skb::Packet& packet = *env->packet;
    int64_t at = offset;
    if (offset < 0) {
        const std::optional<int32_t> header = offset >= kSkfNetOff ? packet.network_header()
                                              : offset >= kSkfLlOff ? packet.mac_header()
                                                                    : std::nullopt;
        if (!header) return false;
        at = *header + (offset - (offset >= kSkfNetOff ? kSkfNetOff : kSkfLlOff));
    }
    const int64_t head = -static_cast<int64_t>(packet.headroom() + packet.meta_len());
    if (at < head || at + size > static_cast<int64_t>(packet.size())) return false;
    uint64_t value = 0;
    for (int i = 0; i < size; ++i) value = value << 8 | packet.data()[at + i];
    *out = value;
    return true;
}


}  // namespace

void LoadedObject::bind_context(vm::Context& cx, const PreparedProgram& program, skb::Packet& packet,
                                skb::SkbContext& ctx) const {
    cx.host = this;
    cx.tail_call = tail_call_target;
    cx.jit_tail_call = jit_tail_call_target;
    cx.load_packet = load_packet;
    if (program.native || !program.program->checked()) return;  // native code is never checked
    cx.regions.clear();
    const uint8_t* meta = packet.meta();
    cx.regions.push_back(vm::Region{reinterpret_cast<uint64_t>(meta), static_cast<uint64_t>(packet.end() - meta), true,
                                    helpers::kPacketRegion});
    // Every store the rewritten program makes into the context was checked against the writable
    // fields; what remains writable here is only what helpers and the rewrite agree on.
    cx.regions.push_back(vm::Region{reinterpret_cast<uint64_t>(&ctx), sizeof ctx, true, "ctx"});
    // Writable map memory is accepted out of line (map_region); maps programs may only read are
    // listed here so that a store into them faults as ReadOnly rather than as a stray address.
    for (const auto& map : maps_) {
        if (!(map->spec().map_flags & maps::kFRdonlyProg)) continue;
        const std::span<uint8_t> mem = map->memory();
        cx.regions.push_back(vm::Region{reinterpret_cast<uint64_t>(mem.data()), mem.size(), false, "read-only map"});
    }
    cx.extra_region = map_region;
}

int32_t LoadedObject::run_on_skb(const PreparedProgram& program, skb::Packet& packet, skb::SkbMeta& meta,
                                 vm::Context& cx, skb::SkbContext& ctx, helpers::RunEnv& env) const {
    // A program that may write (or read before data) gets the packet's own bytes, as the kernel's
    // unclone prologue gives it; the others read a shared frame in place.
    if (!program.reads_packet_only) packet.own();
    skb::sync_in(meta, packet, ctx);  // writes every field
    env.packet = &packet;
    env.meta = &meta;
    env.ctx = &ctx;
    cx.user = &env;
    cx.fault = vm::Fault::None;
    cx.tail_calls_done = 0;
    bind_context(cx, program, packet, ctx);
    const uint64_t r0 = program.native ? program.native->run(cx, reinterpret_cast<uint64_t>(&ctx))
                                       : program.program->run(cx, reinterpret_cast<uint64_t>(&ctx));
    skb::sync_out(ctx, meta);
    if (cx.fault != vm::Fault::None) return 0;
    return static_cast<int32_t>(static_cast<uint32_t>(r0));
}

RunResult LoadedObject::test_run(const PreparedProgram& program, std::span<const uint8_t> frame,
                                 const RunOptions& options) const {
    RunResult result;
    skb::TestRunResult prepared = skb::prepare_test_run(frame, options.ctx_in);
    if (!prepared.skb) {
        result.refusal = prepared.refusal;
        result.error = prepared.error;
        return result;
    }
    result.packet = std::move(prepared.skb->packet);
    result.meta = prepared.skb->meta;
    if (!program.program) {
        result.refusal = program.error;
        return result;
    }

    skb::SkbContext ctx;
    skb::sync_in(result.meta, result.packet, ctx);
    helpers::RunEnv env;
    env.packet = &result.packet;
    env.meta = &result.meta;
    env.ctx = &ctx;
    env.host = options.host;

    vm::Context cx;
    cx.user = &env;
    cx.cpu = options.cpu;
    bind_context(cx, program, result.packet, ctx);

    const uint32_t repeat = options.repeat == 0 ? 1 : options.repeat;
    uint64_t r0 = 0;
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < repeat; ++i) {
        r0 = program.native ? program.native->run(cx, reinterpret_cast<uint64_t>(&ctx))
                            : program.program->run(cx, reinterpret_cast<uint64_t>(&ctx));
        if (cx.fault != vm::Fault::None) break;
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    result.avg_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) / repeat;

    result.ret = static_cast<int32_t>(static_cast<uint32_t>(r0));
    result.fault = cx.fault;
    result.fault_detail = cx.fault_detail;
    skb::sync_out(ctx, result.meta);
    return result;
}

}  // namespace tcbpf::runtime
