#include <gtest/gtest.h>

#include <string_view>

#include "tcbpf/skb.h"

namespace tcbpf::skb {
namespace {

uint64_t fnv(std::string_view s) { return fnv1a64({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }

// Reference values of FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
TEST(Fnv1a64, KnownVectors) {
    EXPECT_EQ(fnv(""), 0xcbf29ce484222325ULL);
    EXPECT_EQ(fnv("a"), 0xaf63dc4c8601ec8cULL);
    EXPECT_EQ(fnv("foobar"), 0x85944171f73967e8ULL);
}

}  // namespace
}  // namespace tcbpf::skb
