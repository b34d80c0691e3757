// Where a map's block lives. A Storage is one MAP_SHARED mapping of a file descriptor: an anonymous
// memfd (a private map, still shareable with fork()ed children) or a named file (a pinned map another
// process opens). Because the whole map state sits in this one block and refers to itself only by
// offsets, any process mapping the same file at any address sees the same map.
//
// Optionally the tail of the block, [mirror_offset, size), is mapped a second time right after the
// block: the ring buffer's data area uses this so records that wrap around stay contiguous in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tcbpf::maps {

class Storage {
   public:
    // Zero-filled anonymous block of `size` bytes (rounded up to pages). Throws MapError(-ENOMEM).
    static Storage anonymous(size_t size, size_t mirror_offset = 0);
    // A file with no name yet in the directory of `path` (O_TMPFILE), zero-filled, mapped shared; it
    // appears at `path` only when publish() links it there, so nobody can open it half-initialised and
    // a creator that dies first leaves nothing behind.
    static Storage create_unnamed(const std::string& path, size_t size, size_t mirror_offset = 0);
    // Gives the unnamed file behind `descriptor_path` (see descriptor_path()) its name: MapError(-EEXIST)
    // if `path` exists by then. The Storage (wherever it was moved) must still be open.
    static void publish(const std::string& descriptor_path, const std::string& path);
    // /proc/self/fd/N of this storage's descriptor.
    std::string descriptor_path() const;
    // Existing file at `path`, mapped whole and without a mirror; call remap() to add one.
    static Storage open_file(const std::string& path);

    Storage() = default;
    Storage(Storage&& other) noexcept;
    Storage& operator=(Storage&& other) noexcept;
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;
    ~Storage();

    // Maps the same descriptor again with a mirror of [mirror_offset, size) after the block.
    void remap(size_t mirror_offset);

    uint8_t* base() const { return base_; }
    size_t size() const { return size_; }
    size_t mapped_size() const { return mapped_; }  // size plus the mirror, if any
    template <typename T>
    T* at(uint64_t offset) const {
        return reinterpret_cast<T*>(base_ + offset);
    }

   private:
    void map(size_t mirror_offset, const std::string& what);
    void release() noexcept;

    int fd_ = -1;
    uint8_t* base_ = nullptr;
    size_t size_ = 0;
    size_t mapped_ = 0;  // block plus mirror
};

inline constexpr size_t kPageSize = 4096;
inline constexpr uint64_t round_up(uint64_t value, uint64_t align) { return (value + align - 1) / align * align; }

}  // namespace tcbpf::maps
