#include "loader/btf.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>

#include <algorithm>
#include <cstddef>
#include <elf.h>
#include <map>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "loader/elf_file.h"

namespace tcbpf::loader::detail {
namespace {

constexpr int kMaxTypeDepth = 32;  // libbpf's own resolve limit; deeper chains are corrupt or hostile

uint32_t read_u32(std::span<const uint8_t> bytes, size_t offset) {
    uint32_t v;
    std::memcpy(&v, bytes.data() + offset, sizeof v);
    return v;
}

}  // namespace

Btf::Btf(const ElfFile& file, const Section& section) : file_(file), section_name_(section.name) {
    if (section.data.empty()) fail("empty BTF section");
    if (section.data.size() > UINT32_MAX) fail("BTF section too large");
    btf_ = btf__new(section.data.data(), static_cast<uint32_t>(section.data.size()));
    if (btf_ == nullptr || libbpf_get_error(btf_) != 0) {
        const int err = btf_ == nullptr ? errno : static_cast<int>(-libbpf_get_error(btf_));
        btf_ = nullptr;
        fail(fmt::format("invalid BTF ({})", std::strerror(err)));
    }
}

Btf::~Btf() {
    if (btf_ != nullptr) btf__free(btf_);
}

void Btf::fail(const std::string& why) const { file_.fail(section_name_, why); }

const btf_type& Btf::type(uint32_t id, std::string_view what) const {
    const btf_type* t = btf__type_by_id(btf_, id);
    if (t == nullptr) fail(fmt::format("{}: type id {} does not exist", what, id));
    return *t;
}

uint32_t Btf::kind(const btf_type& t) const { return btf_kind(&t); }

std::string Btf::name_of(const btf_type& t) const {
    auto s = string(t.name_off);
    if (!s) fail(fmt::format("type name offset {} outside the string table", t.name_off));
    return *s;
}

std::optional<std::string> Btf::string(uint32_t offset) const {
    const char* s = btf__str_by_offset(btf_, offset);
    if (s == nullptr) return std::nullopt;
    return std::string(s);
}

uint32_t Btf::skip_modifiers(uint32_t id, std::string_view what) const {
    for (int depth = 0; depth < kMaxTypeDepth; ++depth) {
        const btf_type& t = type(id, what);
        switch (kind(t)) {
            case BTF_KIND_TYPEDEF:
            case BTF_KIND_VOLATILE:
            case BTF_KIND_CONST:
            case BTF_KIND_RESTRICT:
            case BTF_KIND_TYPE_TAG: id = t.type; break;
            default: return id;
        }
    }
    fail(fmt::format("{}: type chain deeper than {} (loop?)", what, kMaxTypeDepth));
}

uint32_t Btf::size_of(uint32_t id, std::string_view what) const {
    // libbpf's resolver is bounded (depth 32, overflow-checked) and copes with missing ids.
    const int64_t size = btf__resolve_size(btf_, id);
    if (size < 0) fail(fmt::format("{}: type id {} has no size", what, id));
    return static_cast<uint32_t>(size);
}

uint32_t Btf::find_datasec(std::string_view name) const {
    const int id = btf__find_by_name_kind(btf_, std::string(name).c_str(), BTF_KIND_DATASEC);
    return id > 0 ? static_cast<uint32_t>(id) : 0;
}

std::vector<uint8_t> Btf::with_datasec_layout() const {
    uint32_t raw_size = 0;
    const auto* raw = static_cast<const uint8_t*>(btf__raw_data(btf_, &raw_size));
    if (raw == nullptr) fail("BTF bytes unavailable");
    std::vector<uint8_t> out(raw, raw + raw_size);
    std::map<std::pair<size_t, std::string>, uint64_t> symbol_value;  // (section, name) → st_value
    for (const Symbol& sym : file_.symbols())
        if (sym.section != 0 && sym.type == STT_OBJECT) symbol_value[{sym.section, sym.name}] = sym.value;

    for (uint32_t id = 1; id < btf__type_cnt(btf_); ++id) {
        const btf_type* t = btf__type_by_id(btf_, id);
        if (t == nullptr || btf_kind(t) != BTF_KIND_DATASEC) continue;
        const auto* at = reinterpret_cast<const uint8_t*>(t);
        if (at < raw || at >= raw + raw_size) continue;  // not laid out in the raw bytes: leave it
        const Section* section = file_.find_section(name_of(*t));
        if (section == nullptr || section->size > UINT32_MAX) continue;  // e.g. .kconfig: nothing to lay out
        const size_t type_offset = static_cast<size_t>(at - raw);
        const uint32_t size = static_cast<uint32_t>(section->size);
        std::memcpy(out.data() + type_offset + offsetof(btf_type, size), &size, 4);

        std::vector<btf_var_secinfo> vars(btf_var_secinfos(t), btf_var_secinfos(t) + btf_vlen(t));
        for (btf_var_secinfo& v : vars) {
            const btf_type& var = type(v.type, "DATASEC " + section->name + " variable");
            if (btf_kind(&var) != BTF_KIND_VAR) continue;
            auto sym = symbol_value.find({section->index, name_of(var)});
            if (sym != symbol_value.end() && sym->second <= UINT32_MAX) v.offset = static_cast<uint32_t>(sym->second);
        }
        std::stable_sort(vars.begin(), vars.end(),
                         [](const btf_var_secinfo& a, const btf_var_secinfo& b) { return a.offset < b.offset; });
        std::memcpy(out.data() + type_offset + sizeof(btf_type), vars.data(), vars.size() * sizeof(btf_var_secinfo));
    }
    return out;
}

ExtInfo read_ext_info(const ElfFile& file, const Section& ext, const Btf& btf) {
    // Layout (uapi btf.h, libbpf btf.c): header {u16 magic 0xeB9F, u8 version, u8 flags, u32 hdr_len,
    // u32 func_info_off, func_info_len, line_info_off, line_info_len, ...}; offsets count from the end
    // of the header. Each info block = u32 record size, then per ELF section {u32 name_off, u32 count,
    // count records}. Func records: {u32 insn_off (bytes), u32 FUNC type id}. Line records: {u32
    // insn_off, file_name_off, line_off, line_col (line << 10 | column)}.
    const auto bytes = ext.data;
    auto bad = [&](const std::string& why) { file.fail(ext.name, why); };
    if (bytes.size() < 24) bad("truncated .BTF.ext header");
    uint16_t magic;
    std::memcpy(&magic, bytes.data(), 2);
    if (magic != 0xeB9F) bad(fmt::format("bad magic 0x{:04x}", magic));
    const uint32_t hdr_len = read_u32(bytes, 4);
    if (hdr_len < 24 || hdr_len > bytes.size()) bad(fmt::format("header length {} is invalid", hdr_len));
    auto str = [&](uint32_t offset, const char* what) {
        auto s = btf.string(offset);
        if (!s) bad(fmt::format("{} offset {} outside the BTF string table", what, offset));
        return *s;
    };
    // Calls `record(section, bytes)` for every record of the block described at header offset `at`.
    auto walk = [&](size_t at, const char* kind, uint32_t min_record, auto&& record) {
        const uint64_t off = uint64_t{hdr_len} + read_u32(bytes, at);
        const uint64_t len = read_u32(bytes, at + 4);
        if (len == 0) return;
        if (off > bytes.size() || len > bytes.size() - off || len < 4)
            bad(fmt::format("{} extends past the end of the section", kind));
        const auto block = bytes.subspan(off, len);
        const uint32_t record_size = read_u32(block, 0);
        if (record_size < min_record || record_size % 4 != 0)
            bad(fmt::format("{} record size {} is invalid", kind, record_size));
        size_t pos = 4;
        while (pos < block.size()) {
            if (block.size() - pos < 8) bad(fmt::format("truncated {} section header", kind));
            const std::string section = str(read_u32(block, pos), "section name");
            const uint32_t count = read_u32(block, pos + 4);
            pos += 8;
            if (count == 0 || count > (block.size() - pos) / record_size)
                bad(fmt::format("{} for section {}: {} records do not fit", kind, section, count));
            for (uint32_t i = 0; i < count; ++i, pos += record_size) {
                const auto rec = block.subspan(pos, record_size);
                if (read_u32(rec, 0) % 8 != 0)
                    bad(fmt::format("{} for section {}: instruction offset {} is not a multiple of 8", kind, section,
                                    read_u32(rec, 0)));
                record(section, rec);
            }
        }
    };

    ExtInfo info;
    walk(8, "func info", 8, [&](const std::string& section, std::span<const uint8_t> rec) {
        info.funcs[section][read_u32(rec, 0)] = read_u32(rec, 4);
    });
    walk(16, "line info", 16, [&](const std::string& section, std::span<const uint8_t> rec) {
        LineRecord r;
        r.insn_offset = read_u32(rec, 0);
        r.file = str(read_u32(rec, 4), "line info file name");
        r.source_line = str(read_u32(rec, 8), "line info source line");
        const uint32_t line_col = read_u32(rec, 12);
        r.line = line_col >> 10;
        r.column = line_col & 0x3ff;
        info.lines[section].push_back(std::move(r));
    });
    for (auto& [section, records] : info.lines)
        std::stable_sort(records.begin(), records.end(),
                         [](const LineRecord& a, const LineRecord& b) { return a.insn_offset < b.insn_offset; });
    return info;
}

}  // namespace tcbpf::loader::detail
