// The threaded interpreter: one label per opcodes.def row, dispatched by computed goto.
//
// `prepare` stored each instruction's handler address in its Slot, so dispatch is a single indirect
// jump through `ip->handler` at the end of every handler — no central switch, no bounds check, and one
// indirect branch per handler for the predictor to learn. The label table is generated from
// opcodes.def: a row without a handler is a compile error ("label used but not defined").
//
// The function is instantiated twice. Checked = false is the fast path for verified programs: memory
// operands are dereferenced directly. Checked = true validates every access and counts instructions;
// the `if constexpr` blocks vanish from the unchecked instantiation, so it pays nothing for them.
//
// All run state lives in this function's frame (registers, up to kMaxCallDepth 512-byte stack frames,
// the return stack) or in the caller's Context: a Program is shared read-only across threads and a
// run never allocates.
#include <cstring>
#include <iterator>

#include "vm/faults.h"
#include "vm/slot.h"

namespace tcbpf::vm::detail {
namespace {

constexpr uint64_t kFrameBytes = isa::kStackSize;
constexpr uint32_t kMaxFrames = isa::kMaxCallDepth;

inline uint64_t sdiv64(uint64_t a, uint64_t b) {
    const auto x = static_cast<int64_t>(a), y = static_cast<int64_t>(b);
    if (y == 0) return 0;
    if (y == -1) return 0 - a;  // INT64_MIN / -1 wraps to INT64_MIN instead of trapping
    return static_cast<uint64_t>(x / y);
}
inline uint64_t smod64(uint64_t a, uint64_t b) {
    const auto x = static_cast<int64_t>(a), y = static_cast<int64_t>(b);
    if (y == 0) return a;
    if (y == -1) return 0;
    return static_cast<uint64_t>(x % y);
}
inline uint32_t sdiv32(uint32_t a, uint32_t b) {
    const auto x = static_cast<int32_t>(a), y = static_cast<int32_t>(b);
    if (y == 0) return 0;
    if (y == -1) return 0 - a;
    return static_cast<uint32_t>(x / y);
}
inline uint32_t smod32(uint32_t a, uint32_t b) {
    const auto x = static_cast<int32_t>(a), y = static_cast<int32_t>(b);
    if (y == 0) return a;
    if (y == -1) return 0;
    return static_cast<uint32_t>(x % y);
}

template <typename T>
inline T load(uint64_t addr) {
    T value;
    std::memcpy(&value, reinterpret_cast<const void*>(addr), sizeof(T));
    return value;
}
template <typename T>
inline void store(uint64_t addr, T value) {
    std::memcpy(reinterpret_cast<void*>(addr), &value, sizeof(T));
}
template <typename T>
inline T* atomic_ptr(uint64_t addr) {
    return reinterpret_cast<T*>(addr);
}

// Legacy packet load: r0 = packet[offset] or, on failure, false (the caller then exits with 0).
inline bool packet_load(Context& cx, uint64_t* reg, int64_t offset, int size) {
    uint64_t value = 0;
    const bool ok = cx.load_packet != nullptr && cx.load_packet(&cx, reg[6], offset, size, &value);
    // It behaves like a helper call for the caller-saved registers.
    reg[1] = reg[2] = reg[3] = reg[4] = reg[5] = 0;
    reg[0] = size == 4 ? static_cast<uint32_t>(value) : size == 2 ? static_cast<uint16_t>(value)
                                                                   : static_cast<uint8_t>(value);
    return ok;
}

}  // namespace

template <bool Checked>
uint64_t execute(const Slot* entry, Context* cx_ptr, uint64_t r1, uint64_t r2) {
    static const void* const kLabels[] = {
#define TCBPF_OP(id, ...) &&op_##id,
#include "tcbpf/opcodes.def"
#undef TCBPF_OP
        &&lddw_tail,
        &&tail_call,
    };
    static_assert(std::size(kLabels) == kHandlerCount);
    if (cx_ptr == nullptr) return reinterpret_cast<uint64_t>(&kLabels[0]);

    Context& cx = *cx_ptr;
    cx.fault = Fault::None;
    cx.fault_detail.clear();
    cx.tail_calls_done = 0;

    // Stack frames grow down from stack_top: frame k is [stack_top - (k+1)*512, stack_top - k*512), so
    // the live frames (a callee may use pointers into its callers' frames) are one contiguous range.
    alignas(16) uint8_t stack[kMaxFrames * kFrameBytes];
    const uint64_t stack_top = reinterpret_cast<uint64_t>(stack) + sizeof(stack);
    struct Frame {
        const Slot* return_to;
        uint64_t saved[4];  // r6..r9
    };
    Frame frames[kMaxFrames];
    uint32_t depth = 0;  // active local calls; depth + 1 frames are live
    uint64_t reg[isa::kNumRegs] = {0, r1, r2, 0, 0, 0, 0, 0, 0, 0, stack_top};
    const Slot* ip = entry;

    uint64_t executed = 0;
    const uint64_t budget = cx.insn_budget;
    const uint64_t limit = budget == 0 ? ~uint64_t{0} : budget;
    if constexpr (Checked) std::memset(stack + sizeof(stack) - kFrameBytes, 0, kFrameBytes);

#define DISPATCH()                                                    \
    do {                                                              \
        if constexpr (Checked) {                                      \
            if (__builtin_expect(executed == limit, 0)) goto budget_out; \
            ++executed;                                               \
        }                                                             \
        goto* ip->handler;                                            \
    } while (0)
#define NEXT()   \
    do {         \
        ++ip;    \
        DISPATCH(); \
    } while (0)
#define DST reg[ip->dst]
#define SRC reg[ip->src]
#define ADDR(base) (reg[base] + static_cast<uint64_t>(static_cast<int64_t>(ip->off)))
#define CHECK(addr, size, kind)                                                                        \
    do {                                                                                               \
        if constexpr (Checked) {                                                                       \
            const uint64_t stack_lo = stack_top - (depth + 1) * kFrameBytes;                           \
            if (!access_in_known_region(cx, addr, size, kind != Access::Load, stack_lo, stack_top) &&  \
                !access_allowed(cx, ip->pc, addr, size, kind, stack_lo, stack_top))                    \
                goto stop;                                                                             \
        }                                                                                              \
    } while (0)

    DISPATCH();

    // ---- ALU64: K operands arrive sign-extended to 64 bits ----
#define BINOP64(NAME, EXPR)                                      \
    op_##NAME##64_K : {                                          \
        const uint64_t a = DST, b = ip->imm;                     \
        DST = (EXPR);                                            \
    }                                                            \
    NEXT();                                                      \
    op_##NAME##64_X : {                                          \
        const uint64_t a = DST, b = SRC;                         \
        DST = (EXPR);                                            \
    }                                                            \
    NEXT();
    // ---- ALU: 32-bit operands, result zero-extended ----
