// `tcbpf prog run|show|dump`: BPF objects as users write them, bpftool-style, with tc's way of naming a
// program (`sec NAME`, `type classifier|action`).
//
// `prog run` is BPF_PROG_TEST_RUN over a capture: each frame becomes an skb under the kernel's rules,
// the program — verified when it loaded, then JIT-compiled unless `--engine interp` — runs on it, and
// one line per frame reports what the kernel's test run would report. Maps live for the whole capture,
// so counters accumulate across frames exactly as they would across test runs of one loaded program.
// Frames that test_run refuses are reported and counted as errors; the exit status stays 0 (the run
// itself worked), as with a batch of BPF_PROG_TEST_RUN calls.
//
// Output helpers are shown as a consumer would see them: every perf event array gets a buffer per CPU
// slot (as perf would open them), ring buffers and those buffers are drained after each frame, and each
// record becomes a line `ringbuf MAP frame=I LEN HEX` / `perf MAP cpu=N frame=I LEN HEX` printed after the
// frame lines (perf samples as perf delivers raw samples: zero-padded to 8n-4 bytes). bpf_trace_printk
// lines go to stderr as they happen (the runtime's default trace sink), as trace_pipe shows them.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/prog_jited.h"
#include "cli/prog_source.h"
#include "tcbpf/asm.h"
#include "tcbpf/error.h"
#include "tcbpf/loader.h"
#include "tcbpf/net.h"
#include "tcbpf/pcap.h"
#include "tcbpf/runtime.h"

namespace tcbpf::cli {
namespace {

struct ProgArgs {
    std::vector<std::string> words;  // OBJ [sec NAME] [type T]
    std::string pcap_in, pcap_out, map_init;
    std::string net;  // --net: the host model bpf_fib_lookup/check_mtu consult
    uint32_t repeat = 0;
    bool dump_maps = false, json = false;
    std::string engine = "jit";
};

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20)
                    out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
                else
                    out += c;
        }
    }
    return out + "\"";
}

std::string frame_error(const runtime::RunResult& r) {
    if (r.refused()) return r.refusal;
    return fmt::format("fault: {}", r.fault_detail.empty() ? vm::fault_name(r.fault) : r.fault_detail);
}

struct EventRecord {
    std::string kind, map;  // "ringbuf" or "perf"
    size_t frame = 0;
    std::optional<uint32_t> cpu;
    std::vector<uint8_t> bytes;
};

constexpr uint32_t kPerfBufferBytes = 1u << 20;

// Opens a buffer for each perf event array slot that names a CPU, so bpf_perf_event_output succeeds.
void open_perf_buffers(const runtime::LoadedObject& object) {
    for (const auto& map : object.maps()) {
        maps::PerfEventArray* perf = map->as_perf_event_array();
        if (perf == nullptr) continue;
        const uint32_t slots = std::min(map->spec().max_entries, map->ncpus());
        for (uint32_t cpu = 0; cpu < slots; ++cpu)
            if (perf->open_buffer(cpu, cpu, kPerfBufferBytes) != 0)
                throw Error(fmt::format("map {}: cannot open a perf buffer for cpu {}", map->spec().name, cpu));
    }
}

void drain_events(const runtime::LoadedObject& object, size_t frame, std::vector<EventRecord>& out) {
    for (const auto& map : object.maps()) {
        if (maps::RingBuffer* ring = map->as_ringbuf()) {
            ring->consume([&](std::span<const uint8_t> sample) {
                out.push_back({"ringbuf", map->spec().name, frame, std::nullopt, {sample.begin(), sample.end()}});
                return 0;
            });
        } else if (maps::PerfEventArray* perf = map->as_perf_event_array()) {
            const uint32_t slots = std::min(map->spec().max_entries, map->ncpus());
            for (uint32_t cpu = 0; cpu < slots; ++cpu)
                perf->consume(cpu, [&](std::span<const uint8_t> sample) {
                    out.push_back({"perf", map->spec().name, frame, cpu, {sample.begin(), sample.end()}});
                });
        }
    }
}

