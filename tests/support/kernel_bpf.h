// Direct access to the running kernel's bpf() syscall, for tests that use Linux as the reference.
//
// Deliberately thin: one RAII file descriptor type and one function per bpf() command the tests need,
// each returning the kernel's answer (errno, verifier log, output buffers) instead of interpreting it.
// No libbpf: the tests must see exactly what the kernel says about the exact bytes we hand it.
// Every call is usable on a machine without bpf(): `probe()` says why it is unavailable so tests can
// GTEST_SKIP() with that reason instead of failing or silently passing.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tcbpf/isa.h"

namespace tcbpf::kernel {

// Owns one file descriptor (program, map); closes it on destruction.
class Fd {
   public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    explicit operator bool() const { return valid(); }

   private:
    int fd_ = -1;
};

// Whether this process can load and test-run programs. `reason` is empty when available, otherwise one
// printable sentence ("bpf() not permitted (EPERM): not root and no CAP_BPF", "kernel has no bpf()
// syscall (ENOSYS)", ...). The probe loads and test-runs a two-instruction SCHED_CLS program once and
// caches the answer.
struct Availability {
    bool available = false;
    std::string reason;
};
const Availability& probe();

// "EPERM (Operation not permitted)".
std::string errno_text(int err);

struct LoadOptions {
    bpf_prog_type type = BPF_PROG_TYPE_SCHED_CLS;
    std::string license = "GPL";
    std::string name;  // at most BPF_OBJ_NAME_LEN - 1 characters; longer names are cut
    // Verifier log size used when a load fails (the load is then repeated with logging on, so a
    // successful load pays nothing for the log).
    uint32_t log_size = 1u << 22;
    // Non-zero: load once with this log level (BPF_LOG_STATS = 4 for just the statistics lines) and
    // return the log whatever the verdict, e.g. for the kernel's "verification time N usec".
    uint32_t always_log_level = 0;
};

struct LoadResult {
    Fd fd;        // valid on success
    int error = 0;  // errno of the failed load, 0 on success
    std::string log;  // verifier log of a failed load (of every load with always_log_level)
    bool ok() const { return fd.valid(); }
};

LoadResult load_program(std::span<const isa::RawInsn> insns, const LoadOptions& options = {});

struct TestRunInput {
    std::span<const uint8_t> data;  // packet / data_in
    std::span<const uint8_t> ctx;   // ctx_in (e.g. a struct __sk_buff); empty for none
    size_t data_out_capacity = 0;   // 0: data.size() + 256 (programs may grow the packet)
    size_t ctx_out_capacity = 0;    // 0: ctx.size()
    uint32_t repeat = 1;
    uint32_t flags = 0;
};

struct TestRunResult {
    int error = 0;        // errno of BPF_PROG_TEST_RUN, 0 on success
    uint32_t retval = 0;  // the program's r0, truncated to 32 bits by the kernel
    uint32_t duration_ns = 0;  // average per repetition
    std::vector<uint8_t> data_out;  // resized to what the kernel reported
    std::vector<uint8_t> ctx_out;
    bool ok() const { return error == 0; }
};

TestRunResult test_run(const Fd& prog, const TestRunInput& input);

// Maps. Each operation returns 0 or the errno the kernel reported (ENOENT for a missing key, ...).
struct MapOptions {
    bpf_map_type type = BPF_MAP_TYPE_HASH;
    uint32_t key_size = 4;
    uint32_t value_size = 8;
    uint32_t max_entries = 1;
    uint32_t flags = 0;
    std::string name;
};
struct MapCreateResult {
    Fd fd;
    int error = 0;
    bool ok() const { return fd.valid(); }
};
MapCreateResult create_map(const MapOptions& options);

int map_lookup(const Fd& map, std::span<const uint8_t> key, std::span<uint8_t> value);
int map_update(const Fd& map, std::span<const uint8_t> key, std::span<const uint8_t> value,
               uint64_t flags = BPF_ANY);
int map_delete(const Fd& map, std::span<const uint8_t> key);
// `key` empty asks for the first key.
int map_get_next_key(const Fd& map, std::span<const uint8_t> key, std::span<uint8_t> next_key);

}  // namespace tcbpf::kernel