#define BINOP32(NAME, EXPR)                                      \
    op_##NAME##32_K : {                                          \
        const uint32_t a = static_cast<uint32_t>(DST);           \
        const uint32_t b = static_cast<uint32_t>(ip->imm);       \
        DST = static_cast<uint32_t>(EXPR);                       \
    }                                                            \
    NEXT();                                                      \
    op_##NAME##32_X : {                                          \
        const uint32_t a = static_cast<uint32_t>(DST);           \
        const uint32_t b = static_cast<uint32_t>(SRC);           \
        DST = static_cast<uint32_t>(EXPR);                       \
    }                                                            \
    NEXT();

    BINOP64(ADD, a + b)
    BINOP64(SUB, a - b)
    BINOP64(MUL, a * b)
    BINOP64(DIV, b != 0 ? a / b : 0)
    BINOP64(SDIV, sdiv64(a, b))
    BINOP64(OR, a | b)
    BINOP64(AND, a & b)
    BINOP64(LSH, a << (b & 63))
    BINOP64(RSH, a >> (b & 63))
    BINOP64(MOD, b != 0 ? a % b : a)
    BINOP64(SMOD, smod64(a, b))
    BINOP64(XOR, a ^ b)
    BINOP64(MOV, (static_cast<void>(a), b))
    BINOP64(ARSH, static_cast<uint64_t>(static_cast<int64_t>(a) >> (b & 63)))

    BINOP32(ADD, a + b)
    BINOP32(SUB, a - b)
    BINOP32(MUL, a * b)
    BINOP32(DIV, b != 0 ? a / b : 0)
    BINOP32(SDIV, sdiv32(a, b))
    BINOP32(OR, a | b)
    BINOP32(AND, a & b)
    BINOP32(LSH, a << (b & 31))
    BINOP32(RSH, a >> (b & 31))
    BINOP32(MOD, b != 0 ? a % b : a)
    BINOP32(SMOD, smod32(a, b))
    BINOP32(XOR, a ^ b)
    BINOP32(MOV, (static_cast<void>(a), b))
    BINOP32(ARSH, static_cast<uint32_t>(static_cast<int32_t>(a) >> (b & 31)))

