// Packets in flight and the pool they come from. A pipeline reuses its Skbs: a packet buffer grows to
// the largest frame seen and then stays, so the per-packet path allocates nothing in steady state.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "tcbpf/skb.h"

namespace tcbpf::tc {

struct Skb {
    // qdisc_pkt_len as the hooks see it: at ingress the MAC header was already pulled (eth_type_trans runs
    // before sch_handle_ingress), so the kernel's counters there leave those 14 bytes out; at egress the
    // frame is whole. Measured against the kernel by tests/tc/kernel_e2e_test.cpp.
    uint64_t counted_len(bool at_ingress) const {
        const uint64_t len = packet.size();
        if (!at_ingress) return len;
        return len > kCountedMacLen ? len - kCountedMacLen : 0;
    }
    static constexpr uint64_t kCountedMacLen = 14;

    skb::Packet packet;
    skb::SkbMeta meta;
    uint64_t enqueued_ns = 0;
    uint32_t trace_id = 0;  // the frame's number in --trace lines

    // Replaces the bytes with a copy of `frame` (MAC header first), reusing the buffer.
    void assign(std::span<const uint8_t> frame) {
        packet.borrow(frame);
        packet.own();
        packet.set_mac_header(0);
    }
    // Replaces the bytes with `frame` itself, copied in only when something may write to them
    // (skb::Packet::borrow); `frame` must stay valid while the packet borrows it.
    void share(std::span<const uint8_t> frame) {
        packet.borrow(frame);
        packet.set_mac_header(0);
    }
};

class SkbPool {
   public:
    Skb* get() {
        if (free_.empty()) {
            owned_.push_back(std::make_unique<Skb>());
            return owned_.back().get();
        }
        Skb* s = free_.back();
        free_.pop_back();
        return s;
    }
    void put(Skb* s) { free_.push_back(s); }
    Skb* clone(const Skb& from) {
        Skb* s = get();
        s->assign(from.packet.bytes());
        s->packet.set_network_header(from.packet.network_header().value_or(14));
        s->meta = from.meta;
        s->trace_id = from.trace_id;
        return s;
    }

   private:
    std::vector<std::unique_ptr<Skb>> owned_;
    std::vector<Skb*> free_;
};

// A FIFO of packets that keeps its storage (a ring over a vector that only grows, always a power of
// two long so positions wrap with a mask).
class SkbQueue {
   public:
    bool empty() const { return count_ == 0; }
    uint32_t size() const { return count_; }
    // A queued packet outlives the frame it may share (the caller's buffer is only lent for one
    // receive), so it takes its bytes in first.
    void push(Skb* s) {
        s->packet.own();
        if (count_ == ring_.size()) grow();
        ring_[(head_ + count_) & (ring_.size() - 1)] = s;
        ++count_;
    }
    Skb* front() const { return ring_[head_]; }
    Skb* pop() {
        Skb* s = ring_[head_];
        head_ = (head_ + 1) & (ring_.size() - 1);
        --count_;
        return s;
    }

   private:
    void grow() {
        std::vector<Skb*> bigger(ring_.empty() ? 64 : ring_.size() * 2);
        for (uint32_t i = 0; i < count_; ++i) bigger[i] = ring_[(head_ + i) & (ring_.size() - 1)];
        ring_.swap(bigger);
        head_ = 0;
    }
    std::vector<Skb*> ring_;
    uint32_t head_ = 0;
    uint32_t count_ = 0;
};

}  // namespace tcbpf::tc
