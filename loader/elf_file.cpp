// Header and section-table validation happens on the raw bytes before libelf sees them; libelf then does
// the reading (section data, symbols, relocation entries) on ranges already known to be in bounds.
#include "loader/elf_file.h"

#include <elf.h>
#include <gelf.h>
#include <libelf.h>

#include <cstdint>
#include <cstring>
#include <fmt/format.h>

#include "tcbpf/error.h"

namespace tcbpf::loader::detail {
namespace {

Elf* as_elf(void* p) { return static_cast<Elf*>(p); }

bool range_ok(uint64_t offset, uint64_t size, uint64_t total) { return offset <= total && size <= total - offset; }

}  // namespace

bool Section::executable() const { return type == SHT_PROGBITS && (flags & SHF_EXECINSTR) != 0; }

std::string string_at(const ElfFile& file, std::string_view section, std::span<const uint8_t> table,
                      uint64_t offset) {
    if (offset >= table.size()) file.fail(section, fmt::format("string offset {} outside its string table", offset));
    const auto* start = table.data() + offset;
    const void* end = std::memchr(start, 0, table.size() - offset);
    if (end == nullptr) file.fail(section, fmt::format("string at offset {} is not NUL-terminated", offset));
    return std::string(reinterpret_cast<const char*>(start), static_cast<const uint8_t*>(end) - start);
}

void ElfFile::fail(std::string_view section, const std::string& why) const {
    if (section.empty()) throw Error(fmt::format("{}: {}", name_, why));
    throw Error(fmt::format("{}: section {}: {}", name_, section, why));
}

ElfFile::ElfFile(std::vector<uint8_t> bytes, std::string display_name)
    : bytes_(std::move(bytes)), name_(std::move(display_name)) {
    check_header();
    if (elf_version(EV_CURRENT) == EV_NONE) fail("", "libelf initialisation failed");
    handle_.elf = elf_memory(reinterpret_cast<char*>(bytes_.data()), bytes_.size());
    if (handle_.elf == nullptr || elf_kind(as_elf(handle_.elf)) != ELF_K_ELF)
        fail("", fmt::format("not an ELF object ({})", elf_errmsg(-1)));
    read_sections();
    read_symbols();
}

ElfFile::ElfHandle::~ElfHandle() {
    if (elf != nullptr) elf_end(as_elf(elf));
}

void ElfFile::check_header() {
    Elf64_Ehdr eh;
    if (bytes_.size() < sizeof eh)
        fail("", fmt::format("truncated: {} bytes, an ELF header needs {}", bytes_.size(), sizeof eh));
    std::memcpy(&eh, bytes_.data(), sizeof eh);
    if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) fail("", "not an ELF file (bad magic)");
    if (eh.e_ident[EI_CLASS] != ELFCLASS64) fail("", "not a 64-bit ELF object (BPF objects are ELFCLASS64)");
    if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
        fail("", "ELF byte order is not little-endian like this host (compile with -target bpfel or bpf)");
    if (eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT) fail("", "unsupported ELF version");
    if (eh.e_type != ET_REL) fail("", fmt::format("ELF type {} is not a relocatable object (ET_REL)", eh.e_type));
    if (eh.e_machine != EM_BPF && eh.e_machine != EM_NONE)
        fail("", fmt::format("ELF machine {} is not BPF ({})", eh.e_machine, EM_BPF));
    if (eh.e_shnum == 0 || eh.e_shoff == 0) fail("", "no section header table");
    if (eh.e_shentsize != sizeof(Elf64_Shdr))
        fail("", fmt::format("section header size {} (expected {})", eh.e_shentsize, sizeof(Elf64_Shdr)));
    if (eh.e_shnum >= SHN_LORESERVE) fail("", "extended section numbering is not supported");
    if (!range_ok(eh.e_shoff, uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr), bytes_.size()))
        fail("", "truncated: section header table extends past the end of the file");
    if (eh.e_shstrndx == SHN_UNDEF || eh.e_shstrndx >= eh.e_shnum)
        fail("", fmt::format("section name table index {} is invalid", eh.e_shstrndx));
    if (eh.e_phnum != 0 && !range_ok(eh.e_phoff, uint64_t{eh.e_phnum} * eh.e_phentsize, bytes_.size()))
        fail("", "truncated: program header table extends past the end of the file");

    // Every section's file range, so libelf's elf_getdata never reads outside the buffer.
    for (size_t i = 0; i < eh.e_shnum; ++i) {
        Elf64_Shdr sh;
        std::memcpy(&sh, bytes_.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
        if (i == 0) continue;
        if (sh.sh_type != SHT_NOBITS && sh.sh_type != SHT_NULL && !range_ok(sh.sh_offset, sh.sh_size, bytes_.size()))
            fail(fmt::format("#{}", i), "truncated: section data extends past the end of the file");
        if (sh.sh_link >= eh.e_shnum && (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_REL || sh.sh_type == SHT_RELA))
            fail(fmt::format("#{}", i), fmt::format("sh_link {} is not a section", sh.sh_link));
        if ((sh.sh_flags & SHF_COMPRESSED) != 0) fail(fmt::format("#{}", i), "compressed sections are not supported");
    }
    Elf64_Shdr names;
    std::memcpy(&names, bytes_.data() + eh.e_shoff + eh.e_shstrndx * sizeof names, sizeof names);
    if (names.sh_type != SHT_STRTAB) fail("", "section name table is not a string table");
}