std::string format_event(const EventRecord& e) {
    return fmt::format("{} {}{} frame={} {} {}", e.kind, e.map, e.cpu ? fmt::format(" cpu={}", *e.cpu) : "", e.frame,
                       e.bytes.size(), runtime::to_hex(e.bytes));
}

std::string json_event(const EventRecord& e) {
    return fmt::format("    {{\"kind\": \"{}\", \"map\": {}, {}\"frame\": {}, \"len\": {}, \"data\": \"{}\"}}", e.kind,
                       json_string(e.map), e.cpu ? fmt::format("\"cpu\": {}, ", *e.cpu) : "", e.frame, e.bytes.size(),
                       runtime::to_hex(e.bytes));
}

// Samples a full perf buffer dropped, one line per slot that lost any.
std::vector<std::string> perf_losses(const runtime::LoadedObject& object) {
    std::vector<std::string> out;
    for (const auto& map : object.maps())
        if (maps::PerfEventArray* perf = map->as_perf_event_array()) {
            const uint32_t slots = std::min(map->spec().max_entries, map->ncpus());
            for (uint32_t cpu = 0; cpu < slots; ++cpu)
                if (const uint64_t lost = perf->lost(cpu); lost != 0)
                    out.push_back(fmt::format("perf {} cpu={} lost={}", map->spec().name, cpu, lost));
        }
    return out;
}

