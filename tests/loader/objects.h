// Helpers shared by the loader tests: locating the objects compiled from progs/*.c (skipping when clang
// was not available at configure time), reading files, and small lookups into a loaded Object.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tcbpf/loader.h"

namespace tcbpf::loader::test {

inline std::string object_path(const std::string& name) {
    return std::string(TCBPF_LOADER_OBJ_DIR) + "/" + name + ".o";
}

// Skips the calling test when the objects could not be compiled.
#define TCBPF_REQUIRE_OBJECTS()                                                                  \
    do {                                                                                        \
        if (std::string(TCBPF_LOADER_OBJ_DIR).empty())                                          \
            GTEST_SKIP() << "clang was not found at configure time: no compiled BPF objects";   \
    } while (0)

inline std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline uint32_t map_index(const Object& o, const std::string& name) {
    for (size_t i = 0; i < o.maps.size(); ++i)
        if (o.maps[i].name == name) return static_cast<uint32_t>(i);
    ADD_FAILURE() << "no map " << name;
    return UINT32_MAX;
}

// (pc, insn) of every LDDW in a program.
inline std::vector<std::pair<size_t, isa::Insn>> lddws(const ProgramDef& p) {
    std::vector<std::pair<size_t, isa::Insn>> out;
    for (size_t pc = 0; pc < p.prog.size(); ++pc)
        if (p.prog.insns[pc].op == isa::Op::LDDW) out.emplace_back(pc, p.prog.insns[pc]);
    return out;
}

// 1-based line of the first source line of progs/<file> containing `marker`.
inline uint32_t marker_line(const std::string& file, const std::string& marker) {
    std::ifstream in(std::string(TCBPF_LOADER_SRC_DIR) + "/" + file);
    std::string line;
    for (uint32_t n = 1; std::getline(in, line); ++n)
        if (line.find(marker) != std::string::npos) return n;
    ADD_FAILURE() << "marker " << marker << " not in " << file;
    return 0;
}

// The text of line `n` (1-based) of progs/<file>.
inline std::string source_line(const std::string& file, uint32_t n) {
    std::ifstream in(std::string(TCBPF_LOADER_SRC_DIR) + "/" + file);
    std::string line;
    for (uint32_t i = 1; std::getline(in, line); ++i)
        if (i == n) return line;
    return "";
}

}  // namespace tcbpf::loader::test