void ElfFile::read_sections() {
    Elf* elf = as_elf(handle_.elf);
    size_t count = 0, names_index = 0;
    if (elf_getshdrnum(elf, &count) != 0 || elf_getshdrstrndx(elf, &names_index) != 0)
        fail("", fmt::format("unreadable section table ({})", elf_errmsg(-1)));
    // Names first need the name table's bytes.
    std::span<const uint8_t> names;
    {
        Elf_Scn* scn = elf_getscn(elf, names_index);
        Elf_Data* data = scn != nullptr ? elf_getdata(scn, nullptr) : nullptr;
        if (data == nullptr || data->d_buf == nullptr) fail("", "section name table is unreadable");
        names = {static_cast<const uint8_t*>(data->d_buf), data->d_size};
    }
    sections_.resize(count);
    for (size_t i = 1; i < count; ++i) {
        Elf_Scn* scn = elf_getscn(elf, i);
        GElf_Shdr sh;
        if (scn == nullptr || gelf_getshdr(scn, &sh) == nullptr)
            fail(fmt::format("#{}", i), fmt::format("unreadable section header ({})", elf_errmsg(-1)));
        Section& s = sections_[i];
        s.index = i;
        s.name = string_at(*this, fmt::format("#{}", i), names, sh.sh_name);
        s.type = sh.sh_type;
        s.flags = sh.sh_flags;
        s.link = sh.sh_link;
        s.info = sh.sh_info;
        s.entsize = sh.sh_entsize;
        s.size = sh.sh_size;
        if (sh.sh_type != SHT_NOBITS && sh.sh_type != SHT_NULL && sh.sh_size > 0) {
            Elf_Data* data = elf_rawdata(scn, nullptr);
            if (data == nullptr || data->d_buf == nullptr || data->d_size != sh.sh_size)
                fail(s.name, fmt::format("unreadable section data ({})", elf_errmsg(-1)));
            s.data = {static_cast<const uint8_t*>(data->d_buf), data->d_size};
        }
    }
    relocations_of_.resize(count);
    for (const Section& s : sections_)
        if ((s.type == SHT_REL || s.type == SHT_RELA) && s.info < count) relocations_of_[s.info].push_back(&s);
}