void run_command(const ProgArgs& a) {
    ProgramSource source = resolve_program_source(a.words, true);
    runtime::LoadOptions options;
    options.type = source.type;
    options.engine = a.engine == "interp" ? runtime::Engine::Interp : runtime::Engine::Jit;
    // Nothing runs before the verifier has proven it safe: objects are verified as they load (a
    // rejection is the selected program's error), converted classic BPF was verified on conversion.
    options.checked = false;
    if (source.classic && !source.verified)
        throw Error(fmt::format("the converted classic program is rejected by the verifier: {}", source.verifier_message));
    const auto object = runtime::LoadedObject::load(std::move(source.object), options);
    const runtime::PreparedProgram& program = object->select(source.section);
    if (!program.fallback.empty()) std::fprintf(stderr, "tcbpf: running in the interpreter: %s\n", program.fallback.c_str());
    if (!a.map_init.empty()) runtime::apply_map_lines(*object, read_file_text(a.map_init), a.map_init);
    open_perf_buffers(*object);
    std::vector<EventRecord> events;

    const std::vector<io::Frame> frames = io::read_pcap(a.pcap_in);
    std::unique_ptr<io::PcapWriter> writer;
    if (!a.pcap_out.empty()) writer = std::make_unique<io::PcapWriter>(a.pcap_out);

    runtime::RunOptions run_options;
    run_options.repeat = a.repeat == 0 ? 1 : a.repeat;
    std::optional<net::Host> host;
    if (!a.net.empty()) run_options.host = &host.emplace(net::load_host(a.net));
    uint64_t errors = 0, total_ns = 0, ran = 0;
    std::string json_frames;
    for (size_t i = 0; i < frames.size(); ++i) {
        const runtime::RunResult r = object->test_run(program, frames[i].bytes, run_options);
        drain_events(*object, i, events);
        const bool failed = r.refused() || r.fault != vm::Fault::None;
        if (!json_frames.empty()) json_frames += ",\n";
        if (failed) {
            ++errors;
            if (a.json)
                json_frames += fmt::format("    {{\"index\": {}, \"error\": {}}}", i, json_string(frame_error(r)));
            else
                std::printf("%s\n", fmt::format("{} err={}", i, frame_error(r)).c_str());
            continue;
        }
        ++ran;
        total_ns += r.avg_ns;
        const uint64_t hash = skb::fnv1a64(r.packet.bytes());
        if (a.json)
            json_frames += fmt::format(
                "    {{\"index\": {}, \"ret\": {}, \"mark\": {}, \"priority\": {}, \"classid\": {}, \"len_out\": {}, "
                "\"hash\": \"{:016x}\"}}",
                i, r.ret, r.meta.mark, r.meta.priority, r.meta.tc_classid, r.packet.size(), hash);
        else
            std::printf("%s\n", fmt::format("{} ret={} mark={:#x} prio={:#x} classid={:#x} len_out={} hash={:016x}", i,
                                            r.ret, r.meta.mark, r.meta.priority, r.meta.tc_classid, r.packet.size(), hash)
                                    .c_str());
        if (writer) writer->write(r.packet.bytes(), frames[i].timestamp_ns);
    }
    if (writer) writer->close();

    const uint64_t avg = ran == 0 ? 0 : total_ns / ran;
    std::vector<std::string> skipped;
    const std::vector<runtime::MapEntryText> entries =
        a.dump_maps ? runtime::dump_maps(*object, &skipped) : std::vector<runtime::MapEntryText>{};
    if (a.json) {
        std::string out = "{\n  \"frames\": [\n" + json_frames + (json_frames.empty() ? "" : "\n") + "  ],\n";
        out += fmt::format("  \"summary\": {{\"packets\": {}, \"errors\": {}", frames.size(), errors);
        if (a.repeat != 0) out += fmt::format(", \"avg_ns_per_run\": {}", avg);
        out += "}";
        if (!events.empty()) {
            out += ",\n  \"records\": [";
            for (size_t i = 0; i < events.size(); ++i) out += (i == 0 ? "\n" : ",\n") + json_event(events[i]);
            out += "\n  ]";
        }
        if (const std::vector<std::string> losses = perf_losses(*object); !losses.empty()) {
            out += ",\n  \"lost\": [";
            for (size_t i = 0; i < losses.size(); ++i) out += (i == 0 ? "" : ", ") + json_string(losses[i]);
            out += "]";
        }
        if (a.dump_maps) {
            out += ",\n  \"maps\": [";
            for (size_t i = 0; i < entries.size(); ++i) {
                const auto& e = entries[i];
                out += fmt::format("{}\n    {{\"map\": {}, \"key\": \"{}\", \"value\": \"{}\"", i == 0 ? "" : ",",
                                   json_string(e.map), runtime::to_hex(e.key), runtime::to_hex(e.value));
                if (e.cpu) out += fmt::format(", \"cpu\": {}", *e.cpu);
                out += "}";
            }
            out += entries.empty() ? "]" : "\n  ]";
            out += ",\n  \"maps_not_dumped\": [";
            for (size_t i = 0; i < skipped.size(); ++i) out += (i == 0 ? "" : ", ") + json_string(skipped[i]);
            out += "]";
        }
        out += "\n}\n";
        std::fputs(out.c_str(), stdout);
        return;
    }
    for (const EventRecord& e : events) std::printf("%s\n", format_event(e).c_str());
    for (const std::string& loss : perf_losses(*object)) std::printf("%s\n", loss.c_str());
    std::string summary = fmt::format("summary packets={} errors={}", frames.size(), errors);
    if (a.repeat != 0) summary += fmt::format(" avg_ns_per_run={}", avg);
    std::printf("%s\n", summary.c_str());
    if (a.dump_maps) {
        for (const auto& e : entries) std::printf("%s\n", runtime::format_map_line(e).c_str());
        for (const auto& s : skipped) std::printf("# %s: not dumped (no key/value contents)\n", s.c_str());
    }
}

void show_command(const ProgArgs& a) {
    const Selection sel = parse_selection(a.words, false);
    if (!sel.section.empty()) throw CLI::ValidationError("sec", "prog show lists every program; use prog dump for one");
    const loader::Object object = loader::load_object(sel.object);
    std::string out = fmt::format("object {} license {}\n", object.path, object.license.empty() ? "(none)" : object.license);
    for (const loader::ProgramDef& p : object.programs) {
        std::string used;
        for (uint32_t m : p.maps_used) used += fmt::format("{}{}", used.empty() ? "" : ",", object.maps[m].name);
        out += fmt::format("prog {} section {} type {} insns {} bytes {} maps {}\n", p.name, p.section,
                           p.default_type == loader::ProgType::Action ? "action" : "classifier", p.prog.size(),
                           p.prog.size() * sizeof(isa::RawInsn), used.empty() ? "-" : used);
    }
    for (const loader::MapDef& m : object.maps)
        out += fmt::format("map {} type {} key {} value {} max_entries {} flags {:#x}\n", m.name,
                           maps::map_type_name(m.type), m.key_size, m.value_size, m.max_entries, m.map_flags);
    std::fputs(out.c_str(), stdout);
}

