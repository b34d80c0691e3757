// SKF_AD_PAY_OFFSET: the kernel's skb_get_poff — the flow dissector run with the basic keys and no
// flags, then the transport header skipped. Only what decides the transport offset and the L4
// protocol is kept from __skb_flow_dissect, step for step:
//  * the walk starts at the network header with skb->protocol (skb->vlan_proto when a tag was taken
//    out of the bytes, which then only hands over to skb->protocol without advancing);
//  * a header that does not fit in the packet makes the dissection fail, and the answer is 0; so does
//    an EtherType the dissector does not know;
//  * the transport offset is capped at the packet length (thoff), but the L4 header added after it
//    is not, so the answer may lie beyond the packet;
//  * fragments stop the walk (first fragments still get their L4 header skipped, later ones not);
//  * at most 15 headers are followed (MAX_FLOW_DISSECT_HDRS).
#include <algorithm>

#include "env.h"

namespace tcbpf::helpers {

namespace {

enum class Step { OutGood, OutBad, ProtoAgain, IpProtoAgain, Continue };

constexpr int kMaxHeaders = 15;

// EtherTypes (host order).
constexpr uint16_t kEthPArp = 0x0806, kEthPRarp = 0x8035, kEthPPppSes = 0x8864, kEthPTipc = 0x88ca,
                   kEthPMplsUc = 0x8847, kEthPMplsMc = 0x8848, kEthPFcoe = 0x8906, kEthPBatman = 0x4305,
                   kEthP1588 = 0x88f7, kEthPPrp = 0x88fb, kEthPHsr = 0x892f, kEthPTeb = 0x6558,
                   kGreProtoPpp = 0x880b;

// IP protocol numbers.
constexpr uint8_t kIpprotoHop = 0, kIpprotoIcmp = 1, kIpprotoIgmp = 2, kIpprotoIpip = 4, kIpprotoTcp = 6,
                  kIpprotoUdp = 17, kIpprotoDccp = 33, kIpprotoIpv6 = 41, kIpprotoRouting = 43,
                  kIpprotoFragment = 44, kIpprotoGre = 47, kIpprotoIcmpv6 = 58, kIpprotoDest = 60,
                  kIpprotoSctp = 132, kIpprotoUdplite = 136, kIpprotoMpls = 137;

class Dissector {
   public:
    Dissector(std::span<const uint8_t> data, uint16_t proto, int64_t nhoff) : data_(data), proto_(proto), nhoff_(nhoff) {}

    // skb_get_poff.
    uint32_t payload_offset(bool vlan_tag_present, uint16_t skb_protocol) {
        if (!dissect(vlan_tag_present, skb_protocol)) return 0;
        const int64_t len = static_cast<int64_t>(data_.size());
        uint32_t poff = static_cast<uint16_t>(std::min<int64_t>(static_cast<uint16_t>(nhoff_), static_cast<uint16_t>(len)));
        if (fragment_ && !first_fragment_) return poff;
        switch (ip_proto_) {
            case kIpprotoTcp:
                if (const uint8_t* doff = header(poff + 12, 1)) poff += std::max(20u, (*doff & 0xf0u) >> 2);
                break;
            case kIpprotoUdp:
            case kIpprotoUdplite:
            case kIpprotoIcmp:
            case kIpprotoIcmpv6:
            case kIpprotoIgmp: poff += 8; break;
            case kIpprotoDccp:
            case kIpprotoSctp: poff += 12; break;
        }
        return poff;
    }

