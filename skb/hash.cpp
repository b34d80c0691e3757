// FNV-1a, 64-bit: the project's fingerprint for packets and pcaps (stable across runs and hosts).
#include "tcbpf/skb.h"

namespace tcbpf::skb {

uint64_t fnv1a64(std::span<const uint8_t> bytes) {
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (uint8_t byte : bytes) {
        hash ^= byte;
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

}  // namespace tcbpf::skb
