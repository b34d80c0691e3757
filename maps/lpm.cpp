// BPF_MAP_TYPE_LPM_TRIE: longest-prefix match over keys {u32 prefixlen; u8 data[]} (data in network
// order, most significant bit first), built as the kernel builds it: a binary Patricia trie whose
// "intermediate" nodes only join two subtrees (they hold no value and are never reported), so the
// shape — and hence the get_next_key order, a postorder walk — matches the kernel's.
//
// Nodes come from a preallocated pool of 2 × max_entries + 1 (at most max_entries real nodes, one fewer
// intermediate ones, and the replacement being built). Updates and deletes take the trie lock (the
// kernel's single trie lock; a spin lock recording its holder's pid, sync.h) and make a version counter
// odd while they change anything. Data-path lookups take no lock: they walk with atomic loads and keep
// the answer only if the version was even and unchanged around the walk (retrying, then falling back to
// the lock). User-space lookups and iteration take the lock, so their copies are never torn.
//
// A process killed mid-update (kill -9 of one sharing a pinned trie) leaves the lock to be taken over
// and the version odd. The trie's links are always whole — every change is published by one atomic
// store of a link, nodes are filled before they become reachable — but the bookkeeping around them
// (free list, entry count) may be half done, so whoever takes the lock and finds the version odd
// rebuilds it from the nodes reachable from the root (`repair`).
#include <cerrno>
#include <cstring>
#include <vector>

#include "maps/block.h"
#include "maps/sync.h"

namespace tcbpf::maps {

namespace {

constexpr uint32_t kIntermediate = 1;

struct LpmControl {
    uint64_t nodes_offset;
    uint32_t n_nodes;
    uint32_t node_size;
    uint32_t data_size;      // key_size - 4
    uint32_t data_stride;
    uint32_t max_prefixlen;  // 8 × data_size
    std::atomic<uint32_t> root;
    uint32_t free_head;
    uint32_t never_used;  // nodes [never_used, n_nodes) were never handed out: big tries cost no memory up front
    uint32_t n_entries;
    alignas(64) std::atomic<uint32_t> lock;  // 0 free, else the holder's pid
    alignas(64) std::atomic<uint32_t> version;  // odd while a writer changes the trie
};

// Fields a lock-free reader may look at are atomics (writers store them while readers walk).
struct LpmNode {
    std::atomic<uint32_t> child[2];
    std::atomic<uint32_t> prefixlen;
    std::atomic<uint32_t> flags;
    uint32_t free_next;
    uint32_t pad;
};
static_assert(sizeof(LpmNode) == 24);

class LpmTrie final : public MapBase {
   public:
    LpmTrie(const MapSpec& spec, uint32_t ncpus, Storage storage) : MapBase(spec, ncpus, std::move(storage)) {
        c_ = at<LpmControl>(kControlOffset);
        nodes_ = at<uint8_t>(c_->nodes_offset);
    }

    void* lookup(const void* key, uint32_t) noexcept override {
        uint32_t found = longest_match_lockless(key);
        return found == kNil ? nullptr : value_of(found);
    }
    long update(const void* key, const void* value, uint64_t flags, uint32_t) noexcept override {
        return insert(key, value, flags);
    }
    long remove(const void* key) noexcept override { return erase(key); }

    int user_lookup(const void* key, void* value_out) const override {
        lock();
        uint32_t found = longest_match(key);
        if (found != kNil) std::memcpy(value_out, value_of(found), value_size());
        unlock();
        return found == kNil ? -ENOENT : 0;
    }
    int user_update(const void* key, const void* value, uint64_t flags) override {
        return static_cast<int>(insert(key, value, flags));
    }
    int user_delete(const void* key) override { return static_cast<int>(erase(key)); }

    int user_next_key(const void* key, void* next_out) const override {
        lock();
        uint32_t next = successor(key);
        if (next != kNil) {
            uint32_t plen = node(next)->prefixlen;
            std::memcpy(next_out, &plen, 4);
            std::memcpy(static_cast<uint8_t*>(next_out) + 4, data_of(next), c_->data_size);
        }
        unlock();
        return next == kNil ? -ENOENT : 0;
    }

   private:
    // The trie lock; a holder that finds the version odd took over from a writer that died mid-change.
    void lock() const {
        spin_lock(c_->lock);
        if (c_->version.load(std::memory_order_relaxed) & 1) repair();
    }
    void unlock() const { spin_unlock(c_->lock); }

