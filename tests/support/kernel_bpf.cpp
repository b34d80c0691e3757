// See kernel_bpf.h. Each wrapper fills exactly the bpf_attr fields of its command and leaves the rest
// zero, because the kernel rejects unknown non-zero trailing bytes (E2BIG) and reserved fields (EINVAL).
#include "tests/support/kernel_bpf.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace tcbpf::kernel {
namespace {

uint64_t ptr(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

// Returns the syscall's result, or -errno.
long sys_bpf(int cmd, bpf_attr& attr) {
    const long rc = syscall(__NR_bpf, cmd, &attr, sizeof(attr));
    return rc < 0 ? -errno : rc;
}

void copy_name(char (&dst)[BPF_OBJ_NAME_LEN], const std::string& name) {
    // The kernel accepts only [A-Za-z0-9_.] in object names; anything else is dropped.
    size_t n = 0;
    for (char c : name) {
        if (n + 1 >= BPF_OBJ_NAME_LEN) break;
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.') dst[n++] = c;
    }
}

Availability compute_availability() {
    const isa::RawInsn return_zero[] = {{0xb7, 0, 0, 0}, {0x95, 0, 0, 0}};
    LoadResult loaded = load_program(return_zero);
    if (!loaded.ok()) {
        const int err = loaded.error;
        std::string why;
        if (err == ENOSYS)
            why = "kernel has no bpf() syscall";
        else if (err == EPERM || err == EACCES)
            why = geteuid() != 0 ? fmt::format("not root (euid {}) and no CAP_BPF", geteuid())
                                 : "denied to root (seccomp, LSM or a container?)";
        else
            why = "the kernel refused a trivial SCHED_CLS program";
        return {false, fmt::format("bpf(BPF_PROG_LOAD) unavailable: {}: {}", errno_text(err), why)};
    }
    const std::vector<uint8_t> packet(64, 0);
    TestRunInput input;
    input.data = packet;
    TestRunResult run = test_run(loaded.fd, input);
    if (!run.ok())
        return {false, fmt::format("bpf(BPF_PROG_TEST_RUN) unavailable for SCHED_CLS: {}", errno_text(run.error))};
    return {true, ""};
}

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

std::string errno_text(int err) {
    const char* name = strerrorname_np(err);
    return fmt::format("{} ({})", name != nullptr ? name : fmt::format("errno {}", err), std::strerror(err));
}

const Availability& probe() {
    static const Availability availability = compute_availability();
    return availability;
}

LoadResult load_program(std::span<const isa::RawInsn> insns, const LoadOptions& options) {
    auto attempt = [&](std::vector<char>* log) {
        bpf_attr attr{};
        attr.prog_type = options.type;
        attr.insns = ptr(insns.data());
        attr.insn_cnt = static_cast<uint32_t>(insns.size());
        attr.license = ptr(options.license.c_str());
        copy_name(attr.prog_name, options.name);
        if (log != nullptr) {
            attr.log_level = options.always_log_level != 0 ? options.always_log_level : 1;
            attr.log_buf = ptr(log->data());
            attr.log_size = static_cast<uint32_t>(log->size());
        }
        return sys_bpf(BPF_PROG_LOAD, attr);
    };
    LoadResult result;
    if (options.always_log_level != 0) {
        std::vector<char> log(std::max<uint32_t>(options.log_size, 256), '\0');
        long rc = attempt(&log);
        if (rc >= 0) result.fd = Fd(static_cast<int>(rc));
        else result.error = static_cast<int>(-rc);
        result.log.assign(log.data(), strnlen(log.data(), log.size()));
        return result;
    }
    long rc = attempt(nullptr);
    if (rc >= 0) {
        result.fd = Fd(static_cast<int>(rc));
        return result;
    }
    result.error = static_cast<int>(-rc);
    if (result.error == ENOSYS || result.error == EPERM) return result;
    std::vector<char> log(std::max<uint32_t>(options.log_size, 256), '\0');
    rc = attempt(&log);
    if (rc >= 0) {
        // Accepted the second time (cannot happen for a deterministic verifier, but never leak the fd).
        result.error = 0;
        result.fd = Fd(static_cast<int>(rc));
        return result;
    }
    // ENOSPC here means the log was cut; what fits is still the most useful part.
    result.log.assign(log.data(), strnlen(log.data(), log.size()));
    return result;
}

TestRunResult test_run(const Fd& prog, const TestRunInput& input) {
    TestRunResult result;
    result.data_out.resize(input.data_out_capacity != 0 ? input.data_out_capacity : input.data.size() + 256);
    result.ctx_out.resize(input.ctx_out_capacity != 0 ? input.ctx_out_capacity : input.ctx.size());
    bpf_attr attr{};
    attr.test.prog_fd = static_cast<uint32_t>(prog.get());
    attr.test.repeat = input.repeat;
    attr.test.flags = input.flags;
    if (!input.data.empty()) {
        attr.test.data_in = ptr(input.data.data());
        attr.test.data_size_in = static_cast<uint32_t>(input.data.size());
    }
    if (!result.data_out.empty()) {
        attr.test.data_out = ptr(result.data_out.data());
        attr.test.data_size_out = static_cast<uint32_t>(result.data_out.size());
    }
    if (!input.ctx.empty()) {
        attr.test.ctx_in = ptr(input.ctx.data());
        attr.test.ctx_size_in = static_cast<uint32_t>(input.ctx.size());
    }
    if (!result.ctx_out.empty()) {
        attr.test.ctx_out = ptr(result.ctx_out.data());
        attr.test.ctx_size_out = static_cast<uint32_t>(result.ctx_out.size());
    }
    const long rc = sys_bpf(BPF_PROG_TEST_RUN, attr);
    if (rc < 0) result.error = static_cast<int>(-rc);
    result.retval = attr.test.retval;
    result.duration_ns = attr.test.duration;
    result.data_out.resize(std::min<size_t>(result.data_out.size(), attr.test.data_size_out));
    result.ctx_out.resize(std::min<size_t>(result.ctx_out.size(), attr.test.ctx_size_out));
    return result;
}

MapCreateResult create_map(const MapOptions& options) {
    bpf_attr attr{};
    attr.map_type = options.type;
    attr.key_size = options.key_size;
    attr.value_size = options.value_size;
    attr.max_entries = options.max_entries;
    attr.map_flags = options.flags;
    copy_name(attr.map_name, options.name);
    MapCreateResult result;
    const long rc = sys_bpf(BPF_MAP_CREATE, attr);
    if (rc < 0)
        result.error = static_cast<int>(-rc);
    else
        result.fd = Fd(static_cast<int>(rc));
    return result;
}

namespace {
int map_elem_op(int cmd, const Fd& map, const void* key, uint64_t value_or_next, uint64_t flags) {
    bpf_attr attr{};
    attr.map_fd = static_cast<uint32_t>(map.get());
    attr.key = ptr(key);
    if (cmd == BPF_MAP_GET_NEXT_KEY)
        attr.next_key = value_or_next;
    else
        attr.value = value_or_next;
    attr.flags = flags;
    const long rc = sys_bpf(cmd, attr);
    return rc < 0 ? static_cast<int>(-rc) : 0;
}
}  // namespace

int map_lookup(const Fd& map, std::span<const uint8_t> key, std::span<uint8_t> value) {
    return map_elem_op(BPF_MAP_LOOKUP_ELEM, map, key.data(), ptr(value.data()), 0);
}

int map_update(const Fd& map, std::span<const uint8_t> key, std::span<const uint8_t> value, uint64_t flags) {
    return map_elem_op(BPF_MAP_UPDATE_ELEM, map, key.data(), ptr(value.data()), flags);
}

int map_delete(const Fd& map, std::span<const uint8_t> key) {
    return map_elem_op(BPF_MAP_DELETE_ELEM, map, key.data(), 0, 0);
}

int map_get_next_key(const Fd& map, std::span<const uint8_t> key, std::span<uint8_t> next_key) {
    return map_elem_op(BPF_MAP_GET_NEXT_KEY, map, key.empty() ? nullptr : key.data(), ptr(next_key.data()), 0);
}

}  // namespace tcbpf::kernel
