// Engine selection in the runtime: verified programs run JIT-compiled by default, unverified ones in the
// checked interpreter, `interp` on request; a program the JIT refuses sends its whole object to the
// interpreter with the reason recorded (or, with fallback disabled, is a preparation error); tail calls,
// helpers, maps and the context behave the same on both engines.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tcbpf/loader.h"
#include "tcbpf/runtime.h"
#include "tests/runtime/frames.h"

namespace tcbpf::runtime {
namespace {

using namespace test_frames;

std::string example(const std::string& name) { return std::string(TCBPF_EXAMPLES_DIR) + "/" + name + ".o"; }

std::unique_ptr<LoadedObject> load(const std::string& name, const LoadOptions& options) {
    return LoadedObject::load(loader::load_object(example(name)), options);
}

LoadOptions verified(Engine engine) {
    LoadOptions options;
    options.checked = false;  // what loading a verified program amounts to
    options.engine = engine;
    return options;
}

TEST(RuntimeEngine, VerifiedProgramsRunJitCompiledByDefault) {
    auto object = load("port_classifier", verified(LoadOptions{}.engine));
    const PreparedProgram& p = object->select("port_classifier");
    EXPECT_EQ(p.engine, Engine::Jit);
    ASSERT_NE(p.native, nullptr);
    EXPECT_EQ(p.fallback, "");
    const RunResult r = object->test_run(p, ipv4_frame(17, 1000, 53));
    EXPECT_EQ(r.ret, 0);
    EXPECT_EQ(r.meta.tc_classid, 0x000au);
    EXPECT_STREQ(engine_name(Engine::Jit), "jit");
    EXPECT_STREQ(engine_name(Engine::Interp), "interp");
}

TEST(RuntimeEngine, UnverifiedProgramsRunInTheCheckedInterpreterWhateverTheEngine) {
    LoadOptions options;
    options.checked = true;  // no verifier in front: the checked interpreter watches every access
    options.engine = Engine::Jit;
    auto object = load("port_classifier", options);
    const PreparedProgram& p = object->select("port_classifier");
    EXPECT_EQ(p.engine, Engine::Interp);
    EXPECT_EQ(p.native, nullptr);
    EXPECT_TRUE(p.program->checked());
    EXPECT_EQ(p.fallback, "");  // not a fallback: the JIT was never a candidate
}

TEST(RuntimeEngine, InterpOnRequest) {
    auto object = load("port_classifier", verified(Engine::Interp));
    const PreparedProgram& p = object->select("port_classifier");
    EXPECT_EQ(p.engine, Engine::Interp);
    EXPECT_EQ(p.native, nullptr);
    EXPECT_FALSE(p.program->checked());
}

// Tail calls continue in the target's native code; helpers see the same maps and skb on both engines.
TEST(RuntimeEngine, TailCallsHelpersAndContextUnderTheJit) {
    for (const Engine engine : {Engine::Jit, Engine::Interp}) {
        SCOPED_TRACE(engine_name(engine));
        auto object = load("tail_dispatch", verified(engine));
        const PreparedProgram& dispatch = object->select("dispatch");
        ASSERT_EQ(dispatch.engine, engine);
        RunResult r = object->test_run(dispatch, ipv4_frame(6, 1, 2));
        EXPECT_EQ(r.ret, 0);
        EXPECT_EQ(r.meta.tc_classid, 0x0004u);
        r = object->test_run(dispatch, ipv6_frame());
        EXPECT_EQ(r.ret, 0);
        EXPECT_EQ(r.meta.tc_classid, 0x0006u);
        r = object->test_run(dispatch, arp_frame());  // empty slot: falls through to TC_ACT_UNSPEC
        EXPECT_EQ(r.ret, -1);
        EXPECT_EQ(counter(*object, "dispatch_stats", 0), 1u);
        EXPECT_EQ(counter(*object, "dispatch_stats", 1), 1u);
        EXPECT_EQ(counter(*object, "dispatch_stats", 2), 1u);
    }
}

// A code limit between the handlers' code sizes and the (larger) dispatcher's.
size_t limit_refusing_only_dispatch() {
    auto object = load("tail_dispatch", verified(Engine::Jit));
    const size_t handlers = std::max(object->select("handle_ipv4").native->code_size(),
                                     object->select("handle_ipv6").native->code_size());
    EXPECT_GT(object->select("dispatch").native->code_size(), handlers);
    return handlers;
}

// bpf_jit_limit's analogue makes the JIT refuse: every program of the object falls back, each naming the
// program that was refused and why, and tail calls keep working in the interpreter.
TEST(RuntimeEngine, ARefusedProgramSendsTheWholeObjectToTheInterpreter) {
    LoadOptions options = verified(Engine::Jit);
    options.jit.code_limit = limit_refusing_only_dispatch();
    const std::string limit = std::to_string(options.jit.code_limit);
    auto object = load("tail_dispatch", options);
    const PreparedProgram& dispatch = object->select("dispatch");
    EXPECT_EQ(dispatch.engine, Engine::Interp);
    EXPECT_EQ(dispatch.native, nullptr);
    EXPECT_TRUE(dispatch.fallback.starts_with("program dispatch: JIT: the program needs ")) << dispatch.fallback;
    EXPECT_TRUE(dispatch.fallback.ends_with(" bytes of code, above the limit of " + limit)) << dispatch.fallback;
    for (const PreparedProgram& p : object->programs()) {
        EXPECT_EQ(p.engine, Engine::Interp) << p.def->name;
        EXPECT_EQ(p.fallback, dispatch.fallback) << p.def->name;
    }
    const RunResult r = object->test_run(dispatch, ipv6_frame());
    EXPECT_EQ(r.ret, 0);
    EXPECT_EQ(r.meta.tc_classid, 0x0006u);
}

TEST(RuntimeEngine, WithoutFallbackARefusalIsThatProgramsError) {
    LoadOptions options = verified(Engine::Jit);
    options.jit.code_limit = limit_refusing_only_dispatch();
    options.jit_fallback = false;
    const std::string limit = std::to_string(options.jit.code_limit);
    auto object = load("tail_dispatch", options);
    try {
        object->select("dispatch");
        FAIL() << "dispatch was selected although the JIT refused it";
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_TRUE(message.starts_with("program dispatch: JIT: the program needs ")) << message;
        EXPECT_TRUE(message.ends_with(" bytes of code, above the limit of " + limit + " (fallback to the interpreter disabled)"))
            << message;
    }
    const PreparedProgram& handler = object->select("handle_ipv4");  // small enough: still native
    EXPECT_EQ(handler.engine, Engine::Jit);
}

}  // namespace
}  // namespace tcbpf::runtime
