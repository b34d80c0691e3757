// Programs are built from blocks that each keep the verifier's invariants unless a coin says otherwise:
// r6 holds the context throughout, r7/r8 are data/data_end reloaded after any helper that may move the
// packet, r9 carries a scalar between blocks, and r0-r5 are scratch.
#include "tests/support/verifier_program.h"

#include <fmt/format.h>

#include "tcbpf/error.h"

namespace tcbpf::test {
namespace {

class Builder {
   public:
    explicit Builder(uint64_t seed) : rng_(seed) {}

    std::string build() {
        emit("r6 = r1");
        reload_packet();
        emit("r9 = 0");
        if (coin(4)) emit("r0 = 0\n*(u64 *)(r10 - 8) = r0\n*(u64 *)(r10 - 16) = r0");
        const int blocks = 2 + pick(8);
        for (int i = 0; i < blocks; ++i) block();
        if (coin(12)) emit("r0 = r3");  // r3 was clobbered or never written: unsafe
        else emit(coin(2) ? "r0 = r9" : "r0 = 0");
        emit("exit");
        return text_;
    }

   private:
    std::mt19937_64 rng_;
    std::string text_;
    int label_ = 0;

    uint64_t pick(uint64_t n) { return rng_() % n; }
    bool coin(uint64_t one_in) { return pick(one_in) == 0; }
    void emit(const std::string& line) { text_ += line + "\n"; }
    std::string label() { return fmt::format("l{}", label_++); }
    const char* size_name(int bytes) { return bytes == 1 ? "u8" : bytes == 2 ? "u16" : bytes == 4 ? "u32" : "u64"; }
    int random_size() { return 1 << pick(4); }

    void reload_packet() {
        emit("r7 = *(u32 *)(r6 + 76)");
        emit("r8 = *(u32 *)(r6 + 80)");
    }

    void block() {
        switch (pick(9)) {
            case 0: ctx_load(); break;
            case 1: case 2: packet_access(); break;
            case 3: stack_spill(); break;
            case 4: map_lookup(); break;
            case 5: bounded_loop(); break;
            case 6: helper_call(); break;
            case 7: scalar_alu(); break;
            default: branch_over(); break;
        }
    }

    void ctx_load() {
        static const int kFields[] = {0, 4, 8, 12, 16, 20, 24, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 72, 84, 160, 164, 176};
        int off = kFields[pick(std::size(kFields))];
        int size = coin(5) ? random_size() : 4;
        if (coin(10)) off = static_cast<int>(pick(200));  // any offset: often invalid
        emit(fmt::format("r9 = *({} *)(r6 + {})", size_name(size), off));
        if (coin(4)) emit(fmt::format("*({} *)(r6 + {}) = {}9", size_name(size), coin(2) ? 8 : off, size == 8 ? "r" : "w"));
    }

    void packet_access() {
        const int range = 1 + static_cast<int>(pick(64));
        const int size = random_size();
        int off = static_cast<int>(pick(static_cast<uint64_t>(range)));
        if (!coin(5)) off = std::max(0, std::min(off, range - size));  // usually inside the range
        const std::string skip = label();
        emit("r2 = r7");
        emit(fmt::format("r2 += {}", range));
        if (coin(8)) emit(fmt::format("if r8 < r2 goto {}", skip));
        else if (coin(7)) emit(fmt::format("if r2 < r8 goto {}", skip));  // the wrong way round
        else emit(fmt::format("if r2 > r8 goto {}", skip));
        if (coin(3)) {
            emit(fmt::format("r9 = *({} *)(r7 + {})", size_name(size), off));
        } else {
            emit(fmt::format("*({} *)(r7 + {}) = {}9", size_name(size), off, size == 8 ? "r" : "w"));
        }
        if (coin(4)) {  // a variable offset, masked to stay small
            emit("r3 = r9");
            emit(fmt::format("r3 &= {}", coin(3) ? 255 : 7));
            emit("r4 = r7");
            emit("r4 += r3");
            emit("r5 = r4");
            emit("r5 += 1");
            emit(fmt::format("if r5 > r8 goto {}", skip));
            emit("r9 = *(u8 *)(r4 + 0)");
        }
        emit(skip + ":");
    }

    void stack_spill() {
        const int slot = 8 * (1 + static_cast<int>(pick(coin(10) ? 66 : 60)));
        const char* what = coin(3) ? "r7" : coin(2) ? "r6" : "r9";
        emit(fmt::format("*(u64 *)(r10 - {}) = {}", slot, what));
        if (coin(6)) emit(fmt::format("*(u32 *)(r10 - {}) = w9", slot));  // partial overwrite
        const int size = coin(4) ? random_size() : 8;
        emit(fmt::format("r2 = *({} *)(r10 - {})", size_name(size), slot));
        if (what[1] == '7' && size == 8 && coin(2)) {  // use the filled packet pointer
            emit("r3 = r2");
            emit("r3 += 4");
            const std::string skip = label();
            emit(fmt::format("if r3 > r8 goto {}", skip));
            emit("r9 = *(u32 *)(r2 + 0)");
            emit(skip + ":");
        } else if (what[1] == '9') {
            emit("r9 = r2");
        }
    }

