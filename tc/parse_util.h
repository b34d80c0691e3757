// The pieces of iproute2's command-line handling every tc parser shares: `matches` (any prefix of the
// keyword), a cursor over the words, get_u32-style numbers, rates and sizes in tc's units, and tc's
// messages for wrong arguments (invarg, duparg, missarg).
#pragma once

#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcbpf/error.h"

namespace tcbpf::tc::detail {

// iproute2's matches(): true when `word` is a prefix of `keyword` (an empty word matches everything).
inline bool matches(std::string_view word, std::string_view keyword) {
    return word.size() <= keyword.size() && keyword.substr(0, word.size()) == word;
}

class Words {
   public:
    explicit Words(const std::vector<std::string>& words, size_t start = 0) : words_(words), at_(start) {}
    bool done() const { return at_ >= words_.size(); }
    const std::string& peek() const { return words_[at_]; }
    const std::string& take() { return words_[at_++]; }
    // The value after keyword `key`: tc's "Command line is not complete." when nothing follows.
    const std::string& value(std::string_view key);
    size_t position() const { return at_; }
    void back() { --at_; }

   private:
    const std::vector<std::string>& words_;
    size_t at_;
};

[[noreturn]] void invarg(std::string_view message, std::string_view arg);
[[noreturn]] void duparg(std::string_view key, std::string_view arg);
[[noreturn]] void fail(std::string message);

// get_u32/get_u16 with base 0 (decimal, 0x hex, 0 octal) or a fixed base; nullopt when not a whole
// number in range.
std::optional<uint64_t> parse_unsigned(std::string_view text, int base, uint64_t max);
// get_rate64: bits/s with tc's suffixes, returned in bytes per second.
std::optional<uint64_t> parse_rate(std::string_view text);
// get_size: bytes with tc's suffixes (k = 1024, kbit = 128, ...).
std::optional<uint64_t> parse_size(std::string_view text);
// tc's print_rate / print_size (sprint_rate, sprint_size).
std::string format_rate(uint64_t bytes_per_second);
std::string format_size(uint64_t bytes);
// ll_proto_a2n: an ethertype name (ip, ipv6, arp, 802.1Q, all, ...) or number, host order.
std::optional<uint16_t> parse_protocol(std::string_view text);
std::string format_protocol(uint16_t protocol);

}  // namespace tcbpf::tc::detail