   private:
    // __skb_header_pointer over a linear skb: the bytes, or nullptr when they are not all there.
    const uint8_t* header(int64_t offset, int64_t size) const {
        if (offset < 0 || offset + size > static_cast<int64_t>(data_.size())) return nullptr;
        return data_.data() + offset;
    }
    uint16_t be16(const uint8_t* p) const { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

    bool dissect(bool vlan_tag_present, uint16_t skb_protocol) {
        int headers = 0;
        auto allowed = [&] { return ++headers <= kMaxHeaders; };
        bool proto_again = true;
        while (proto_again) {
            proto_again = false;
            switch (network_step(vlan_tag_present, skb_protocol)) {
                case Step::OutGood: return true;
                case Step::ProtoAgain:
                    if (!allowed()) return true;
                    proto_again = true;
                    continue;
                case Step::OutBad: return false;
                default: break;
            }
            for (;;) {
                const Step step = transport_step();
                if (step == Step::OutBad) return false;
                if (step == Step::ProtoAgain && allowed()) {
                    proto_again = true;
                    break;
                }
                if (step == Step::IpProtoAgain && allowed()) continue;
                return true;
            }
        }
        return true;
    }

    Step network_step(bool vlan_tag_present, uint16_t skb_protocol) {
        switch (proto_) {
            case detail::kEthPIp: {
                const uint8_t* iph = header(nhoff_, 20);
                if (iph == nullptr || (iph[0] & 0xf) < 5) return Step::OutBad;
                nhoff_ += (iph[0] & 0xf) * 4;
                ip_proto_ = iph[9];
                const uint16_t frag_off = be16(iph + 6);
                if (frag_off & 0x3fff) {  // IP_MF | IP_OFFSET
                    fragment_ = true;
                    if (!(frag_off & 0x1fff)) first_fragment_ = true;
                    return Step::OutGood;  // no FLOW_DISSECTOR_F_PARSE_1ST_FRAG
                }
                return Step::Continue;
            }
            case detail::kEthPIpv6: {
                const uint8_t* iph = header(nhoff_, 40);
                if (iph == nullptr) return Step::OutBad;
                ip_proto_ = iph[6];
                nhoff_ += 40;
                return Step::Continue;
            }
            case detail::kEthP8021Q:
            case detail::kEthP8021AD: {
                if (vlans_ == 0 && vlan_tag_present) {
                    proto_ = skb_protocol;
                } else {
                    const uint8_t* vlan = header(nhoff_, 4);
                    if (vlan == nullptr) return Step::OutBad;
                    proto_ = be16(vlan + 2);
                    nhoff_ += 4;
                }
                ++vlans_;
                return Step::ProtoAgain;
            }
            case kEthPPppSes: {
                const uint8_t* hdr = header(nhoff_, 8);
                if (hdr == nullptr || hdr[0] != 0x11 || hdr[1] != 0) return Step::OutBad;  // ver 1, type 1, code 0
                uint16_t ppp_proto = be16(hdr + 6);
                if (ppp_proto & 0x0100) {  // protocol field compressed to one byte
                    ppp_proto >>= 8;
                    nhoff_ += 7;
                } else {
                    nhoff_ += 8;
                }
                switch (ppp_proto) {
                    case 0x21: proto_ = detail::kEthPIp; return Step::ProtoAgain;
                    case 0x57: proto_ = detail::kEthPIpv6; return Step::ProtoAgain;
                    case 0x281: proto_ = kEthPMplsUc; return Step::ProtoAgain;
                    case 0x283: proto_ = kEthPMplsMc; return Step::ProtoAgain;
                    default: return (ppp_proto & 0x0101) == 0x0001 ? Step::OutGood : Step::OutBad;
                }
            }
            case kEthPTipc: return header(nhoff_, 16) ? Step::OutGood : Step::OutBad;
            case kEthPMplsUc:
            case kEthPMplsMc:
                // The basic keys use no MPLS key, so the label stack is not read: one label is skipped.
                nhoff_ += 4;
                return Step::OutGood;
            case kEthPFcoe:
                if (static_cast<int64_t>(data_.size()) - nhoff_ < 38) return Step::OutBad;
                nhoff_ += 38;
                return Step::OutGood;
            case kEthPArp:
            case kEthPRarp: return Step::OutGood;
            case kEthPBatman: {
                const uint8_t* hdr = header(nhoff_, 24);  // batadv_unicast_packet + inner ethhdr
                if (hdr == nullptr || hdr[1] != 15 || hdr[0] != 0x40) return Step::OutBad;
                proto_ = be16(hdr + 22);
                nhoff_ += 24;
                return Step::ProtoAgain;
            }
            case kEthP1588: {
                const uint8_t* hdr = header(nhoff_, 34);
                if (hdr == nullptr) return Step::OutBad;
                nhoff_ += be16(hdr + 2);
                return Step::OutGood;
            }
            case kEthPPrp:
            case kEthPHsr: {
                const uint8_t* hdr = header(nhoff_, 6);
                if (hdr == nullptr) return Step::OutBad;
                proto_ = be16(hdr + 4);
                nhoff_ += 6;
                return Step::ProtoAgain;
            }
            default: return Step::OutBad;
        }
    }

    Step transport_step() {
        switch (ip_proto_) {
            case kIpprotoGre: return gre_step();
            case kIpprotoHop:
            case kIpprotoRouting:
            case kIpprotoDest: {
                if (proto_ != detail::kEthPIpv6) return Step::Continue;
                const uint8_t* opt = header(nhoff_, 2);
                if (opt == nullptr) return Step::OutBad;
                ip_proto_ = opt[0];
                nhoff_ += (opt[1] + 1) << 3;
                return Step::IpProtoAgain;
            }
            case kIpprotoFragment: {
                if (proto_ != detail::kEthPIpv6) return Step::Continue;
                const uint8_t* fh = header(nhoff_, 8);
                if (fh == nullptr) return Step::OutBad;
                fragment_ = true;
                nhoff_ += 8;
                ip_proto_ = fh[0];
                if (!(be16(fh + 2) & 0xfff8)) first_fragment_ = true;  // IP6_OFFSET
                return Step::OutGood;
            }
            case kIpprotoIpip: proto_ = detail::kEthPIp; return Step::ProtoAgain;
            case kIpprotoIpv6: proto_ = detail::kEthPIpv6; return Step::ProtoAgain;
            case kIpprotoMpls: proto_ = kEthPMplsUc; return Step::ProtoAgain;
            default: return Step::Continue;
        }
    }

    // __skb_flow_dissect_gre: versions 0 and 1 (PPTP) without routing are looked into.
    Step gre_step() {
        const uint8_t* hdr = header(nhoff_, 4);
        if (hdr == nullptr) return Step::OutBad;
        const uint16_t flags = be16(hdr);
        constexpr uint16_t kCsum = 0x8000, kRouting = 0x4000, kKey = 0x2000, kSeq = 0x1000, kAck = 0x0080;
        if (flags & kRouting) return Step::OutGood;
        const uint16_t version = flags & 7;
        if (version > 1) return Step::OutGood;
        proto_ = be16(hdr + 2);
        if (version == 1 && !(proto_ == kGreProtoPpp && (flags & kKey))) return Step::OutGood;
        int64_t offset = 4;
        if (flags & kCsum) offset += 4;
        if (flags & kKey) {
            if (header(nhoff_ + offset, 4) == nullptr) return Step::OutBad;
            offset += 4;
        }
        if (flags & kSeq) offset += 4;
        if (version == 0) {
            if (proto_ == kEthPTeb) {
                const uint8_t* eth = header(nhoff_ + offset, 14);
                if (eth == nullptr) return Step::OutBad;
                proto_ = be16(eth + 12);
                offset += 14;
            }
        } else {
            if (flags & kAck) offset += 4;
            const uint8_t* ppp = header(nhoff_ + offset, 4);
            if (ppp == nullptr) return Step::OutBad;
            const uint16_t ppp_proto = be16(ppp + 2);
            if (ppp_proto == 0x21) proto_ = detail::kEthPIp;
            if (ppp_proto == 0x57) proto_ = detail::kEthPIpv6;
            offset += 4;
        }
        nhoff_ += offset;
        return Step::ProtoAgain;
    }

    std::span<const uint8_t> data_;
    uint16_t proto_;
    int64_t nhoff_;
    uint8_t ip_proto_ = 0;
    int vlans_ = 0;
    bool fragment_ = false;
    bool first_fragment_ = false;
};

}  // namespace

uint32_t payload_offset(std::span<const uint8_t> data, uint32_t network_offset, uint16_t protocol,
                        bool vlan_tag_present, uint16_t vlan_proto) {
    Dissector d(data, vlan_tag_present ? vlan_proto : protocol, network_offset);
    return d.payload_offset(vlan_tag_present, protocol);
}

}  // namespace tcbpf::helpers
