// The kernel as the judge of the loader's output: every program of every compiled object, with maps
// created from the loader's MapDefs and bound by index through fd_array (the form the loader emits:
// BPF_PSEUDO_MAP_IDX / BPF_PSEUDO_MAP_IDX_VALUE), must pass the kernel verifier; and a test run of the
// global-data program must leave exactly the values the C source writes at the relocated offsets.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "objects.h"
#include "tests/support/kernel_bpf.h"

namespace tcbpf::loader::test {
namespace {

#define TCBPF_REQUIRE_BPF()                                                                 \
    do {                                                                                   \
        TCBPF_REQUIRE_OBJECTS();                                                           \
        if (!kernel::probe().available) GTEST_SKIP() << kernel::probe().reason;            \
    } while (0)

struct KernelMaps {
    std::vector<kernel::Fd> fds;
    std::vector<int> raw;  // fd_array
};

KernelMaps create_maps(const Object& o) {
    KernelMaps out;
    for (const MapDef& m : o.maps) {
        kernel::MapOptions options;
        options.type = static_cast<bpf_map_type>(m.type);
        options.key_size = m.key_size;
        options.value_size = m.value_size;
        options.max_entries = m.max_entries;
        options.flags = m.map_flags;
        auto created = kernel::create_map(options);
        EXPECT_TRUE(created.ok()) << m.name << ": " << kernel::errno_text(created.error);
        if (m.global_data && created.ok()) {
            const uint32_t zero = 0;
            EXPECT_EQ(kernel::map_update(created.fd, {reinterpret_cast<const uint8_t*>(&zero), 4}, m.initial_value), 0)
                << m.name;
        }
        out.raw.push_back(created.fd.get());
        out.fds.push_back(std::move(created.fd));
    }
    return out;
}

struct Loaded {
    kernel::Fd fd;
    int error = 0;
    std::string log;
};

// The object's BTF in the kernel (func_info refers to it), or a failed test with the kernel's log.
kernel::Fd load_btf(const Object& o) {
    std::vector<char> log(1 << 16);
    bpf_attr attr{};
    attr.btf = reinterpret_cast<uint64_t>(o.btf.data());
    attr.btf_size = static_cast<uint32_t>(o.btf.size());
    attr.btf_log_buf = reinterpret_cast<uint64_t>(log.data());
    attr.btf_log_size = static_cast<uint32_t>(log.size());
    attr.btf_log_level = 1;
    const int fd = static_cast<int>(syscall(SYS_bpf, BPF_BTF_LOAD, &attr, sizeof attr));
    EXPECT_GE(fd, 0) << "BPF_BTF_LOAD: " << kernel::errno_text(errno) << "\n" << log.data();
    return kernel::Fd(fd);
}

Loaded load(const Object& o, const ProgramDef& p, const KernelMaps& maps) {
    const auto insns = isa::encode(p.prog);
    kernel::Fd btf;
    std::vector<char> log(1 << 20);
    bpf_attr attr{};
    attr.prog_type = p.default_type == ProgType::Action ? BPF_PROG_TYPE_SCHED_ACT : BPF_PROG_TYPE_SCHED_CLS;
    attr.insns = reinterpret_cast<uint64_t>(insns.data());
    attr.insn_cnt = static_cast<uint32_t>(insns.size());
    attr.license = reinterpret_cast<uint64_t>(o.license.c_str());
    attr.fd_array = reinterpret_cast<uint64_t>(maps.raw.data());
    attr.log_buf = reinterpret_cast<uint64_t>(log.data());
    attr.log_size = static_cast<uint32_t>(log.size());
    attr.log_level = 1;
    if (!p.funcs.empty()) {
        btf = load_btf(o);
        attr.prog_btf_fd = static_cast<uint32_t>(btf.get());
        attr.func_info = reinterpret_cast<uint64_t>(p.funcs.data());
        attr.func_info_rec_size = sizeof(FuncInfo);  // {insn_off, type_id}: struct bpf_func_info
        attr.func_info_cnt = static_cast<uint32_t>(p.funcs.size());
    }
    const int fd = static_cast<int>(syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr));
    Loaded out;
    out.error = fd < 0 ? errno : 0;
    out.fd = kernel::Fd(fd);
    if (fd < 0) out.log = log.data();
    return out;
}

class KernelAccepts : public ::testing::TestWithParam<std::string> {};

TEST_P(KernelAccepts, EveryProgramOfTheObject) {
    TCBPF_REQUIRE_BPF();
    const Object o = load_object(object_path(GetParam()));
    const KernelMaps maps = create_maps(o);
    for (const ProgramDef& p : o.programs) {
        const Loaded loaded = load(o, p, maps);
        EXPECT_EQ(loaded.error, 0) << p.name << ": " << kernel::errno_text(loaded.error) << "\n" << loaded.log;
    }
}

INSTANTIATE_TEST_SUITE_P(Objects, KernelAccepts,
                         ::testing::Values("legacy_maps", "legacy_mapdef", "btf_maps", "global_data", "calls"));

TEST(KernelRun, GlobalDataLandsAtTheRelocatedOffsets) {
    TCBPF_REQUIRE_BPF();
    const Object o = load_object(object_path("global_data"));
    const KernelMaps maps = create_maps(o);
    const Loaded loaded = load(o, find_program(o, "classify"), maps);
    ASSERT_EQ(loaded.error, 0) << loaded.log;
    std::vector<uint8_t> packet(60, 0);
    packet[12] = 0x08;  // an IPv4 ethertype, contents irrelevant
    kernel::TestRunInput input;
    input.data = packet;
    const auto run = kernel::test_run(loaded.fd, input);
    ASSERT_TRUE(run.ok()) << kernel::errno_text(run.error);
    EXPECT_EQ(run.retval, 0u) << "60 bytes is under the threshold and mark 0 is not drop_mark: verdicts[0]";

    // .bss: packets (u64 at 0) == 1, last_len (u32 at 8) == 60.
    const uint32_t zero = 0;
    const size_t bss = map_index(o, "global_d.bss");
    std::vector<uint8_t> value(o.maps[bss].value_size);
    ASSERT_EQ(kernel::map_lookup(maps.fds[bss], {reinterpret_cast<const uint8_t*>(&zero), 4}, value), 0);
    uint64_t packets;
    uint32_t last_len;
    std::memcpy(&packets, value.data(), 8);
    std::memcpy(&last_len, value.data() + 8, 4);
    EXPECT_EQ(packets, 1u);
    EXPECT_EQ(last_len, 60u);
    // .data: the static `hidden` (offset 16, initially 7) grew by the packet length.
    const size_t data = map_index(o, "global_d.data");
    value.assign(o.maps[data].value_size, 0);
    ASSERT_EQ(kernel::map_lookup(maps.fds[data], {reinterpret_cast<const uint8_t*>(&zero), 4}, value), 0);
    uint32_t hidden;
    std::memcpy(&hidden, value.data() + 16, 4);
    EXPECT_EQ(hidden, 7u + 60u);
}

}  // namespace
}  // namespace tcbpf::loader::test
