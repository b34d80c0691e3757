// Several per-queue ports of one interface served as one port (io/queue_group_port.cpp).
#pragma once

#include <memory>
#include <vector>

#include "tcbpf/live_port.h"

namespace tcbpf::io::detail {

// `queues` (at least one, all on one interface) as one Port; a single queue is returned as it is.
std::unique_ptr<Port> group_queues(std::vector<std::unique_ptr<Port>> queues);

}  // namespace tcbpf::io::detail
