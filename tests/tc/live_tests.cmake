# tcbpf on live ports between namespaces the tests create (live_topology.h): traffic, policies, redirects,
# the kernel's tc on the same topology (label kernel: the Release suite, not the sanitizer one; they skip
# with the reason without root). live_redirect.o is the redirect program both sides load.
set(TCBPF_LIVE_REDIRECT_OBJECT ${CMAKE_CURRENT_BINARY_DIR}/live_redirect.o)
if(TCBPF_BPF_CLANG)
  add_custom_command(
    OUTPUT ${TCBPF_LIVE_REDIRECT_OBJECT}
    COMMAND ${TCBPF_BPF_CLANG} -O2 -g -target bpf -I/usr/include/${_tc_multiarch}
            -c ${CMAKE_CURRENT_SOURCE_DIR}/progs/live_redirect.c -o ${TCBPF_LIVE_REDIRECT_OBJECT}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/progs/live_redirect.c ${CMAKE_SOURCE_DIR}/examples/progs/parse.h
    COMMENT "BPF test program live_redirect.o")
  add_custom_target(live_test_progs DEPENDS ${TCBPF_LIVE_REDIRECT_OBJECT})
endif()

add_library(tcbpf_test_live_topology STATIC live_topology.cpp)
target_link_libraries(tcbpf_test_live_topology PUBLIC tcbpf_live tcbpf_test_veth)

add_executable(test_tc_live live_e2e_test.cpp)
target_link_libraries(test_tc_live PRIVATE tcbpf_test_live_topology GTest::gtest_main)
target_compile_definitions(test_tc_live PRIVATE TCBPF_EXAMPLES_DIR="${TCBPF_EXAMPLES_DIR}"
                                                TCBPF_LIVE_REDIRECT_OBJECT="${TCBPF_LIVE_REDIRECT_OBJECT}"
                                                TCBPF_BINARY="$<TARGET_FILE:tcbpf>")
add_dependencies(test_tc_live tcbpf)
if(TCBPF_BPF_CLANG)
  add_dependencies(test_tc_live live_test_progs demo_progs)
endif()
gtest_discover_tests(test_tc_live PROPERTIES LABELS kernel)

add_executable(test_tc_live_shaping live_shaping_test.cpp)
target_link_libraries(test_tc_live_shaping PRIVATE tcbpf_test_live_topology GTest::gtest_main)
gtest_discover_tests(test_tc_live_shaping PROPERTIES LABELS kernel)

# Pipeline replicas sharing programs (no devices: runs everywhere, sanitizers included).
add_executable(test_tc_live_replicas live_replicas_test.cpp)
target_link_libraries(test_tc_live_replicas PRIVATE tcbpf_tc GTest::gtest_main)
target_compile_definitions(test_tc_live_replicas PRIVATE TCBPF_EXAMPLES_DIR="${TCBPF_EXAMPLES_DIR}")
if(TCBPF_BPF_CLANG)
  add_dependencies(test_tc_live_replicas demo_progs)
endif()
gtest_discover_tests(test_tc_live_replicas PROPERTIES LABELS unit)

# Several workers' statistics merged into one tc -s text (live/merge_stats.h).
add_executable(test_tc_live_merge live_merge_stats_test.cpp)
target_link_libraries(test_tc_live_merge PRIVATE tcbpf_live GTest::gtest_main)
gtest_discover_tests(test_tc_live_merge PROPERTIES LABELS unit)

# A 10,000-entry policy push by `tcbpf map -batch` while a stream flows: no update, no packet lost.
add_executable(test_tc_live_policy_push live_policy_push_test.cpp)
target_link_libraries(test_tc_live_policy_push PRIVATE tcbpf_test_live_topology GTest::gtest_main)
target_compile_definitions(test_tc_live_policy_push PRIVATE TCBPF_EXAMPLES_DIR="${TCBPF_EXAMPLES_DIR}"
                                                            TCBPF_BINARY="$<TARGET_FILE:tcbpf>")
add_dependencies(test_tc_live_policy_push tcbpf)
if(TCBPF_BPF_CLANG)
  add_dependencies(test_tc_live_policy_push example_progs)
endif()
gtest_discover_tests(test_tc_live_policy_push PROPERTIES LABELS kernel)
