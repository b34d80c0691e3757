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

// Pruning as a privileged load prunes: what the general state's continuation read as "some number"
// may be anything in the specific one, since a program may do anything with a number.
constexpr Inclusion kPrivileged{true, true}, kStrict{true, false};

TEST(State, PrivilegedUnknownBytesIncludeSpilledPointersAndUnwrittenBytes) {
    State general = initial_state(), specific = initial_state();
    general.slot(0).bytes.fill(StackByte::Misc);
    specific.slot(0).bytes.fill(StackByte::Spill);
    specific.slot(0).spilled = Reg::pointer(RegType::Ctx);
    EXPECT_TRUE(includes(general, specific, kPrivileged));
    EXPECT_FALSE(includes(general, specific, kStrict));  // --strict: a pointer would leak as that number
    State unwritten = initial_state();
    unwritten.slot(0);
    EXPECT_TRUE(includes(general, unwritten, kPrivileged));
    EXPECT_FALSE(includes(general, unwritten, kStrict));  // --strict refuses reading it at all
}

TEST(State, KnownZerosNoOneReliedOnIncludeAnyNumber) {
    State general = initial_state(), specific = initial_state();
    general.slot(0).bytes.fill(StackByte::Zero);
    specific.slot(0).bytes.fill(StackByte::Misc);
    EXPECT_TRUE(includes(general, specific, kStrict));
    EXPECT_FALSE(includes(general, specific));  // exact comparison (the infinite-loop test)
    // Once a continuation depended on the zeros (a branch on the loaded 0, a constant map key), they
    // must be zeros.
    general.slot(0).zero_precise = true;
    EXPECT_FALSE(includes(general, specific, kStrict));
}

TEST(State, ImpreciseNarrowSpillIncludesPlainBytes) {
    State general = initial_state(), specific = initial_state();
    StackSlot& spill = general.slot(0);
    spill.bytes = {StackByte::Spill, StackByte::Spill, StackByte::Spill, StackByte::Spill,
                   StackByte::Misc,  StackByte::Misc,  StackByte::Misc,  StackByte::Misc};
    spill.spilled = byte_scalar();
    specific.slot(0).bytes = {StackByte::Zero, StackByte::Zero, StackByte::Zero, StackByte::Zero,
                              StackByte::Misc, StackByte::Misc, StackByte::Misc, StackByte::Misc};
    EXPECT_TRUE(includes(general, specific, kStrict));
    spill.spilled.precise = true;
    EXPECT_FALSE(includes(general, specific, kStrict));
}

TEST(State, WholeSpilledScalarIncludesBytesReadingAsAnIncludedNumber) {
    State general = initial_state(), specific = initial_state();
    general.slot(0).bytes.fill(StackByte::Spill);
    general.slot(0).spilled = byte_scalar();
    general.slot(0).spilled.precise = true;
    specific.slot(0).bytes.fill(StackByte::Zero);  // loads as 0, within 0..255
    EXPECT_TRUE(includes(general, specific, kStrict));
    specific.slot(0).bytes.fill(StackByte::Misc);  // loads as any number
    EXPECT_FALSE(includes(general, specific, kStrict));
}

}  // namespace
}  // namespace tcbpf::verifier