op_NEG64:
    DST = 0 - DST;
    NEXT();
op_NEG32:
    DST = static_cast<uint32_t>(0 - static_cast<uint32_t>(DST));
    NEXT();
op_MOVSX64_S8:
    DST = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(SRC)));
    NEXT();
op_MOVSX64_S16:
    DST = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(SRC)));
    NEXT();
op_MOVSX64_S32:
    DST = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(SRC)));
    NEXT();
op_MOVSX32_S8:
    DST = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(SRC)));
    NEXT();
op_MOVSX32_S16:
    DST = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(SRC)));
    NEXT();

    // ---- byte order (little-endian host: "to LE" only truncates) ----
op_LE16:
    DST = static_cast<uint16_t>(DST);
    NEXT();
op_LE32:
    DST = static_cast<uint32_t>(DST);
    NEXT();
op_LE64:
    NEXT();
op_BE16:
op_BSWAP16:
    DST = __builtin_bswap16(static_cast<uint16_t>(DST));
    NEXT();
op_BE32:
op_BSWAP32:
    DST = __builtin_bswap32(static_cast<uint32_t>(DST));
    NEXT();
op_BE64:
op_BSWAP64:
    DST = __builtin_bswap64(DST);
    NEXT();

    // ---- jumps: targets are Slot pointers ----
op_JA:
op_JA32:
    ip = ip->target;
    DISPATCH();

#define JMP64(NAME, COND)                                        \
    op_##NAME##64_K : {                                          \
        const uint64_t a = DST, b = ip->imm;                     \
        ip = (COND) ? ip->target : ip + 1;                       \
    }                                                            \
    DISPATCH();                                                  \
    op_##NAME##64_X : {                                          \
        const uint64_t a = DST, b = SRC;                         \
        ip = (COND) ? ip->target : ip + 1;                       \
    }                                                            \
    DISPATCH();
#define JMP32(NAME, COND)                                        \
    op_##NAME##32_K : {                                          \
        const uint32_t a = static_cast<uint32_t>(DST);           \
        const uint32_t b = static_cast<uint32_t>(ip->imm);       \
        ip = (COND) ? ip->target : ip + 1;                       \
    }                                                            \
    DISPATCH();                                                  \
    op_##NAME##32_X : {                                          \
        const uint32_t a = static_cast<uint32_t>(DST);           \
        const uint32_t b = static_cast<uint32_t>(SRC);           \
        ip = (COND) ? ip->target : ip + 1;                       \
    }                                                            \
    DISPATCH();
#define S64(x) static_cast<int64_t>(x)
#define S32(x) static_cast<int32_t>(x)

    JMP64(JEQ, a == b)
    JMP64(JGT, a > b)
    JMP64(JGE, a >= b)
    JMP64(JSET, (a & b) != 0)
    JMP64(JNE, a != b)
    JMP64(JSGT, S64(a) > S64(b))
    JMP64(JSGE, S64(a) >= S64(b))
    JMP64(JLT, a < b)
    JMP64(JLE, a <= b)
    JMP64(JSLT, S64(a) < S64(b))
    JMP64(JSLE, S64(a) <= S64(b))
    JMP32(JEQ, a == b)
    JMP32(JGT, a > b)
    JMP32(JGE, a >= b)
    JMP32(JSET, (a & b) != 0)
    JMP32(JNE, a != b)
    JMP32(JSGT, S32(a) > S32(b))
    JMP32(JSGE, S32(a) >= S32(b))
    JMP32(JLT, a < b)
    JMP32(JLE, a <= b)
    JMP32(JSLT, S32(a) < S32(b))
    JMP32(JSLE, S32(a) <= S32(b))

    // ---- calls and exit ----
