// Pinned maps as iproute2's tc lays them out under a bpffs-like directory: where each pinning value
// puts a map, two loads of one object sharing their pinned map, and a conflicting pin refused by name.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/sha1.h"
#include "tcbpf/loader.h"
#include "tcbpf/runtime.h"

namespace tcbpf::runtime {
namespace {

namespace fs = std::filesystem;

std::string example(const std::string& name) { return std::string(TCBPF_EXAMPLES_DIR) + "/" + name + ".o"; }

class Pinning : public ::testing::Test {
   protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        bpffs_ = fs::temp_directory_path() / ("tcbpf-pin-" + std::to_string(getpid()) + "-" + info->name());
        fs::create_directories(bpffs_);
    }
    void TearDown() override { fs::remove_all(bpffs_); }
    LoadOptions pinned() const {
        LoadOptions options;
        options.bpffs = bpffs_.string();
        options.ncpus = 2;
        return options;
    }
    fs::path bpffs_;
};

TEST(Sha1, KnownDigests) {
    auto digest = [](const std::string& text) {
        return sha1_hex({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
    };
    EXPECT_EQ(digest(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    EXPECT_EQ(digest("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    // 56 bytes: the length no longer fits the first block's tail, so padding spills into a second one.
    EXPECT_EQ(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    EXPECT_EQ(digest(std::string(1000000, 'a')), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST_F(Pinning, PathsFollowIproute2sLayout) {
    loader::Object object;
    object.path = (bpffs_ / "obj.o").string();
    std::ofstream(object.path) << "abc";  // the object namespace is the SHA-1 of the file's bytes
    loader::MapDef def;
    def.name = "counters";
    EXPECT_EQ(pin_path(object, def, "/run/tcbpf"), "");
    def.pinning = loader::kPinGlobalNs;
    EXPECT_EQ(pin_path(object, def, "/run/tcbpf"), "/run/tcbpf/tc/globals/counters");
    def.pinning = loader::kPinObjectNs;
    EXPECT_EQ(pin_path(object, def, "/run/tcbpf"), "/run/tcbpf/tc/a9993e364706816aba3e25717850c26c9cd0d89d/counters");
    def.pinning = 77;  // a custom scope nobody listed in /etc/iproute2/bpf_pinning
    try {
        pin_path(object, def, "/run/tcbpf");
        FAIL() << "expected an Error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "map counters: pinning value 77 is not listed in /etc/iproute2/bpf_pinning");
    }
}

TEST_F(Pinning, TwoLoadsShareTheGloballyPinnedMapAndKeepTheOthersPrivate) {
    auto first = LoadedObject::load(loader::load_object(example("policy")), pinned());
    auto second = LoadedObject::load(loader::load_object(example("policy")), pinned());
    EXPECT_TRUE(fs::exists(bpffs_ / "tc/globals/policy_map"));
    EXPECT_FALSE(fs::exists(bpffs_ / "tc/globals/policy_stats"));  // not pinned: each load has its own

    std::vector<uint8_t> key(40, 7), value(16, 0), out(16, 0);
    value[0] = 2;  // TC_ACT_SHOT
    ASSERT_EQ(first->map("policy_map")->update_user(key.data(), value.data(), maps::kBpfNoExist), 0);
    ASSERT_EQ(second->map("policy_map")->lookup_user(key.data(), out.data()), 0);
    EXPECT_EQ(out, value);

    const uint32_t stat = 0;
    uint64_t one = 1, seen = 9;
    ASSERT_EQ(first->map("policy_stats")->update_user(&stat, &one, maps::kBpfAny), 0);
    ASSERT_EQ(second->map("policy_stats")->lookup_user(&stat, &seen), 0);
    EXPECT_EQ(seen, 0u);
}

TEST_F(Pinning, AConflictingPinnedMapFailsTheLoadNamingMapPathAndDifference) {
    fs::create_directories(bpffs_ / "tc/globals");
    const std::string path = (bpffs_ / "tc/globals/policy_map").string();
    maps::create_pinned_map(maps::MapSpec{maps::kMapHash, 40, 8, 16384, 0, "policy_map"}, 2, path);
    try {
        LoadedObject::load(loader::load_object(example("policy")), pinned());
        FAIL() << "expected an Error";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), example("policy") + ": map policy_map: the map pinned at " + path +
                                             " differs (value_size 16 here, 8 pinned): Map specification differs "
                                             "from pinned file!");
    }
}

TEST_F(Pinning, WithoutABpffsDirectoryNothingIsPinned) {
    ::unsetenv("TCBPF_BPFFS");
    LoadOptions options = pinned();
    options.bpffs.reset();
    auto object = LoadedObject::load(loader::load_object(example("policy")), options);
    EXPECT_NE(object->map("policy_map"), nullptr);
    EXPECT_TRUE(fs::is_empty(bpffs_));
}

TEST_F(Pinning, TheEnvironmentPinsForLoadsThatNameNoDirectory) {
    LoadOptions options = pinned();
    options.bpffs.reset();
    ::setenv("TCBPF_BPFFS", bpffs_.c_str(), 1);
    auto object = LoadedObject::load(loader::load_object(example("policy")), options);
    ::unsetenv("TCBPF_BPFFS");
    EXPECT_TRUE(fs::exists(bpffs_ / "tc/globals/policy_map"));
}

TEST(DefaultBpffs, EnvironmentOverridesRunTcbpf) {
    ::unsetenv("TCBPF_BPFFS");
    EXPECT_EQ(default_bpffs(), "/run/tcbpf");
    ::setenv("TCBPF_BPFFS", "/tmp/elsewhere", 1);
    EXPECT_EQ(default_bpffs(), "/tmp/elsewhere");
    ::unsetenv("TCBPF_BPFFS");
}

}  // namespace
}  // namespace tcbpf::runtime
