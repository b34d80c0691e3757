// Actions as tc parses them: control words (action_a2n), gact (m_gact.c), bpf (m_bpf.c), mirred
// (m_mirred.c), and the standalone `tc actions` command (m_action.c).
#include <fmt/format.h>

#include "tc/parse.h"

namespace tcbpf::tc::detail {

namespace {

struct ControlName {
    const char* name;
    int32_t value;
};
constexpr ControlName kControls[] = {{"continue", kActUnspec}, {"drop", kActShot},  {"shot", kActShot},
                                     {"pass", kActOk},         {"ok", kActOk},      {"reclassify", kActReclassify},
                                     {"pipe", kActPipe},       {"goto", kActGotoChain}, {"jump", kActJump},
                                     {"trap", kActTrap}};

uint32_t index_value(Words& w, const char* message) {
    const std::string& v = w.value("index");
    const auto index = parse_unsigned(v, 10, 0xFFFFFFFF);
    if (!index) fail(message);
    return static_cast<uint32_t>(*index);
}

ActionSpec parse_gact(Words& w) {
    ActionSpec a;
    a.kind = ActionKind::Gact;
    if (!w.done() && matches(w.peek(), "gact")) w.take();
    if (w.done()) fail("Command line is not complete. Try option \"help\"");
    const auto control = parse_control(w);
    if (!control) fail(fmt::format("Bad action type {}", w.peek()));
    a.control = *control;
    if (!w.done() && matches(w.peek(), "random")) {
        w.take();
        const std::string& type = w.value("random");
        if (matches(type, "netrand")) a.random_type = 1;
        else if (matches(type, "determ")) a.random_type = 2;
        else fail(fmt::format("Illegal \"random type\" ({})", type));
        if (w.done()) fail("Command line is not complete. Try option \"help\"");
        const auto second = parse_control(w);
        if (!second) fail(fmt::format("Bad action type {}", w.peek()));
        if (act_opcode(*second) == kActGotoChain) fail("Error: goto chain is not allowed as the random action");
        a.random_control = *second;
        const std::string& val = w.value("random");
        const auto v = parse_unsigned(val, 10, 0xFFFF);
        if (!v || *v > 10000) fail(fmt::format("Illegal probability val 0x{:x}", v.value_or(0)));
        a.random_value = static_cast<uint16_t>(*v);
    }
    if (!w.done() && matches(w.peek(), "index")) {
        w.take();
        a.index = index_value(w, "Illegal \"index\"");
    }
    return a;
}

ActionSpec parse_bpf_action(Words& w) {
    ActionSpec a;
    a.kind = ActionKind::Bpf;
    a.control = kActPipe;
    bool seen_run = false;
    while (!w.done()) {
        if (matches(w.peek(), "run")) {
            w.take();
            if (seen_run) duparg("run", w.done() ? "" : w.peek());
        } else if (matches(w.peek(), "index") || seen_run) {
            break;
        }
        if (w.done()) fail("Command line is not complete. Try option \"help\"");
        a.program = parse_program_source(w);
        seen_run = true;
    }
    if (!seen_run) fail("bpf: missing program (bytecode, bytecode-file or object-file)");
    if (!w.done())
        if (const auto control = parse_control(w)) a.control = *control;
    if (!w.done() && matches(w.peek(), "index")) {
        w.take();
        a.index = index_value(w, "bpf: Illegal \"index\"");
    }
    return a;
}

ActionSpec parse_mirred(Words& w) {
    ActionSpec a;
    a.kind = ActionKind::Mirred;
    bool egress = false, ingress = false, mirror = false, redirect = false, index_given = false;
    while (!w.done()) {
        const std::string& word = w.peek();
        if (!egress && !ingress && matches(word, "egress")) {
            egress = true;
        } else if (!egress && !ingress && matches(word, "ingress")) {
            ingress = true;
        } else if (matches(word, "index") && !index_given) {
            w.take();
            a.index = index_value(w, "Illegal \"index\"");
            index_given = true;
            continue;
        } else if (!egress && !ingress) {
            fail(fmt::format("was expecting egress or ingress ({})", word));
        } else if (!mirror && !redirect && matches(word, "mirror")) {
            mirror = true;
            a.mirred = egress ? MirredKind::EgressMirror : MirredKind::IngressMirror;
            a.control = kActPipe;
        } else if (!mirror && !redirect && matches(word, "redirect")) {
            redirect = true;
            a.mirred = egress ? MirredKind::EgressRedirect : MirredKind::IngressRedirect;
            a.control = kActStolen;
        } else if ((mirror || redirect) && matches(word, "dev")) {
            w.take();
            a.mirred_dev = w.value("dev");
            break;
        } else {
            fail(fmt::format("mirred: What is \"{}\"?", word));
        }
        w.take();
    }
    if (a.mirred_dev.empty()) fail("mirred: must specify \"dev\" with mirror or redirect");
    if (mirror && !w.done())
        if (const auto control = parse_control(w)) a.control = *control;
    if (!w.done() && matches(w.peek(), "index")) {
        if (index_given) fail("mirred: Illegal double index");
        w.take();
        a.index = index_value(w, "Illegal \"index\"");
    }
    return a;
}

}  // namespace

std::optional<int32_t> parse_control(Words& w) {
    const std::string& word = w.peek();
    for (const ControlName& c : kControls) {
        if (!matches(word, c.name)) continue;
        w.take();
        if (c.value == kActGotoChain) {
            if (w.done() || !matches(w.peek(), "chain")) fail("\"chain index\" expected");
            w.take();
            const auto chain = parse_unsigned(w.value("chain"), 10, kActExtValMask);
            if (!chain) fail("Illegal \"chain index\"");
            return kActGotoChain | static_cast<int32_t>(*chain);
        }
        if (c.value == kActJump) {
            const auto n = parse_unsigned(w.value("jump"), 10, kActExtValMask);
            if (!n) fail("Illegal \"jump\" count");
            return kActJump | static_cast<int32_t>(*n);
        }
        return c.value;
    }
    return std::nullopt;
}

ActionSpec parse_action(Words& w) {
    if (w.done()) fail("Command line is not complete. Try option \"help\"");
    const std::string& kind = w.peek();
    if (kind == "bpf") {
        w.take();
        return parse_bpf_action(w);
    }
    if (kind == "mirred") {
        w.take();
        return parse_mirred(w);
    }
    // Every other word goes to gact, as tc falls back to it for unknown kinds (`action drop`).
    return parse_gact(w);
}

ActionCommandSpec parse_actions_command(Words& w, Verb verb) {
    ActionCommandSpec spec;
    spec.verb = verb;
    while (!w.done()) {
        const std::string& word = w.take();
        if (word != "action") fail(fmt::format("bad action parsing: \"{}\" (expected \"action\")", word));
        if (verb == Verb::Show || verb == Verb::Delete) {
            const std::string& kind = w.value("action");
            ActionKind k = kind == "bpf" ? ActionKind::Bpf : kind == "mirred" ? ActionKind::Mirred : ActionKind::Gact;
            if (kind != "bpf" && kind != "mirred" && kind != "gact") fail(fmt::format("Error: Cannot find action \"{}\"", kind));
            if (verb == Verb::Show) {
                spec.list_kind = k;
                continue;
            }
            ActionSpec a;
            a.kind = k;
            if (w.done() || !matches(w.peek(), "index")) fail("Error: an action index is required to delete an action");
            w.take();
            a.index = index_value(w, "Illegal \"index\"");
            spec.actions.push_back(a);
            continue;
        }
        spec.actions.push_back(parse_action(w));
    }
    if (verb != Verb::Show && spec.actions.empty()) fail("bad action parsing: no action given");
    return spec;
}

}  // namespace tcbpf::tc::detail