void dump_command(const ProgArgs& a) {
    const bool jited = a.words.size() > 1 && a.words.back() == "jited";  // bpftool's `prog dump jited`
    if (jited) {
        ProgramSource source = resolve_program_source({a.words.begin(), a.words.end() - 1}, false);
        std::fputs(dump_jited(std::move(source.object), source.section).c_str(), stdout);
        return;
    }
    const ProgramSource source = resolve_program_source(a.words, false);
    const loader::ProgramDef& p = loader::find_program(source.object, source.section);
    const size_t width = fmt::formatted_size("{}", p.prog.size() == 0 ? 0 : p.prog.size() - 1);
    // Classic BPF shows itself as tcpdump -d prints it, then what it was converted to.
    std::string out = source.classic ? "cBPF:\n" + cbpf::disassemble(*source.classic) + "eBPF:\n" : "";
    out += fmt::format("{} (section {}):\n", p.name, p.section);
    const loader::LineInfo* last = nullptr;
    for (size_t pc = 0; pc < p.prog.size(); ++pc) {
        if (p.prog.insns[pc].op == isa::Op::LDDW_TAIL) continue;
        const loader::LineInfo* line = loader::line_for(p, static_cast<uint32_t>(pc));
        // Consecutive records of one source line (different columns) print it once.
        const bool same_line = last != nullptr && line != nullptr && last->line == line->line && last->file == line->file;
        if (line != nullptr && line->insn == pc && !same_line && !line->source_line.empty()) {
            std::string_view text = line->source_line;
            while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
            out += fmt::format("; {}\n", text);
            last = line;
        }
        out += fmt::format("{:>{}}: {}\n", pc, width, isa::disassemble(p.prog.insns[pc], pc));
    }
    std::fputs(out.c_str(), stdout);
}

}  // namespace

void add_prog_commands(CLI::App& app) {
    auto a = std::make_shared<ProgArgs>();
    auto* prog = app.add_subcommand("prog", "Run, list and disassemble the programs of a BPF object");
    prog->require_subcommand(1);

    auto* run = prog->add_subcommand(
        "run", "BPF_PROG_TEST_RUN over a capture: OBJ [sec NAME] [type classifier|action] --pcap IN; "
        "bytecode STRING, bytecode-file FILE or filter EXPRESSION in place of OBJ");
    run->add_option("OBJ", a->words, "object file, then tc keywords: sec NAME, type classifier|action")
        ->required()
        ->expected(1, -1);
    run->add_option("--pcap", a->pcap_in, "frames to run the program on")->required();
    run->add_option("--out", a->pcap_out, "write every frame that ran, as the program left it, to this pcap");
    run->add_option("--repeat", a->repeat, "runs per frame on the same skb (as test_run's repeat); prints the mean time")
        ->check(CLI::Range(1u, 100000000u));
    run->add_option("--net", a->net, "host network model (ip-syntax lines) for bpf_fib_lookup and bpf_check_mtu; default: only lo");
    run->add_option("--map-init", a->map_init, "map contents to load first: lines MAPNAME KEYHEX VALUEHEX [cpu=N]");
    run->add_flag("--dump-maps", a->dump_maps, "print every map afterwards, in --map-init's format");
    run->add_flag("--json", a->json, "everything as one JSON document");
    run->add_option("--engine", a->engine, "jit (default) or interp (the verified program in the interpreter)")
        ->check(CLI::IsMember({"jit", "interp"}));
    run->callback([a] { run_command(*a); });

    auto* show = prog->add_subcommand("show", "List an object's programs (sections, sizes, maps used) and maps");
    show->add_option("OBJ", a->words, "object file")->required()->expected(1, -1);
    show->callback([a] { show_command(*a); });

    auto* dump = prog->add_subcommand("dump", "Disassemble one program with its source lines: OBJ [sec NAME] [jited]");
    dump->add_option("OBJ", a->words, "object file, then sec NAME; `jited` last: the x86-64 code instead")->required()->expected(1, -1);
    dump->callback([a] { dump_command(*a); });

    add_prog_verify_command(*prog);
}

}  // namespace tcbpf::cli