void ElfFile::read_symbols() {
    const Section* symtab = nullptr;
    for (const Section& s : sections_) {
        if (s.type != SHT_SYMTAB) continue;
        if (symtab != nullptr) fail(s.name, "more than one symbol table");
        symtab = &s;
    }
    if (symtab == nullptr) fail("", "no symbol table (.symtab): maps and relocations cannot be resolved");
    if (symtab->entsize != sizeof(Elf64_Sym) || symtab->size % sizeof(Elf64_Sym) != 0)
        fail(symtab->name, fmt::format("symbol entry size {} / table size {} are inconsistent", symtab->entsize,
                                       symtab->size));
    const Section& strtab = sections_[symtab->link];
    if (strtab.type != SHT_STRTAB) fail(symtab->name, "sh_link does not name a string table");
    symtab_index_ = symtab->index;

    Elf_Data* data = elf_getdata(elf_getscn(as_elf(handle_.elf), symtab->index), nullptr);
    const size_t count = symtab->size / sizeof(Elf64_Sym);
    if (count > 0 && (data == nullptr || data->d_size < symtab->size)) fail(symtab->name, "unreadable symbol table");
    symbols_.resize(count);
    for (size_t i = 1; i < count; ++i) {
        GElf_Sym sym;
        if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr)
            fail(symtab->name, fmt::format("unreadable symbol #{}", i));
        Symbol& out = symbols_[i];
        out.index = i;
        out.name = string_at(*this, strtab.name, strtab.data, sym.st_name);
        out.value = sym.st_value;
        out.size = sym.st_size;
        out.bind = GELF_ST_BIND(sym.st_info);
        out.type = GELF_ST_TYPE(sym.st_info);
        out.section = (sym.st_shndx != SHN_UNDEF && sym.st_shndx < sections_.size()) ? sym.st_shndx : 0;
        if (out.type == STT_SECTION && out.section != 0 && out.name.empty()) out.name = sections_[out.section].name;
    }
}

const Section* ElfFile::find_section(std::string_view name) const {
    for (const Section& s : sections_)
        if (s.index != 0 && s.name == name) return &s;
    return nullptr;
}

std::vector<const Section*> ElfFile::relocation_sections_for(size_t target) const {
    return target < relocations_of_.size() ? relocations_of_[target] : std::vector<const Section*>{};
}

std::vector<Relocation> ElfFile::relocations(const Section& rel) const {
    const bool rela = rel.type == SHT_RELA;
    const size_t entry = rela ? sizeof(Elf64_Rela) : sizeof(Elf64_Rel);
    if (rel.entsize != entry || rel.size % entry != 0)
        fail(rel.name, fmt::format("relocation entry size {} / section size {} are inconsistent (expected {}-byte "
                                   "entries)", rel.entsize, rel.size, entry));
    if (rel.link != symtab_index_) fail(rel.name, "relocations do not refer to the symbol table");
    Elf_Data* data = elf_getdata(elf_getscn(as_elf(handle_.elf), rel.index), nullptr);
    const size_t count = rel.size / entry;
    if (count > 0 && (data == nullptr || data->d_size < rel.size)) fail(rel.name, "unreadable relocations");
    std::vector<Relocation> out(count);
    for (size_t i = 0; i < count; ++i) {
        uint64_t info = 0;
        Relocation& r = out[i];
        if (rela) {
            GElf_Rela e;
            if (gelf_getrela(data, static_cast<int>(i), &e) == nullptr) fail(rel.name, "unreadable relocation");
            r.offset = e.r_offset;
            r.addend = e.r_addend;
            r.has_addend = true;
            // Real addends are offsets inside a section; bounding them keeps all later arithmetic exact.
            if (e.r_addend > INT32_MAX || e.r_addend < INT32_MIN)
                fail(rel.name, fmt::format("relocation #{} has addend {} outside the 32-bit range", i, e.r_addend));
            info = e.r_info;
        } else {
            GElf_Rel e;
            if (gelf_getrel(data, static_cast<int>(i), &e) == nullptr) fail(rel.name, "unreadable relocation");
            r.offset = e.r_offset;
            info = e.r_info;
        }
        r.type = static_cast<uint32_t>(GELF_R_TYPE(info));
        const uint64_t sym = GELF_R_SYM(info);
        if (r.type == kRelNone) continue;  // ignored by every consumer, whatever symbol it names
        if (sym == 0 || sym >= symbols_.size())
            fail(rel.name, fmt::format("relocation #{} at offset {} refers to missing symbol #{}", i, r.offset, sym));
        r.symbol = &symbols_[sym];
    }
    return out;
}

}  // namespace tcbpf::loader::detail
