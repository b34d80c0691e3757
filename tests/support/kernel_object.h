// A BPF object file loaded into the running kernel through libbpf, as tc's libbpf mode loads it: the
// reference side of the ELF-level differential tests (tcbpf's `prog run` against BPF_PROG_TEST_RUN).
//
// libbpf is right here, unlike in kernel_bpf.h: the question these tests ask is "what does the kernel do
// with this object as users load it", and libbpf is how users load it. Maps are created fresh and never
// pinned, so tests cannot see each other's state.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernel_bpf.h"

struct bpf_object;

namespace tcbpf::kernel {

struct MapEntry {
    std::vector<uint8_t> key;
    std::vector<uint8_t> value;  // per-CPU maps: possible_cpus() slots of round_up(value_size, 8)
};

struct KernelMapInfo {
    std::string name;
    uint32_t type = 0, key_size = 0, value_size = 0, max_entries = 0;
    int fd = -1;
};

class KernelObject {
   public:
    // Loads every program of `path` as `type`. Returns nullptr with `error` set when the kernel or libbpf
    // refuses (the verifier log is included).
    static std::unique_ptr<KernelObject> load(const std::string& path, bpf_prog_type type, std::string* error);
    ~KernelObject();
    KernelObject(const KernelObject&) = delete;
    KernelObject& operator=(const KernelObject&) = delete;

    int program_fd(std::string_view function_name) const;  // -1 if there is no such program
    std::vector<std::string> program_names() const;
    const std::vector<KernelMapInfo>& maps() const { return maps_; }
    const KernelMapInfo* map(std::string_view name) const;

    int update(std::string_view map_name, std::span<const uint8_t> key, std::span<const uint8_t> value,
               uint64_t flags = BPF_ANY) const;  // 0 or errno
    std::vector<MapEntry> dump(std::string_view map_name) const;  // in the kernel's iteration order

   private:
    KernelObject() = default;
    bpf_object* object_ = nullptr;
    std::vector<KernelMapInfo> maps_;
};

// Test-runs a program given by fd (see kernel_bpf.h for the result).
TestRunResult test_run_fd(int prog_fd, const TestRunInput& input);

// The number of possible CPUs, which sizes per-CPU values in user space.
int possible_cpus();

}  // namespace tcbpf::kernel
