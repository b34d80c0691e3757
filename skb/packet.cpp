// Packet keeps one allocation with [meta | data) inside it, like an skb head. Operations that run out
// of room reallocate with the shortfall plus a spare cache line, so repeated pushes (vlan_push,
// change_head) do not reallocate every time; header marks are buffer-relative and move with the data.
// A borrowed packet keeps the same numbers (data_ at the default headroom) over someone else's frame,
// so copying it in later changes no offset and no mark.
#include <algorithm>
#include <cstring>

#include "tcbpf/skb.h"

namespace tcbpf::skb {

namespace {
constexpr uint32_t kSpare = 64;
}

Packet::Packet(std::span<const uint8_t> frame, uint32_t headroom, uint32_t tailroom)
    : buf_(size_t{headroom} + frame.size() + tailroom, 0),
      data_(headroom),
      end_(headroom + static_cast<uint32_t>(frame.size())) {
    if (!frame.empty()) std::memcpy(buf_.data() + data_, frame.data(), frame.size());
}

void Packet::copy_borrowed() {
    const uint8_t* frame = borrowed_;
    borrowed_ = nullptr;
    // The buffer only grows, so a packet reused for frame after frame stops allocating; the headroom
    // is zeroed as a fresh Packet's is (stale bytes of an earlier frame must not show through it).
    const size_t needed = size_t{end_} + kDefaultTailroom;
    if (buf_.size() < needed) buf_.resize(needed);
    std::memset(buf_.data(), 0, data_);
    if (frame != nullptr) std::memcpy(buf_.data() + data_, frame, end_ - data_);
}

std::optional<int32_t> Packet::relative(int64_t mark) const {
    if (mark == kUnset) return std::nullopt;
    return static_cast<int32_t>(mark - data_);
}

void Packet::regrow(uint32_t headroom, uint32_t tailroom) {
    // headroom counts the bytes before the metadata area, as skb_headroom does before data_meta.
    const uint32_t old_start = data_ - meta_len_;
    const uint32_t used = end_ - old_start;
    std::vector<uint8_t> grown(size_t{headroom} + used + tailroom, 0);
    std::memcpy(grown.data() + headroom, buf_.data() + old_start, used);
    const int64_t delta = int64_t{headroom} - int64_t{old_start};
    for (int64_t* mark : {&mac_, &network_, &transport_})
        if (*mark != kUnset) *mark += delta;
    data_ = headroom + meta_len_;
    end_ = data_ + (end_ - (old_start + meta_len_));
    buf_ = std::move(grown);
}

void Packet::reserve(uint32_t headroom, uint32_t tailroom) {
    own();
    if (this->headroom() >= headroom && this->tailroom() >= tailroom) return;
    regrow(std::max(headroom, this->headroom()), std::max(tailroom, this->tailroom()));
}

bool Packet::set_meta_len(uint32_t len) {
    own();
    if (len > data_) return false;
    meta_len_ = len;
    return true;
}

uint8_t* Packet::push(uint32_t n) {
    own();
    if (headroom() < n) regrow(n + kSpare, tailroom());
    // The metadata area travels with data, as skb metadata sits right before skb->data.
    if (meta_len_ != 0) std::memmove(buf_.data() + data_ - meta_len_ - n, meta(), meta_len_);
    data_ -= n;
    return data();
}

bool Packet::pull(uint32_t n) {
    own();
    if (n > size()) return false;
    if (meta_len_ != 0) std::memmove(buf_.data() + data_ + n - meta_len_, meta(), meta_len_);
    data_ += n;
    return true;
}

uint8_t* Packet::put(uint32_t n) {
    own();
    if (tailroom() < n) regrow(headroom(), n + kSpare);
    uint8_t* first = end();
    std::memset(first, 0, n);
    end_ += n;
    return first;
}

bool Packet::trim(uint32_t len) {
    if (len > size()) return false;
    end_ = data_ + len;
    return true;
}

bool Packet::insert_gap(uint32_t offset, uint32_t n) {
    if (offset > size()) return false;
    push(n);
    std::memmove(data(), data() + n, offset);
    std::memset(data() + offset, 0, n);
    return true;
}

bool Packet::remove_gap(uint32_t offset, uint32_t n) {
    if (uint64_t{offset} + n > size()) return false;
    std::memmove(data() + n, data(), offset);
    pull(n);
    return true;
}

}  // namespace tcbpf::skb
