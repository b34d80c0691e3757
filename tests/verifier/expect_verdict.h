// The one way table tests compare a verdict with the case's expectation: an empty message means
// accepted; otherwise rejected with exactly that message at that instruction (ours), or with a log
// containing it (the kernel's).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "tcbpf/verifier.h"
#include "tests/support/kernel_bpf.h"

namespace tcbpf::verifier::test {

inline void expect_verdict(const Result& r, const char* message, size_t insn_idx) {
    if (message[0] == '\0') {
        EXPECT_TRUE(r.ok) << r.message << " at insn " << r.insn_idx;
    } else {
        EXPECT_FALSE(r.ok);
        EXPECT_EQ(r.message, message);
        EXPECT_EQ(r.insn_idx, insn_idx);
    }
}

inline void expect_kernel_verdict(const kernel::LoadResult& theirs, const char* message) {
    if (message[0] == '\0') {
        EXPECT_TRUE(theirs.ok()) << theirs.log;
    } else {
        EXPECT_FALSE(theirs.ok());
        EXPECT_NE(theirs.log.find(message), std::string::npos) << theirs.log;
    }
}

}  // namespace tcbpf::verifier::test
