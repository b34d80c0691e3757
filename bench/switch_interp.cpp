// See switch_interp.h. Deliberately plain: this is what "no pre-decoding, no threading" costs.
#include "bench/switch_interp.h"

#include <fmt/format.h>

#include <cstring>

namespace tcbpf::bench {
namespace {

uint64_t sdiv64(int64_t x, int64_t y) { return y == 0 ? 0 : y == -1 ? 0 - static_cast<uint64_t>(x) : static_cast<uint64_t>(x / y); }
uint64_t smod64(int64_t x, int64_t y) { return y == 0 ? static_cast<uint64_t>(x) : y == -1 ? 0 : static_cast<uint64_t>(x % y); }
uint32_t sdiv32(int32_t x, int32_t y) { return y == 0 ? 0 : y == -1 ? 0 - static_cast<uint32_t>(x) : static_cast<uint32_t>(x / y); }
uint32_t smod32(int32_t x, int32_t y) { return y == 0 ? static_cast<uint32_t>(x) : y == -1 ? 0 : static_cast<uint32_t>(x % y); }

template <typename T>
T load(uint64_t addr) {
    T v;
    std::memcpy(&v, reinterpret_cast<const void*>(addr), sizeof v);
    return v;
}
template <typename T>
void store(uint64_t addr, T v) {
    std::memcpy(reinterpret_cast<void*>(addr), &v, sizeof v);
}

}  // namespace

SwitchInterpreter::SwitchInterpreter(const isa::Program& prog) : prog_(prog) {
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        const isa::Op op = prog.insns[pc].op;
        if (op == isa::Op::CALL_HELPER || op == isa::Op::CALLX || isa::info(op).group == isa::Group::Packet)
            throw Error(fmt::format("pc {}: {} is outside the switch baseline's subset", pc, isa::info(op).id));
    }
}

uint64_t SwitchInterpreter::run(uint64_t r1, uint64_t r2) const { return execute<false>(r1, r2, nullptr); }

uint64_t SwitchInterpreter::run_counted(uint64_t r1, uint64_t r2, uint64_t& executed) const {
    executed = 0;
    return execute<true>(r1, r2, &executed);
}

