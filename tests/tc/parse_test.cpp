// tc's syntax (tc-cli.md, classful-qdiscs.md): prefix and exact keywords, the bpf MODE_SPEC, actions
// and their controls, qdisc and class options, and tc's messages for what it rejects.
#include <gtest/gtest.h>

#include "tcbpf/tc_spec.h"

namespace tcbpf::tc {
namespace {

Command parse(const std::string& line) { return parse_command(split_batch_line(line)); }

std::string error_of(const std::string& line) {
    try {
        parse(line);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(ParseFilter, GenericWordsAndTheBpfOptions) {
    const auto f = std::get<FilterSpec>(parse(
        "filter add dev eth0 ingress pref 10 handle 0x2 protocol ip chain 3 bpf da bc '1,6 0 0 0,' classid 1:10 skip_hw"));
    EXPECT_EQ(f.verb, Verb::Add);
    EXPECT_EQ(f.dev, "eth0");
    EXPECT_EQ(f.parent, 0xFFFFFFF2u);
    EXPECT_EQ(f.pref, 10u);
    EXPECT_EQ(f.handle, 2u);
    EXPECT_EQ(f.protocol, 0x0800);
    EXPECT_EQ(f.chain, 3u);
    EXPECT_TRUE(f.direct_action);
    EXPECT_TRUE(f.skip_hw);
    EXPECT_EQ(f.classid, 0x10010u);
    EXPECT_EQ(f.program.kind, ProgramSource::Kind::Bytecode);
    ASSERT_EQ(f.program.bytecode.size(), 1u);
}

TEST(ParseFilter, PrefixesMatchAsMatchesDoes) {
    // `pr` is a prefix of `preference`, tried before `protocol`; `prot` reaches protocol.
    const auto f = std::get<FilterSpec>(parse("f a dev eth0 egress pr 7 prot ipv6 bpf obj x.o sec foo"));
    EXPECT_EQ(f.pref, 7u);
    EXPECT_EQ(f.protocol, 0x86DD);
    EXPECT_EQ(f.parent, 0xFFFFFFF3u);
    EXPECT_EQ(f.program.object, "x.o");
    EXPECT_EQ(f.program.section, "foo");
    EXPECT_EQ(f.program.annotation(), "x.o:[foo]");
    // `run` and the object keyword by prefix; `da` spelled out.
    const auto g = std::get<FilterSpec>(parse("filter add dev eth0 parent ffff: bpf run object-file /p/y.o direct-action"));
    EXPECT_EQ(g.program.object, "/p/y.o");
    EXPECT_TRUE(g.direct_action);
    EXPECT_EQ(g.parent, 0xFFFF0000u);
}

TEST(ParseFilter, ProtocolDefaultsToAll) {
    EXPECT_EQ(std::get<FilterSpec>(parse("filter add dev eth0 ingress bpf bc '1,6 0 0 0,'")).protocol, kEthPAll);
}

TEST(ParseFilter, ActionsFollowEachOther) {
    const auto f = std::get<FilterSpec>(parse(
        "filter add dev eth0 ingress bpf bc '1,6 0 0 0,' action gact pipe action bpf obj a.o sec s drop index 4 "
        "action mirred egress redirect dev eth1 action goto chain 2 action jump 1"));
    ASSERT_EQ(f.actions.size(), 5u);
    EXPECT_EQ(f.actions[0].kind, ActionKind::Gact);
    EXPECT_EQ(f.actions[0].control, kActPipe);
    EXPECT_EQ(f.actions[1].kind, ActionKind::Bpf);
    EXPECT_EQ(f.actions[1].control, kActShot);
    EXPECT_EQ(f.actions[1].index, 4u);
    EXPECT_EQ(f.actions[1].program.section, "s");
    EXPECT_EQ(f.actions[2].kind, ActionKind::Mirred);
    EXPECT_EQ(f.actions[2].mirred, MirredKind::EgressRedirect);
    EXPECT_EQ(f.actions[2].control, kActStolen);
    EXPECT_EQ(f.actions[2].mirred_dev, "eth1");
    EXPECT_EQ(f.actions[3].control, kActGotoChain | 2);
    EXPECT_EQ(f.actions[4].control, kActJump | 1);
}

TEST(ParseFilter, ActBpfDefaultsToPipeAndMirrorToPipe) {
    const auto f = std::get<FilterSpec>(parse(
        "filter add dev eth0 ingress bpf bc '1,6 0 0 0,' action bpf bc '1,6 0 0 0,' action mirred ingress mirror dev eth1"));
    EXPECT_EQ(f.actions[0].control, kActPipe);
    EXPECT_EQ(f.actions[1].mirred, MirredKind::IngressMirror);
    EXPECT_EQ(f.actions[1].control, kActPipe);
}

TEST(ParseFilter, GactRandom) {
    const auto f = std::get<FilterSpec>(parse("filter add dev e ingress bpf bc '1,6 0 0 0,' action drop random determ ok 2"));
    EXPECT_EQ(f.actions[0].control, kActShot);
    EXPECT_EQ(f.actions[0].random_type, 2);
    EXPECT_EQ(f.actions[0].random_control, kActOk);
    EXPECT_EQ(f.actions[0].random_value, 2);
}

TEST(ParseFilter, TcsMessagesForWhatItRejects) {
    EXPECT_EQ(error_of("filter add dev eth0 ingress pref 70000 bpf bc '1,6 0 0 0,'"),
              "Error: argument \"70000\" is wrong: invalid priority value");
    EXPECT_EQ(error_of("filter add dev eth0 ingress protocol bogus bpf bc '1,6 0 0 0,'"),
              "Error: argument \"bogus\" is wrong: invalid protocol");
    EXPECT_EQ(error_of("filter add dev eth0 ingress chain x bpf bc '1,6 0 0 0,'"),
              "Error: argument \"x\" is wrong: invalid chain index value");
    EXPECT_EQ(error_of("filter add dev eth0 dev eth1 ingress bpf bc '1,6 0 0 0,'"),
              "Error: duplicate \"dev\": \"eth1\" is the second value.");
    EXPECT_EQ(error_of("filter add dev eth0 ingress egress bpf bc '1,6 0 0 0,'"),
              "Error: \"egress\" is duplicate parent ID");
    EXPECT_EQ(error_of("filter add dev eth0 parent 1:2:3 bpf bc '1,6 0 0 0,'"),
              "Error: argument \"1:2:3\" is wrong: Invalid parent ID");
    EXPECT_EQ(error_of("filter add dev eth0 ingress handle zz bpf bc '1,6 0 0 0,'"), "Illegal \"handle\"");
    EXPECT_EQ(error_of("filter add dev eth0 ingress bpf bc '1,6 0 0 0,' classid 1:2:3"), "Illegal \"classid\"");
    EXPECT_EQ(error_of("filter add dev eth0 ingress bpf bc '1,6 0 0 0,' frobnicate"), "What is \"frobnicate\"?");
    EXPECT_EQ(error_of("filter add dev eth0 ingress bpf frobnicate x"), "What mode is \"frobnicate\"?");
    EXPECT_EQ(error_of("filter add dev eth0 ingress bpf run bc '1,6 0 0 0,' run bc '1,6 0 0 0,'"),
              "Error: duplicate \"run\": \"bc\" is the second value.");
    EXPECT_EQ(error_of("filter add dev eth0 ingress bpf obj"),
              "Command line is not complete. Try option \"help\" (after \"obj\")");
    EXPECT_EQ(error_of("filter add dev eth0 ingress u32 match ip"),
              "Unknown filter \"u32\", hence option \"match\" is unparsable");
    EXPECT_EQ(error_of("filter add dev eth0 ingress bpf bc '1,6 0 0 0,' action frob"), "Bad action type frob");
    EXPECT_EQ(error_of("filter add dev eth0 ingress bpf bc '1,6 0 0 0,' action goto 3"), "\"chain index\" expected");
    EXPECT_EQ(error_of("filter add dev eth0 ingress bpf bc '1,6 0 0 0,' action mirred sideways"),
              "was expecting egress or ingress (sideways)");
    EXPECT_EQ(error_of("filter add dev eth0 ingress bpf skip_hw skip_sw bc '1,6 0 0 0,'"),
              "Error: skip_hw and skip_sw are mutually exclusive.\nWe have an error talking to the kernel");
    EXPECT_EQ(error_of("filter frob dev eth0"), "Command \"frob\" is unknown, try \"tc filter help\".");
    EXPECT_EQ(error_of("bogus add"), "Object \"bogus\" is unknown, try \"tc help\".");
    EXPECT_NE(error_of("filter add dev eth0 ingress bpf bc '2,6 0 0 0,'"), "(no error)");  // cbpf's own message
}

TEST(ParseQdisc, KindsAndOptions) {
    const auto c = std::get<QdiscSpec>(parse("qdisc add dev eth0 clsact"));
    EXPECT_EQ(c.kind, "clsact");
    EXPECT_EQ(c.parent, kHandleIngress);
    const auto p = std::get<QdiscSpec>(parse("qdisc replace dev eth0 root handle 1: prio bands 4 priomap 3 3 0"));
    EXPECT_EQ(p.verb, Verb::Replace);
    EXPECT_EQ(p.handle, 0x10000u);
    EXPECT_EQ(p.prio.bands, 4u);
    EXPECT_EQ(p.prio.priomap[0], 3);
    EXPECT_EQ(p.prio.priomap[2], 0);
    EXPECT_EQ(p.prio.priomap[3], 2);  // entries not given keep the default
    const auto h = std::get<QdiscSpec>(parse("qdisc add dev eth0 root handle 1: htb default 10 r2q 5"));
    EXPECT_EQ(h.htb.default_minor, 0x10u);  // hex
    EXPECT_EQ(h.htb.r2q, 5u);
    const auto f = std::get<QdiscSpec>(parse("qdisc add dev eth0 parent 1:1 handle 10: pfifo limit 20"));
    EXPECT_EQ(f.parent, 0x10001u);
    EXPECT_EQ(f.fifo.limit, 20u);
}

TEST(ParseQdisc, TcsMessages) {
    EXPECT_EQ(error_of("qdisc add dev eth0 clsact foo"), "What is \"foo\"?");
    EXPECT_EQ(error_of("qdisc add dev eth0 ingress foo"), "What is \"foo\"?");
    EXPECT_EQ(error_of("qdisc add dev eth0 root prio priomap 1 2 3"), "\"priomap\" element is out of bands");
    EXPECT_EQ(error_of("qdisc add dev eth0 root prio bands x"), "Illegal \"bands\"");
    EXPECT_EQ(error_of("qdisc add dev eth0 root prio bands 1"), "RTNETLINK answers: Invalid argument");
    EXPECT_EQ(error_of("qdisc add dev eth0 root handle 10000: prio"), "Error: argument \"10000:\" is wrong: invalid qdisc ID");
    EXPECT_EQ(error_of("qdisc add dev eth0 root sfq perturb 10"), "Unknown qdisc \"sfq\", hence option \"perturb\" is unparsable");
    EXPECT_EQ(error_of("qdisc add dev eth0 root pfifo limit x"), "pfifo: Illegal value for \"limit\": \"x\"");
    EXPECT_EQ(error_of("qdisc add dev eth0 root htb frob"), "What is \"frob\"?");
}

TEST(ParseClass, HtbOptions) {
    const auto c = std::get<ClassSpec>(parse(
        "class add dev eth0 parent 1:1 classid 1:10 htb rate 1mbit ceil 2mbit burst 15k cburst 3000 prio 2 quantum 1500"));
    EXPECT_EQ(c.parent, 0x10001u);
    EXPECT_EQ(c.classid, 0x10010u);
    EXPECT_EQ(c.htb.rate, 125000u);
    EXPECT_EQ(c.htb.ceil, 250000u);
    EXPECT_EQ(c.htb.burst, 15360u);
    EXPECT_EQ(c.htb.cburst, 3000u);
    EXPECT_EQ(c.htb.prio, 2u);
    EXPECT_EQ(c.htb.quantum, 1500u);
    EXPECT_EQ(error_of("class add dev eth0 parent 1: classid 1:1 htb ceil 1mbit"), "\"rate\" is required.");
    EXPECT_EQ(error_of("class add dev eth0 parent 1: classid 1:1 htb rate fast"), "Illegal \"rate\"");
    EXPECT_EQ(error_of("class add dev eth0 parent 1: handle 1:1 htb rate 1mbit"), "Error: try \"classid\" instead of \"handle\"");
    EXPECT_EQ(error_of("class add dev eth0 parent 1: classid 1:1 htb rate 1mbit ceil 1mbit ceil 2mbit"), "Double \"ceil\" spec");
}

TEST(ParsePort, AddAndPeer) {
    const auto p = std::get<PortSpec>(parse("port add eth0 type pcap in a.pcap out b.pcap host c.pcap ifindex 7 vlan-offload off"));
    EXPECT_EQ(p.name, "eth0");
    EXPECT_EQ(p.in, "a.pcap");
    EXPECT_EQ(p.out, "b.pcap");
    EXPECT_EQ(p.host, "c.pcap");
    EXPECT_EQ(p.ifindex, 7u);
    EXPECT_FALSE(p.vlan_offload);
    const auto peer = std::get<PeerSpec>(parse("port peer eth0 eth1"));
    EXPECT_EQ(peer.a, "eth0");
    EXPECT_EQ(peer.b, "eth1");
    EXPECT_EQ(error_of("port add eth0 type veth"), "port add eth0: unknown port type \"veth\" (pcap, afpacket, afxdp or tap)");
    EXPECT_EQ(error_of("port add eth0 type pcap ifindex 1"), "port add eth0: ifindex must be a number from 2 up (1 is loopback)");
}

TEST(ParsePort, LivePortsNameTheirDeviceAndWorkers) {
    const auto a = std::get<PortSpec>(parse("port add wan dev veth0 type afpacket workers 2"));
    EXPECT_EQ(a.type, PortType::AfPacket);
    EXPECT_EQ(a.dev, "veth0");
    EXPECT_EQ(a.workers, 2u);
    const auto t = std::get<PortSpec>(parse("port add lan type tap dev tcb0"));
    EXPECT_EQ(t.type, PortType::Tap);
    EXPECT_EQ(t.dev, "tcb0");
    EXPECT_EQ(t.workers, 1u);
    const auto x = std::get<PortSpec>(parse("port add wan dev veth0 type afxdp workers 2"));
    EXPECT_EQ(x.type, PortType::AfXdp);
    EXPECT_EQ(x.dev, "veth0");
    EXPECT_EQ(x.workers, 2u);
    EXPECT_EQ(error_of("port add wan type afxdp"), "port add wan: type afxdp needs \"dev IFACE\"");
    EXPECT_EQ(error_of("port add wan type afpacket"), "port add wan: type afpacket needs \"dev IFACE\"");
    EXPECT_EQ(error_of("port add wan dev veth0"), "port add wan: expected \"type pcap|afpacket|afxdp|tap\"");
    EXPECT_EQ(error_of("port add wan dev veth0 type afpacket workers 0"), "port add wan: workers must be a number from 1 to 1024");
    EXPECT_EQ(error_of("port add wan dev veth0 type afpacket in x.pcap"),
              "port add wan: in/out/host/ifindex are for pcap ports (afpacket ports take traffic and ifindex from their device)");
    EXPECT_EQ(error_of("port add wan type pcap workers 2"), "port add wan: dev and workers are for live ports (type afpacket, afxdp or tap)");
}

TEST(Batch, LinesSplitAsMakeargs) {
    EXPECT_EQ(split_batch_line("filter add dev eth0 ingress bpf bc '1,6 0 0 0,' # comment"),
              (std::vector<std::string>{"filter", "add", "dev", "eth0", "ingress", "bpf", "bc", "1,6 0 0 0,"}));
    EXPECT_EQ(split_batch_line("  # only a comment"), std::vector<std::string>{});
    EXPECT_EQ(split_batch_line("a \"b c\" d\\ e"), (std::vector<std::string>{"a", "b c", "d e"}));
    EXPECT_THROW(split_batch_line("a 'b"), Error);
}

}  // namespace
}  // namespace tcbpf::tc
