// load_object: reads the file, then runs the passes in dependency order — BTF and line info first
// (maps and programs use them), then the three kinds of maps (which fixes every map's index), then the
// programs (whose relocations point at those indices), and the license.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <iterator>

#include "loader/context.h"

namespace tcbpf::loader {
namespace {

constexpr size_t kMaxLicense = 128;  // iproute2 ELF_MAX_LICENSE_LEN, including the NUL

std::string read_license(const detail::ElfFile& elf) {
    const detail::Section* s = elf.find_section("license");
    if (s == nullptr) return "";
    if (s->size > kMaxLicense)
        elf.fail(s->name, fmt::format("{} bytes, more than the {} a license may have", s->size, kMaxLicense));
    const auto* end = static_cast<const uint8_t*>(std::memchr(s->data.data(), 0, s->data.size()));
    if (s->data.empty() || end == nullptr) elf.fail(s->name, "license string is not NUL-terminated");
    return std::string(reinterpret_cast<const char*>(s->data.data()), end - s->data.data());
}

// One number of "%i/%i": decimal, 0x-hex or 0-octal, as sscanf's %i reads it.
bool parse_int(std::string_view text, uint32_t& out) {
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    } else if (text.size() > 1 && text[0] == '0') {
        base = 8;
        text.remove_prefix(1);
    }
    if (text.empty()) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
    return ec == std::errc() && end == text.data() + text.size();
}

bool is_tail_call_section(std::string_view section) {
    uint32_t a = 0, b = 0;
    const size_t slash = section.find('/');
    return slash != std::string_view::npos && parse_int(section.substr(0, slash), a) &&
           parse_int(section.substr(slash + 1), b);
}

}  // namespace

bool ProgramDef::tail_call_slot(uint32_t& map_id, uint32_t& key) const {
    const size_t slash = section.find('/');
    if (slash == std::string::npos) return false;
    uint32_t a = 0, b = 0;
    if (!parse_int(std::string_view(section).substr(0, slash), a) ||
        !parse_int(std::string_view(section).substr(slash + 1), b))
        return false;
    map_id = a;
    key = b;
    return true;
}

Object load_object_bytes(std::span<const uint8_t> data, std::string_view name) {
    Object object;
    object.path = std::string(name);
    detail::ElfFile elf(std::vector<uint8_t>(data.begin(), data.end()), object.path);
    detail::LoadContext ctx(elf, object);
    if (const detail::Section* btf = elf.find_section(".BTF")) {
        ctx.btf = std::make_unique<detail::Btf>(elf, *btf);
        object.btf = ctx.btf->with_datasec_layout();
        if (const detail::Section* ext = elf.find_section(".BTF.ext")) {
            detail::ExtInfo info = detail::read_ext_info(elf, *ext, *ctx.btf);
            ctx.lines = std::move(info.lines);
            ctx.funcs = std::move(info.funcs);
        }
    }
    detail::read_legacy_maps(ctx);
    detail::read_btf_maps(ctx);
    detail::read_global_data(ctx);
    object.license = read_license(elf);
    detail::read_programs(ctx);
    if (object.programs.empty()) elf.fail("", "no programs (no executable section other than .text)");
    return object;
}

Object load_object(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw Error(fmt::format("{}: read error", path));
    return load_object_bytes(bytes, path);
}

const ProgramDef& find_program(const Object& object, std::string_view sec_or_name) {
    if (object.programs.empty()) throw Error(fmt::format("{}: no programs", object.path));
    if (sec_or_name.empty()) {
        for (const ProgramDef& p : object.programs)
            if (!is_tail_call_section(p.section)) return p;
        return object.programs.front();
    }
    for (const ProgramDef& p : object.programs)
        if (p.section == sec_or_name) return p;
    for (const ProgramDef& p : object.programs)
        if (p.name == sec_or_name) return p;
    std::string known;
    for (const ProgramDef& p : object.programs) known += fmt::format("{}{} (section {})", known.empty() ? "" : ", ", p.name, p.section);
    throw Error(fmt::format("{}: no section or program named {}; programs: {}", object.path, sec_or_name, known));
}

const LineInfo* line_for(const ProgramDef& program, uint32_t pc) {
    auto it = std::upper_bound(program.lines.begin(), program.lines.end(), pc,
                               [](uint32_t value, const LineInfo& line) { return value < line.insn; });
    if (it == program.lines.begin()) return nullptr;
    return &*std::prev(it);
}

}  // namespace tcbpf::loader