template <bool Count>
uint64_t SwitchInterpreter::execute(uint64_t r1, uint64_t r2, uint64_t* executed) const {
    using isa::Op;
    alignas(16) uint8_t stack[isa::kMaxCallDepth * isa::kStackSize];
    const uint64_t top = reinterpret_cast<uint64_t>(stack) + sizeof stack;
    struct Frame {
        size_t return_pc;
        uint64_t saved[4];
    } frames[isa::kMaxCallDepth];
    int depth = 0;
    uint64_t r[isa::kNumRegs] = {0, r1, r2, 0, 0, 0, 0, 0, 0, 0, top};
    const isa::Insn* insns = prog_.insns.data();
    size_t pc = 0;
    for (;;) {
        const isa::Insn& i = insns[pc];
        if constexpr (Count) ++*executed;
        uint64_t& d = r[i.dst];
        const uint64_t s = r[i.src];
        const uint64_t k = static_cast<uint64_t>(static_cast<int64_t>(i.imm));
        const uint32_t d32 = static_cast<uint32_t>(d), s32 = static_cast<uint32_t>(s), k32 = static_cast<uint32_t>(i.imm);
        const uint64_t addr_s = s + static_cast<uint64_t>(static_cast<int64_t>(i.off));
        const uint64_t addr_d = d + static_cast<uint64_t>(static_cast<int64_t>(i.off));
        size_t next = pc + 1;
        const size_t target = pc + 1 + static_cast<size_t>(static_cast<int64_t>(i.off));
        switch (i.op) {
            case Op::ADD64_K: d += k; break;
            case Op::ADD64_X: d += s; break;
            case Op::SUB64_K: d -= k; break;
            case Op::SUB64_X: d -= s; break;
            case Op::MUL64_K: d *= k; break;
            case Op::MUL64_X: d *= s; break;
            case Op::DIV64_K: d = k ? d / k : 0; break;
            case Op::DIV64_X: d = s ? d / s : 0; break;
            case Op::SDIV64_K: d = sdiv64(static_cast<int64_t>(d), static_cast<int64_t>(k)); break;
            case Op::SDIV64_X: d = sdiv64(static_cast<int64_t>(d), static_cast<int64_t>(s)); break;
            case Op::OR64_K: d |= k; break;
            case Op::OR64_X: d |= s; break;
            case Op::AND64_K: d &= k; break;
            case Op::AND64_X: d &= s; break;
            case Op::LSH64_K: d <<= (k & 63); break;
            case Op::LSH64_X: d <<= (s & 63); break;
            case Op::RSH64_K: d >>= (k & 63); break;
            case Op::RSH64_X: d >>= (s & 63); break;
            case Op::MOD64_K: d = k ? d % k : d; break;
            case Op::MOD64_X: d = s ? d % s : d; break;
            case Op::SMOD64_K: d = smod64(static_cast<int64_t>(d), static_cast<int64_t>(k)); break;
            case Op::SMOD64_X: d = smod64(static_cast<int64_t>(d), static_cast<int64_t>(s)); break;
            case Op::XOR64_K: d ^= k; break;
            case Op::XOR64_X: d ^= s; break;
            case Op::MOV64_K: d = k; break;
            case Op::MOV64_X: d = s; break;
            case Op::ARSH64_K: d = static_cast<uint64_t>(static_cast<int64_t>(d) >> (k & 63)); break;
            case Op::ARSH64_X: d = static_cast<uint64_t>(static_cast<int64_t>(d) >> (s & 63)); break;
            case Op::NEG64: d = 0 - d; break;
            case Op::MOVSX64_S8: d = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(s))); break;
            case Op::MOVSX64_S16: d = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(s))); break;
            case Op::MOVSX64_S32: d = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(s))); break;
            case Op::ADD32_K: d = d32 + k32; break;
            case Op::ADD32_X: d = d32 + s32; break;
            case Op::SUB32_K: d = d32 - k32; break;
            case Op::SUB32_X: d = d32 - s32; break;
            case Op::MUL32_K: d = d32 * k32; break;
            case Op::MUL32_X: d = d32 * s32; break;
            case Op::DIV32_K: d = k32 ? d32 / k32 : 0; break;
            case Op::DIV32_X: d = s32 ? d32 / s32 : 0; break;
            case Op::SDIV32_K: d = sdiv32(static_cast<int32_t>(d32), static_cast<int32_t>(k32)); break;
            case Op::SDIV32_X: d = sdiv32(static_cast<int32_t>(d32), static_cast<int32_t>(s32)); break;
            case Op::OR32_K: d = d32 | k32; break;
            case Op::OR32_X: d = d32 | s32; break;
            case Op::AND32_K: d = d32 & k32; break;
            case Op::AND32_X: d = d32 & s32; break;
            case Op::LSH32_K: d = d32 << (k32 & 31); break;
            case Op::LSH32_X: d = d32 << (s32 & 31); break;
            case Op::RSH32_K: d = d32 >> (k32 & 31); break;
            case Op::RSH32_X: d = d32 >> (s32 & 31); break;
            case Op::MOD32_K: d = k32 ? d32 % k32 : d32; break;
            case Op::MOD32_X: d = s32 ? d32 % s32 : d32; break;
            case Op::SMOD32_K: d = smod32(static_cast<int32_t>(d32), static_cast<int32_t>(k32)); break;
            case Op::SMOD32_X: d = smod32(static_cast<int32_t>(d32), static_cast<int32_t>(s32)); break;
            case Op::XOR32_K: d = d32 ^ k32; break;
            case Op::XOR32_X: d = d32 ^ s32; break;
            case Op::MOV32_K: d = k32; break;
            case Op::MOV32_X: d = s32; break;
            case Op::ARSH32_K: d = static_cast<uint32_t>(static_cast<int32_t>(d32) >> (k32 & 31)); break;
            case Op::ARSH32_X: d = static_cast<uint32_t>(static_cast<int32_t>(d32) >> (s32 & 31)); break;
            case Op::NEG32: d = 0 - d32; break;
            case Op::MOVSX32_S8: d = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(s))); break;
            case Op::MOVSX32_S16: d = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(s))); break;
            case Op::LE16: d = static_cast<uint16_t>(d); break;
            case Op::LE32: d = d32; break;
            case Op::LE64: break;
            case Op::BE16: case Op::BSWAP16: d = __builtin_bswap16(static_cast<uint16_t>(d)); break;
            case Op::BE32: case Op::BSWAP32: d = __builtin_bswap32(d32); break;
            case Op::BE64: case Op::BSWAP64: d = __builtin_bswap64(d); break;
            case Op::JA: next = target; break;
            case Op::JA32: next = pc + 1 + static_cast<size_t>(static_cast<int64_t>(i.imm)); break;
            case Op::JEQ64_K: if (d == k) next = target; break;
            case Op::JEQ64_X: if (d == s) next = target; break;
            case Op::JGT64_K: if (d > k) next = target; break;
            case Op::JGT64_X: if (d > s) next = target; break;
            case Op::JGE64_K: if (d >= k) next = target; break;
            case Op::JGE64_X: if (d >= s) next = target; break;
            case Op::JSET64_K: if (d & k) next = target; break;
            case Op::JSET64_X: if (d & s) next = target; break;
            case Op::JNE64_K: if (d != k) next = target; break;
            case Op::JNE64_X: if (d != s) next = target; break;
            case Op::JSGT64_K: if (static_cast<int64_t>(d) > static_cast<int64_t>(k)) next = target; break;
            case Op::JSGT64_X: if (static_cast<int64_t>(d) > static_cast<int64_t>(s)) next = target; break;
            case Op::JSGE64_K: if (static_cast<int64_t>(d) >= static_cast<int64_t>(k)) next = target; break;
            case Op::JSGE64_X: if (static_cast<int64_t>(d) >= static_cast<int64_t>(s)) next = target; break;
            case Op::JLT64_K: if (d < k) next = target; break;
            case Op::JLT64_X: if (d < s) next = target; break;
            case Op::JLE64_K: if (d <= k) next = target; break;
            case Op::JLE64_X: if (d <= s) next = target; break;
            case Op::JSLT64_K: if (static_cast<int64_t>(d) < static_cast<int64_t>(k)) next = target; break;
            case Op::JSLT64_X: if (static_cast<int64_t>(d) < static_cast<int64_t>(s)) next = target; break;
            case Op::JSLE64_K: if (static_cast<int64_t>(d) <= static_cast<int64_t>(k)) next = target; break;
            case Op::JSLE64_X: if (static_cast<int64_t>(d) <= static_cast<int64_t>(s)) next = target; break;
            case Op::JEQ32_K: if (d32 == k32) next = target; break;
            case Op::JEQ32_X: if (d32 == s32) next = target; break;
            case Op::JGT32_K: if (d32 > k32) next = target; break;
            case Op::JGT32_X: if (d32 > s32) next = target; break;
            case Op::JGE32_K: if (d32 >= k32) next = target; break;
            case Op::JGE32_X: if (d32 >= s32) next = target; break;
            case Op::JSET32_K: if (d32 & k32) next = target; break;
            case Op::JSET32_X: if (d32 & s32) next = target; break;
            case Op::JNE32_K: if (d32 != k32) next = target; break;
            case Op::JNE32_X: if (d32 != s32) next = target; break;
            case Op::JSGT32_K: if (static_cast<int32_t>(d32) > static_cast<int32_t>(k32)) next = target; break;
            case Op::JSGT32_X: if (static_cast<int32_t>(d32) > static_cast<int32_t>(s32)) next = target; break;
            case Op::JSGE32_K: if (static_cast<int32_t>(d32) >= static_cast<int32_t>(k32)) next = target; break;
            case Op::JSGE32_X: if (static_cast<int32_t>(d32) >= static_cast<int32_t>(s32)) next = target; break;
            case Op::JLT32_K: if (d32 < k32) next = target; break;
            case Op::JLT32_X: if (d32 < s32) next = target; break;
            case Op::JLE32_K: if (d32 <= k32) next = target; break;
            case Op::JLE32_X: if (d32 <= s32) next = target; break;
            case Op::JSLT32_K: if (static_cast<int32_t>(d32) < static_cast<int32_t>(k32)) next = target; break;
            case Op::JSLT32_X: if (static_cast<int32_t>(d32) < static_cast<int32_t>(s32)) next = target; break;
            case Op::JSLE32_K: if (static_cast<int32_t>(d32) <= static_cast<int32_t>(k32)) next = target; break;
            case Op::JSLE32_X: if (static_cast<int32_t>(d32) <= static_cast<int32_t>(s32)) next = target; break;
            case Op::CALL_LOCAL:
                if (depth + 1 >= isa::kMaxCallDepth) return 0;
                frames[depth] = Frame{pc + 1, {r[6], r[7], r[8], r[9]}};
                ++depth;
                r[10] = top - static_cast<uint64_t>(depth) * isa::kStackSize;
                next = pc + 1 + static_cast<size_t>(static_cast<int64_t>(i.imm));
                break;
            case Op::EXIT:
                if (depth == 0) return r[0];
                --depth;
                std::memcpy(&r[6], frames[depth].saved, sizeof frames[depth].saved);
                r[10] = top - static_cast<uint64_t>(depth) * isa::kStackSize;
                next = frames[depth].return_pc;
                break;
            case Op::LDDW: d = i.imm64; next = pc + 2; break;
            case Op::LDX_B: d = load<uint8_t>(addr_s); break;
            case Op::LDX_H: d = load<uint16_t>(addr_s); break;
            case Op::LDX_W: d = load<uint32_t>(addr_s); break;
            case Op::LDX_DW: d = load<uint64_t>(addr_s); break;
            case Op::LDXS_B: d = static_cast<uint64_t>(static_cast<int64_t>(load<int8_t>(addr_s))); break;
            case Op::LDXS_H: d = static_cast<uint64_t>(static_cast<int64_t>(load<int16_t>(addr_s))); break;
            case Op::LDXS_W: d = static_cast<uint64_t>(static_cast<int64_t>(load<int32_t>(addr_s))); break;
            case Op::ST_B: store<uint8_t>(addr_d, static_cast<uint8_t>(k)); break;
            case Op::ST_H: store<uint16_t>(addr_d, static_cast<uint16_t>(k)); break;
            case Op::ST_W: store<uint32_t>(addr_d, static_cast<uint32_t>(k)); break;
            case Op::ST_DW: store<uint64_t>(addr_d, k); break;
            case Op::STX_B: store<uint8_t>(addr_d, static_cast<uint8_t>(s)); break;
            case Op::STX_H: store<uint16_t>(addr_d, static_cast<uint16_t>(s)); break;
            case Op::STX_W: store<uint32_t>(addr_d, s32); break;
            case Op::STX_DW: store<uint64_t>(addr_d, s); break;
