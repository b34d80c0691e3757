// A validated, read-only view of a relocatable BPF ELF object.
//
// libelf is only ever handed bytes whose header, section table and section ranges have been checked
// first (bounds, overflow, entry sizes, string termination), so a corrupt file turns into a tcbpf::Error
// naming the file and section, never into a libelf read past the end. Everything the rest of the loader
// needs is copied out into plain structs here; no libelf type leaks past this file.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tcbpf::loader::detail {

// EM_BPF relocation types (LLVM BPF.def; glibc's elf.h names only the first two and 64_32).
inline constexpr uint32_t kRelNone = 0;
inline constexpr uint32_t kRel64_64 = 1;       // ld_imm64 imm
inline constexpr uint32_t kRelAbs64 = 2;       // 64-bit data
inline constexpr uint32_t kRelAbs32 = 3;       // 32-bit data
inline constexpr uint32_t kRelNoDyld32 = 4;    // .BTF / .BTF.ext
inline constexpr uint32_t kRel64_32 = 10;      // call imm

struct Section {
    size_t index = 0;
    std::string name;
    uint32_t type = 0;  // SHT_*
    uint64_t flags = 0;
    uint32_t link = 0, info = 0;
    uint64_t entsize = 0;
    uint64_t size = 0;               // sh_size (also for NOBITS, whose data is empty)
    std::span<const uint8_t> data;   // file bytes; empty for NOBITS
    bool executable() const;
};

struct Symbol {
    size_t index = 0;
    std::string name;
    uint64_t value = 0, size = 0;
    uint8_t bind = 0, type = 0;  // STB_*, STT_*
    size_t section = 0;          // 0 when undefined or in a reserved index (SHN_ABS, SHN_COMMON, ...)
};

struct Relocation {
    uint64_t offset = 0;  // inside the target section
    uint32_t type = 0;    // R_BPF_*
    const Symbol* symbol = nullptr;  // null only for R_BPF_NONE; other relocations against missing symbols are rejected
    int64_t addend = 0;              // RELA only; REL keeps the addend in the patched field
    bool has_addend = false;
};

class ElfFile {
   public:
    ElfFile(std::vector<uint8_t> bytes, std::string display_name);
    ElfFile(const ElfFile&) = delete;
    ElfFile& operator=(const ElfFile&) = delete;

    const std::string& name() const { return name_; }
    const std::vector<Section>& sections() const { return sections_; }
    const Section* find_section(std::string_view name) const;
    const Section& section(size_t index) const { return sections_.at(index); }
    const std::vector<Symbol>& symbols() const { return symbols_; }
    // The REL/RELA sections that apply to section `target`.
    std::vector<const Section*> relocation_sections_for(size_t target) const;
    std::vector<Relocation> relocations(const Section& rel_section) const;

    // "FILE: section S: why" (or "FILE: why" for an empty section name).
    [[noreturn]] void fail(std::string_view section, const std::string& why) const;

   private:
    void check_header();
    void read_sections();
    void read_symbols();

    std::vector<uint8_t> bytes_;
    std::string name_;
    // Elf*, kept opaque so <libelf.h> stays out of every other file; a member with its own destructor so
    // that a constructor failing half-way still releases it.
    struct ElfHandle {
        void* elf = nullptr;
        ~ElfHandle();
    } handle_;
    std::vector<Section> sections_;
    std::vector<Symbol> symbols_;
    std::vector<std::vector<const Section*>> relocations_of_;  // target section index → REL/RELA sections
    size_t symtab_index_ = 0;
};

// A NUL-terminated string at `offset` inside `table`, or an error via `file.fail`.
std::string string_at(const ElfFile& file, std::string_view section, std::span<const uint8_t> table,
                      uint64_t offset);

}  // namespace tcbpf::loader::detail
