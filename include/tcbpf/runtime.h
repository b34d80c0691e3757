// Running tc programs as users write them: a loaded ELF object with live maps, each program prepared
// for the interpreter, and BPF_PROG_TEST_RUN's rules for running one on a frame.
//
// Preparing a program is what the kernel does between BPF_PROG_LOAD and the first run:
//   1. the context rewrite (`rewrite_ctx_accesses`, the kernel's convert_ctx_accesses): accesses to
//      `struct __sk_buff` through the context pointer are checked and retargeted to skb::SkbContext;
//   2. map binding: LDDW src 5 (map index) becomes the `maps::Map*` address helpers receive, LDDW src 6
//      (global data) the address of byte `offset` of the map's single value;
//   3. vm::Program::prepare against the tc helper set (an unimplemented helper is a load-time Error
//      naming it).
// Prog arrays are filled as libbpf (`.values`) and iproute2 (`MAPID/KEY` sections) fill them, once
// every program is prepared; bpf_tail_call jumps through them.
//
// Engines: a program runs JIT-compiled (the default) or in the interpreter. By default every program is
// verified as it loads (a rejection is its preparation error) and runs on the engine asked for. Checked
// mode (LoadOptions::checked, for tests that watch a fault) exists only in the interpreter, so a program
// loaded that way runs there, unverified, whatever engine was asked for. If the JIT cannot compile a
// program (jit::Unsupported), the whole object runs in the interpreter — tail calls connect its programs,
// and JIT code can only continue in JIT code — and each program says why in `fallback`.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcbpf/isa.h"
#include "tcbpf/jit.h"
#include "tcbpf/loader.h"
#include "tcbpf/maps.h"
#include "tcbpf/skb.h"
#include "tcbpf/vm.h"

namespace tcbpf::net {
class Host;
}

namespace tcbpf::helpers {
struct RunEnv;
}

namespace tcbpf::verifier {
struct Result;
}