#define SWITCH_ATOMIC(W, T)                                                                                       \
    case Op::ATOMIC##W##_ADD: __atomic_fetch_add(reinterpret_cast<T*>(addr_d), static_cast<T>(s), __ATOMIC_SEQ_CST); break; \
    case Op::ATOMIC##W##_OR: __atomic_fetch_or(reinterpret_cast<T*>(addr_d), static_cast<T>(s), __ATOMIC_SEQ_CST); break;   \
    case Op::ATOMIC##W##_AND: __atomic_fetch_and(reinterpret_cast<T*>(addr_d), static_cast<T>(s), __ATOMIC_SEQ_CST); break; \
    case Op::ATOMIC##W##_XOR: __atomic_fetch_xor(reinterpret_cast<T*>(addr_d), static_cast<T>(s), __ATOMIC_SEQ_CST); break; \
    case Op::ATOMIC##W##_FETCH_ADD: r[i.src] = __atomic_fetch_add(reinterpret_cast<T*>(addr_d), static_cast<T>(s), __ATOMIC_SEQ_CST); break; \
    case Op::ATOMIC##W##_FETCH_OR: r[i.src] = __atomic_fetch_or(reinterpret_cast<T*>(addr_d), static_cast<T>(s), __ATOMIC_SEQ_CST); break;   \
    case Op::ATOMIC##W##_FETCH_AND: r[i.src] = __atomic_fetch_and(reinterpret_cast<T*>(addr_d), static_cast<T>(s), __ATOMIC_SEQ_CST); break; \
    case Op::ATOMIC##W##_FETCH_XOR: r[i.src] = __atomic_fetch_xor(reinterpret_cast<T*>(addr_d), static_cast<T>(s), __ATOMIC_SEQ_CST); break; \
    case Op::ATOMIC##W##_XCHG: r[i.src] = __atomic_exchange_n(reinterpret_cast<T*>(addr_d), static_cast<T>(s), __ATOMIC_SEQ_CST); break;     \
    case Op::ATOMIC##W##_CMPXCHG: {                                                                               \
        T expected = static_cast<T>(r[0]);                                                                        \
        __atomic_compare_exchange_n(reinterpret_cast<T*>(addr_d), &expected, static_cast<T>(s), false,           \
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                                         \
        r[0] = expected;                                                                                          \
        break;                                                                                                    \
    }
            SWITCH_ATOMIC(32, uint32_t)
            SWITCH_ATOMIC(64, uint64_t)
#undef SWITCH_ATOMIC
            default:  // rejected by the constructor
                return 0;
        }
        pc = next;
    }
}

}  // namespace tcbpf::bench
