// BTF access for the loader: type lookups for `.maps` decoding and the string table that line info
// points into, plus a small reader for the line-info part of `.BTF.ext`.
//
// `.BTF` is parsed by libbpf's btf__new, which checks the header, the string section and every type
// record's length. It does not (in libbpf 1.1) check that the ids types refer to exist, so every lookup
// here goes through btf__type_by_id (bounds-checked, may return null) and every walk has a depth limit.
// `.BTF.ext` has its own reader because libbpf 1.x no longer exposes its line-info records publicly.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct btf;
struct btf_type;

namespace tcbpf::loader::detail {

class ElfFile;
struct Section;

class Btf {
   public:
    Btf(const ElfFile& file, const Section& section);
    ~Btf();
    Btf(const Btf&) = delete;
    Btf& operator=(const Btf&) = delete;

    // The type with this id; fails naming `what` when it does not exist.
    const btf_type& type(uint32_t id, std::string_view what) const;
    uint32_t kind(const btf_type& t) const;
    std::string name_of(const btf_type& t) const;
    std::optional<std::string> string(uint32_t offset) const;
    // Follows typedef/const/volatile/restrict/type_tag to the underlying type id.
    uint32_t skip_modifiers(uint32_t id, std::string_view what) const;
    // Byte size of a type (arrays, structs, modifiers resolved), failing for sizeless types.
    uint32_t size_of(uint32_t id, std::string_view what) const;
    // DATASEC id by section name, 0 if absent.
    uint32_t find_datasec(std::string_view name) const;

    [[noreturn]] void fail(const std::string& why) const;
    const struct btf* raw() const { return btf_; }

    // The BTF bytes with every DATASEC laid out as the ELF file says — size = section size, variable
    // offsets = symbol values, sorted — because clang leaves those to the loader (libbpf fixes them up
    // the same way) and the kernel's BPF_BTF_LOAD rejects a DATASEC of size 0.
    std::vector<uint8_t> with_datasec_layout() const;

   private:
    const ElfFile& file_;
    std::string section_name_;
    struct btf* btf_ = nullptr;
};

// One `.BTF.ext` line record: instruction byte offset within its ELF section and the BTF strings.
struct LineRecord {
    uint32_t insn_offset = 0;
    std::string file, source_line;
    uint32_t line = 0, column = 0;
};
// ELF section name → records sorted by insn_offset.
using LineTable = std::map<std::string, std::vector<LineRecord>, std::less<>>;
// ELF section name → (insn byte offset → BTF FUNC type id) of each function.
using FuncTable = std::map<std::string, std::map<uint32_t, uint32_t>, std::less<>>;

struct ExtInfo {
    LineTable lines;
    FuncTable funcs;
};
ExtInfo read_ext_info(const ElfFile& file, const Section& btf_ext, const Btf& btf);

}  // namespace tcbpf::loader::detail
