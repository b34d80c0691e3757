// bpf_strtol, bpf_strtoul and bpf_strncmp (kernel/bpf/helpers.c). The number parsers follow the
// kernel's steps: skip leading whitespace, take one '-', copy at most 63 characters, pick the base
// (0 = auto: 0x → 16, leading 0 → 8, else 10; an explicit 16 also skips "0x"), read digits, and
// return how many bytes of the buffer were consumed, or -EINVAL (nothing to read, bad base or flags)
// / -ERANGE (overflow). The result slot is zeroed on every failure (measured on 6.18).
#include <cctype>

#include "env.h"

namespace tcbpf::helpers::detail {

namespace {

constexpr uint64_t kBaseMask = 0x1f;

struct Parsed {
    int64_t consumed = 0;  // or a negative errno
    uint64_t value = 0;
    bool negative = false;
};

int digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    const int lower = std::tolower(static_cast<unsigned char>(c));
    if (lower >= 'a' && lower <= 'f') return lower - 'a' + 10;
    return 99;
}

Parsed parse_unsigned(const char* buf, uint64_t buf_len, uint64_t flags) {
    Parsed p;
    unsigned base = static_cast<unsigned>(flags & kBaseMask);
    if (buf == nullptr || buf_len == 0) return {-EINVAL};
    if (base != 0 && base != 8 && base != 10 && base != 16) return {-EINVAL};
    if (flags & ~kBaseMask) return {-EINVAL};
    uint64_t at = 0;
    while (at < buf_len && std::isspace(static_cast<unsigned char>(buf[at]))) ++at;
    p.negative = at < buf_len && buf[at] == '-';
    if (p.negative) ++at;
    if (at == buf_len) return {-EINVAL};
    char str[64];
    const uint64_t len = std::min<uint64_t>(buf_len - at, sizeof str - 1);
    std::memcpy(str, buf + at, len);
    str[len] = '\0';
    const char* s = str;
    if (base == 0) {
        if (s[0] == '0') base = (std::tolower(static_cast<unsigned char>(s[1])) == 'x' && std::isxdigit(static_cast<unsigned char>(s[2]))) ? 16 : 8;
        else base = 10;
    }
    if (base == 16 && s[0] == '0' && std::tolower(static_cast<unsigned char>(s[1])) == 'x') s += 2;
    const char* digits = s;
    bool overflow = false;
    for (; digit_value(*s) < static_cast<int>(base); ++s) {
        const auto d = static_cast<uint64_t>(digit_value(*s));
        if (p.value > (UINT64_MAX - d) / base) overflow = true;
        p.value = p.value * base + d;
    }
    if (overflow) return {-ERANGE};
    if (s == digits) return {-EINVAL};
    p.consumed = static_cast<int64_t>(at) + (s - str);
    return p;
}

}  // namespace

uint64_t strtol(uint64_t buf, uint64_t buf_len, uint64_t flags, uint64_t res, uint64_t, vm::Context*) {
    std::memset(ptr_of(res), 0, 8);
    const Parsed p = parse_unsigned(ptr_of<const char>(buf), buf_len, flags);
    if (p.consumed < 0) return static_cast<uint64_t>(p.consumed);
    int64_t value;
    if (p.negative) {
        value = static_cast<int64_t>(0 - p.value);
        if (value > 0) return static_cast<uint64_t>(-ERANGE);
    } else {
        value = static_cast<int64_t>(p.value);
        if (value < 0) return static_cast<uint64_t>(-ERANGE);
    }
    std::memcpy(ptr_of(res), &value, 8);
    return static_cast<uint64_t>(p.consumed);
}

uint64_t strtoul(uint64_t buf, uint64_t buf_len, uint64_t flags, uint64_t res, uint64_t, vm::Context*) {
    std::memset(ptr_of(res), 0, 8);
    const Parsed p = parse_unsigned(ptr_of<const char>(buf), buf_len, flags);
    if (p.consumed < 0) return static_cast<uint64_t>(p.consumed);
    if (p.negative) return static_cast<uint64_t>(-EINVAL);
    std::memcpy(ptr_of(res), &p.value, 8);
    return static_cast<uint64_t>(p.consumed);
}

// The kernel's generic strncmp: -1, 0 or 1, comparing unsigned characters.
uint64_t strncmp(uint64_t s1, uint64_t s1_size, uint64_t s2, uint64_t, uint64_t, vm::Context*) {
    const auto* a = ptr_of<const unsigned char>(s1);
    const auto* b = ptr_of<const unsigned char>(s2);
    for (uint32_t i = 0; i < static_cast<uint32_t>(s1_size); ++i) {
        if (a[i] != b[i]) return a[i] < b[i] ? static_cast<uint64_t>(-1) : 1;
        if (a[i] == '\0') break;
    }
    return 0;
}

}  // namespace tcbpf::helpers::detail
