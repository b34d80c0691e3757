// Two workers' `tc -s` texts become one: counters summed, configuration and per-replica state (htb
// tokens, an action's times) as worker 0 has them, JSON members by name, and texts of different
// shapes kept apart.
#include <gtest/gtest.h>

#include "live/merge_stats.h"

namespace tcbpf::live {
namespace {

TEST(MergeStats, CountersAreSummedAndEverythingElseIsWorkerZeros) {
    const std::string w0 =
        "class htb 1:10 root prio 0 rate 5Mbit ceil 5Mbit burst 1600b cburst 1600b \n"
        " Sent 1042 bytes 1 pkt (dropped 2, overlimits 3 requeues 0) \n"
        " backlog 1042b 1p requeues 0\n"
        " lended: 1 borrowed: 0 giants: 0\n"
        " tokens: 38400 ctokens: 38400\n"
        "\taction order 1: gact action drop\n"
        "\t index 1 ref 1 bind 1 installed 3 sec used 1 sec\n";
    const std::string w1 =
        "class htb 1:10 root prio 0 rate 5Mbit ceil 5Mbit burst 1600b cburst 1600b \n"
        " Sent 2084 bytes 2 pkt (dropped 0, overlimits 1 requeues 0) \n"
        " backlog 0b 0p requeues 0\n"
        " lended: 2 borrowed: 0 giants: 0\n"
        " tokens: 1200 ctokens: 1200\n"
        "\taction order 1: gact action drop\n"
        "\t index 1 ref 1 bind 1 installed 3 sec used 0 sec\n";
    EXPECT_EQ(merge_stats_text({w0, w1}),
              "class htb 1:10 root prio 0 rate 5Mbit ceil 5Mbit burst 1600b cburst 1600b \n"
              " Sent 3126 bytes 3 pkt (dropped 2, overlimits 4 requeues 0) \n"
              " backlog 1042b 1p requeues 0\n"
              " lended: 3 borrowed: 0 giants: 0\n"
              " tokens: 38400 ctokens: 38400\n"
              "\taction order 1: gact action drop\n"
              "\t index 1 ref 1 bind 1 installed 3 sec used 1 sec\n");
}

TEST(MergeStats, JsonMembersAreSummedByName) {
    EXPECT_EQ(merge_stats_text({R"([{"kind":"htb","handle":"1:","bytes":10,"packets":1,"drops":0,"qlen":2,"tokens":7}])",
                                R"([{"kind":"htb","handle":"1:","bytes":5,"packets":2,"drops":1,"qlen":0,"tokens":9}])"}),
              R"([{"kind":"htb","handle":"1:","bytes":15,"packets":3,"drops":1,"qlen":2,"tokens":7}])");
}

TEST(MergeStats, DifferentShapesStayApart) {
    EXPECT_EQ(merge_stats_text({"qdisc clsact ffff: \n", "qdisc ingress ffff: \n"}),
              "# worker 0\nqdisc clsact ffff: \n# worker 1\nqdisc ingress ffff: \n");
    EXPECT_EQ(merge_stats_text({"only one\n"}), "only one\n");
}

}  // namespace
}  // namespace tcbpf::live