    // Rebuilds the free list and the entry count from the nodes reachable from the root, then makes the
    // version even again. Nodes a dead writer had taken but not linked go back to the pool.
    void repair() const {
        std::vector<bool> reachable(c_->n_nodes, false);
        std::vector<uint32_t> stack;
        uint32_t entries = 0;
        if (c_->root != kNil) stack.push_back(c_->root);
        while (!stack.empty()) {
            const uint32_t idx = stack.back();
            stack.pop_back();
            if (idx >= c_->n_nodes || reachable[idx]) continue;
            reachable[idx] = true;
            if (!(node(idx)->flags & kIntermediate)) ++entries;
            for (const auto& child : node(idx)->child)
                if (child != kNil) stack.push_back(child);
        }
        c_->free_head = kNil;
        for (uint32_t idx = c_->never_used; idx-- > 0;)
            if (!reachable[idx]) {
                node(idx)->free_next = c_->free_head;
                c_->free_head = idx;
            }
        c_->n_entries = entries;
        c_->version.store(c_->version.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }

    LpmNode* node(uint32_t idx) const { return reinterpret_cast<LpmNode*>(nodes_ + uint64_t(idx) * c_->node_size); }
    uint8_t* data_of(uint32_t idx) const { return reinterpret_cast<uint8_t*>(node(idx)) + sizeof(LpmNode); }
    uint8_t* value_of(uint32_t idx) const { return data_of(idx) + c_->data_stride; }
    static uint32_t prefixlen_of(const void* key) {
        uint32_t plen;
        std::memcpy(&plen, key, 4);
        return plen;
    }
    static const uint8_t* data_of_key(const void* key) { return static_cast<const uint8_t*>(key) + 4; }
    static uint32_t bit(const uint8_t* data, uint32_t index) { return (data[index / 8] >> (7 - index % 8)) & 1; }

    // Number of leading bits node data `nd` (prefix length `node_plen`) and the key share, at most the
    // shorter of the two prefix lengths.
    static uint32_t match_len(const uint8_t* nd, uint32_t node_plen, const uint8_t* data, uint32_t plen) {
        uint32_t limit = std::min(node_plen, plen);
        uint32_t len = 0;
        while (len + 8 <= limit && nd[len / 8] == data[len / 8]) len += 8;
        while (len < limit && bit(nd, len) == bit(data, len)) ++len;
        return len;
    }
    uint32_t match_len(uint32_t idx, const uint8_t* data, uint32_t plen) const {
        return match_len(data_of(idx), node(idx)->prefixlen.load(std::memory_order_relaxed), data, plen);
    }

    // The walk of longest_match without a lock, validated by the version counter.
    uint32_t longest_match_lockless(const void* key) const {
        uint32_t plen = prefixlen_of(key);
        if (plen > c_->max_prefixlen) return kNil;
        const uint8_t* data = data_of_key(key);
        uint8_t nd[256];
        unsigned spins = 0;
        for (int attempt = 0; attempt < 8; ++attempt) {
            uint32_t before = c_->version.load(std::memory_order_acquire);
            if (before & 1) {
                cpu_relax(spins);
                continue;
            }
            uint32_t found = kNil;
            uint32_t idx = c_->root.load(std::memory_order_acquire);
            // A consistent path has strictly growing prefix lengths; a longer one means the trie changed.
            for (uint32_t steps = 0; idx != kNil && idx < c_->n_nodes && steps <= c_->max_prefixlen + 1; ++steps) {
                LpmNode* n = node(idx);
                uint32_t node_plen = n->prefixlen.load(std::memory_order_relaxed);
                bool real = !(n->flags.load(std::memory_order_relaxed) & kIntermediate);
                if (node_plen > c_->max_prefixlen) break;  // torn view of a node being rebuilt
                slot_load(nd, data_of(idx), c_->data_size);
                uint32_t len = match_len(nd, node_plen, data, plen);
                if (len == c_->max_prefixlen) {
                    if (real) found = idx;
                    break;
                }
                if (len < node_plen) break;
                if (real) found = idx;
                idx = n->child[bit(data, node_plen)].load(std::memory_order_acquire);
            }
            std::atomic_thread_fence(std::memory_order_acquire);
            if (c_->version.load(std::memory_order_relaxed) == before) return found;
        }
        lock();
        uint32_t found = longest_match(key);
        unlock();
        return found;
    }

    uint32_t longest_match(const void* key) const {
        uint32_t plen = prefixlen_of(key);
        if (plen > c_->max_prefixlen) return kNil;  // the kernel finds nothing for such keys
        const uint8_t* data = data_of_key(key);
        uint32_t found = kNil;
        for (uint32_t idx = c_->root; idx != kNil;) {
            uint32_t len = match_len(idx, data, plen);
            if (len == c_->max_prefixlen) {
                if (!(node(idx)->flags & kIntermediate)) found = idx;
                break;
            }
            if (len < node(idx)->prefixlen) break;
            if (!(node(idx)->flags & kIntermediate)) found = idx;
            idx = node(idx)->child[bit(data, node(idx)->prefixlen.load())];
        }
        return found;
    }

    // Writers (holding the lock exclusively) bracket link changes so lock-free readers can tell.
    void begin_change() {
        c_->version.store(c_->version.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
    }
    void end_change() { c_->version.store(c_->version.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

    uint32_t alloc_node() {
        uint32_t idx = c_->free_head;
        if (idx != kNil) c_->free_head = node(idx)->free_next;
        else if (c_->never_used < c_->n_nodes) idx = c_->never_used++;
        return idx;
    }
    void free_node(uint32_t idx) {
        node(idx)->free_next = c_->free_head;
        c_->free_head = idx;
    }
    uint32_t make_node(uint32_t plen, const uint8_t* data, uint32_t flags) {
        uint32_t idx = alloc_node();
        LpmNode* n = node(idx);
        n->child[0] = kNil;
        n->child[1] = kNil;
        n->prefixlen = plen;
        n->flags = flags;
        slot_store(data_of(idx), data, c_->data_size);
        return idx;
    }

    long insert(const void* key, const void* value, uint64_t flags) noexcept {
        if (flags & kBpfFLock) return -EINVAL;
        if (flags > kBpfExist) return -EINVAL;
        uint32_t plen = prefixlen_of(key);
        if (plen > c_->max_prefixlen) return -EINVAL;
        const uint8_t* data = data_of_key(key);
        lock();
        std::atomic<uint32_t>* slot = &c_->root;
        uint32_t idx = *slot;
        uint32_t len = 0;
        while (idx != kNil) {
            LpmNode* n = node(idx);
            len = match_len(idx, data, plen);
            if (n->prefixlen != len || n->prefixlen == plen || n->prefixlen == c_->max_prefixlen) break;
            slot = &n->child[bit(data, n->prefixlen.load())];
            idx = *slot;
        }
        bool same_prefix = idx != kNil && node(idx)->prefixlen == len;  // then len == plen
        bool exists = same_prefix && !(node(idx)->flags & kIntermediate);
        long err = 0;
        if (exists && flags == kBpfNoExist) err = -EEXIST;
        else if (!exists && flags == kBpfExist) err = -ENOENT;
        else if (!exists && c_->n_entries == max_entries()) err = -ENOSPC;
        if (err) {
            unlock();
            return err;
        }
        begin_change();  // before any bookkeeping: an odd version tells a successor to repair it
        uint32_t fresh = make_node(plen, data, 0);
        std::memcpy(value_of(fresh), value, value_size());
        if (!exists) ++c_->n_entries;
        if (idx == kNil) {
            *slot = fresh;
        } else if (same_prefix) {
            // Replace (a real node, or an intermediate one taking a value): the new node inherits the
            // children; the old one goes back to the pool, still readable through stale pointers.
            node(fresh)->child[0] = node(idx)->child[0].load();
            node(fresh)->child[1] = node(idx)->child[1].load();
            *slot = fresh;
            free_node(idx);
        } else if (len == plen) {
            node(fresh)->child[bit(data_of(idx), len)] = idx;  // the new prefix contains the old subtree
            *slot = fresh;
        } else {
            uint32_t join = make_node(len, data, kIntermediate);
            node(join)->child[bit(data_of(idx), len)] = idx;
            node(join)->child[bit(data, len)] = fresh;
            *slot = join;
        }
        end_change();
        unlock();
        return 0;
    }

    long erase(const void* key) noexcept {
        uint32_t plen = prefixlen_of(key);
        if (plen > c_->max_prefixlen) return -EINVAL;
        const uint8_t* data = data_of_key(key);
        lock();
        std::atomic<uint32_t>* slot = &c_->root;
        std::atomic<uint32_t>* parent_slot = nullptr;
        uint32_t parent = kNil;
        uint32_t idx = *slot;
        uint32_t len = 0;
        while (idx != kNil) {
            len = match_len(idx, data, plen);
            if (node(idx)->prefixlen != len || node(idx)->prefixlen == plen) break;
            parent = idx;
            parent_slot = slot;
            slot = &node(idx)->child[bit(data, node(idx)->prefixlen.load())];
            idx = *slot;
        }
        if (idx == kNil || node(idx)->prefixlen != plen || len != plen || (node(idx)->flags & kIntermediate)) {
            unlock();
            return -ENOENT;
        }
        begin_change();
        --c_->n_entries;
        LpmNode* n = node(idx);
        if (n->child[0] != kNil && n->child[1] != kNil) {
            n->flags |= kIntermediate;  // still joins two subtrees
        } else if (parent != kNil && (node(parent)->flags & kIntermediate) && n->child[0] == kNil &&
                   n->child[1] == kNil) {
            // A leaf under a join: the join is no longer needed; its other child takes its place.
            LpmNode* p = node(parent);
            *parent_slot = p->child[0] == idx ? p->child[1].load() : p->child[0].load();
            free_node(parent);
            free_node(idx);
        } else {
            *slot = n->child[0] != kNil ? n->child[0].load() : n->child[1].load();
            free_node(idx);
        }
        end_change();
        unlock();
        return 0;
    }

    uint32_t leftmost(uint32_t idx) const {
        for (;;) {
            LpmNode* n = node(idx);
            if (n->child[0] != kNil) idx = n->child[0];
            else if (n->child[1] != kNil) idx = n->child[1];
            else return idx;  // leaves are never intermediate
        }
    }

    // The real node after `key` in postorder (left subtree, right subtree, node); the first one if
    // key is null, too long, or not in the trie.
    uint32_t successor(const void* key) const {
        if (c_->root == kNil) return kNil;
        if (!key || prefixlen_of(key) > c_->max_prefixlen) return leftmost(c_->root);
        uint32_t plen = prefixlen_of(key);
        const uint8_t* data = data_of_key(key);
        uint32_t path[8 * 256 + 2];  // one node per prefix length at most
        uint32_t depth = 0;
        uint32_t idx = c_->root;
        uint32_t found = kNil;
        while (idx != kNil) {
            path[depth++] = idx;
            uint32_t len = match_len(idx, data, plen);
            if (len < node(idx)->prefixlen) break;
            if (node(idx)->prefixlen == plen) {
                if (!(node(idx)->flags & kIntermediate)) found = idx;
                break;
            }
            idx = node(idx)->child[bit(data, node(idx)->prefixlen.load())];
        }
        if (found == kNil) return leftmost(c_->root);
        uint32_t cur = found;
        for (uint32_t i = depth - 1; i > 0; --i) {
            uint32_t parent = path[i - 1];
            LpmNode* p = node(parent);
            if (p->child[0] == cur && p->child[1] != kNil) return leftmost(p->child[1]);
            if (!(p->flags & kIntermediate)) return parent;
            cur = parent;
        }
        return kNil;
    }

    LpmControl* c_;
    uint8_t* nodes_;
};

struct LpmGeometry {
    uint32_t n_nodes, node_size, data_stride;
    uint64_t nodes_offset, size;
};

LpmGeometry geometry(const MapSpec& spec) {
    LpmGeometry g{};
    g.n_nodes = 2 * spec.max_entries + 1;
    g.data_stride = static_cast<uint32_t>(round_up(spec.key_size - 4, 8));
    g.node_size = static_cast<uint32_t>(sizeof(LpmNode) + g.data_stride + round_up(spec.value_size, 8));
    g.nodes_offset = round_up(kControlOffset + sizeof(LpmControl), 64);
    g.size = g.nodes_offset + uint64_t(g.n_nodes) * g.node_size;
    return g;
}

}  // namespace

BlockLayout lpm_layout(const MapSpec& spec, uint32_t) { return {geometry(spec).size, 0}; }

std::unique_ptr<Map> open_lpm(const MapSpec& spec, uint32_t ncpus, Storage storage, bool initialize) {
    if (initialize) {
        LpmGeometry g = geometry(spec);
        auto* c = new (storage.at<void>(kControlOffset)) LpmControl{};
        c->nodes_offset = g.nodes_offset;
        c->n_nodes = g.n_nodes;
        c->node_size = g.node_size;
        c->data_size = spec.key_size - 4;
        c->data_stride = g.data_stride;
        c->max_prefixlen = 8 * (spec.key_size - 4);
        c->root = kNil;
        c->free_head = kNil;
        c->never_used = 0;
    }
    return std::make_unique<LpmTrie>(spec, ncpus, std::move(storage));
}

}  // namespace tcbpf::maps
