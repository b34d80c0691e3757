// One's-complement arithmetic exactly as Linux computes it on x86-64. Checksums are sums of
// little-endian loads of network-order bytes; folding and complementing happen only at the end, and the
// bit patterns of "zero" (0x0000 vs 0xffff) follow the kernel's own formulas, which is why each helper
// below mirrors its kernel counterpart's structure instead of using one generic identity.
#include <cerrno>
#include <cstring>

#include "tcbpf/skb.h"

namespace tcbpf::skb {

namespace {

uint32_t add32_with_carry(uint32_t a, uint32_t b) {
    const uint32_t sum = a + b;
    return sum + (sum < b ? 1 : 0);
}

uint16_t load16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
void store16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

uint16_t csum16_add(uint16_t csum, uint16_t addend) {
    const auto res = static_cast<uint16_t>(csum + addend);
    return static_cast<uint16_t>(res + (res < addend ? 1 : 0));
}
uint16_t csum16_sub(uint16_t csum, uint16_t addend) { return csum16_add(csum, static_cast<uint16_t>(~addend)); }

// inet_proto_csum_replace4: the update seen through the pseudo header as well as in the L4 sum.
void proto_replace4(uint8_t* field, uint32_t from, uint32_t to, bool pseudohdr, SkbMeta& meta) {
    uint8_t diff[8];
    const uint32_t not_from = ~from;
    std::memcpy(diff, &not_from, 4);
    std::memcpy(diff + 4, &to, 4);
    const uint32_t sum = load16(field);
    if (meta.ip_summed != ChecksumState::Partial) {
        store16(field, csum_fold(csum_partial(diff, ~sum)));
        if (meta.ip_summed == ChecksumState::Complete && pseudohdr) meta.csum = ~csum_partial(diff, ~meta.csum);
    } else if (pseudohdr) {
        store16(field, static_cast<uint16_t>(~csum_fold(csum_partial(diff, sum))));
    }
}

void proto_replace_by_diff(uint8_t* field, uint32_t diff, bool pseudohdr, bool ipv6, SkbMeta& meta) {
    const uint32_t sum = load16(field);
    if (meta.ip_summed != ChecksumState::Partial) {
        store16(field, csum_fold(csum_add(diff, ~sum)));
        if (meta.ip_summed == ChecksumState::Complete && pseudohdr && !ipv6) meta.csum = ~csum_add(diff, ~meta.csum);
    } else if (pseudohdr) {
        store16(field, static_cast<uint16_t>(~csum_fold(csum_add(sum, diff))));
    }
}

}  // namespace

uint32_t csum_partial(std::span<const uint8_t> bytes, uint32_t seed) {
    // 64-bit accumulation with end-around carry; a short tail is zero-padded to a full word, which is
    // what the x86-64 implementation's masked tail load amounts to.
    uint64_t acc = seed;
    size_t i = 0;
    auto add64 = [&acc](uint64_t word) {
        acc += word;
        if (acc < word) ++acc;
    };
    for (; i + 8 <= bytes.size(); i += 8) {
        uint64_t word;
        std::memcpy(&word, bytes.data() + i, 8);
        add64(word);
    }
    if (i < bytes.size()) {
        uint64_t word = 0;
        std::memcpy(&word, bytes.data() + i, bytes.size() - i);
        add64(word);
    }
    return add32_with_carry(static_cast<uint32_t>(acc >> 32), static_cast<uint32_t>(acc));
}

uint32_t csum_add(uint32_t a, uint32_t b) { return add32_with_carry(a, b); }
uint32_t csum_sub(uint32_t a, uint32_t b) { return csum_add(a, ~b); }

uint16_t csum_from32to16(uint32_t sum) {
    const uint32_t rotated = (sum >> 16) | (sum << 16);
    return static_cast<uint16_t>((sum + rotated) >> 16);
}

uint16_t csum_fold(uint32_t sum) { return static_cast<uint16_t>(~csum_from32to16(sum)); }

uint16_t internet_checksum(std::span<const uint8_t> bytes) { return csum_fold(csum_partial(bytes, 0)); }

int64_t csum_diff(std::span<const uint8_t> from, std::span<const uint8_t> to, uint32_t seed) {
    if (((from.size() | to.size()) & 3) != 0 || from.size() + to.size() > 512) return -EINVAL;
    if (!from.empty() && !to.empty())
        return csum_from32to16(csum_sub(csum_partial(to, seed), csum_partial(from, 0)));
    if (!to.empty()) return csum_from32to16(csum_partial(to, seed));
    if (!from.empty()) return csum_from32to16(~csum_partial(from, ~seed));
    return csum_from32to16(seed);
}

int l3_csum_replace(uint8_t* field, uint64_t from, uint64_t to, uint64_t flags) {
    if (!l3_csum_flags_valid(flags)) return -EINVAL;
    const uint16_t sum = load16(field);
    switch (flags & kFHdrFieldMask) {
        case 0:  // csum_replace_by_diff
            if (from != 0) return -EINVAL;
            store16(field, csum_fold(csum_add(static_cast<uint32_t>(to), ~uint32_t{sum})));
            return 0;
        case 2:  // csum_replace2
            store16(field, static_cast<uint16_t>(~csum16_add(csum16_sub(static_cast<uint16_t>(~sum),
                                                                         static_cast<uint16_t>(from)),
                                                              static_cast<uint16_t>(to))));
            return 0;
        case 4:  // csum_replace4
            store16(field, csum_fold(csum_add(csum_sub(~uint32_t{sum}, static_cast<uint32_t>(from)),
                                              static_cast<uint32_t>(to))));
            return 0;
        default:
            return -EINVAL;
    }
}

int l4_csum_replace(uint8_t* field, uint64_t from, uint64_t to, uint64_t flags, SkbMeta& meta) {
    if (!l4_csum_flags_valid(flags)) return -EINVAL;
    const bool pseudo = flags & kFPseudoHdr;
    const bool mangled0 = flags & kFMarkMangled0;
    // A zero UDP checksum means "none": leave it alone unless the caller insists.
    if (mangled0 && !(flags & kFMarkEnforce) && load16(field) == 0) return 0;
    switch (flags & kFHdrFieldMask) {
        case 0:
            if (from != 0) return -EINVAL;
            proto_replace_by_diff(field, static_cast<uint32_t>(to), pseudo, flags & kFIpv6, meta);
            break;
        case 2:  // inet_proto_csum_replace2 widens the 16-bit values and reuses the 32-bit path
            proto_replace4(field, static_cast<uint16_t>(from), static_cast<uint16_t>(to), pseudo, meta);
            break;
        case 4:
            proto_replace4(field, static_cast<uint32_t>(from), static_cast<uint32_t>(to), pseudo, meta);
            break;
        default:
            return -EINVAL;
    }
    if (mangled0 && load16(field) == 0) store16(field, 0xffff);  // CSUM_MANGLED_0
    return 0;
}

}  // namespace tcbpf::skb
