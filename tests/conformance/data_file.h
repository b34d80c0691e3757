// Reader for the eBPF conformance suite's `.data` files (format: shared/conformance/README.md).
//
// The reader mirrors the reference runner's rules exactly, including its quirks: `#` starts a comment
// anywhere on a line, any line containing `--` is a section header chosen by the first of a fixed list
// of substrings, an unknown header makes the whole file "skip", and a file with neither `result` nor
// `error` is skipped too. It does not assemble: `asm` comes back as text for the assembler.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcbpf::conformance {

struct DataFile {
    std::string path;
    std::string asm_text;               // the `asm` section's lines, comments removed, '\n'-joined
    std::optional<std::vector<uint64_t>> raw;  // `raw` slots; when present it replaces `asm`
    std::vector<uint8_t> mem;           // empty when the file has no `mem` section
    bool has_mem = false;
    std::optional<uint64_t> result;     // expected r0
    std::optional<std::string> error;   // expected error text
    // Non-empty when the reference runner would skip the file ("Unknown directive", "no result").
    std::string skip_reason;
};

// Throws tcbpf::Error naming path and line for malformed numbers in `raw`, `mem` or `result`.
DataFile parse_data_file(std::string_view text, const std::string& path);
DataFile read_data_file(const std::string& path);

// The suite folder's `*.data` files, sorted by name like the runner's tallies; empty if the folder is
// absent.
std::vector<std::string> list_data_files(const std::string& directory);

// A GoogleTest-safe name for a test file: its stem with every other character than [A-Za-z0-9] as '_'.
std::string test_name_for(const std::string& path);

// `raw` slots as little-endian bytes (the runner's program encoding).
std::vector<uint8_t> raw_bytes(const std::vector<uint64_t>& slots);

}  // namespace tcbpf::conformance
