// Pinned maps as iproute2's tc lays them out under its bpffs mount, here an ordinary directory (default
// /run/tcbpf): PIN_GLOBAL_NS maps (and BTF maps pinned by name, which tc's libbpf mode roots at
// tc/globals) at DIR/tc/globals/NAME, PIN_OBJECT_NS maps at DIR/tc/<hex SHA-1 of the object file>/NAME,
// and custom pinning values at DIR/<subpath>/NAME with the subpath from iproute2's bpf_pinning file.
// A pinned map is shared with every process that pins or opens the same path (maps::pin_map decides
// whether an existing one may be reused).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "runtime/sha1.h"
#include "tcbpf/runtime.h"

namespace tcbpf::runtime {

namespace {

std::string object_hash(const loader::Object& object) {
    std::ifstream in(object.path, std::ios::binary);
    if (!in)
        throw Error(fmt::format("{}: PIN_OBJECT_NS needs the object file to name its pin directory, and it cannot "
                                "be read",
                                object.path));
    const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    return sha1_hex(bytes);
}

// iproute2's bpf_pinning file: "ID subpath" lines, '#' comments; IDs 0-2 are its own scopes.
std::string custom_subpath(uint32_t pinning, const std::string& map_name) {
    for (const char* file : {"/etc/iproute2/bpf_pinning", "/usr/share/iproute2/bpf_pinning"}) {
        std::ifstream in(file);
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty() || line[0] == '#') continue;
            std::istringstream fields(line);
            uint64_t id = 0;
            std::string subpath;
            if (fields >> id >> subpath && id == pinning) return subpath;
        }
    }
    throw Error(fmt::format("map {}: pinning value {} is not listed in /etc/iproute2/bpf_pinning", map_name, pinning));
}

}  // namespace

std::optional<std::string> environment_bpffs() {
    const char* env = std::getenv("TCBPF_BPFFS");
    if (env == nullptr || *env == 0) return std::nullopt;
    return env;
}

std::string default_bpffs() { return environment_bpffs().value_or("/run/tcbpf"); }

std::string pin_path(const loader::Object& object, const loader::MapDef& def, const std::string& bpffs) {
    switch (def.pinning) {
        case loader::kPinNone: return "";
        case loader::kPinGlobalNs: return fmt::format("{}/tc/globals/{}", bpffs, def.name);
        case loader::kPinObjectNs: return fmt::format("{}/tc/{}/{}", bpffs, object_hash(object), def.name);
        default: return fmt::format("{}/{}/{}", bpffs, custom_subpath(def.pinning, def.name), def.name);
    }
}

std::unique_ptr<maps::Map> create_object_map(const loader::Object& object, const loader::MapDef& def,
                                             const LoadOptions& options) {
    const maps::MapSpec spec{def.type, def.key_size, def.value_size, def.max_entries, def.map_flags, def.name};
    const std::optional<std::string> bpffs = options.bpffs ? options.bpffs : environment_bpffs();
    const std::string path = bpffs ? pin_path(object, def, *bpffs) : "";
    if (path.empty()) return maps::create_map(spec, options.ncpus);
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    if (ec) throw Error(fmt::format("creating the pin directory for {}: {}", path, ec.message()));
    return maps::pin_map(spec, options.ncpus, path);
}

}  // namespace tcbpf::runtime
