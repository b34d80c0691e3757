#include "jit/code_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "tcbpf/error.h"

namespace tcbpf::jit::detail {

CodeMemory CodeMemory::map_writable(size_t size) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t mapped = (size + page - 1) / page * page;
    void* base = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        throw Error(fmt::format("JIT: cannot map {} bytes for code: {}", mapped, std::strerror(errno)));
    CodeMemory memory;
    memory.base_ = static_cast<uint8_t*>(base);
    memory.size_ = size;
    memory.mapped_ = mapped;
    return memory;
}

void CodeMemory::seal() {
    if (mprotect(base_, mapped_, PROT_READ | PROT_EXEC) != 0)
        throw Error(fmt::format("JIT: cannot make {} bytes of code executable: {}", mapped_, std::strerror(errno)));
}

void CodeMemory::release() noexcept {
    if (base_ != nullptr) munmap(base_, mapped_);
    base_ = nullptr;
    size_ = mapped_ = 0;
}

CodeMemory::~CodeMemory() { release(); }

CodeMemory::CodeMemory(CodeMemory&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

CodeMemory& CodeMemory::operator=(CodeMemory&& other) noexcept {
    if (this != &other) {
        release();
        base_ = std::exchange(other.base_, nullptr);
        size_ = std::exchange(other.size_, 0);
        mapped_ = std::exchange(other.mapped_, 0);
    }
    return *this;
}

}  // namespace tcbpf::jit::detail
