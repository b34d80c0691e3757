// Handles, class ids and control words read and printed exactly as iproute2's tc_util.c does.
#include <fmt/format.h>

#include "tc/parse_util.h"
#include "tcbpf/tc_spec.h"

namespace tcbpf::tc {

namespace {

// strtoul(text, &end, 16) over the whole view: false if nothing was read or a value overflows u32.
bool hex_prefix(std::string_view text, uint64_t& value, size_t& used) {
    value = 0;
    used = 0;
    if (text.size() > 1 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') && text.size() > 2 &&
        std::isxdigit(static_cast<unsigned char>(text[2])))
        used = 2;
    const size_t start = used;
    while (used < text.size() && std::isxdigit(static_cast<unsigned char>(text[used]))) {
        const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[used])));
        value = value * 16 + static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
        if (value > 0xFFFFFFFFull) value = 0x100000000ull;  // saturate: every caller range-checks
        ++used;
    }
    return used > start;
}

}  // namespace

uint32_t parse_qdisc_handle(std::string_view text) {
    if (text == "none") return 0;
    uint64_t major = 0;
    size_t used = 0;
    if (!hex_prefix(text, major, used) || major >= 0x10000 || (used < text.size() && text[used] != ':'))
        throw Error(fmt::format("Error: argument \"{}\" is wrong: invalid qdisc ID", text));
    return static_cast<uint32_t>(major << 16);
}

uint32_t parse_classid(std::string_view text) {
    if (text == "root") return kHandleRoot;
    if (text == "none") return 0;
    const auto fail = [&]() -> Error { return Error(fmt::format("Error: invalid class ID \"{}\"", text)); };
    uint64_t major = 0, minor = 0;
    size_t used = 0;
    const bool have_major = hex_prefix(text, major, used);
    if (used == text.size()) {
        if (!have_major || major > 0xFFFFFFFFull) throw fail();
        return static_cast<uint32_t>(major);  // a bare number is the raw 32-bit value
    }
    if (text[used] != ':' || major >= 0x10000) throw fail();
    const std::string_view rest = text.substr(used + 1);
    if (!rest.empty()) {
        size_t used_minor = 0;
        if (!hex_prefix(rest, minor, used_minor) || used_minor != rest.size() || minor >= 0x10000) throw fail();
    }
    return static_cast<uint32_t>(major << 16 | minor);
}

std::string format_classid(uint32_t id) {
    if (id == kHandleRoot) return "root";
    if (id == 0) return "none";
    if (handle_major(id) == 0) return fmt::format(":{:x}", handle_minor(id));
    if (handle_minor(id) == 0) return fmt::format("{:x}:", id >> 16);
    return fmt::format("{:x}:{:x}", id >> 16, handle_minor(id));
}

std::string format_control(int32_t control) {
    switch (act_opcode(control)) {
        case kActGotoChain: return fmt::format("goto chain {}", control & kActExtValMask);
        case kActJump: return fmt::format("jump {}", control & kActExtValMask);
        default: break;
    }
    switch (control) {
        case kActUnspec: return "continue";
        case kActOk: return "pass";
        case kActShot: return "drop";
        case kActReclassify: return "reclassify";
        case kActPipe: return "pipe";
        case kActStolen: return "stolen";
        case kActTrap: return "trap";
        default: return fmt::format("{}", control);
    }
}

}  // namespace tcbpf::tc
