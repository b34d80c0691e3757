// The process id lock words record. getpid() is a syscall on every lock otherwise; the cached value is
// refreshed in fork()ed children, which would else take locks in their parent's name.
#include <pthread.h>

#include <atomic>
#include <mutex>

#include "maps/sync.h"

namespace tcbpf::maps {

namespace {

std::atomic<uint32_t> cached_pid{0};

void refresh_pid() { cached_pid.store(static_cast<uint32_t>(::getpid()), std::memory_order_relaxed); }

}  // namespace

uint32_t lock_owner_id() {
    uint32_t pid = cached_pid.load(std::memory_order_relaxed);
    if (pid != 0) return pid;
    static std::once_flag registered;
    std::call_once(registered, [] { pthread_atfork(nullptr, nullptr, refresh_pid); });
    refresh_pid();
    return cached_pid.load(std::memory_order_relaxed);
}

}  // namespace tcbpf::maps
