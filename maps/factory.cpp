// Creating and opening map blocks, and the behaviour every map type shares unless it overrides it
// (the kernel's answers for operations a map type does not support).
#include <cerrno>
#include <cstring>
#include <thread>

#include <unistd.h>

#include <fmt/format.h>

#include "maps/block.h"

namespace tcbpf::maps {

namespace {

struct TypeOps {
    LayoutFn layout;
    OpenFn open;
};

TypeOps type_ops(uint32_t type) {
    switch (type) {
        case kMapArray:
        case kMapPercpuArray: return {array_layout, open_array};
        case kMapHash:
        case kMapPercpuHash:
        case kMapLruHash:
        case kMapLruPercpuHash: return {hash_layout, open_hash};
        case kMapLpmTrie: return {lpm_layout, open_lpm};
        case kMapQueue:
        case kMapStack: return {queue_layout, open_queue};
        case kMapRingbuf: return {ringbuf_layout, open_ringbuf};
        case kMapProgArray: return {slot_array_layout, open_prog_array};
        case kMapPerfEventArray: return {slot_array_layout, open_perf_event_array};
        default: return {nullptr, nullptr};
    }
}

MapSpec checked_spec(const MapSpec& spec, uint32_t ncpus) {
    if (SpecCheck check = validate_spec(spec); !check) throw MapError(check.error, check.message);
    if (ncpus == 0) throw MapError(-EINVAL, fmt::format("map '{}': the CPU count must be at least 1", spec.name));
    MapSpec kept = spec;
    if (kept.name.size() > 15) kept.name.resize(15);  // BPF_OBJ_NAME_LEN - 1
    return kept;
}

std::unique_ptr<Map> build(const MapSpec& spec, uint32_t ncpus, Storage storage, const BlockLayout& layout) {
    auto* header = storage.at<BlockHeader>(0);
    std::memcpy(header->magic, kBlockMagic, sizeof header->magic);
    header->layout_version = kLayoutVersion;
    header->type = spec.type;
    header->key_size = spec.key_size;
    header->value_size = spec.value_size;
    header->max_entries = spec.max_entries;
    header->map_flags = spec.map_flags;
    header->ncpus = ncpus;
    std::memcpy(header->name, spec.name.data(), spec.name.size());
    header->block_size = storage.size();
    header->mirror_offset = layout.mirror_offset;
    auto map = type_ops(spec.type).open(spec, ncpus, std::move(storage), true);
    header->ready.store(1, std::memory_order_release);
    return map;
}

}  // namespace

uint32_t default_ncpus() {
    unsigned n = std::thread::hardware_concurrency();
    return n ? n : 1;
}

std::unique_ptr<Map> create_map(const MapSpec& spec, uint32_t ncpus) {
    MapSpec kept = checked_spec(spec, ncpus);
    BlockLayout layout = type_ops(kept.type).layout(kept, ncpus);
    return build(kept, ncpus, Storage::anonymous(layout.size, layout.mirror_offset), layout);
}

std::unique_ptr<Map> create_pinned_map(const MapSpec& spec, uint32_t ncpus, const std::string& path) {
    MapSpec kept = checked_spec(spec, ncpus);
    BlockLayout layout = type_ops(kept.type).layout(kept, ncpus);
    if (::access(path.c_str(), F_OK) == 0)  // fail before building a block nobody will use
        throw MapError(-EEXIST, fmt::format("creating map file {}: {}", path, std::strerror(EEXIST)));
    Storage storage = Storage::create_unnamed(path, layout.size, layout.mirror_offset);
    const std::string descriptor = storage.descriptor_path();
    auto map = build(kept, ncpus, std::move(storage), layout);
    Storage::publish(descriptor, path);  // only a complete block gets a name
    return map;
}

std::unique_ptr<Map> open_pinned_map(const std::string& path) {
    Storage storage = Storage::open_file(path);
    const auto* header = storage.at<BlockHeader>(0);
    if (std::memcmp(header->magic, kBlockMagic, sizeof header->magic) != 0)
        throw MapError(-EINVAL, fmt::format("{} is not a tcbpf map (bad magic)", path));
    if (header->layout_version != kLayoutVersion)
        throw MapError(-EINVAL, fmt::format("{}: map layout version {} (this build reads {})", path,
                                            header->layout_version, kLayoutVersion));
    if (header->ready.load(std::memory_order_acquire) != 1)
        throw MapError(-EAGAIN, fmt::format("{}: the map is still being created", path));
    if (header->block_size != storage.size())
        throw MapError(-EINVAL, fmt::format("{}: file is {} bytes but the map needs {}", path, storage.size(),
                                            header->block_size));
    MapSpec spec{header->type, header->key_size, header->value_size, header->max_entries, header->map_flags,
                 std::string(header->name, strnlen(header->name, sizeof header->name))};
    uint32_t ncpus = header->ncpus;
    if (SpecCheck check = validate_spec(spec); !check || ncpus == 0)
        throw MapError(-EINVAL, fmt::format("{}: corrupt map header: {}", path, check.message));
    BlockLayout layout = type_ops(spec.type).layout(spec, ncpus);
    if (layout.size > storage.size() || layout.mirror_offset != header->mirror_offset)
        throw MapError(-EINVAL, fmt::format("{}: map header does not match the file's layout", path));
    if (layout.mirror_offset) storage.remap(layout.mirror_offset);
    return type_ops(spec.type).open(spec, ncpus, std::move(storage), false);
}

// ---- what a map type does not support, as the kernel answers ----

bool Map::is_percpu() const {
    return type() == kMapPercpuArray || type() == kMapPercpuHash || type() == kMapLruPercpuHash;
}

uint32_t Map::user_value_size() const {
    return is_percpu() ? ncpus_ * static_cast<uint32_t>(round_up(value_size(), 8)) : value_size();
}

void* Map::lookup(const void*, uint32_t) noexcept { return nullptr; }
long Map::update(const void*, const void*, uint64_t, uint32_t) noexcept { return -EINVAL; }
long Map::remove(const void*) noexcept { return -EINVAL; }
long Map::push(const void*, uint64_t) noexcept { return -EINVAL; }
long Map::pop(void*) noexcept { return -EINVAL; }
long Map::peek(void*) noexcept { return -EINVAL; }
int Map::user_lookup(const void*, void*) const { return -kENOTSUPP; }
int Map::user_update(const void*, const void*, uint64_t) { return -kENOTSUPP; }
int Map::user_delete(const void*) { return -kENOTSUPP; }
int Map::user_next_key(const void*, void*) const { return -kENOTSUPP; }
int Map::user_lookup_and_delete(const void*, void*) { return -kENOTSUPP; }

// Access rights of the user-space handle, checked before anything else.
int Map::lookup_user(const void* key, void* value_out) const {
    if (spec_.map_flags & kFWronly) return -EPERM;
    return user_lookup(key, value_out);
}
int Map::update_user(const void* key, const void* value, uint64_t flags) {
    if (spec_.map_flags & kFRdonly) return -EPERM;
    return user_update(key, value, flags);
}
int Map::delete_user(const void* key) {
    if (spec_.map_flags & kFRdonly) return -EPERM;
    return user_delete(key);
}
int Map::get_next_key(const void* key_or_null, void* next_key_out) const {
    if (spec_.map_flags & kFWronly) return -EPERM;
    return user_next_key(key_or_null, next_key_out);
}
int Map::lookup_and_delete(const void* key, void* value_out) {
    if (spec_.map_flags & (kFRdonly | kFWronly)) return -EPERM;
    return user_lookup_and_delete(key, value_out);
}

std::vector<std::vector<uint8_t>> Map::keys() const {
    std::vector<std::vector<uint8_t>> out;
    std::vector<uint8_t> next(key_size());
    const void* prev = nullptr;
    // Bounded so that a map changing under us cannot keep us here forever.
    for (uint64_t guard = 0; guard <= uint64_t(max_entries()) * 2 + 1; ++guard) {
        if (get_next_key(prev, next.data()) != 0) break;
        out.push_back(next);
        prev = out.back().data();
    }
    return out;
}

void Map::for_each(const std::function<void(std::span<const uint8_t>, std::span<const uint8_t>)>& fn) const {
    std::vector<uint8_t> value(user_value_size());
    for (const auto& key : keys())
        if (lookup_user(key.data(), value.data()) == 0) fn(key, value);
}

}  // namespace tcbpf::maps
