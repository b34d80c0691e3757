// Programs: splitting code sections into functions, resolving relocations, appending subprograms.
//
// Every executable section is cut into functions by its STT_FUNC symbols (a section without any is one
// function named after the section). Functions outside `.text` are programs; `.text` holds only
// subprograms. A program is linked on its own: its function comes first, then every function it reaches
// through BPF-to-BPF calls or callback pointers, each appended once in the order first reached, so a
// subprogram shared by several programs is copied into each. While copying, each instruction's
// relocation is applied:
//   R_BPF_64_64 on ld_imm64 → map index (pseudo 5), global-data map index + offset (pseudo 6), or a
//                              pc-relative function pointer (pseudo 4)
//   R_BPF_64_32 on call     → pc-relative BPF-to-BPF call (pseudo 1)
// with the addend taken from the patched field (REL) or the entry (RELA). Symbol + addend locate the
// target inside its section: for calls (S + A) / 8 + 1 is the callee's index, for everything else
// S + A is a byte offset — the arithmetic clang and libbpf agree on.
#include <elf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <set>

#include "loader/context.h"

namespace tcbpf::loader::detail {
namespace {

constexpr uint8_t kOpLddw = 0x18;
// The kernel's BPF_COMPLEXITY_LIMIT_INSNS; a program linked beyond it could never load. The object-wide
// cap keeps a small hostile file (many programs each pulling in the same large subprogram) from
// expanding into gigabytes.
constexpr size_t kMaxProgramInsns = 1'000'000;
constexpr size_t kMaxObjectInsns = 4'000'000;
constexpr uint8_t kOpCall = 0x85;
constexpr uint8_t kPseudoCall = 1;  // BPF_PSEUDO_CALL in a call's src field
constexpr uint8_t kClassJmp = 0x05, kClassJmp32 = 0x06, kOpCallBits = 0x80, kOpExitBits = 0x90, kOpJa32 = 0x06;

struct Function {
    std::string name;
    uint32_t start = 0, end = 0;  // instruction indices in the section, [start, end)
};

struct CodeSection {
    const Section* section = nullptr;
    std::vector<isa::RawInsn> insns;
    std::vector<Function> functions;  // sorted, non-overlapping
    std::map<uint32_t, Relocation> relocations;  // by instruction index

    const Function* function_at(uint64_t index) const {
        auto it = std::upper_bound(functions.begin(), functions.end(), index,
                                   [](uint64_t value, const Function& fn) { return value < fn.start; });
        if (it == functions.begin()) return nullptr;
        --it;
        return index < it->end ? &*it : nullptr;
    }
};

uint8_t src_of(const isa::RawInsn& insn) { return insn.regs >> 4; }
void set_src(isa::RawInsn& insn, uint8_t src) { insn.regs = static_cast<uint8_t>((insn.regs & 0x0f) | (src << 4)); }

class Linker {
   public:
    explicit Linker(LoadContext& ctx) : ctx_(ctx) {}

    void index_code();
    void link_all();

   private:
    struct Placed {
        const CodeSection* code;
        const Function* fn;
        uint32_t base;
    };
    struct Target {
        const CodeSection* code;
        const Function* fn;
        uint64_t index;
    };
    struct Linking {
        std::vector<isa::RawInsn> out;
        std::vector<Placed> placed;
        std::set<uint32_t> maps;
    };

    ProgramDef link(const CodeSection& code, const Function& entry);
    uint32_t place(Linking& l, const CodeSection& code, const Function& fn);
    void apply(Linking& l, const Placed& unit, uint32_t index);
    void relocate_lddw(Linking& l, const Placed& unit, uint32_t index, uint32_t pc, const Relocation& rel);
    Target function_target(const CodeSection& from, const Symbol* sym, uint64_t index, uint32_t at) const;
    void attach_lines(ProgramDef& prog, const Linking& l) const;
    [[noreturn]] void fail_at(const CodeSection& code, uint32_t index, const std::string& why) const {
        ctx_.elf.fail(code.section->name, fmt::format("insn {}: {}", index, why));
    }

