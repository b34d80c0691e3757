// State inclusion, the pruning test: a proven-safe state may stand in for another only if it describes
// every machine state the other does.
#include "verifier/state.h"

#include <gtest/gtest.h>

namespace tcbpf::verifier {
namespace {

Reg byte_scalar() {
    Scalar s;
    s.umax = 255;
    sync_bounds(s);
    return Reg::scalar(s);
}

TEST(State, WiderScalarsIncludeNarrowerOnes) {
    State general = initial_state(), specific = initial_state();
    general.regs[2] = byte_scalar();
    specific.regs[2] = Reg::scalar(Scalar::constant(7));
    EXPECT_TRUE(includes(general, specific));
    EXPECT_FALSE(includes(specific, general));
}

TEST(State, UninitialisedIncludesAnythingButNotTheReverse) {
    State general = initial_state(), specific = initial_state();
    specific.regs[3] = Reg::scalar(Scalar::constant(1));
    EXPECT_TRUE(includes(general, specific));
    EXPECT_FALSE(includes(specific, general));
}

TEST(State, PointersMustMatchTypeAndOffsetAndPacketRangeMayGrow) {
    State general = initial_state(), specific = initial_state();
    general.regs[2] = Reg::pointer(RegType::Packet, 14);
    specific.regs[2] = Reg::pointer(RegType::Packet, 14);
    specific.regs[2].range = 20;
    EXPECT_TRUE(includes(general, specific));
    EXPECT_FALSE(includes(specific, general));
    specific.regs[2].off = 15;
    EXPECT_FALSE(includes(general, specific));
    specific.regs[2] = Reg::scalar(Scalar::unknown());
    EXPECT_FALSE(includes(general, specific));
}

TEST(State, LinkedScalarsNeedLinkedCounterparts) {
    State linked = initial_state(), unlinked = initial_state();
    linked.regs[2] = linked.regs[3] = byte_scalar();
    linked.regs[2].id = linked.regs[3].id = 4;
    unlinked.regs[2] = unlinked.regs[3] = byte_scalar();
    // The linked state's exploration relied on r2 == r3; the unlinked one does not guarantee it.
    EXPECT_FALSE(includes(linked, unlinked));
    EXPECT_TRUE(includes(unlinked, linked));
    // Renamed ids describe the same equalities.
    State renamed = linked;
    renamed.regs[2].id = renamed.regs[3].id = 9;
    EXPECT_TRUE(includes(linked, renamed));
}

TEST(State, StackBytes) {
    State general = initial_state(), specific = initial_state();
    general.slot(0).bytes.fill(StackByte::Misc);
    specific.slot(0).bytes.fill(StackByte::Zero);
    EXPECT_TRUE(includes(general, specific));
    EXPECT_FALSE(includes(specific, general));
    // A spilled pointer is not "some bytes" the general state's exploration could have used as a number.
    specific.slot(0).bytes.fill(StackByte::Spill);
    specific.slot(0).spilled = Reg::pointer(RegType::Ctx);
    EXPECT_FALSE(includes(general, specific));
    // Never-written bytes include anything.
    State empty = initial_state();
    EXPECT_TRUE(includes(empty, specific));
}

}  // namespace
}  // namespace tcbpf::verifier