op_CALL_HELPER:
    reg[0] = ip->helper(reg[1], reg[2], reg[3], reg[4], reg[5], &cx);
    NEXT();

op_CALLX: {
    const uint64_t id = DST;
    if (id == static_cast<uint64_t>(kHelperTailCall)) goto tail_call;
    // prepare stored the program's helper table (indexed by id) and its size for this lookup.
    const HelperFn* table = ip->helper_table;
    if (id >= ip->imm || table[id] == nullptr) {
        fault_callx(cx, ip->pc, id, id <= static_cast<uint64_t>(INT32_MAX));
        goto stop;
    }
    reg[0] = table[id](reg[1], reg[2], reg[3], reg[4], reg[5], &cx);
}
    NEXT();

tail_call:
    // The kernel keeps every register and the current frame; only the instructions change. A target
    // prepared in the other mode has handlers of the other instantiation, so it counts as a failed
    // tail call, like the kernel refusing an incompatible program in a prog array.
    if (cx.tail_calls_done < kMaxTailCalls && cx.tail_call != nullptr) {
        const Program* next = cx.tail_call(&cx, reg[2], reg[3]);
        if (next != nullptr && next->checked() == Checked) {
            ++cx.tail_calls_done;
            ip = next->impl().slots.data();
            DISPATCH();
        }
    }
    NEXT();

op_CALL_LOCAL:
    if (depth + 1 >= kMaxFrames) {
        fault_call_depth(cx, ip->pc);
        goto stop;
    }
    frames[depth] = Frame{ip + 1, {reg[6], reg[7], reg[8], reg[9]}};
    ++depth;
    reg[10] = stack_top - depth * kFrameBytes;
    if constexpr (Checked) std::memset(reinterpret_cast<void*>(reg[10] - kFrameBytes), 0, kFrameBytes);
    ip = ip->target;
    DISPATCH();

op_EXIT:
    if (depth == 0) goto done;
    --depth;
    reg[6] = frames[depth].saved[0];
    reg[7] = frames[depth].saved[1];
    reg[8] = frames[depth].saved[2];
    reg[9] = frames[depth].saved[3];
    reg[10] = stack_top - depth * kFrameBytes;
    ip = frames[depth].return_to;
    DISPATCH();

    // ---- 64-bit immediate: the value is whole in the first slot; skip the tail ----
op_LDDW:
    DST = ip->imm;
    ip += 2;
    DISPATCH();
lddw_tail:
    NEXT();

    // ---- legacy packet loads; failure returns 0 from the current frame, like the kernel's rewrite ----
#define PACKET(NAME, OFFSET, SIZE)                                                   \
    op_##NAME : if (!packet_load(cx, reg, (OFFSET), (SIZE))) goto op_EXIT;           \
    NEXT();
#define IND_OFFSET static_cast<int64_t>(static_cast<int32_t>(SRC + ip->imm))
    PACKET(LD_ABS_B, static_cast<int64_t>(ip->imm), 1)
    PACKET(LD_ABS_H, static_cast<int64_t>(ip->imm), 2)
    PACKET(LD_ABS_W, static_cast<int64_t>(ip->imm), 4)
    PACKET(LD_IND_B, IND_OFFSET, 1)
    PACKET(LD_IND_H, IND_OFFSET, 2)
    PACKET(LD_IND_W, IND_OFFSET, 4)

    // ---- loads and stores ----
#define LDX(NAME, T, WIDEN)                        \
    op_##NAME : {                                  \
        const uint64_t addr = ADDR(ip->src);       \
        CHECK(addr, sizeof(T), Access::Load);      \
        DST = static_cast<WIDEN>(load<T>(addr));   \
    }                                              \
    NEXT();
#define ST(NAME, T)                                \
    op_##NAME : {                                  \
        const uint64_t addr = ADDR(ip->dst);       \
        CHECK(addr, sizeof(T), Access::Store);     \
        store<T>(addr, static_cast<T>(ip->imm));   \
    }                                              \
    NEXT();
