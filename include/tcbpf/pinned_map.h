// Pinned maps for applications: open a map another process pinned (a `tcbpf map create`, a loaded
// object's PIN_GLOBAL_NS map) by its path and read or change it with typed keys and values. K and V
// must be trivially copyable and exactly as big as the map's key and value (checked when opening).
// Every call copies under the map's own locks, so values are never torn, whatever other processes do.
//
//   auto policy = tcbpf::maps::PinnedMap<FlowKey, Policy>::open("/run/tcbpf/tc/globals/policy_map");
//   policy.update(key, Policy{.verdict = TC_ACT_SHOT});
//   if (auto p = policy.lookup(key)) ...;
#pragma once

#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "tcbpf/maps.h"

namespace tcbpf::maps {

template <typename K, typename V>
class PinnedMap {
    static_assert(std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<V>);

   public:
    // Throws MapError naming the path if it is no map or if K or V do not have the map's sizes.
    static PinnedMap open(const std::string& path) {
        PinnedMap m(open_pinned_map(path));
        if (m.map_->key_size() != sizeof(K) || m.map_->value_size() != sizeof(V))
            throw MapError(-EINVAL, fmt::format("{}: the map has {}-byte keys and {}-byte values, not {} and {}", path,
                                                m.map_->key_size(), m.map_->value_size(), sizeof(K), sizeof(V)));
        return m;
    }

    // Non-per-CPU maps: the value, or nothing if the key is absent.
    std::optional<V> lookup(const K& key) const {
        std::vector<uint8_t> buf(map_->user_value_size());
        if (map_->lookup_user(&key, buf.data()) != 0) return std::nullopt;
        V value;
        std::memcpy(&value, buf.data(), sizeof(V));
        return value;
    }
    // Per-CPU maps: one value per CPU (empty if the key is absent).
    std::vector<V> lookup_per_cpu(const K& key) const {
        std::vector<uint8_t> buf(map_->user_value_size());
        std::vector<V> out;
        if (map_->lookup_user(&key, buf.data()) != 0) return out;
        const size_t stride = map_->is_percpu() ? (sizeof(V) + 7) / 8 * 8 : sizeof(V);
        for (uint32_t cpu = 0; cpu < (map_->is_percpu() ? map_->ncpus() : 1); ++cpu) {
            V value;
            std::memcpy(&value, buf.data() + cpu * stride, sizeof(V));
            out.push_back(value);
        }
        return out;
    }
    // 0 or the negative errno bpf() would return (-EEXIST for kBpfNoExist on a present key, ...). A
    // per-CPU map gets `value` on every CPU.
    int update(const K& key, const V& value, uint64_t flags = kBpfAny) {
        std::vector<uint8_t> buf(map_->user_value_size(), 0);
        const size_t stride = (sizeof(V) + 7) / 8 * 8;
        for (uint32_t cpu = 0; cpu < (map_->is_percpu() ? map_->ncpus() : 1); ++cpu)
            std::memcpy(buf.data() + cpu * stride, &value, sizeof(V));
        return map_->update_user(&key, buf.data(), flags);
    }
    int remove(const K& key) { return map_->delete_user(&key); }
    // Every entry (CPU 0's value for per-CPU maps); entries changed meanwhile may be missed or seen twice.
    void for_each(const std::function<void(const K&, const V&)>& fn) const {
        map_->for_each([&](std::span<const uint8_t> k, std::span<const uint8_t> v) {
            K key;
            V value;
            std::memcpy(&key, k.data(), sizeof(K));
            std::memcpy(&value, v.data(), sizeof(V));
            fn(key, value);
        });
    }
    Map& map() const { return *map_; }

   private:
    explicit PinnedMap(std::unique_ptr<Map> map) : map_(std::move(map)) {}
    std::unique_ptr<Map> map_;
};

}  // namespace tcbpf::maps
