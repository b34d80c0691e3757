#include "maps/storage.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "tcbpf/maps.h"

namespace tcbpf::maps {

namespace {

[[noreturn]] void fail(int err, const std::string& what) {
    throw MapError(-err, fmt::format("{}: {}", what, std::strerror(err)));
}

}  // namespace

Storage Storage::anonymous(size_t size, size_t mirror_offset) {
    Storage storage;
    storage.fd_ = memfd_create("tcbpf-map", MFD_CLOEXEC);
    if (storage.fd_ < 0) fail(errno, "memfd_create for a map block");
    storage.size_ = round_up(size, kPageSize);
    if (ftruncate(storage.fd_, static_cast<off_t>(storage.size_)) != 0)
        fail(ENOMEM, fmt::format("sizing a {}-byte map block", storage.size_));
    storage.map(mirror_offset, "map block");
    return storage;
}

Storage Storage::create_unnamed(const std::string& path, size_t size, size_t mirror_offset) {
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    Storage storage;
    storage.fd_ = ::open(dir.c_str(), O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
    if (storage.fd_ < 0) fail(errno, fmt::format("creating map file {}", path));
    storage.size_ = round_up(size, kPageSize);
    if (ftruncate(storage.fd_, static_cast<off_t>(storage.size_)) != 0)
        fail(errno, fmt::format("sizing map file {} to {} bytes", path, storage.size_));
    storage.map(mirror_offset, path);
    return storage;
}

std::string Storage::descriptor_path() const { return fmt::format("/proc/self/fd/{}", fd_); }

void Storage::publish(const std::string& descriptor_path, const std::string& path) {
    // linkat through /proc names the descriptor without needing CAP_DAC_READ_SEARCH (AT_EMPTY_PATH would).
    if (::linkat(AT_FDCWD, descriptor_path.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) != 0)
        fail(errno, fmt::format("creating map file {}", path));
}

Storage Storage::open_file(const std::string& path) {
    Storage storage;
    storage.fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (storage.fd_ < 0) fail(errno, fmt::format("opening map file {}", path));
    struct stat st {};
    if (fstat(storage.fd_, &st) != 0) fail(errno, fmt::format("stat of map file {}", path));
    if (st.st_size < static_cast<off_t>(kPageSize) || st.st_size % kPageSize != 0)
        throw MapError(-EINVAL, fmt::format("map file {}: size {} is not a whole number of pages", path,
                                            static_cast<long long>(st.st_size)));
    storage.size_ = static_cast<size_t>(st.st_size);
    storage.map(0, path);
    return storage;
}

void Storage::map(size_t mirror_offset, const std::string& what) {
    size_t mirror = mirror_offset ? size_ - mirror_offset : 0;
    if (mirror_offset % kPageSize != 0 || mirror_offset > size_)
        throw MapError(-EINVAL, fmt::format("{}: mirror offset {} is not a page inside the block", what, mirror_offset));
    // Reserve the whole range first so the mirror lands exactly after the block.
    void* range = mmap(nullptr, size_ + mirror, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (range == MAP_FAILED) fail(errno, fmt::format("reserving address space for {}", what));
    auto* base = static_cast<uint8_t*>(range);
    if (mmap(base, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd_, 0) == MAP_FAILED ||
        (mirror && mmap(base + size_, mirror, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd_,
                        static_cast<off_t>(mirror_offset)) == MAP_FAILED)) {
        int err = errno;
        munmap(base, size_ + mirror);
        fail(err, fmt::format("mapping {}", what));
    }
    base_ = base;
    mapped_ = size_ + mirror;
}

void Storage::remap(size_t mirror_offset) {
    munmap(base_, mapped_);
    base_ = nullptr;
    map(mirror_offset, "map block");
}

Storage::Storage(Storage&& other) noexcept { *this = std::move(other); }

Storage& Storage::operator=(Storage&& other) noexcept {
    if (this != &other) {
        release();
        fd_ = std::exchange(other.fd_, -1);
        base_ = std::exchange(other.base_, nullptr);
        size_ = std::exchange(other.size_, 0);
        mapped_ = std::exchange(other.mapped_, 0);
    }
    return *this;
}

Storage::~Storage() { release(); }

void Storage::release() noexcept {
    if (base_) munmap(base_, mapped_);
    if (fd_ >= 0) ::close(fd_);
    base_ = nullptr;
    fd_ = -1;
}

}  // namespace tcbpf::maps