    void map_lookup() {
        const int map = coin(4) ? 0 : 1;
        emit(fmt::format("*(u32 *)(r10 - 4) = {}", coin(2) ? "w9" : "0"));
        emit("r2 = r10");
        emit("r2 += -4");
        emit(fmt::format("r1 = map[idx:{}] ll", map));
        emit("call 1");
        reload_packet();
        const std::string skip = label();
        const bool null_check = !coin(6);
        if (null_check) emit(fmt::format("if r0 == 0 goto {}", skip));
        const int size = random_size();
        const int off = coin(6) ? static_cast<int>(pick(20)) : static_cast<int>(pick(static_cast<uint64_t>(17 - size)));
        if (coin(2)) emit(fmt::format("r9 = *({} *)(r0 + {})", size_name(size), off));
        else emit(fmt::format("*({} *)(r0 + {}) = {}9", size_name(size), off, size == 8 ? "r" : "w"));
        if (coin(4)) emit("lock *(u64 *)(r0 + 8) += r9");
        emit(skip + ":");
    }

    void bounded_loop() {
        const int bound = 1 + static_cast<int>(pick(coin(10) ? 3000 : 40));
        const std::string top = label();
        emit("r4 = 0");
        emit(top + ":");
        emit("r9 += r4");
        emit("r4 += 1");
        if (coin(10)) emit(fmt::format("if r4 != {} goto {}", bound, top));
        else emit(fmt::format("if r4 < {} goto {}", bound, top));
    }

    void helper_call() {
        switch (pick(5)) {
            case 0: emit("call 7"); emit("r9 = r0"); break;  // get_prandom_u32
            case 1:
                emit("r1 = r6");
                emit("r2 = 0");
                emit("r3 = r10");
                emit(fmt::format("r3 += -{}", 8 * (1 + pick(4))));
                emit(fmt::format("r4 = {}", 1 + pick(coin(6) ? 40 : 8)));
                emit("call 26");  // skb_load_bytes
                break;
            case 2:
                emit("r1 = r6");
                emit(fmt::format("r2 = {}", pick(64)));
                emit("call 39");  // skb_pull_data: packet pointers die
                if (!coin(4)) reload_packet();
                return;
            case 3: emit("r1 = r6"); emit("call 34"); emit("r9 = r0"); break;  // get_hash_recalc
            default:
                emit("r1 = r6");
                emit("r2 = map[idx:2] ll");
                emit(fmt::format("r3 = {}", pick(3)));
                emit("call 12");  // tail call
                break;
        }
        reload_packet();
    }

    void scalar_alu() {
        static const char* kOps[] = {"+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", "s>>="};
        const char* op = kOps[pick(std::size(kOps))];
        const bool shift = op[0] == '<' || op[1] == '>' || op[2] == '>';
        int64_t imm = shift ? static_cast<int64_t>(pick(coin(8) ? 80 : 64)) : static_cast<int64_t>(pick(1000)) - 500;
        if (coin(8)) imm = 0;
        if (coin(3)) emit(fmt::format("w9 {} {}", op, shift ? imm % 40 : imm));
        else emit(fmt::format("r9 {} {}", op, imm));
        if (coin(8)) emit("r9 += r5");  // r5 may be unset or clobbered
    }

    void branch_over() {
        const std::string skip = label();
        static const char* kConds[] = {">", "<", ">=", "<=", "==", "!=", "s>", "s<", "&"};
        emit(fmt::format("if r9 {} {} goto {}", kConds[pick(std::size(kConds))], pick(100), skip));
        block();
        emit(skip + ":");
    }
};

}  // namespace

std::string generate_verifier_program(uint64_t seed) { return Builder(seed).build(); }

isa::Program mutate_program(const isa::Program& prog, std::mt19937_64& rng) {
    isa::Program out = prog;
    if (out.size() == 0) return out;
    size_t pc = rng() % out.size();
    if (out.insns[pc].op == isa::Op::LDDW_TAIL) --pc;
    isa::Insn& insn = out.insns[pc];
    switch (rng() % 4) {
        case 0: insn.dst = static_cast<uint8_t>(rng() % 11); break;
        case 1: insn.src = static_cast<uint8_t>(insn.op == isa::Op::LDDW ? insn.src : rng() % 11); break;
        case 2: insn.off = static_cast<int16_t>(insn.off + static_cast<int>(rng() % 9) - 4); break;
        default: insn.imm = static_cast<int32_t>(insn.imm + static_cast<int>(rng() % 9) - 4); break;
    }
    try {  // the change must still decode
        return isa::decode(isa::encode(out));
    } catch (const Error&) {
        return {};
    }
}

}  // namespace tcbpf::test