namespace tcbpf::runtime {

// Checks every access made through the context pointer and rewrites it for skb::SkbContext; inserted
// instructions move jump, call and function-reference offsets accordingly. Throws tcbpf::Error
// "pc N: <the verifier's message>" for an access the kernel rejects. ctx_rewrite.cpp explains how
// context registers are found. With the verifier's `proof` of the program (an accepted Result), the
// accesses it saw through the context are rewritten and code no path reaches becomes `goto -1`, as the
// kernel sanitises dead code; without one, a path-insensitive analysis finds the context registers.
isa::Program rewrite_ctx_accesses(const isa::Program& prog, skb::ProgType type,
                                  const verifier::Result* proof = nullptr);

skb::ProgType to_skb_type(loader::ProgType type);

enum class Engine : uint8_t { Jit, Interp };
const char* engine_name(Engine engine);  // "jit", "interp"

struct LoadOptions {
    // Run every program as this type instead of its section's default (tc's `type` keyword).
    std::optional<loader::ProgType> type;
    // Checked mode, for tests: no verifier in front, every access validated at run time instead. Implies
    // the interpreter. Off by default: programs are verified before anything runs them.
    bool checked = false;
    Engine engine = Engine::Jit;
    // When the JIT cannot compile a program: false makes that the program's preparation error instead
    // of a fallback to the interpreter (tests that must run JIT code).
    bool jit_fallback = true;
    jit::Options jit;
    uint32_t ncpus = maps::default_ncpus();
    // The bpffs-like directory pinned maps live in (runtime/pinning.cpp). Unset: $TCBPF_BPFFS if the
    // environment names one, else none — every map private to the object, pinning attributes ignored
    // (BPF_PROG_TEST_RUN-style runs).
    std::optional<std::string> bpffs;
    // Verify programs run in checked mode too (soundness tests: the checked interpreter then watches a
    // program the verifier accepted, prepared exactly as an unchecked load prepares it). Unchecked loads
    // always verify.
    bool verify_checked = false;
};

// Whether an object's license string lets it call GPL-only helpers (the kernel's
// license_is_gpl_compatible list: "GPL", "GPL v2", "Dual BSD/GPL", ...).
bool license_is_gpl_compatible(std::string_view license);

// $TCBPF_BPFFS if set, else /run/tcbpf: where the CLI pins maps unless told `--bpffs DIR`.
std::string default_bpffs();
// $TCBPF_BPFFS if set and not empty.
std::optional<std::string> environment_bpffs();
// Where `def` is pinned under `bpffs` as iproute2 lays it out ("" for an unpinned map): tc/globals/NAME,
// tc/<hex SHA-1 of the object file>/NAME, or <subpath from /etc/iproute2/bpf_pinning>/NAME.
std::string pin_path(const loader::Object& object, const loader::MapDef& def, const std::string& bpffs);
// The map as BPF_MAP_CREATE makes it, or — when options.bpffs is set and `def` is pinned — the map
// pinned at pin_path (reused only if it matches, else created and pinned; maps::pin_map).
std::unique_ptr<maps::Map> create_object_map(const loader::Object& object, const loader::MapDef& def,
                                             const LoadOptions& options);

struct PreparedProgram {
    const loader::ProgramDef* def = nullptr;
    skb::ProgType type = skb::ProgType::Classifier;
    uint32_t id = 0;              // what a prog-array lookup reports: 1 + index in Object::programs
    isa::Program rewritten;       // after the context rewrite and map binding
    std::shared_ptr<const vm::Program> program;  // nullptr when preparation failed
    std::string error;            // why it failed (the Error message), reported when it is selected
    Engine engine = Engine::Interp;              // what test_run runs
    // Runs on a packet that still shares its frame without copying it in first (run_on_skb; the rules
    // are in runtime/packet_sharing.h). False unless proven. Next to `native`: both are read per run.
    bool reads_packet_only = false;
    std::shared_ptr<const jit::Program> native;  // the compiled form when engine is Jit
    std::string fallback;  // non-empty: the JIT was asked for and could not compile (the reason)
};

struct RunOptions {
    std::span<const uint8_t> ctx_in;  // raw __sk_buff image for test_run's ctx_in (empty: none)
    uint32_t repeat = 1;               // runs on the same skb, as BPF_PROG_TEST_RUN's repeat
    uint32_t cpu = 0;                  // the CPU the run pretends to be on (per-CPU maps)
    const net::Host* host = nullptr;   // what bpf_fib_lookup/check_mtu see (nullptr: lo only)
};

struct RunResult {
    std::string refusal;  // non-empty: test_run refused the frame (then nothing ran)
    int error = 0;        // its errno
    int32_t ret = 0;      // r0 as the kernel reports retval (the low 32 bits, signed)
    skb::Packet packet;   // the packet after the last run
    skb::SkbMeta meta;    // mark, priority, tc_classid, ... after the last run
    vm::Fault fault = vm::Fault::None;  // checked mode: why the program was stopped (ret is then 0)
    std::string fault_detail;
    uint64_t avg_ns = 0;  // mean wall time per run
    bool refused() const { return !refusal.empty(); }
};

class LoadedObject {
   public:
    // Creates the object's maps, initialises global data, prepares every program, fills prog arrays.
    // Throws tcbpf::Error for a map the kernel would refuse, an access the context rewrite rejects in
    // a prog-array target, or a prog-array slot naming a missing program.
    static std::unique_ptr<LoadedObject> load(loader::Object object, const LoadOptions& options = {});
    ~LoadedObject();
    LoadedObject(const LoadedObject&) = delete;
    LoadedObject& operator=(const LoadedObject&) = delete;

