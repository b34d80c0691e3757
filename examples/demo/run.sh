#!/usr/bin/env bash
# The tc scenario of `make demo`: generated traffic through an ingress policy classifier and an egress
# htb, then a policy change pushed into the pinned policy map by a separate `tcbpf map` command, and
# the same traffic again with the same classifier and setup — only the map changed, and the htb
# classes' counters move. (Each `tcbpf run` is its own process; a long-running pipeline comes with the
# daemon of the next issue.)
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tcbpf="$build/tcbpf"
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
export TCBPF_BPFFS="$work/bpffs"   # where the pinned maps live (tc/globals/demo_policy, demo_flows)
globals="$TCBPF_BPFFS/tc/globals"

cp "$here/setup.batch" "$build/examples/demo_policy.o" "$work/"
cd "$work"
"$build/examples/trafficgen/tcbpf-trafficgen" --seed 7 --count 4000 -o traffic.pcap
echo "== 4000 generated frames (seed 7): Ethernet/VLAN, IPv4/IPv6, TCP/UDP/ICMP, fragments, junk"

ingress_drops() {  # wan's clsact qdisc: every frame the classifier saw, and its TC_ACT_SHOT verdicts
    grep -A1 '^qdisc clsact' "$1" | tail -n 1 | sed -E 's/^ *Sent ([0-9]+) bytes ([0-9]+) pkt \(dropped ([0-9]+).*/   wan ingress: \2 packets classified, \3 dropped by policy/'
}

classes() {  # the htb classes' counters from `tcbpf run -s`
    grep -A1 -E '^class htb 1:(10|20|30) ' "$1" | grep -E '^class|Sent' | paste - - |
        sed -E 's/^class htb (1:[0-9]+).*Sent ([0-9]+) bytes ([0-9]+) pkt \(dropped ([0-9]+), overlimits ([0-9]+).*/   \1  sent \3 packets (\2 bytes)  dropped \4  overlimits \5/'
}

echo
echo "== run 1: no policy yet, so every flow lands in the default class 1:30"
"$tcbpf" run -s -batch setup.batch >run1.txt
classes run1.txt
ingress_drops run1.txt

echo
echo "== the busiest flows, from the pinned per-CPU counter map (tcbpf map -j dump, CPUs summed)"
"$tcbpf" map -j dump pinned "$globals/demo_flows" >flows.json
python3 - flows.json >policy.batch <<'PY'
import json, sys
flows = json.load(open(sys.argv[1]))
def total(entry, field):  # counters: packets (bytes 0-7), bytes (8-15), little-endian, per CPU
    return sum(int.from_bytes(bytes(int(b, 16) for b in v["value"][field * 8:field * 8 + 8]), "little")
               for v in entry["values"])
def describe(key):
    k = [int(b, 16) for b in key]
    fam, proto = k[37], k[36]
    addr = (lambda a: ".".join(map(str, a[12:16]))) if fam == 4 else (lambda a: ":".join("%02x%02x" % (a[i], a[i + 1]) for i in range(0, 16, 2)))
    return "%s:%d -> %s:%d proto %d" % (addr(k[0:16]), k[32] << 8 | k[33], addr(k[16:32]), k[34] << 8 | k[35], proto)
flows.sort(key=lambda e: (-total(e, 0), e["key"]))  # ties broken by key: the hash seed orders the dump
# The 40 busiest flows become interactive (1:10), the next 40 bulk (1:20), and the next one is dropped.
plan = [(1, 0, "interactive 1:10")] * 40 + [(2, 0, "bulk 1:20")] * 40 + [(0, 2, "dropped")]
for i, ((prio, verdict, what), e) in enumerate(zip(plan, flows)):
    if i < 3 or i in (40, 41, 80):
        print("   %-52s %3d packets -> %s" % (describe(e["key"]), total(e, 0), what), file=sys.stderr)
    elif i in (3, 42):
        print("   ...", file=sys.stderr)
    value = list(verdict.to_bytes(4, "little")) + list(prio.to_bytes(4, "little"))
    print("update pinned %s key hex %s value %s" % ("$POLICY", " ".join(b[2:] for b in e["key"]), " ".join(map(str, value))))
PY
sed -i "s|\$POLICY|$globals/demo_policy|" policy.batch

echo
echo "== policy change, pushed into the pinned map by separate processes (classifier and setup unchanged):"
echo "   tcbpf map -batch policy.batch      (80 updates, one process, all or nothing)"
head -n 80 policy.batch >classes.batch
"$tcbpf" map -batch classes.batch | sed 's/^/   /'
echo "   tcbpf map update pinned $globals/demo_policy key hex ... value 2 0 0 0 0 0 0 0"
echo "                                         (verdict TC_ACT_SHOT for the 81st flow)"
"$tcbpf" map $(tail -n 1 policy.batch)
"$tcbpf" map dump pinned "$globals/demo_policy" | tail -n 1 | sed 's/^/   policy map: /'


echo
echo "== run 2: the same traffic, the same setup; the classes' counters move"
"$tcbpf" run -s -batch setup.batch >run2.txt
classes run2.txt
ingress_drops run2.txt
