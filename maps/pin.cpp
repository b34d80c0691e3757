// Reusing a pinned map as iproute2 does: a loader that finds a map already pinned at its path shares it
// only if it is the same map (type, key and value sizes, max_entries, flags — what iproute2 compares
// from /proc/self/fdinfo — and, for per-CPU maps, the CPU count that shapes their values); otherwise the
// load fails naming what differs. A missing map is created and pinned; losing the race to another
// process creating the same path just means opening the winner's map.
#include <cerrno>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tcbpf/maps.h"

namespace tcbpf::maps {

std::string spec_difference(const Map& pinned, const MapSpec& wanted, uint32_t ncpus) {
    std::vector<std::string> diffs;
    auto compare = [&](const char* field, uint64_t mine, uint64_t theirs, bool show_as_hex = false) {
        if (mine == theirs) return;
        diffs.push_back(show_as_hex ? fmt::format("{} {:#x} here, {:#x} pinned", field, mine, theirs)
                                    : fmt::format("{} {} here, {} pinned", field, mine, theirs));
    };
    if (wanted.type != pinned.type())
        diffs.push_back(fmt::format("type {} here, {} pinned", map_type_name(wanted.type), map_type_name(pinned.type())));
    compare("key_size", wanted.key_size, pinned.key_size());
    compare("value_size", wanted.value_size, pinned.value_size());
    compare("max_entries", wanted.max_entries, pinned.max_entries());
    compare("flags", wanted.map_flags, pinned.spec().map_flags, true);
    if (pinned.is_percpu()) compare("CPU count", ncpus, pinned.ncpus());
    return fmt::format("{}", fmt::join(diffs, ", "));
}

std::unique_ptr<Map> pin_map(const MapSpec& spec, uint32_t ncpus, const std::string& path) {
    for (int attempt = 0;; ++attempt) {
        try {
            auto map = open_pinned_map(path);
            if (const std::string diff = spec_difference(*map, spec, ncpus); !diff.empty())
                throw MapError(-EINVAL, fmt::format("the map pinned at {} differs ({}): Map specification differs "
                                                    "from pinned file!",
                                                    path, diff));
            return map;
        } catch (const MapError& e) {
            if (e.error() != -ENOENT) throw;
        }
        try {
            return create_pinned_map(spec, ncpus, path);
        } catch (const MapError& e) {
            // Someone pinned it between our probe and our link: open theirs (bounded, in case the path
            // keeps appearing and disappearing under us).
            if (e.error() != -EEXIST || attempt >= 8) throw;
        }
    }
}

}  // namespace tcbpf::maps