    const loader::Object& object() const { return object_; }
    const LoadOptions& options() const { return options_; }
    std::span<const std::unique_ptr<maps::Map>> maps() const { return maps_; }
    maps::Map* map(std::string_view name) const;  // nullptr if absent
    std::span<const PreparedProgram> programs() const { return programs_; }

    // The program `sec NAME` selects (loader::find_program rules); throws its preparation error.
    const PreparedProgram& select(std::string_view sec_or_name) const;

    // BPF_PROG_TEST_RUN: skb::prepare_test_run's rules, then the program on that skb. Never throws.
    RunResult test_run(const PreparedProgram& program, std::span<const uint8_t> frame,
                       const RunOptions& options = {}) const;

    // One run on an skb the caller owns (the tc pipeline): the context is filled from `meta` and
    // `packet`, the program runs once on its engine, the writable fields go back into `meta`. `cx`,
    // `ctx` and `env` are the caller's and reused across runs, so nothing is allocated after the first
    // (env's packet/meta/ctx are set here; its other settings — tc_ingress, trace, ... — are the
    // caller's). Returns r0 as the kernel's int; a checked-mode fault stops the program with cx.fault
    // set and returns 0, as the kernel's exception path does. A packet still sharing its frame
    // (skb::Packet::borrow) is copied in first unless program.reads_packet_only. Never throws.
    int32_t run_on_skb(const PreparedProgram& program, skb::Packet& packet, skb::SkbMeta& meta, vm::Context& cx,
                       skb::SkbContext& ctx, helpers::RunEnv& env) const;

    // True if [addr, addr+size) lies inside one map's memory (and, for a write, the map is writable
    // by programs): the checked interpreter's view of map values and global data.
    bool map_memory_allows(uint64_t addr, uint64_t size, bool write) const;
    // The prog array behind a helper's map argument, or nullptr if it is not one of this object's.
    maps::ProgArray* prog_array_at(uint64_t map_address) const;

   private:
    LoadedObject(loader::Object object, const LoadOptions& options);
    // Points cx's hooks at this object and, in checked mode, its regions at the packet, ctx and maps.
    void bind_context(vm::Context& cx, const PreparedProgram& program, skb::Packet& packet, skb::SkbContext& ctx) const;
    void create_maps();
    void prepare_programs();
    void fill_prog_arrays();

    loader::Object object_;
    LoadOptions options_;
    std::vector<std::unique_ptr<maps::Map>> maps_;
    std::vector<PreparedProgram> programs_;
};

}  // namespace tcbpf::runtime

// ---------------------------------------------------------------------------------------------------
// Map contents as text, one entry per line: `MAPNAME KEYHEX VALUEHEX` (hex bytes in memory order, no
// separators), per-CPU values one line per CPU with a ` cpu=N` suffix. `dump_map_lines` writes what
// `apply_map_lines` reads back; `#` starts a comment and blank lines are ignored.
namespace tcbpf::runtime {

struct MapEntryText {
    std::string map;
    std::vector<uint8_t> key;
    std::vector<uint8_t> value;   // value_size bytes
    std::optional<uint32_t> cpu;  // per-CPU maps: which CPU's value
};

// Reads `text` (named `file` in messages) into the object's maps. A per-CPU line without `cpu=` sets
// every CPU's value. Throws tcbpf::Error "FILE:LINE: reason" (unknown map, wrong key/value length,
// bad hex, a map that cannot be written, the map's update error).
void apply_map_lines(const LoadedObject& object, std::string_view text, std::string_view file);

// Every entry of every map whose contents user space can list, in object order (arrays by index,
// hashes in iteration order). Maps without key/value contents (prog arrays, ring buffers, perf event
// arrays, queues, stacks) are reported in `skipped` with their type name.
std::vector<MapEntryText> dump_maps(const LoadedObject& object, std::vector<std::string>* skipped = nullptr);
std::string format_map_line(const MapEntryText& entry);
std::string to_hex(std::span<const uint8_t> bytes);

}  // namespace tcbpf::runtime
