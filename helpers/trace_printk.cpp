// bpf_trace_printk: the kernel's checks of the format (bpf_bprintf_prepare) and its formatting
// (bstr_printf over at most three arguments). The kernel rejects a format without a NUL inside its
// size, a non-printable character, a conversion it does not know, or more than three conversions,
// all with -EINVAL, before printing anything. Integer conversions without `l` print the low 32 bits.
// A string argument is read with a fault-tolerant copy: an unreadable pointer prints as an empty
// string, as the kernel's copy_from_kernel_nofault does. %p/%pK/%px print the raw address as 16 hex
// digits and %ps/%pS/%pB as 0x and 16 hex digits (the kernel hashes or symbolizes them, which tcbpf cannot
// reproduce); %pks/%pus are strings; %pI4 %pi4 %pI6 %pi6 print addresses read from memory.
#include <sys/uio.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <iostream>
#include <string>

#include <fmt/format.h>

#include "env.h"

namespace tcbpf::helpers::detail {

namespace {

constexpr int kMaxArgs = 3;
constexpr size_t kMaxStringArg = 512;  // what one %s may add (the kernel's per-call buffer bound)

// Copies up to the first NUL from `address` without faulting on a bad pointer.
std::string read_string(uint64_t address) {
    std::string out;
    if (address == 0) return out;
    char chunk[64];
    while (out.size() < kMaxStringArg) {
        // One read never crosses a page end, so a string ending just before an unmapped page is
        // still read whole (process_vm_readv fails a partially unmapped range).
        const uint64_t page_left = 4096 - (address % 4096);
        iovec remote{reinterpret_cast<void*>(address), std::min<uint64_t>(sizeof chunk, page_left)};
        iovec local{chunk, remote.iov_len};
        const ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
        if (got <= 0) return out;
        for (ssize_t i = 0; i < got; ++i) {
            if (chunk[i] == '\0' || out.size() >= kMaxStringArg) return out;
            out.push_back(chunk[i]);
        }
        address += static_cast<uint64_t>(got);
    }
    return out;
}

// %pI4 1.2.3.4, %pi4 001.002.003.004, %pI6 2001:0db8:...:0001, %pi6 20010db8...0001, from memory
// at `address`; unreadable memory prints as zeros, as the kernel's fault-tolerant copy leaves it.
std::string format_ip(uint64_t address, bool upper, bool v6) {
    uint8_t ip[16] = {};
    const size_t size = v6 ? 16 : 4;
    iovec remote{reinterpret_cast<void*>(address), size};
    iovec local{ip, size};
    if (address == 0 || process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != static_cast<ssize_t>(size))
        std::memset(ip, 0, sizeof ip);
    std::string out;
    if (!v6) {
        for (size_t i = 0; i < 4; ++i)
            out += upper ? fmt::format("{}{}", i ? "." : "", ip[i]) : fmt::format("{}{:03}", i ? "." : "", ip[i]);
        return out;
    }
    for (size_t i = 0; i < 16; i += 2)
        out += fmt::format("{}{:02x}{:02x}", upper && i ? ":" : "", ip[i], ip[i + 1]);
    return out;
}

struct Formatted {
    int error = 0;
    std::string text;
};

Formatted format(const char* fmt_begin, uint32_t fmt_size, const uint64_t args[kMaxArgs]) {
    const std::string_view fmt(fmt_begin, fmt_size);
    const size_t nul = fmt.find('\0');
    if (fmt_size == 0 || nul == std::string_view::npos) return {-EINVAL, {}};
    std::string out;
    int used = 0;
    for (size_t i = 0; i < nul; ++i) {
        const char c = fmt[i];
        if (!isascii(static_cast<unsigned char>(c)) ||
            (!isprint(static_cast<unsigned char>(c)) && !isspace(static_cast<unsigned char>(c))))
            return {-EINVAL, {}};
        if (c != '%') {
            out.push_back(c);
            continue;
        }
        if (fmt[i + 1] == '%') {
            out.push_back('%');
            ++i;
            continue;
        }
        if (used == kMaxArgs) return {-EINVAL, {}};
        // Flags and width: "[0 +-][num]", kept for the output.
        std::string spec = "{:";
        size_t j = i + 1;
        bool left = false, zero = false, plus = false, space = false;
        for (; fmt[j] == '0' || fmt[j] == '+' || fmt[j] == '-' || fmt[j] == ' '; ++j) {
            left |= fmt[j] == '-';
            zero |= fmt[j] == '0';
            plus |= fmt[j] == '+';
            space |= fmt[j] == ' ';
        }
        size_t width = 0;
        if (fmt[j] >= '1' && fmt[j] <= '9')
            for (; fmt[j] >= '0' && fmt[j] <= '9'; ++j) width = width * 10 + static_cast<size_t>(fmt[j] - '0');
        const uint64_t arg = args[used++];
        std::string piece;
        char conv = fmt[j];
        if (conv == 'p') {
            const char next = fmt[j + 1];
            const auto is = [](char c, std::string_view set) { return set.find(c) != std::string_view::npos; };
            if ((next == 'k' || next == 'u') && fmt[j + 2] == 's') {  // %pks / %pus: a string
                piece = read_string(arg);
                j += 2;
            } else if (next == '\0' || std::isspace(static_cast<unsigned char>(next)) ||
                       std::ispunct(static_cast<unsigned char>(next)) || is(next, "KxsSB")) {
                // Pointers: the kernel hashes %p/%pK and symbolizes %ps/%pS/%pB; tcbpf prints the value.
                if (is(next, "sSB")) piece = fmt::format("0x{:016x}", arg);
                else piece = fmt::format("{:016x}", arg);
                if (next != '\0' && is(next, "KxsSB")) ++j;
            } else if ((next == 'i' || next == 'I') && (fmt[j + 2] == '4' || fmt[j + 2] == '6')) {
                piece = format_ip(arg, next == 'I', fmt[j + 2] == '6');
                j += 2;
            } else {
                return {-EINVAL, {}};
            }
        } else if (conv == 's') {
            piece = read_string(arg);
        } else if (conv == 'c') {
            piece = std::string(1, static_cast<char>(arg));
        } else {
            int longs = 0;
            while (fmt[j] == 'l' && longs < 2) {
                ++longs;
                ++j;
            }
            conv = fmt[j];
            const uint64_t value = longs ? arg : static_cast<uint32_t>(arg);
            switch (conv) {
                case 'd':
                case 'i': {
                    const int64_t v = longs ? static_cast<int64_t>(value) : int64_t{static_cast<int32_t>(value)};
                    piece = fmt::format("{}", v);
                    if (v >= 0 && plus) piece = "+" + piece;
                    else if (v >= 0 && space) piece = " " + piece;
                    break;
                }
                case 'u': piece = fmt::format("{}", value); break;
                case 'x': piece = fmt::format("{:x}", value); break;
                case 'X': piece = fmt::format("{:X}", value); break;
                default: return {-EINVAL, {}};
            }
        }
        if (piece.size() < width) {
            const size_t pad = width - piece.size();
            if (left) piece.append(pad, ' ');
            else if (zero && conv != 's' && conv != 'c') {
                const size_t sign = (!piece.empty() && (piece[0] == '-' || piece[0] == '+' || piece[0] == ' ')) ? 1 : 0;
                piece.insert(sign, pad, '0');
            } else piece.insert(0, pad, ' ');
        }
        out += piece;
        i = j;
    }
    return {0, std::move(out)};
}

}  // namespace

uint64_t trace_printk(uint64_t fmt, uint64_t fmt_size, uint64_t a1, uint64_t a2, uint64_t a3, vm::Context* cx) {
    const uint64_t args[kMaxArgs] = {a1, a2, a3};
    const Formatted result = format(ptr_of<const char>(fmt), static_cast<uint32_t>(fmt_size), args);
    if (result.error != 0) return static_cast<uint64_t>(int64_t{result.error});
    std::string_view line = result.text;
    // trace_pipe shows one record per call; a format's own trailing newline ends that record.
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    RunEnv* env = static_cast<RunEnv*>(cx->user);
    if (env != nullptr && env->trace != nullptr && *env->trace) (*env->trace)(line);
    else std::cerr << line << '\n';
    return result.text.size();
}

}  // namespace tcbpf::helpers::detail
