// The helper prototypes (helpers.md's table, argument kinds in helper_table.h) and the map types that
// restrict which helpers may take them (the kernel's check_map_func_compatibility). Helpers whose
// arguments or results need sockets, BTF objects, dynptrs, callbacks, timers, spin locks or acquired
// references other than ring buffer reservations are left out: calls to them are refused as not
// supported rather than checked loosely.
// Which helpers move packet data was checked against Linux 6.18 (helper_table_kernel_test.cpp). tcbpf's internal cBPF helpers (include/tcbpf/cbpf.h) take (ctx, A, X) and return a number.
#include "verifier/helper_table.h"

#include "tcbpf/verifier.h"

#include <algorithm>

#include "tcbpf/cbpf.h"

namespace tcbpf::verifier::detail {

namespace {

using A = ArgKind;
constexpr A N = A::None, Y = A::Any, C = A::Ctx, M = A::MapPtr;

constexpr uint32_t kProgArray = 3, kPerfEventArray = 4, kPercpuHash = 5, kPercpuArray = 6, kCgroupArray = 8,
                   kLruPercpuHash = 10, kQueue = 22, kStack = 23, kRingbuf = 27, kBloomFilter = 30;

// clang-format off
constexpr HelperProto kHelpers[] = {
    {1, {M, A::MapKey, N, N, N}, RetKind::MapValueOrNull, false, true},
    {2, {M, A::MapKey, A::MapValue, Y, N}, RetKind::Integer, false, true},
    {3, {M, A::MapKey, N, N, N}, RetKind::Integer, false, true},
    {5, {}},
    {6, {A::Mem, A::Size, N, N, N}, RetKind::Integer, false, false, true},  // variadic: r3-r5 unchecked
    {7, {}},
    {8, {}},
    {9, {C, Y, A::Mem, A::Size, Y}, RetKind::Integer, true, true},
    {10, {C, Y, Y, Y, Y}, RetKind::Integer, true},
    {11, {C, Y, Y, Y, Y}, RetKind::Integer, true},
    {12, {C, M, Y, N, N}, RetKind::Void, false, false, false, 0, {kProgArray}},
    {13, {C, Y, Y, N, N}, RetKind::Integer, true},
    {14, {}},
    {17, {C, N, N, N, N}},
    {18, {C, Y, Y, N, N}, RetKind::Integer, true},
    {19, {C, N, N, N, N}, RetKind::Integer, true},
    {20, {C, A::UninitMem, A::Size, Y, N}},
    {21, {C, A::Mem, A::Size, Y, N}},
    {23, {Y, Y, N, N, N}},
    {24, {C, N, N, N, N}},
    {25, {C, M, Y, A::Mem, A::SizeOrZero}, RetKind::Integer, false, false, true, 0, {kPerfEventArray}},
    {26, {C, Y, A::UninitMem, A::Size, N}, RetKind::Integer, false, true},
    {28, {A::MemOrNull, A::SizeOrZero, A::MemOrNull, A::SizeOrZero, Y}, RetKind::Integer, false, true},
    {29, {C, A::UninitMem, A::Size, N, N}},
    {30, {C, A::Mem, A::Size, N, N}},
    {31, {C, Y, Y, N, N}, RetKind::Integer, true},
    {32, {C, Y, N, N, N}},
    {33, {C, M, Y, N, N}, RetKind::Integer, false, false, false, 0, {kCgroupArray}},
    {34, {C, N, N, N, N}},
    {38, {C, Y, Y, N, N}, RetKind::Integer, true},
    {39, {C, Y, N, N, N}, RetKind::Integer, true},
    {40, {C, Y, N, N, N}},
    {41, {C, N, N, N, N}},
    {42, {}},
    {43, {C, Y, Y, N, N}, RetKind::Integer, true},
    {46, {C, N, N, N, N}},
    {47, {C, N, N, N, N}},
    {48, {C, Y, N, N, N}},
    {50, {C, Y, Y, Y, N}, RetKind::Integer, true},
    {66, {C, Y, A::UninitMem, A::Size, Y}},
    {68, {C, Y, A::UninitMem, A::Size, Y}, RetKind::Integer, false, true},
    {69, {C, A::MemInOut, A::Size, Y, N}},
    {79, {C, N, N, N, N}},
    {80, {}},
    {83, {C, Y, N, N, N}},
    {87, {M, A::MapValue, Y, N, N}, RetKind::Integer, false, true, false, 0, {kQueue, kStack, kBloomFilter}},
    {88, {M, A::MapValueOut, N, N, N}, RetKind::Integer, false, true, false, 0, {kQueue, kStack}},
    {89, {M, A::MapValueOut, N, N, N}, RetKind::Integer, false, true, false, 0, {kQueue, kStack, kBloomFilter}},
    {97, {C, N, N, N, N}},
    {105, {A::Mem, A::Size, Y, A::FixedOut, N}, RetKind::Integer, false, false, false, 8},
    {106, {A::Mem, A::Size, Y, A::FixedOut, N}, RetKind::Integer, false, false, false, 8},
    {118, {}},
    {120, {Y, Y, A::UninitMem, A::Size, N}},
    {123, {Y, N, N, N, N}},
    {125, {}},
    {130, {M, A::Mem, A::SizeOrZero, Y, N}, RetKind::Integer, false, false, false, 0, {kRingbuf}},
    {131, {M, A::AllocSize, Y, N, N}, RetKind::RingbufMemOrNull, false, false, false, 0, {kRingbuf}},
    {132, {A::ReleaseRingbuf, Y, N, N, N}, RetKind::Void},
    {133, {A::ReleaseRingbuf, Y, N, N, N}, RetKind::Void},
    {134, {M, Y, N, N, N}, RetKind::Integer, false, false, false, 0, {kRingbuf}},
    {135, {C, Y, N, N, N}},
    {151, {C, N, N, N, N}},
    {152, {Y, A::MemOrNull, A::SizeOrZero, Y, N}},
    {155, {Y, Y, N, N, N}},
    {163, {C, Y, A::FixedMem, Y, Y}, RetKind::Integer, false, false, false, 4},
    {177, {A::Mem, A::Size, A::MemOrNull, A::SizeOrZero, N}, RetKind::Integer, false, false, true},
    {192, {C, Y, Y, N, N}},
    {195, {M, A::MapKey, Y, N, N}, RetKind::MapValueOrNull, false, true, false, 0, {kPercpuHash, kPercpuArray, kLruPercpuHash}},
    {208, {}},
    {cbpf::kHelperCbpfPayOffset, {C, Y, Y, N, N}},
    {cbpf::kHelperCbpfNlattr, {C, Y, Y, N, N}},
    {cbpf::kHelperCbpfNlattrNest, {C, Y, Y, N, N}},
    {cbpf::kHelperCbpfHatype, {C, Y, Y, N, N}},
};
// clang-format on

constexpr std::string_view kNames[] = {
#include "verifier/helper_names.inc"
};

// helpers.md: ids the kernel does not offer tc programs.
constexpr int32_t kUnavailable[] = {0,  4,  15, 16, 22, 27, 44,  49,  51,  52,  53,  54,  57,  58,  60,  61,
                                    62, 63, 64, 65, 67, 71, 73,  74,  75,  76,  77,  78,  81,  82,  90,  91,
                                    92, 101, 102, 103, 104, 109, 117, 121, 126, 127, 147, 188, 189, 190};

}  // namespace

std::span<const HelperProto> all_helpers() { return kHelpers; }

const HelperProto* find_helper(int32_t id) {
    for (const HelperProto& p : kHelpers)
        if (p.id == id) return &p;
    return nullptr;
}

std::string_view helper_name_of(int32_t id) {
    switch (id) {
        case cbpf::kHelperCbpfPayOffset: return "cbpf_pay_offset";
        case cbpf::kHelperCbpfNlattr: return "cbpf_nlattr";
        case cbpf::kHelperCbpfNlattrNest: return "cbpf_nlattr_nest";
        case cbpf::kHelperCbpfHatype: return "cbpf_hatype";
        default: break;
    }
    if (id < 0 || static_cast<size_t>(id) >= std::size(kNames)) return "";
    return kNames[id];
}

bool unavailable_to_tc(int32_t id) { return std::ranges::find(kUnavailable, id) != std::end(kUnavailable); }

bool map_type_allows(uint32_t map_type, int32_t helper) {
    auto only = [helper](std::initializer_list<int32_t> ids) { return std::ranges::find(ids, helper) != ids.end(); };
    switch (map_type) {
        case kProgArray: return only({12});
        case kPerfEventArray: return only({25});
        case kCgroupArray: return only({33});
        case kRingbuf: return only({130, 131, 134});
        case kQueue:
        case kStack: return only({87, 88, 89});
        case kBloomFilter: return only({87, 89});
        case 14:   // devmap
        case 16:   // cpumap
        case 17:   // xskmap
        case 25:   // devmap_hash
            return only({1});
        default: return true;
    }
}

bool map_type_out_of_scope(uint32_t map_type) {
    switch (map_type) {
        case 15:  // sockmap
        case 18:  // sockhash
        case 19:  // cgroup_storage
        case 20:  // reuseport_sockarray
        case 21:  // percpu_cgroup_storage
        case 24:  // sk_storage
        case 26:  // struct_ops
        case 28:  // inode_storage
        case 29:  // task_storage
        case 31:  // user_ringbuf
        case 32:  // cgrp_storage
        case 33:  // arena
            return true;
        default: return false;
    }
}

}  // namespace tcbpf::verifier::detail

namespace tcbpf::verifier {

std::string_view helper_name(int32_t id) { return detail::helper_name_of(id); }
bool helper_supported(int32_t id) { return detail::find_helper(id) != nullptr; }

}  // namespace tcbpf::verifier
