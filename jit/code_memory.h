// Executable memory for generated code, never writable and executable at once (W^X): the bytes are
// written into a fresh read-write mapping, which is then flipped to read-execute before anything can
// run it, and unmapped when the owning program is destroyed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tcbpf::jit::detail {

class CodeMemory {
   public:
    CodeMemory() = default;
    // Maps, copies via `fill` (which gets a writable span of at least `size` bytes), then seals.
    // Throws tcbpf::Error naming the failing system call and errno text.
    template <typename Fill>
    static CodeMemory create(size_t size, Fill&& fill) {
        CodeMemory memory = map_writable(size);
        fill(std::span<uint8_t>(memory.base_, memory.size_));
        memory.seal();
        return memory;
    }
    ~CodeMemory();
    CodeMemory(CodeMemory&& other) noexcept;
    CodeMemory& operator=(CodeMemory&& other) noexcept;
    CodeMemory(const CodeMemory&) = delete;
    CodeMemory& operator=(const CodeMemory&) = delete;

    const uint8_t* base() const { return base_; }
    size_t size() const { return size_; }

   private:
    static CodeMemory map_writable(size_t size);
    void seal();
    void release() noexcept;

    uint8_t* base_ = nullptr;
    size_t size_ = 0;     // bytes the caller asked for
    size_t mapped_ = 0;   // whole pages
};

}  // namespace tcbpf::jit::detail
