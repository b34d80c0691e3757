// A tiny ELF64 writer for hand-made BPF objects: layouts clang never emits (RELA relocations, type-0
// relocations, odd legacy map entry sizes, sections without function symbols) and precise corruptions.
#pragma once

#include <elf.h>

#include <cstring>
#include <string>
#include <vector>

namespace tcbpf::loader::test {

class ElfBuilder {
   public:
    struct Sec {
        std::string name;
        uint32_t type = SHT_PROGBITS;
        uint64_t flags = 0;
        std::vector<uint8_t> data;
        uint32_t info = 0;
        uint64_t entsize = 0;
        uint64_t nobits_size = 0;  // sh_size of an SHT_NOBITS section (which has no data)
    };

    uint16_t machine = EM_BPF;
    bool with_symtab = true;

    // Returns the section index (index 0 is the null section).
    size_t add(Sec sec) {
        secs_.push_back(std::move(sec));
        return secs_.size();
    }
    size_t code(const std::string& name, const std::vector<uint64_t>& insns) {
        Sec s{name, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, {}};
        for (uint64_t insn : insns) append(s.data, insn);
        return add(s);
    }
    size_t data(const std::string& name, const std::vector<uint32_t>& words) {
        Sec s{name, SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, {}};
        for (uint32_t w : words) append(s.data, w);
        return add(s);
    }
    uint32_t symbol(const std::string& name, uint64_t value, uint64_t size, uint8_t bind, uint8_t type, size_t shndx) {
        Elf64_Sym sym{};
        sym.st_name = static_cast<uint32_t>(strtab_.size());
        strtab_ += name;
        strtab_ += '\0';
        sym.st_value = value;
        sym.st_size = size;
        sym.st_info = ELF64_ST_INFO(bind, type);
        sym.st_shndx = static_cast<uint16_t>(shndx);
        syms_.push_back(sym);
        return static_cast<uint32_t>(syms_.size() - 1);
    }
    // REL (addend < 0 means none) or RELA relocations for section `target`.
    size_t rel(const std::string& name, size_t target, const std::vector<Elf64_Rel>& entries) {
        Sec s{name, SHT_REL, 0, {}, static_cast<uint32_t>(target), sizeof(Elf64_Rel)};
        for (const auto& e : entries) append(s.data, e);
        return add(s);
    }
    size_t rela(const std::string& name, size_t target, const std::vector<Elf64_Rela>& entries) {
        Sec s{name, SHT_RELA, 0, {}, static_cast<uint32_t>(target), sizeof(Elf64_Rela)};
        for (const auto& e : entries) append(s.data, e);
        return add(s);
    }

    std::vector<uint8_t> build() const {
        std::vector<Sec> all = secs_;
        const size_t symtab = all.size() + 1, strtab = all.size() + 2;
        if (with_symtab) {
            Sec st{".symtab", SHT_SYMTAB, 0, {}, 1, sizeof(Elf64_Sym)};
            for (const auto& s : syms_) append(st.data, s);
            all.push_back(st);
            all.push_back({".strtab", SHT_STRTAB, 0, std::vector<uint8_t>(strtab_.begin(), strtab_.end())});
        }
        std::string shstr(1, '\0');
        std::vector<uint32_t> name_off;
        for (const auto& s : all) {
            name_off.push_back(static_cast<uint32_t>(shstr.size()));
            shstr += s.name + '\0';
        }
        name_off.push_back(static_cast<uint32_t>(shstr.size()));
        shstr += std::string(".shstrtab") + '\0';
        all.push_back({".shstrtab", SHT_STRTAB, 0, std::vector<uint8_t>(shstr.begin(), shstr.end())});

        std::vector<uint8_t> out(sizeof(Elf64_Ehdr));
        std::vector<Elf64_Shdr> headers(1 + all.size());
        for (size_t i = 0; i < all.size(); ++i) {
            while (out.size() % 8 != 0) out.push_back(0);
            Elf64_Shdr& h = headers[i + 1];
            h.sh_name = name_off[i];
            h.sh_type = all[i].type;
            h.sh_flags = all[i].flags;
            h.sh_offset = out.size();
            h.sh_size = all[i].type == SHT_NOBITS ? all[i].nobits_size : all[i].data.size();
            h.sh_info = all[i].info;
            h.sh_entsize = all[i].entsize;
            h.sh_addralign = 8;
            if (all[i].type == SHT_REL || all[i].type == SHT_RELA) h.sh_link = static_cast<uint32_t>(symtab);
            if (all[i].type == SHT_SYMTAB) h.sh_link = static_cast<uint32_t>(strtab);
            if (all[i].type != SHT_NOBITS) out.insert(out.end(), all[i].data.begin(), all[i].data.end());
        }
        while (out.size() % 8 != 0) out.push_back(0);
        Elf64_Ehdr eh{};
        std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = ELFCLASS64;
        eh.e_ident[EI_DATA] = ELFDATA2LSB;
        eh.e_ident[EI_VERSION] = EV_CURRENT;
        eh.e_type = ET_REL;
        eh.e_machine = machine;
        eh.e_version = EV_CURRENT;
        eh.e_ehsize = sizeof eh;
        eh.e_shoff = out.size();
        eh.e_shentsize = sizeof(Elf64_Shdr);
        eh.e_shnum = static_cast<uint16_t>(headers.size());
        eh.e_shstrndx = static_cast<uint16_t>(headers.size() - 1);
        std::memcpy(out.data(), &eh, sizeof eh);
        for (const auto& h : headers) append(out, h);
        return out;
    }

   private:
    template <typename T>
    static void append(std::vector<uint8_t>& out, const T& value) {
        const auto* p = reinterpret_cast<const uint8_t*>(&value);
        out.insert(out.end(), p, p + sizeof value);
    }

    std::vector<Sec> secs_;
    std::vector<Elf64_Sym> syms_{Elf64_Sym{}};
    std::string strtab_ = std::string(1, '\0');
};

// Raw instruction words (little-endian slot as a u64: code | regs << 8 | off << 16 | imm << 32).
inline uint64_t insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    return uint64_t{code} | uint64_t{static_cast<uint8_t>(dst | (src << 4))} << 8 |
           uint64_t{static_cast<uint16_t>(off)} << 16 | uint64_t{static_cast<uint32_t>(imm)} << 32;
}
inline uint64_t lddw(uint8_t dst, int32_t imm) { return insn(0x18, dst, 0, 0, imm); }
inline uint64_t lddw_tail(int32_t imm = 0) { return insn(0, 0, 0, 0, imm); }
inline uint64_t mov(uint8_t dst, int32_t imm) { return insn(0xb7, dst, 0, 0, imm); }
inline uint64_t call(int32_t imm, uint8_t src = 0) { return insn(0x85, 0, src, 0, imm); }
inline uint64_t exit_insn() { return insn(0x95, 0, 0, 0, 0); }

}  // namespace tcbpf::loader::test
