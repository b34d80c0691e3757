// `tc filter ...` (tc_filter.c) and the bpf classifier's options (f_bpf.c), with tc's keyword rules:
// dev, root, ingress, egress, parent and handle exact; pref/priority, protocol and chain by prefix.
#include <fmt/format.h>

#include "tc/parse.h"

namespace tcbpf::tc::detail {

namespace {

void set_parent(FilterSpec& f, bool& parent_set, uint32_t value, std::string_view word) {
    if (parent_set) fail(fmt::format("Error: \"{}\" is duplicate parent ID", word));
    parent_set = true;
    f.parent = value;
}

void parse_bpf_options(Words& w, FilterSpec& f) {
    bool seen_run = false;
    while (!w.done()) {
        const std::string& word = w.peek();
        if (matches(word, "run")) {
            w.take();
            if (seen_run) duparg("run", w.done() ? "" : w.peek());
            if (w.done()) fail("Command line is not complete. Try option \"help\"");
            f.program = parse_program_source(w);
            seen_run = true;
        } else if (matches(word, "classid") || matches(word, "flowid")) {
            w.take();
            const std::string& v = w.value(word);
            try {
                f.classid = parse_classid(v);
            } catch (const Error&) {
                fail("Illegal \"classid\"");
            }
        } else if (matches(word, "direct-action") || word == "da") {
            w.take();
            f.direct_action = true;
        } else if (matches(word, "skip_hw")) {
            w.take();
            f.skip_hw = true;
        } else if (matches(word, "skip_sw")) {
            w.take();
            f.skip_sw = true;
        } else if (matches(word, "action")) {
            w.take();
            f.actions.push_back(parse_action(w));
            while (!w.done() && w.peek() == "action") {
                w.take();
                f.actions.push_back(parse_action(w));
            }
            if (f.actions.size() > 32) fail("(33) Max allowed Actions per filter exceeded");
        } else if (matches(word, "police")) {
            fail("tcbpf: \"police\" is not supported");
        } else if (!seen_run) {
            f.program = parse_program_source(w);
            seen_run = true;
        } else {
            fail(fmt::format("What is \"{}\"?", word));
        }
    }
    if (!seen_run) fail("bpf: missing program (bytecode, bytecode-file or object-file)");
    if (f.skip_hw && f.skip_sw) fail("Error: skip_hw and skip_sw are mutually exclusive.\nWe have an error talking to the kernel");
}

}  // namespace

FilterSpec parse_filter(Words& w, Verb verb) {
    FilterSpec f;
    f.verb = verb;
    bool parent_set = false, pref_set = false, chain_set = false;
    std::optional<std::string> handle;
    while (!w.done()) {
        const std::string& word = w.take();
        if (word == "dev") {
            if (!f.dev.empty()) duparg("dev", w.done() ? "" : w.peek());
            f.dev = w.value(word);
        } else if (word == "root") {
            set_parent(f, parent_set, kHandleRoot, word);
        } else if (word == "ingress") {
            set_parent(f, parent_set, make_handle(kClsactHandle, kMinIngress), word);
        } else if (word == "egress") {
            set_parent(f, parent_set, make_handle(kClsactHandle, kMinEgress), word);
        } else if (word == "parent") {
            const std::string& v = w.value(word);
            if (parent_set) duparg("parent", v);
            uint32_t id = 0;
            try {
                id = parse_classid(v);
            } catch (const Error&) {
                invarg("Invalid parent ID", v);
            }
            set_parent(f, parent_set, id, word);
        } else if (word == "handle") {
            const std::string& v = w.value(word);
            if (handle) duparg("handle", v);
            handle = v;
        } else if (matches(word, "preference") || matches(word, "priority")) {
            const std::string& v = w.value(word);
            if (pref_set) duparg("priority", v);
            const auto pref = parse_unsigned(v, 0, 0xFFFF);
            if (!pref) invarg("invalid priority value", v);
            f.pref = static_cast<uint32_t>(*pref);
            pref_set = true;
        } else if (matches(word, "protocol")) {
            const std::string& v = w.value(word);
            if (f.protocol_given) duparg("protocol", v);
            const auto proto = parse_protocol(v);
            if (!proto) invarg("invalid protocol", v);
            f.protocol = *proto;
            f.protocol_given = true;
        } else if (matches(word, "chain")) {
            const std::string& v = w.value(word);
            if (chain_set) duparg("chain", v);
            const auto chain = parse_unsigned(v, 0, 0xFFFFFFFF);
            if (!chain) invarg("invalid chain index value", v);
            f.chain = static_cast<uint32_t>(*chain);
            chain_set = true;
        } else if (matches(word, "estimator")) {
            fail("tcbpf: rate estimators are not supported");
        } else {
            f.kind = word;
            break;
        }
    }
    if (handle) {
        const auto h = parse_unsigned(*handle, 0, 0xFFFFFFFF);
        if (!h) fail("Illegal \"handle\"");
        f.handle = static_cast<uint32_t>(*h);
    }
    if (verb == Verb::Show || verb == Verb::Get || verb == Verb::Delete) {
        if (!f.kind.empty() && f.kind != "bpf") fail(fmt::format("Unknown filter \"{}\", hence option \"{}\" is unparsable", f.kind, w.done() ? "" : w.peek()));
        if (verb != Verb::Show && f.dev.empty()) fail("Must specify dev or block");
        return f;
    }
    if (f.dev.empty()) fail("Must specify dev or block");
    if (f.kind.empty()) fail("Error: Filter kind and protocol must be specified.\nWe have an error talking to the kernel");
    if (f.kind != "bpf") {
        if (!w.done()) fail(fmt::format("Unknown filter \"{}\", hence option \"{}\" is unparsable", f.kind, w.peek()));
        fail(fmt::format("Error: TC classifier not found.\nWe have an error talking to the kernel ({} is not supported)", f.kind));
    }
    if (!parent_set) f.parent = kHandleRoot;  // parent 0: the kernel takes the root qdisc
    parse_bpf_options(w, f);
    return f;
}

}  // namespace tcbpf::tc::detail
