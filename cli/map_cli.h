// `tcbpf map ...`: bpftool's map commands over pinned map files. The grammar follows bpftool's (verbs
// abbreviable to any prefix, `pinned FILE`, `key [hex] BYTES`, `value [hex] BYTES`, any|noexist|exist),
// its output (plain and -j JSON, per-CPU values per CPU) and its failures: "Error: MESSAGE" on stderr (a
// JSON {"error": ...} on stdout with -j) and bpftool's exit status — the failed call's errno as a
// negative byte (254 for ENOENT) or 255 for bad usage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tcbpf/maps.h"

namespace tcbpf::cli::mapcmd {

// A failure of a map command, as bpftool reports it. `status` is the exit status.
struct Failure {
    std::string message;
    int status = 255;
};
// Failure of an operation that returned -errno: bpftool exits with that value (as a byte).
Failure errno_failure(const std::string& what, int negative_errno);

enum class Verb { Show, Dump, Lookup, Update, Delete, GetNext, Create, Pin, Peek, Push, Pop };

// Byte strings and flags as typed; sizes are checked against the map once it is open.
struct Command {
    Verb verb = Verb::Show;
    std::vector<std::string> words;  // the command as given (for batch JSON output)
    std::string path;                // pinned FILE (create: the FILE to create)
    std::string pin_target;          // pin: the new path
    std::vector<std::string> key, value;  // raw byte tokens after `key` / `value` (without `hex`)
    bool key_given = false, value_given = false, key_hex = false, value_hex = false;
    uint64_t flags = maps::kBpfAny;
    maps::MapSpec create;            // create: the map to make
};

// Parses the words after `map` (the verb first). Throws Failure.
Command parse_command(const std::vector<std::string>& words);
// bpftool's parse_bytes: exactly `size` tokens, each a number in base 16 with `hex` (else C's base
// 0: 0x.. hex, 0.. octal, decimal), kept as its low byte. Throws Failure "error parsing byte: TOKEN"
// or "key expected 4 bytes got 3".
std::vector<uint8_t> parse_bytes(const std::vector<std::string>& tokens, bool hex, uint32_t size, const char* what);

// The map at `path`, or Failure "bpf obj get (PATH): ...".
std::unique_ptr<maps::Map> open_map(const std::string& path);

// ---- output (map_format.cpp) ----
// bpftool's fprint_hex: bytes "%02x" separated by spaces, two spaces after every 8th, a newline after
// every 16th.
std::string hex_block(const uint8_t* data, size_t size);
std::string json_bytes(const uint8_t* data, size_t size);  // ["0x01","0x00",...]
std::string plain_entry(const maps::Map& map, const uint8_t* key, const uint8_t* value);
std::string json_entry(const maps::Map& map, const uint8_t* key, const uint8_t* value);
// `show` for the map pinned at `path` (its inode number stands in for the kernel's map id).
std::string plain_show(const maps::Map& map, const std::string& path);
std::string json_show(const maps::Map& map, const std::string& path);
std::string json_string(const std::string& text);  // "text" with JSON escapes

}  // namespace tcbpf::cli::mapcmd
