#include "kernel_object.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <mutex>

#include <fmt/format.h>

namespace tcbpf::kernel {
namespace {

// libbpf reports verifier logs through its print callback; collect them for the error message of the
// load that produced them. Loads are serialised so the callback knows whose log it is writing.
std::mutex g_log_mutex;
std::string* g_log_sink = nullptr;

int collect_libbpf_output(enum libbpf_print_level level, const char* format, va_list args) {
    if (g_log_sink == nullptr || level == LIBBPF_DEBUG) return 0;
    char buffer[8192];
    const int n = std::vsnprintf(buffer, sizeof buffer, format, args);
    if (n > 0) g_log_sink->append(buffer, std::min<size_t>(static_cast<size_t>(n), sizeof buffer - 1));
    return 0;
}

}  // namespace

std::unique_ptr<KernelObject> KernelObject::load(const std::string& path, bpf_prog_type type, std::string* error) {
    std::lock_guard lock(g_log_mutex);
    std::string log;
    g_log_sink = &log;
    libbpf_set_print(collect_libbpf_output);
    auto fail = [&](const std::string& what) {
        g_log_sink = nullptr;
        if (error) *error = fmt::format("{}: {}\n{}", path, what, log);
        return nullptr;
    };

    std::unique_ptr<KernelObject> result(new KernelObject);
    result->object_ = bpf_object__open_file(path.c_str(), nullptr);
    if (result->object_ == nullptr) return fail(fmt::format("libbpf cannot open it ({})", errno_text(errno)));

    bpf_program* prog;
    bpf_object__for_each_program(prog, result->object_) {
        bpf_program__set_type(prog, type);
        bpf_program__set_autoload(prog, true);
    }
    bpf_map* map;
    bpf_object__for_each_map(map, result->object_) bpf_map__set_pin_path(map, nullptr);

    if (const int err = bpf_object__load(result->object_); err != 0)
        return fail(fmt::format("the kernel refused it ({})", errno_text(-err)));

    bpf_object__for_each_map(map, result->object_) {
        result->maps_.push_back(KernelMapInfo{bpf_map__name(map), static_cast<uint32_t>(bpf_map__type(map)),
                                              bpf_map__key_size(map), bpf_map__value_size(map),
                                              bpf_map__max_entries(map), bpf_map__fd(map)});
    }
    g_log_sink = nullptr;
    return result;
}

KernelObject::~KernelObject() {
    if (object_ != nullptr) bpf_object__close(object_);
}

int KernelObject::program_fd(std::string_view function_name) const {
    bpf_program* prog = bpf_object__find_program_by_name(object_, std::string(function_name).c_str());
    return prog ? bpf_program__fd(prog) : -1;
}

std::vector<std::string> KernelObject::program_names() const {
    std::vector<std::string> names;
    bpf_program* prog;
    bpf_object__for_each_program(prog, object_) names.emplace_back(bpf_program__name(prog));
    return names;
}

const KernelMapInfo* KernelObject::map(std::string_view name) const {
    for (const auto& m : maps_)
        if (m.name == name) return &m;
    return nullptr;
}

static size_t user_value_size(const KernelMapInfo& m) {
    const bool per_cpu = m.type == BPF_MAP_TYPE_PERCPU_HASH || m.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
                         m.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    return per_cpu ? static_cast<size_t>(possible_cpus()) * ((m.value_size + 7) / 8 * 8) : m.value_size;
}

int KernelObject::update(std::string_view map_name, std::span<const uint8_t> key, std::span<const uint8_t> value,
                         uint64_t flags) const {
    const KernelMapInfo* m = map(map_name);
    if (m == nullptr) return ENOENT;
    if (key.size() != m->key_size || value.size() != user_value_size(*m)) return EINVAL;
    return bpf_map_update_elem(m->fd, key.data(), value.data(), flags) == 0 ? 0 : errno;
}

std::vector<MapEntry> KernelObject::dump(std::string_view map_name) const {
    std::vector<MapEntry> entries;
    const KernelMapInfo* m = map(map_name);
    if (m == nullptr || m->type == BPF_MAP_TYPE_PROG_ARRAY) return entries;
    std::vector<uint8_t> key(m->key_size), next(m->key_size);
    const void* prev = nullptr;
    while (bpf_map_get_next_key(m->fd, prev, next.data()) == 0) {
        MapEntry e{next, std::vector<uint8_t>(user_value_size(*m))};
        if (bpf_map_lookup_elem(m->fd, next.data(), e.value.data()) == 0) entries.push_back(std::move(e));
        key = next;
        prev = key.data();
    }
    return entries;
}

TestRunResult test_run_fd(int prog_fd, const TestRunInput& input) {
    TestRunResult result;
    result.data_out.resize(input.data_out_capacity ? input.data_out_capacity : input.data.size() + 256);
    result.ctx_out.resize(input.ctx_out_capacity ? input.ctx_out_capacity : input.ctx.size());
    bpf_test_run_opts opts{};
    opts.sz = sizeof opts;
    opts.data_in = input.data.data();
    opts.data_size_in = static_cast<uint32_t>(input.data.size());
    opts.data_out = result.data_out.data();
    opts.data_size_out = static_cast<uint32_t>(result.data_out.size());
    if (!input.ctx.empty()) {
        opts.ctx_in = input.ctx.data();
        opts.ctx_size_in = static_cast<uint32_t>(input.ctx.size());
        opts.ctx_out = result.ctx_out.data();
        opts.ctx_size_out = static_cast<uint32_t>(result.ctx_out.size());
    }
    opts.repeat = static_cast<int>(input.repeat);
    opts.flags = input.flags;
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
        result.error = errno;
        result.data_out.clear();
        result.ctx_out.clear();
        return result;
    }
    result.retval = opts.retval;
    result.duration_ns = opts.duration;
    result.data_out.resize(opts.data_size_out);
    result.ctx_out.resize(input.ctx.empty() ? 0 : opts.ctx_size_out);
    return result;
}

int possible_cpus() {
    static const int n = libbpf_num_possible_cpus();
    return n > 0 ? n : 1;
}

}  // namespace tcbpf::kernel
