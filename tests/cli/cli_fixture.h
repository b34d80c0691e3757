// What every test of the tcbpf command needs: a private scratch folder, files written into it, and the
// command run with its exit status, standard output and standard error captured. TCBPF_BINARY is the
// path of the built command (a compile definition of each CLI test target).
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace tcbpf::test {

struct Outcome {
    int status = -1;
    std::string out, err;
};

inline std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

class CliFixture : public ::testing::Test {
   protected:
    std::filesystem::path dir;

    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir = std::filesystem::temp_directory_path() / ("tcbpf-cli-" + std::to_string(::getpid()) + "-" +
                                                        info->test_suite_name() + "-" + info->name());
        std::filesystem::create_directories(dir);
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    std::string write(const std::string& name, const std::string& text) {
        std::ofstream(dir / name, std::ios::binary) << text;
        return (dir / name).string();
    }

    Outcome tcbpf(const std::string& args) {
        const std::string cmd = std::string(TCBPF_BINARY) + " " + args + " >" + (dir / "out").string() + " 2>" +
                                (dir / "err").string();
        const int raw = std::system(cmd.c_str());
        return Outcome{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(dir / "out"), slurp(dir / "err")};
    }
};

}  // namespace tcbpf::test
