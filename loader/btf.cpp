#include "loader/btf.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>

#include <algorithm>
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

LineTable read_line_info(const ElfFile& file, const Section& ext, const Btf& btf) {
    // Layout (uapi btf.h, libbpf btf.c): header {u16 magic 0xeB9F, u8 version, u8 flags, u32 hdr_len,
    // u32 func_info_off, func_info_len, line_info_off, line_info_len, ...}; offsets count from the end
    // of the header. Line info = u32 record size, then per ELF section {u32 name_off, u32 count,
    // count records {u32 insn_off (bytes), file_name_off, line_off, line_col (line << 10 | column)}}.
    const auto bytes = ext.data;
    auto bad = [&](const std::string& why) { file.fail(ext.name, why); };
    if (bytes.size() < 24) bad("truncated .BTF.ext header");
    uint16_t magic;
    std::memcpy(&magic, bytes.data(), 2);
    if (magic != 0xeB9F) bad(fmt::format("bad magic 0x{:04x}", magic));
    const uint32_t hdr_len = read_u32(bytes, 4);
    if (hdr_len < 24 || hdr_len > bytes.size()) bad(fmt::format("header length {} is invalid", hdr_len));
    const uint64_t line_off = uint64_t{hdr_len} + read_u32(bytes, 16);
    const uint64_t line_len = read_u32(bytes, 20);
    LineTable table;
    if (line_len == 0) return table;
    if (line_off > bytes.size() || line_len > bytes.size() - line_off || line_len < 4)
        bad("line info extends past the end of the section");
    const auto lines = bytes.subspan(line_off, line_len);
    const uint32_t record_size = read_u32(lines, 0);
    if (record_size < 16 || record_size % 4 != 0) bad(fmt::format("line info record size {} is invalid", record_size));
    size_t pos = 4;
    auto str = [&](uint32_t offset, const char* what) {
        auto s = btf.string(offset);
        if (!s) bad(fmt::format("line info {} offset {} outside the BTF string table", what, offset));
        return *s;
    };
    while (pos < lines.size()) {
        if (lines.size() - pos < 8) bad("truncated line info section header");
        const std::string section = str(read_u32(lines, pos), "section name");
        const uint32_t count = read_u32(lines, pos + 4);
        pos += 8;
        if (count == 0 || count > (lines.size() - pos) / record_size)
            bad(fmt::format("line info for section {}: {} records do not fit", section, count));
        auto& records = table[section];
        for (uint32_t i = 0; i < count; ++i, pos += record_size) {
            LineRecord r;
            r.insn_offset = read_u32(lines, pos);
            if (r.insn_offset % 8 != 0)
                bad(fmt::format("line info for section {}: instruction offset {} is not a multiple of 8", section,
                                r.insn_offset));
            r.file = str(read_u32(lines, pos + 4), "file name");
            r.source_line = str(read_u32(lines, pos + 8), "source line");
            const uint32_t line_col = read_u32(lines, pos + 12);
            r.line = line_col >> 10;
            r.column = line_col & 0x3ff;
            records.push_back(std::move(r));
        }
        std::stable_sort(records.begin(), records.end(),
                         [](const LineRecord& a, const LineRecord& b) { return a.insn_offset < b.insn_offset; });
    }
    return table;
}

}  // namespace tcbpf::loader::detail