#define STX(NAME, T)                               \
    op_##NAME : {                                  \
        const uint64_t addr = ADDR(ip->dst);       \
        CHECK(addr, sizeof(T), Access::Store);     \
        store<T>(addr, static_cast<T>(SRC));       \
    }                                              \
    NEXT();
    LDX(LDX_B, uint8_t, uint64_t)
    LDX(LDX_H, uint16_t, uint64_t)
    LDX(LDX_W, uint32_t, uint64_t)
    LDX(LDX_DW, uint64_t, uint64_t)
    LDX(LDXS_B, int8_t, int64_t)
    LDX(LDXS_H, int16_t, int64_t)
    LDX(LDXS_W, int32_t, int64_t)
    ST(ST_B, uint8_t)
    ST(ST_H, uint16_t)
    ST(ST_W, uint32_t)
    ST(ST_DW, uint64_t)
    STX(STX_B, uint8_t)
    STX(STX_H, uint16_t)
    STX(STX_W, uint32_t)
    STX(STX_DW, uint64_t)

    // ---- atomics: maps are shared between threads, so these are real atomic operations ----
#define ATOMIC(NAME, T, BUILTIN, FETCH)                                                 \
    op_##NAME : {                                                                       \
        const uint64_t addr = ADDR(ip->dst);                                            \
        CHECK(addr, sizeof(T), Access::Atomic);                                         \
        const T old = BUILTIN(atomic_ptr<T>(addr), static_cast<T>(SRC), __ATOMIC_SEQ_CST); \
        if (FETCH) SRC = old;                                                           \
    }                                                                                   \
    NEXT();
#define ATOMIC_WIDTH(W, T)                                                              \
    ATOMIC(ATOMIC##W##_ADD, T, __atomic_fetch_add, false)                               \
    ATOMIC(ATOMIC##W##_OR, T, __atomic_fetch_or, false)                                 \
    ATOMIC(ATOMIC##W##_AND, T, __atomic_fetch_and, false)                               \
    ATOMIC(ATOMIC##W##_XOR, T, __atomic_fetch_xor, false)                               \
    ATOMIC(ATOMIC##W##_FETCH_ADD, T, __atomic_fetch_add, true)                          \
    ATOMIC(ATOMIC##W##_FETCH_OR, T, __atomic_fetch_or, true)                            \
    ATOMIC(ATOMIC##W##_FETCH_AND, T, __atomic_fetch_and, true)                          \
    ATOMIC(ATOMIC##W##_FETCH_XOR, T, __atomic_fetch_xor, true)                          \
    ATOMIC(ATOMIC##W##_XCHG, T, __atomic_exchange_n, true)                              \
    op_ATOMIC##W##_CMPXCHG : {                                                          \
        const uint64_t addr = ADDR(ip->dst);                                            \
        CHECK(addr, sizeof(T), Access::Atomic);                                         \
        T expected = static_cast<T>(reg[0]);                                            \
        __atomic_compare_exchange_n(atomic_ptr<T>(addr), &expected, static_cast<T>(SRC), false, \
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                \
        reg[0] = expected; /* the old value whether or not it matched */                \
    }                                                                                   \
    NEXT();
    ATOMIC_WIDTH(32, uint32_t)
    ATOMIC_WIDTH(64, uint64_t)

budget_out:
    __attribute__((unused));  // only the checked instantiation counts instructions
    if constexpr (Checked) fault_budget(cx, ip->pc, budget);
stop:
    if constexpr (Checked) cx.insns_executed = executed;
    return 0;
done:
    if constexpr (Checked) cx.insns_executed = executed;
    return reg[0];

#undef DISPATCH
#undef NEXT
#undef DST
#undef SRC
#undef ADDR
#undef CHECK
#undef BINOP64
#undef BINOP32
#undef JMP64
#undef JMP32
#undef S64
#undef S32
#undef PACKET
#undef IND_OFFSET
#undef LDX
#undef ST
#undef STX
#undef ATOMIC
#undef ATOMIC_WIDTH
}

template uint64_t execute<false>(const Slot*, Context*, uint64_t, uint64_t);
template uint64_t execute<true>(const Slot*, Context*, uint64_t, uint64_t);

}  // namespace tcbpf::vm::detail