    LoadContext& ctx_;
    std::map<size_t, CodeSection> code_;  // by section index
    size_t linked_ = 0;                   // instructions in all programs linked so far
};

void Linker::index_code() {
    std::map<size_t, std::vector<const Symbol*>> functions_of;  // section index → its STT_FUNC symbols
    for (const Symbol& sym : ctx_.elf.symbols())
        if (sym.type == STT_FUNC && sym.section != 0) functions_of[sym.section].push_back(&sym);
    for (const Section& s : ctx_.elf.sections()) {
        if (s.index == 0 || !s.executable() || s.size == 0) continue;
        if (s.size % sizeof(isa::RawInsn) != 0)
            ctx_.elf.fail(s.name, fmt::format("code size {} is not a multiple of 8 bytes", s.size));
        CodeSection& code = code_[s.index];
        code.section = &s;
        code.insns.resize(s.size / sizeof(isa::RawInsn));
        std::memcpy(code.insns.data(), s.data.data(), s.size);
        const uint64_t count = code.insns.size();

        for (const Symbol* function : functions_of[s.index]) {
            const Symbol& sym = *function;
            if (sym.value % 8 != 0 || sym.size % 8 != 0 || sym.value / 8 >= count || sym.size / 8 > count - sym.value / 8)
                ctx_.elf.fail(s.name, fmt::format("function {} (offset {}, size {}) is not a whole instruction range "
                                                  "inside the section", sym.name, sym.value, sym.size));
            const auto start = static_cast<uint32_t>(sym.value / 8);
            code.functions.push_back({sym.name, start, static_cast<uint32_t>(start + sym.size / 8)});
        }
        if (code.functions.empty()) code.functions.push_back({s.name, 0, static_cast<uint32_t>(count)});
        std::sort(code.functions.begin(), code.functions.end(),
                  [](const Function& a, const Function& b) { return a.start < b.start; });
        for (size_t i = 0; i < code.functions.size(); ++i) {
            Function& fn = code.functions[i];
            const uint32_t next = i + 1 < code.functions.size() ? code.functions[i + 1].start : static_cast<uint32_t>(count);
            if (fn.end == fn.start) fn.end = next;  // symbols without a size run to the next function
            if (fn.end > next || fn.end == fn.start)
                ctx_.elf.fail(s.name, fmt::format("function {} overlaps function {}", fn.name,
                                                  i + 1 < code.functions.size() ? code.functions[i + 1].name : fn.name));
        }

        for (const Section* rel_section : ctx_.elf.relocation_sections_for(s.index)) {
            for (const Relocation& rel : ctx_.elf.relocations(*rel_section)) {
                if (rel.type == kRelNone) continue;
                if (rel.offset % 8 != 0 || rel.offset / 8 >= count)
                    ctx_.elf.fail(rel_section->name, fmt::format("relocation offset {} is not an instruction of {}",
                                                                 rel.offset, s.name));
                const auto index = static_cast<uint32_t>(rel.offset / 8);
                if (rel.type != kRel64_64 && rel.type != kRel64_32) {
                    const bool data_type = rel.type == kRelAbs64 || rel.type == kRelAbs32 || rel.type == kRelNoDyld32;
                    fail_at(code, index, fmt::format("{} relocation type {} against {}", data_type ? "data" : "unsupported",
                                                     rel.type, rel.symbol->name));
                }
                if (!code.relocations.emplace(index, rel).second)
                    fail_at(code, index, "more than one relocation for the same instruction");
            }
        }
    }
}

uint32_t Linker::place(Linking& l, const CodeSection& code, const Function& fn) {
    for (const Placed& p : l.placed)
        if (p.code == &code && p.fn == &fn) return p.base;
    const auto base = static_cast<uint32_t>(l.out.size());
    if (base + (fn.end - fn.start) > kMaxProgramInsns)
        ctx_.elf.fail(code.section->name, fmt::format("linking {} exceeds the kernel's {} instruction limit", fn.name,
                                                      kMaxProgramInsns));
    l.out.insert(l.out.end(), code.insns.begin() + fn.start, code.insns.begin() + fn.end);
    l.placed.push_back({&code, &fn, base});
    return base;
}

Linker::Target Linker::function_target(const CodeSection& from, const Symbol* sym, uint64_t index, uint32_t at) const {
    const CodeSection* target = &from;
    if (sym != nullptr) {
        auto it = code_.find(sym->section);
        if (it == code_.end()) fail_at(from, at, fmt::format("{} is not in a code section", sym->name));
        target = &it->second;
    }
    const Function* fn = target->function_at(index);
    if (fn == nullptr)
        fail_at(from, at, fmt::format("target instruction {} of section {} is not inside a function", index,
                                      target->section->name));
    return {target, fn, index};
}

void Linker::apply(Linking& l, const Placed& unit, uint32_t index) {
    const CodeSection& code = *unit.code;
    const uint32_t pc = unit.base + (index - unit.fn->start);
    const isa::RawInsn insn = l.out[pc];
    auto found = code.relocations.find(index);
    const Relocation* rel = found == code.relocations.end() ? nullptr : &found->second;

    if (insn.opcode == kOpLddw) {
        if (index + 1 >= unit.fn->end) fail_at(code, index, "ld_imm64 is missing its second slot");
        if (rel != nullptr) {
            if (rel->type != kRel64_64)
                fail_at(code, index, fmt::format("relocation type {} on ld_imm64 (expected R_BPF_64_64)", rel->type));
            relocate_lddw(l, unit, index, pc, *rel);
        } else if (src_of(insn) != 0) {
            fail_at(code, index, fmt::format("ld_imm64 with pseudo source {} but no relocation", src_of(insn)));
        }
        return;
    }
    // Jumps must stay inside their function: functions are moved apart when linked.
    const uint8_t cls = insn.opcode & 0x07, op = insn.opcode & 0xf0;
    if ((cls == kClassJmp || cls == kClassJmp32) && op != kOpCallBits && op != kOpExitBits) {
        const bool long_jump = insn.opcode == kOpJa32;  // gotol: offset in imm
        const int64_t target = static_cast<int64_t>(index) + 1 + (long_jump ? insn.imm : insn.off);
        if (target < unit.fn->start || target >= unit.fn->end)
            fail_at(code, index, fmt::format("jump to instruction {} leaves function {}", target, unit.fn->name));
    }
    const bool local_call = insn.opcode == kOpCall && src_of(insn) == kPseudoCall;
    if (rel != nullptr && rel->type == kRel64_64)
        fail_at(code, index, fmt::format("R_BPF_64_64 relocation against {} on an instruction that is not ld_imm64 "
                                         "(compiler bug?)", rel->symbol->name));
    if (rel != nullptr && !local_call)
        fail_at(code, index, fmt::format("call relocation against {} on an instruction that is not a BPF-to-BPF call",
                                         rel->symbol->name));
    if (!local_call) return;

    Target target;
    if (rel != nullptr) {
        const Symbol& sym = *rel->symbol;
        if (sym.section == 0)
            fail_at(code, index, fmt::format("call to undefined function {} (extern functions and kfuncs are not supported)", sym.name));
        const int64_t addend = rel->has_addend ? rel->addend : insn.imm;
        if (sym.value % 8 != 0) fail_at(code, index, fmt::format("call target {} is not instruction-aligned", sym.name));
        const int64_t callee = static_cast<int64_t>(sym.value / 8) + addend + 1;
        if (callee < 0) fail_at(code, index, fmt::format("call target {}{:+} is before its section", sym.name, addend + 1));
        target = function_target(code, &sym, static_cast<uint64_t>(callee), index);
    } else {
        const int64_t callee = static_cast<int64_t>(index) + insn.imm + 1;
        if (callee < 0) fail_at(code, index, "call target is before the start of the section");
        target = function_target(code, nullptr, static_cast<uint64_t>(callee), index);
    }
    const uint32_t base = place(l, *target.code, *target.fn);
    const int64_t target_pc = base + static_cast<int64_t>(target.index - target.fn->start);
    l.out[pc].imm = static_cast<int32_t>(target_pc - pc - 1);
}

void Linker::relocate_lddw(Linking& l, const Placed& unit, uint32_t index, uint32_t pc, const Relocation& rel) {
    const CodeSection& code = *unit.code;
    const Symbol& sym = *rel.symbol;
    const int64_t addend = rel.has_addend ? rel.addend : static_cast<uint32_t>(l.out[pc].imm);
    if (sym.section == 0)
        fail_at(code, index, fmt::format("ld_imm64 refers to undefined symbol {} (extern variables are not supported)",
                                         sym.name));
    const Section& target = ctx_.elf.section(sym.section);
    if (sym.value > target.size)
        fail_at(code, index, fmt::format("symbol {} (offset {}) lies outside its section {}", sym.name, sym.value,
                                         target.name));
    const int64_t offset = static_cast<int64_t>(sym.value) + addend;
    const std::string what = fmt::format("ld_imm64 of {}{}", sym.name, addend != 0 ? fmt::format("{:+}", addend) : "");
    if (offset < 0) fail_at(code, index, what + " points before its section");

    auto set_map = [&](uint32_t map, isa::Pseudo pseudo, uint32_t value_offset) {
        set_src(l.out[pc], static_cast<uint8_t>(pseudo));
        l.out[pc].imm = static_cast<int32_t>(map);
        l.out[pc + 1].imm = static_cast<int32_t>(value_offset);
        l.maps.insert(map);
    };

    if (ctx_.legacy_entry_size != 0 && sym.section == ctx_.legacy_section) {
        const auto entry = ctx_.legacy_entry_size;
        if (offset % entry != 0 || offset / entry >= ctx_.legacy_count)
            fail_at(code, index, what + " does not point at a map entry of section maps");
        set_map(ctx_.legacy_first + static_cast<uint32_t>(offset / entry), isa::Pseudo::MapIdx, 0);
    } else if (ctx_.btf_section != 0 && sym.section == ctx_.btf_section) {
        auto it = ctx_.btf_map_at.find(static_cast<uint64_t>(offset));
        if (it == ctx_.btf_map_at.end()) fail_at(code, index, what + " does not point at a map of section .maps");
        set_map(it->second, isa::Pseudo::MapIdx, 0);
    } else if (auto data = ctx_.data_map_of_section.find(sym.section); data != ctx_.data_map_of_section.end()) {
        if (static_cast<uint64_t>(offset) >= target.size)
            fail_at(code, index, fmt::format("{} is outside {} ({} bytes)", what, target.name, target.size));
        set_map(data->second, isa::Pseudo::MapIdxValue, static_cast<uint32_t>(offset));
    } else if (code_.count(sym.section) != 0) {
        if (offset % 8 != 0) fail_at(code, index, what + " is not instruction-aligned");
        const Target callee = function_target(code, &sym, static_cast<uint64_t>(offset / 8), index);
        const uint32_t base = place(l, *callee.code, *callee.fn);
        set_src(l.out[pc], static_cast<uint8_t>(isa::Pseudo::Func));
        l.out[pc].imm = static_cast<int32_t>(base + static_cast<int64_t>(callee.index - callee.fn->start) - pc - 1);
        l.out[pc + 1].imm = 0;
    } else {
        fail_at(code, index, fmt::format("{} is in section {}, which holds neither maps, global data nor code", what,
                                         target.name));
    }
}

void Linker::attach_lines(ProgramDef& prog, const Linking& l) const {
    for (const Placed& p : l.placed) {
        // A function's BTF FUNC record sits at its first instruction; all or none, as the kernel wants.
        if (auto funcs = ctx_.funcs.find(p.code->section->name); funcs != ctx_.funcs.end())
            if (auto f = funcs->second.find(p.fn->start * 8); f != funcs->second.end())
                prog.funcs.push_back({p.base, f->second});

        auto it = ctx_.lines.find(p.code->section->name);
        if (it == ctx_.lines.end()) continue;
        for (const LineRecord& r : it->second) {
            const uint32_t index = r.insn_offset / 8;
            if (index < p.fn->start || index >= p.fn->end) continue;
            prog.lines.push_back({p.base + (index - p.fn->start), r.file, r.line, r.column, r.source_line});
        }
    }
    std::stable_sort(prog.lines.begin(), prog.lines.end(),
                     [](const LineInfo& a, const LineInfo& b) { return a.insn < b.insn; });
    if (prog.funcs.size() != l.placed.size()) prog.funcs.clear();
}

ProgramDef Linker::link(const CodeSection& code, const Function& entry) {
    Linking l;
    place(l, code, entry);
    for (size_t u = 0; u < l.placed.size(); ++u) {  // grows while subprograms are reached
        const Placed unit = l.placed[u];
        for (uint32_t index = unit.fn->start; index < unit.fn->end; ++index) {
            apply(l, unit, index);
            if (l.out[unit.base + (index - unit.fn->start)].opcode != kOpLddw) continue;
            ++index;
            if (unit.code->relocations.count(index) != 0)
                fail_at(*unit.code, index, "relocation on the second slot of an ld_imm64");
        }
    }

    ProgramDef prog;
    prog.name = entry.name;
    prog.section = code.section->name;
    prog.default_type = prog.section == "action" ? ProgType::Action : ProgType::Classifier;
    prog.maps_used.assign(l.maps.begin(), l.maps.end());
    attach_lines(prog, l);
    try {
        prog.prog = isa::decode(l.out);
    } catch (const Error& e) {
        std::string where;
        unsigned long pc = 0;
        if (std::sscanf(e.what(), "pc %lu:", &pc) == 1)
            if (const LineInfo* line = line_for(prog, static_cast<uint32_t>(pc)))
                where = fmt::format(" ({}:{})", line->file, line->line);
        ctx_.elf.fail(prog.section, fmt::format("program {}: {}{}", prog.name, e.what(), where));
    }
    return prog;
}

void Linker::link_all() {
    for (const auto& [index, code] : code_) {
        if (code.section->name == ".text") continue;
        for (const Function& fn : code.functions) {
            ctx_.object.programs.push_back(link(code, fn));
            linked_ += ctx_.object.programs.back().prog.size();
            if (linked_ > kMaxObjectInsns)
                ctx_.elf.fail("", fmt::format("programs expand to more than {} instructions in total", kMaxObjectInsns));
        }
    }
}

}  // namespace

void read_programs(LoadContext& ctx) {
    Linker linker(ctx);
    linker.index_code();
    linker.link_all();
}

}  // namespace tcbpf::loader::detail
