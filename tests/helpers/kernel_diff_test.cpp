// The helpers against the running kernel: the same program (llvm text) runs in BPF_PROG_TEST_RUN as
// SCHED_CLS and in tcbpf (checked and unchecked) on the skb skb::prepare_test_run builds from the
// same frame; the return value and the packet bytes must be identical, and so must what the program
// reads back from the context afterwards (len, protocol, VLAN fields, pkt_type, hash, tstamp).
// Skips with the reason where bpf() is unavailable.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstring>

#include "tcbpf/asm.h"
#include "tests/helpers/helper_run.h"
#include "tests/support/kernel_bpf.h"

namespace tcbpf::helpers::test {
namespace {

struct Scenario {
    std::string name;
    std::vector<uint8_t> frame;
    std::string body;  // r6 = ctx on entry; must leave the last helper's result in r0
};

// What each scenario's program returns after its body: one program per observation.
const char* const kObservations[] = {"r0 = r8", "r0 = {ctx:len}", "r0 = {ctx:protocol}", "r0 = {ctx:vlan_present}",
                                     "r0 = {ctx:vlan_tci}", "r0 = {ctx:vlan_proto}", "r0 = {ctx:pkt_type}",
                                     "r0 = {ctx:hash}", "r0 = {ctx:tstamp}", "r0 = {ctx:tstamp_type}"};

std::string program(const Scenario& s, std::string_view observation) {
    return fmt::format("r6 = r1\n{}\nr8 = r0\n{}\nexit\n", s.body, observation);
}

std::vector<uint8_t> arp_frame() {
    auto f = ipv4_udp_frame();
    f[12] = 0x08;
    f[13] = 0x06;
    return f;
}

std::string call(int id, std::initializer_list<std::string> args) {
    std::string code = "r1 = r6\n";
    int reg = 2;
    for (const std::string& arg : args) code += fmt::format("r{} = {}\n", reg++, arg);
    return code + fmt::format("call {}\n", id);
}
std::string call64(int id, std::string a2, std::string a3, uint64_t a4) {
    return fmt::format("r1 = r6\nr2 = {}\nr3 = {}\nr4 = {:#x} ll\ncall {}\n", a2, a3, a4, id);
}

// trace_printk with the format on the stack; `args` sets r3..r5 (r1, r2 are the format).
std::string printk(std::string_view format, std::string_view args) {
    int at = 0;
    const std::string code = stack_string(format, &at);
    return code + fmt::format("r1 = r10\nr1 += {}\nr2 = {}\n{}\ncall 6\n", at, -at, args);
}

std::vector<uint8_t> with_tos(std::vector<uint8_t> frame, uint8_t tos) {
    frame[15] = tos;
    frame[24] = frame[25] = 0;
    const uint16_t check = skb::internet_checksum({frame.data() + 14, 20});
    std::memcpy(frame.data() + 24, &check, 2);
    return frame;
}
std::vector<uint8_t> with_traffic_class(std::vector<uint8_t> frame, uint8_t tc) {
    frame[14] = static_cast<uint8_t>(0x60 | (tc >> 4));
    frame[15] = static_cast<uint8_t>((tc & 0x0f) << 4);
    return frame;
}

// bpf_strtol (105) / bpf_strtoul (106) over `text` (its size excludes the NUL unless `with_nul`),
// with the result slot pre-filled with 0x5555 so a failure's effect on it is visible. The body's r0
// is result * 65536 + (low 16 bits of the slot).
std::string parse(int id, std::string_view text, uint64_t flags) {
    int at = 0;
    const std::string code = stack_string(text, &at);
    return code + fmt::format(
                      "*(u64 *)(r10 - 80) = 0x5555\nr1 = r10\nr1 += {}\nr2 = {}\nr3 = {}\nr4 = r10\nr4 += -80\n"
                      "call {}\nr0 <<= 16\nr1 = *(u64 *)(r10 - 80)\nr1 &= 0xffff\nr0 += r1\n",
                      at, text.size(), flags, id);
}

std::vector<Scenario> scenarios() {
    const auto v4 = ipv4_udp_frame();
    const auto v6 = ipv6_tcp_frame();
    const auto tagged_v4 = tagged(v4, 0x8100, 42);
    const auto qinq_v4 = tagged(tagged(v4, 0x8100, 5), 0x88a8, 9);
    const std::string store_src9 =
        "*(u32 *)(r10 - 4) = 0x0900000a\nr1 = r6\nr2 = 26\nr3 = r10\nr3 += -4\nr4 = 4\nr5 = 0\ncall 9\n";
    std::vector<Scenario> list = {
        {"vlan_push", v4, call(18, {"0x81", "42"})},
        {"vlan_push_twice", v4, call(18, {"0x81", "42"}) + call(18, {"0xa888", "7"})},
        {"vlan_push_three_times", v4, call(18, {"0x81", "42"}) + call(18, {"0xa888", "7"}) + call(18, {"0x81", "0xfff"})},
        {"vlan_push_coerced_tpid", v4, call(18, {"0x8", "1"})},
        {"vlan_pop_tagged", tagged_v4, call(19, {})},
        {"vlan_pop_qinq", qinq_v4, call(19, {})},
        {"vlan_pop_untagged", v4, call(19, {})},
        {"vlan_push_pop", v4, call(18, {"0x81", "42"}) + call(18, {"0xa888", "7"}) + call(19, {})},
        {"change_tail_grow", v4, call(38, {"60", "0"})},
        {"change_tail_trim", v4, call(38, {"20", "0"})},
        {"change_tail_into_mac", v4, call(38, {"13", "0"})},
        {"change_tail_to_network", v4, call(38, {"14", "0"})},
        {"change_tail_flags", v4, call(38, {"60", "1"})},
        {"change_tail_max", v4, call(38, {"16064", "0"})},
        {"change_tail_above_max", v4, call(38, {"16065", "0"})},
        {"change_head_small", v4, call(43, {"4", "0"})},
        {"change_head_realloc", v4, call(43, {"100", "0"})},
        {"change_head_flags", v4, call(43, {"4", "1"})},
        {"change_head_wrap", v4, call(43, {"-1", "0"})},
        {"adjust_room_net_grow", v4, call64(50, "8", "0", 0)},
        {"adjust_room_net_shrink", v4, call64(50, "-16", "0", 0)},
        {"adjust_room_mac_grow", v4, call64(50, "4", "1", 0)},
        {"adjust_room_mac_shrink", v4, call64(50, "-4", "1", 0)},
        {"adjust_room_v6_grow", v6, call64(50, "8", "0", 0)},
        {"adjust_room_too_far", v4, call64(50, "0x1000", "0", 0)},
        {"adjust_room_bad_flag", v4, call64(50, "4", "0", 0x200)},
        {"adjust_room_bad_mode", v4, call64(50, "4", "2", 0)},
        {"adjust_room_shrink_all", v4, call64(50, "-36", "0", 0)},
        {"adjust_room_shrink_below_iphdr", v4, call64(50, "-17", "0", 0)},
        {"adjust_room_decap_grow", v4, call64(50, "4", "0", 0x80)},
        {"adjust_room_encap_both", v4, call64(50, "4", "0", 0x6)},
        {"adjust_room_encap_shrink", v4, call64(50, "-4", "0", 0x2)},
        {"adjust_room_encap_udp", v4, call64(50, "28", "1", 0x12)},
        {"adjust_room_encap_to_v6", v4, call64(50, "48", "1", 0x14)},
        {"adjust_room_encap_twice", v4, call64(50, "28", "1", 0x12) + call64(50, "28", "1", 0x12)},
        {"adjust_room_encap_then_change_tail", v4, call64(50, "28", "1", 0x12) + call(38, {"200", "0"})},
        {"adjust_room_decap_v6", v4, call64(50, "-4", "1", 0x100)},
        {"adjust_room_l2_len", v4, call64(50, "28", "1", 0x2 | 0x40 | (14ull << 56))},
        {"adjust_room_arp", arp_frame(), call64(50, "4", "1", 0)},
        {"change_proto_4to6", v4, call(31, {"0xdd86", "0"})},
        {"change_proto_6to4", v6, call(31, {"0x8", "0"})},
        {"change_proto_flags", v4, call(31, {"0xdd86", "1"})},
        {"change_proto_same", v4, call(31, {"0x8", "0"})},
        {"store_bytes", v4, store_src9},
        {"store_bytes_past_end",
         v4, "*(u32 *)(r10 - 4) = 0x01020304\nr1 = r6\nr2 = 47\nr3 = r10\nr3 += -4\nr4 = 4\nr5 = 0\ncall 9\n"},
        {"store_bytes_bad_flags",
         v4, "*(u32 *)(r10 - 4) = 0x01020304\nr1 = r6\nr2 = 47\nr3 = r10\nr3 += -4\nr4 = 4\nr5 = 4\ncall 9\n"},
        {"store_bytes_huge_offset",
         v4, "*(u32 *)(r10 - 4) = 0x01020304\nr1 = r6\nr2 = -1\nr3 = r10\nr3 += -4\nr4 = 4\nr5 = 0\ncall 9\n"},
        {"store_bytes_flags", v4, call(48, {"0x5555"}) +
                                      "*(u32 *)(r10 - 4) = 0x01020304\nr1 = r6\nr2 = 40\nr3 = r10\nr3 += -4\nr4 = 4\nr5 = 3\ncall 9\n"},
        {"l3_csum_replace_4", v4, store_src9 + call(10, {"24", "0x0100000a", "0x0900000a", "4"})},
        {"l3_csum_replace_2", v4, call(10, {"24", "0x0100", "0x0900", "2"})},
        {"l3_csum_replace_odd", v4, call(10, {"25", "0", "1", "2"})},
        {"l3_csum_replace_bad_flags", v4, call(10, {"25", "0", "1", "0x12"})},
        {"l3_csum_replace_size3", v4, call(10, {"24", "0", "1", "3"})},
        {"l3_csum_replace_diff_nonzero_from", v4, call(10, {"24", "1", "1", "0"})},
        {"l3_csum_replace_diff", v4, call(10, {"24", "0", "0x800", "0"})},
        {"l3_csum_replace_end", v4, call(10, {"48", "0", "1", "2"})},
        {"l3_csum_replace_past_end", v4, call(10, {"50", "0", "1", "2"})},
        {"l3_csum_replace_above_ffff", v4, call(10, {"0x10000", "0", "1", "2"})},
        {"l4_csum_replace_pseudo", v4,
         store_src9 + call(10, {"24", "0x0100000a", "0x0900000a", "4"}) +
             call(11, {"40", "0x0100000a", "0x0900000a", "0x14"})},
        {"l4_csum_replace_plain", v4, call(11, {"40", "0x5000", "0x5100", "2"})},
        {"l4_csum_replace_diff_ipv6", v4, call(11, {"40", "0", "0x1234", "0x90"})},
        {"l4_csum_replace_mangled0", v4, call(11, {"40", "0x5000", "0x5100", "0x22"})},
        {"l4_csum_replace_bad_flags", v4, call(11, {"40", "0", "1", "0x102"})},
        {"l4_csum_replace_odd", v4, call(11, {"41", "0", "1", "0x82"})},
        {"csum_diff_words", v4,
         "*(u32 *)(r10 - 8) = 0x0100000a\n*(u32 *)(r10 - 4) = 0x0900000a\n"
         "r1 = r10\nr1 += -8\nr2 = 4\nr3 = r10\nr3 += -4\nr4 = 4\nr5 = 0\ncall 28\n"},
        {"csum_diff_to_only", v4,
         "*(u64 *)(r10 - 8) = -1\nr1 = 0\nr2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\nr5 = 7\ncall 28\n"},
        {"csum_diff_from_only", v4,
         "*(u64 *)(r10 - 8) = 0x12345678\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\nr4 = 0\nr5 = 7\ncall 28\n"},
        {"csum_diff_seed", v4, "r1 = 0\nr2 = 0\nr3 = 0\nr4 = 0\nr5 = 0x12345\ncall 28\n"},
        {"csum_diff_odd_size", v4,  // accepted and summed since Linux 6.13
         "*(u64 *)(r10 - 8) = 0\nr1 = 0\nr2 = 0\nr3 = r10\nr3 += -8\nr4 = 3\nr5 = 0\ncall 28\n"},
        {"load_bytes", v4, "r1 = r6\nr2 = 12\nr3 = r10\nr3 += -4\nr4 = 4\ncall 26\nr0 = *(u32 *)(r10 - 4)\n"},
        {"load_bytes_past_end", v4,
         "*(u32 *)(r10 - 4) = -1\nr1 = r6\nr2 = 47\nr3 = r10\nr3 += -4\nr4 = 4\ncall 26\nr1 = *(u32 *)(r10 - 4)\nr0 += r1\n"},
        {"load_bytes_relative_net", v4,
         "r1 = r6\nr2 = 9\nr3 = r10\nr3 += -4\nr4 = 1\nr5 = 1\ncall 68\nr1 = *(u8 *)(r10 - 4)\nr0 += r1\n"},
        {"load_bytes_relative_mac", v4,
         "r1 = r6\nr2 = 12\nr3 = r10\nr3 += -4\nr4 = 2\nr5 = 0\ncall 68\nr1 = *(u16 *)(r10 - 4)\nr0 += r1\n"},
        {"load_bytes_relative_past_end", v4,
         "r1 = r6\nr2 = 34\nr3 = r10\nr3 += -4\nr4 = 4\nr5 = 1\ncall 68\n"},
        {"load_bytes_relative_bad_start", v4,
         "r1 = r6\nr2 = 0\nr3 = r10\nr3 += -4\nr4 = 4\nr5 = 2\ncall 68\n"},
        {"pull_data_all", v4, call(39, {"0"})},
        {"pull_data_len", v4, call(39, {"50"})},
        {"pull_data_too_long", v4, call(39, {"51"})},
        {"change_type_otherhost", v4, call(32, {"3"})},
        {"change_type_outgoing", v4, call(32, {"4"})},
        {"csum_level_query", v4, call(135, {"0"})},
        {"csum_level_inc_query", v4, call(135, {"1"}) + call(135, {"1"}) + call(135, {"0"})},
        {"csum_level_bad", v4, call(135, {"4"})},
        {"csum_update", v4, call(40, {"5"})},
        {"set_hash", v4, call(48, {"0x5555"})},
        {"set_hash_invalid", v4, call(48, {"0x5555"}) + call(41, {})},
        {"redirect", v4, "r1 = 5\nr2 = 1\ncall 23\n"},
        {"redirect_bad_flags", v4, "r1 = 5\nr2 = 2\ncall 23\n"},
        {"redirect_neigh", v4, "r1 = 5\nr2 = 0\nr3 = 0\nr4 = 0\ncall 152\n"},
        {"redirect_neigh_nexthop", v4, "r1 = 5\nr2 = r10\nr2 += -20\nr3 = 20\nr4 = 0\ncall 152\n"},
        {"redirect_neigh_short_params", v4, "r1 = 5\nr2 = r10\nr2 += -20\nr3 = 19\nr4 = 0\ncall 152\n"},
        {"redirect_neigh_flags", v4, "r1 = 5\nr2 = 0\nr3 = 0\nr4 = 1\ncall 152\n"},
        {"redirect_peer", v4, "r1 = 5\nr2 = 0\ncall 155\n"},
        {"redirect_peer_flags", v4, "r1 = 5\nr2 = 1\ncall 155\n"},
        {"clone_redirect_bad_flags", v4, call(13, {"1", "2"})},
        {"clone_redirect_no_device", v4, call(13, {"0x7ffffff0", "0"})},
        {"get_route_realm", v4, call(24, {})},
        {"tunnel_key", v4, "r1 = r6\nr2 = r10\nr2 += -28\nr3 = 28\nr4 = 0\ncall 20\n"},
        {"printk_ints", v4, printk("tcbpf d=%d u=%u x=%lx\n", "r3 = -5\nr4 = -1\nr5 = -1")},
        {"printk_i_X", v4, printk("tcbpf i=%i X=%X +d=%+d", "r3 = -7\nr4 = 0xabc\nr5 = 3")},
        {"printk_five_conversions", v4, printk("tcbpf %d %u %lx %i %X\n", "r3 = -5\nr4 = -1\nr5 = -1")},
        {"printk_long_long", v4, printk("tcbpf %lld %llu %llx", "r3 = -5\nr4 = -1\nr5 = -1")},
        {"printk_widths", v4, printk("tcbpf [%5d] [%-3x] [%03u] 100%%", "r3 = 42\nr4 = 10\nr5 = 7")},
        {"printk_char_pointer", v4, printk("tcbpf %c %px", "r3 = 0x41\nr4 = r10")},
        {"printk_string", v4, "*(u64 *)(r10 - 64) = 0x6b6f\n" + printk("tcbpf <%s>", "r3 = r10\nr3 += -64")},
        {"printk_ipv4", v4, "*(u32 *)(r10 - 64) = 0x0100000a\n" + printk("tcbpf %pI4 %pi4", "r3 = r10\nr3 += -64\nr4 = r3")},
        {"printk_ipv6", v4, "*(u32 *)(r10 - 64) = 0xb80d0120\n*(u32 *)(r10 - 60) = 0\n*(u32 *)(r10 - 56) = 0\n*(u32 *)(r10 - 52) = 0x01000000\n" +
                                printk("tcbpf %pI6 %pi6", "r3 = r10\nr3 += -64\nr4 = r3")},
        {"printk_ipv4_bad_pointer", v4, printk("tcbpf %pI4", "r3 = 8")},
        {"printk_pks", v4, "*(u64 *)(r10 - 64) = 0x6b6f\n" + printk("tcbpf <%pks>", "r3 = r10\nr3 += -64")},
        {"printk_pointer_forms", v4, printk("tcbpf %pK %ps %p.", "r3 = r10\nr4 = r10\nr5 = r10")},
        {"printk_pM_refused", v4, printk("tcbpf %pM", "r3 = r10")},
        {"printk_bad_string", v4, printk("tcbpf <%s>", "r3 = 8")},
        {"printk_four", v4, printk("tcbpf %d %d %d %d", "r3 = 1\nr4 = 2\nr5 = 3")},
        {"printk_unknown", v4, printk("tcbpf %f", "r3 = 1")},
        {"printk_nonprintable", v4, printk("tcbpf \x01", "")},
        {"printk_no_nul", v4, "*(u32 *)(r10 - 4) = 0x41414141\nr1 = r10\nr1 += -4\nr2 = 4\ncall 6\n"},
        {"ecn_v4_not_ect", with_tos(v4, 0xb8), call(97, {})},
        {"ecn_v4_ect1", with_tos(v4, 0xb9), call(97, {})},
        {"ecn_v4_ect0", with_tos(v4, 0xba), call(97, {})},
        {"ecn_v4_ce", with_tos(v4, 0xbb), call(97, {})},
        {"ecn_v4_ect0_other_source", with_tos(ipv4_udp_frame(8, 0xa5), 0x02), call(97, {})},
        {"ecn_v6_not_ect", with_traffic_class(v6, 0xb8), call(97, {})},
        {"ecn_v6_ect0", with_traffic_class(v6, 0xba), call(97, {})},
        {"ecn_v6_ect1", with_traffic_class(v6, 0x01), call(97, {})},
        {"ecn_arp", arp_frame(), call(97, {})},
        {"ecn_tagged", tagged(with_tos(v4, 0x02), 0x8100, 1), call(97, {})},
        {"set_tstamp_realtime", v4, call(192, {"12345", "0"})},
        {"set_tstamp_mono", v4, call(192, {"12345", "1"})},
        {"set_tstamp_tai", v4, call(192, {"12345", "2"})},
        {"set_tstamp_mono_zero", v4, call(192, {"0", "1"})},
        {"set_tstamp_bad_type", v4, call(192, {"1", "3"})},
        {"set_tstamp_arp", arp_frame(), call(192, {"1", "0"})},
        {"xfrm_state", v4, "r1 = r6\nr2 = 0\nr3 = r10\nr3 += -16\nr4 = 16\nr5 = 0\ncall 66\n"},
        {"strtol_decimal", v4, parse(105, "  -1234xyz", 0)},
        {"strtol_hex_auto", v4, parse(105, "0x1f ", 0)},
        {"strtol_octal_auto", v4, parse(105, "017", 0)},
        {"strtol_hex_base16", v4, parse(105, "0xff", 16)},
        {"strtol_base16_no_prefix", v4, parse(105, "ff", 16)},
        {"strtol_zero_x_no_digits", v4, parse(105, "0x", 0)},
        {"strtol_bad_base", v4, parse(105, "12", 7)},
        {"strtol_bad_flags", v4, parse(105, "12", 0x20)},
        {"strtol_only_space", v4, parse(105, "   ", 0)},
        {"strtol_only_minus", v4, parse(105, "-", 0)},
        {"strtol_no_digits", v4, parse(105, "abc", 10)},
        {"strtol_overflow", v4, parse(105, "99999999999999999999", 10)},
        {"strtol_int64_min", v4, parse(105, "-9223372036854775808", 10)},
        {"strtol_above_int64_max", v4, parse(105, "9223372036854775808", 10)},
        {"strtoul_max", v4, parse(106, "18446744073709551615", 10)},
        {"strtoul_negative", v4, parse(106, "-5", 10)},
        {"strtoul_long_input", v4, parse(106, std::string(70, '1'), 0)},
        {"strtoul_leading_zeros", v4, parse(106, std::string(62, '0') + "77", 10)},
        {"tunnel_opt", v4, "r1 = r6\nr2 = r10\nr2 += -8\nr3 = 8\ncall 29\n"},
    };
    return list;
}

struct Outcome {
    uint32_t retval = 0;
    std::vector<uint8_t> data;
    std::string error;
};

Outcome run_kernel(const std::string& text, const std::vector<uint8_t>& frame) {
    Outcome out;
    const isa::Program prog = isa::assemble(render(text, Side::Kernel), "kernel");
    const auto raw = isa::encode(prog);
    kernel::LoadResult loaded = kernel::load_program(raw);
    if (!loaded.ok()) {
        out.error = "load: " + kernel::errno_text(loaded.error) + "\n" + loaded.log;
        return out;
    }
    kernel::TestRunInput input;
    input.data = frame;
    input.data_out_capacity = frame.size() + 16384;
    const kernel::TestRunResult result = kernel::test_run(loaded.fd, input);
    if (!result.ok()) {
        out.error = "test_run: " + kernel::errno_text(result.error);
        return out;
    }
    out.retval = result.retval;
    out.data = result.data_out;
    return out;
}

Outcome run_tcbpf(const std::string& text, const std::vector<uint8_t>& frame, bool checked) {
    HelperRun run(frame);
    Outcome out;
    out.retval = static_cast<uint32_t>(run.run(text, checked));
    out.data = run.bytes();
    return out;
}

std::string hex(const std::vector<uint8_t>& bytes) {
    std::string s;
    for (size_t i = 0; i < bytes.size() && i < 128; ++i) s += fmt::format("{:02x}{}", bytes[i], i % 16 == 15 ? "\n" : " ");
    if (bytes.size() > 128) s += fmt::format("... ({} bytes)", bytes.size());
    return s;
}

TEST(KernelDiff, PacketChangingHelpersMatchTheKernel) {
    const kernel::Availability& availability = kernel::probe();
    if (!availability.available) GTEST_SKIP() << "kernel bpf() unavailable: " << availability.reason;
    const std::vector<Scenario> all = scenarios();
    size_t compared = 0;
    for (const Scenario& s : all) {
        for (const char* observation : kObservations) {
            ++compared;
            const std::string text = program(s, observation);
            const Outcome kernel_outcome = run_kernel(text, s.frame);
            ASSERT_EQ(kernel_outcome.error, "") << s.name << "\n" << render(text, Side::Kernel);
            const Outcome ours = run_tcbpf(text, s.frame, /*checked=*/true);
            const Outcome unchecked = run_tcbpf(text, s.frame, /*checked=*/false);
            EXPECT_EQ(unchecked.retval, ours.retval) << s.name << " / " << observation << ": unchecked mode differs";
            EXPECT_EQ(unchecked.data, ours.data) << s.name << ": unchecked mode differs";
            EXPECT_EQ(ours.retval, kernel_outcome.retval)
                << s.name << " / " << observation << fmt::format(": tcbpf {:#x}, kernel {:#x}", ours.retval, kernel_outcome.retval);
            if (observation == kObservations[0]) {
                EXPECT_EQ(ours.data, kernel_outcome.data)
                    << s.name << "\ntcbpf:\n" << hex(ours.data) << "\nkernel:\n" << hex(kernel_outcome.data);
            }
        }
    }
    EXPECT_EQ(compared, all.size() * std::size(kObservations));
}

}  // namespace
}  // namespace tcbpf::helpers::test
