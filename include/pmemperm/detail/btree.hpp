// pmemperm/detail/btree.hpp — the ordered index shared by the heap backends.
//
// A B+-tree of trivially copyable values ordered by a page_t key (KeyOf::key(v),
// by default v.first; keys are unique). Values live in leaves; internal nodes hold
// separator keys and child pointers. Every node is one NodeBytes block (4 KiB by
// default, so a hypervisor can feed it from a page pool; rangeset uses 1 KiB), except
// a lone root leaf, which is sized to what it holds so that small sets stay small
// (up to 4 KiB even when nodes are smaller; past that it is dealt into leaves).
//
// Node layout (one allocation; header then payload):
//
//   struct alignas(16) node {          // 16 bytes
//     node*    parent;                 // internal parent; next free node on the spare list
//     uint16_t slot;                   // index among the parent's children
//     uint16_t count;                  // values (leaf) or children (internal) in use
//     uint16_t capacity;               // values (leaf) or children (internal) that fit
//     uint8_t  leaf;                   // 1 for a leaf
//     uint8_t  reserved;
//   };
//   leaf:     node; Value values[capacity];                       // sorted by first
//   internal: node; page_t keys[internal_capacity - 1];           // keys[i-1] separates
//             node*  children[internal_capacity];                 //   child i-1 from child i
//
// Separators: max key in child i-1 < keys[i-1] <= min key in child i. They need not
// equal the minimum; a value whose key is lowered in place calls key_lowered().
//
// Searching: within a node, a binary search whose steps select rather than branch
// (random keys would mispredict half of the branches). In a tree of 256 KiB or more,
// which is mostly out of cache, each node on the way down has its searched lines
// (a leaf's all, an internal node's keys) requested at once on arrival, so the
// search waits for memory about once per level instead of once per step.
//
// Complexity: find/insert/erase O(log n); erase(c, k) removes k values of one leaf
// in O(k + log n); iteration is amortised O(1) per value. seek() finds an insert
// position in one descent, and insert_at() fills a free slot there without another.
//
// Failure behaviour: insert() never allocates. It takes nodes from a spare list that
// the caller fills beforehand with prepare_insert() (fallible, all or nothing). After
// every operation settle() keeps enough spare nodes for reserve_target() more inserts
// anywhere (worst_need(); the target is 1 unless reserve_inserts() changed it), so a
// caller that must not fail — a revoke splitting a range — can always insert that
// many times; settle() refills the reserve afterwards, and if the allocator refuses,
// reserve_short() says so until a later operation refills it. All spare nodes are
// counted in memory_bytes().
//
// Reserve bound: one insert takes at most one node per full node on its path plus a
// new root, so t inserts take at most (h + 1) for the first and (h + 1 + g) for each
// later one, where g bounds how often the height can grow meanwhile (a root split
// needs a full root, so g grows with log_{fan-out/2} t). That is the reserve kept:
// about t·(height + 2) nodes for a target of t, and nothing while a lone root leaf
// has room for all t.
#pragma once

#include "../config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include "../allocator.hpp"
#include "../types.hpp"

namespace pmemperm::detail {

/// The default key of a value: its `first` member.
struct key_first {
  template <class V>
  [[nodiscard]] static constexpr page_t key(const V& v) noexcept {
    return v.first;
  }
};

/// floor(log2(x)) for x >= 1.
[[nodiscard]] constexpr std::size_t btree_floor_log2(std::size_t x) noexcept {
  std::size_t b = 0;
  for (; x > 1; x /= 2) ++b;
  return b;
}

template <class Value, byte_allocator Alloc, std::size_t NodeBytes = 4096, class KeyOf = key_first,
          std::size_t InlineValues = 2>
class btree {
  static_assert(std::is_trivially_copyable_v<Value>, "btree values are moved with memcpy");
  static_assert(alignof(Value) <= 16, "values are placed right after a 16-byte header");

  struct alignas(16) node {
    node* parent;
    std::uint16_t slot;
    std::uint16_t count;
    std::uint16_t capacity;
    std::uint8_t leaf;
    std::uint8_t reserved;
  };
  static_assert(sizeof(node) == 16);

 public:
  using value_type = Value;
  static constexpr std::size_t node_bytes = NodeBytes;
  static constexpr std::size_t header_bytes = sizeof(node);
  static constexpr std::size_t node_align = 16;
  /// Values in a full leaf.
  static constexpr std::size_t leaf_capacity = (NodeBytes - header_bytes) / sizeof(Value);
  /// Children of an internal node (it holds one key fewer).
  static constexpr std::size_t internal_capacity =
      (NodeBytes - header_bytes + sizeof(page_t)) / (sizeof(page_t) + sizeof(node*));
  /// Values a lone root leaf may hold: it is sized to its contents up to 4 KiB (or a
  /// node, if nodes are larger), so that a set of a few hundred values takes one
  /// block, not two levels of nodes and their reserve. Past it the root is dealt
  /// into full-size leaves under a new root (at most internal_capacity of them).
  static constexpr std::size_t root_capacity_max = [] {
    std::size_t c = (4096 - header_bytes) / sizeof(Value);
    if (c > (internal_capacity - 1) * leaf_capacity) c = (internal_capacity - 1) * leaf_capacity;
    return c > leaf_capacity ? c : leaf_capacity;
  }();
  /// A node under this fill merges with or borrows from a sibling. A third (not a
  /// half) leaves room for a few inserts after a merge before the next split.
  static constexpr std::size_t leaf_min = leaf_capacity / 3;
  static constexpr std::size_t internal_min = internal_capacity / 3;
  /// A lone root leaf of up to this many values lives inside the tree object, so a
  /// set of one run (with the free slot a revoke's split needs) takes no heap.
  /// 0 turns it off.
  static constexpr std::size_t inline_capacity = InlineValues;
  static_assert(NodeBytes % 16 == 0 && NodeBytes <= 65536, "node size");
  static_assert(leaf_capacity >= 15 && internal_capacity >= 15,
                "nodes must hold at least 15 values and 15 children");
  /// Levels a densely packed tree (assign_sorted) can need: enough for 2^64 values
  /// in full leaves under internal nodes of at least 2^floor(log2 fan-out) children.
  static constexpr std::size_t max_height =
      1 + (64 - btree_floor_log2(leaf_capacity) + btree_floor_log2(internal_capacity) - 1) /
              btree_floor_log2(internal_capacity);

  /// A position: a leaf and a slot in it. Invalidated by any insert or erase.
  struct cursor {
    node* leaf = nullptr;
    std::size_t slot = 0;
    [[nodiscard]] constexpr explicit operator bool() const noexcept { return leaf != nullptr; }
  };

  btree() noexcept
    requires std::is_default_constructible_v<Alloc>
  = default;
  explicit btree(Alloc a) noexcept : alloc_(static_cast<Alloc&&>(a)) {}
  btree(const btree&) = delete;
  btree& operator=(const btree&) = delete;
  btree(btree&& o) noexcept
      : alloc_(static_cast<Alloc&&>(o.alloc_)),
        root_(o.root_),
        spare_(o.spare_),
        size_(o.size_),
        bytes_(o.bytes_),
        spares_(o.spares_),
        height_(o.height_),
        target_(o.target_),
        short_(o.short_) {
    adopt_inline(o);
    o.forget();
    o.target_ = 1;
  }
  btree& operator=(btree&& o) noexcept {
    if (this != &o) {
      release_all();
      alloc_ = static_cast<Alloc&&>(o.alloc_);
      root_ = o.root_;
      spare_ = o.spare_;
      size_ = o.size_;
      bytes_ = o.bytes_;
      spares_ = o.spares_;
      height_ = o.height_;
      target_ = o.target_;
      short_ = o.short_;
      adopt_inline(o);
      o.forget();
      o.target_ = 1;
    }
    return *this;
  }
  ~btree() { release_all(); }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::size_t height() const noexcept { return height_; }
  [[nodiscard]] std::size_t spare_nodes() const noexcept { return spares_; }
  /// True after a settle() could not refill the reserve; the next insert that
  /// needs a new node may then find none (insert_ready() says so).
  [[nodiscard]] bool reserve_short() const noexcept { return short_; }
  /// Inserts the reserve covers once it is full (1 unless reserve_inserts() set it).
  [[nodiscard]] std::size_t reserve_target() const noexcept { return target_; }
  [[nodiscard]] const Alloc& allocator() const noexcept { return alloc_; }
  /// The allocator, for a backend that keeps more than index nodes (containers).
  [[nodiscard]] Alloc& allocator() noexcept { return alloc_; }

  // ---- navigation -------------------------------------------------------------

  [[nodiscard]] Value& operator[](cursor c) const noexcept { return vals(c.leaf)[c.slot]; }

  [[nodiscard]] cursor first() const noexcept {
    if (root_ == nullptr) return {};
    node* n = root_;
    while (!n->leaf) n = kids(n)[0];
    return n->count ? cursor{n, 0} : cursor{};
  }

  [[nodiscard]] cursor last() const noexcept {
    if (root_ == nullptr) return {};
    node* n = root_;
    while (!n->leaf) n = kids(n)[n->count - 1];
    return n->count ? cursor{n, std::size_t{n->count} - 1u} : cursor{};
  }

  [[nodiscard]] cursor next(cursor c) const noexcept {
    if (c.slot + 1 < c.leaf->count) return {c.leaf, c.slot + 1};
    node* n = next_leaf(c.leaf);
    return n ? cursor{n, 0} : cursor{};
  }

  [[nodiscard]] cursor prev(cursor c) const noexcept {
    if (c.slot > 0) return {c.leaf, c.slot - 1};
    node* n = prev_leaf(c.leaf);
    return n ? cursor{n, std::size_t{n->count} - 1u} : cursor{};
  }

  /// The value with the greatest key <= key, if any.
  [[nodiscard]] cursor find_last_le(page_t key) const noexcept { return before(seek(key)); }

  /// Where a value with this key goes: the leaf the key routes to, and the slot in it
  /// of the first value with a greater key (the leaf's size if there is none), so
  /// `slot` may be one past the leaf's last value. An empty cursor if the tree is
  /// empty. One descent; before() and at_or_after() give the neighbours, and
  /// insert_at() inserts there without another. Invalidated like a cursor.
  [[nodiscard]] cursor seek(page_t key) const noexcept {
    if (root_ == nullptr) return {};
    node* l = descend(key);
    return {l, leaf_upper_bound(l, key)};
  }
  /// The value just before position p (from seek()), if any.
  [[nodiscard]] cursor before(cursor p) const noexcept {
    if (!p) return {};
    if (p.slot > 0) return {p.leaf, p.slot - 1};
    node* n = prev_leaf(p.leaf);
    return n ? cursor{n, std::size_t{n->count} - 1u} : cursor{};
  }
  /// The value at position p (from seek()), or the first one after it, if any.
  [[nodiscard]] cursor at_or_after(cursor p) const noexcept {
    if (!p) return {};
    if (p.slot < p.leaf->count) return p;
    node* n = next_leaf(p.leaf);
    return n ? cursor{n, 0} : cursor{};
  }
  /// Whether p's leaf has a free slot, so that insert_at(p, v) takes no node.
  [[nodiscard]] static bool has_room(cursor p) noexcept { return p && p.leaf->count < p.leaf->capacity; }
  /// Whether insert_at(p, v) is all that inserting at p needs: p's leaf has a free
  /// slot, and after the insert the reserve is full, with nothing for settle() to do.
  /// Then no prepare_insert() and no settle() are needed around it.
  [[nodiscard]] bool insert_is_settled(cursor p) const noexcept {
    if (!has_room(p) || short_) return false;
    if (p.leaf == root_) return spares_ == 0 && std::size_t{p.leaf->count} + 1u + target_ <= p.leaf->capacity;
    return spares_ == inner_need(height_, target_);
  }

  /// The value with the smallest key >= key, if any.
  [[nodiscard]] cursor lower_bound(page_t key) const noexcept {
    cursor c = find_last_le(key);
    if (!c) return first();
    if (KeyOf::key((*this)[c]) == key) return c;
    return next(c);
  }

  /// Values left in c's leaf from c on (for erase runs).
  [[nodiscard]] static std::size_t run_in_leaf(cursor c) noexcept { return c.leaf->count - c.slot; }
  /// Values in c's leaf.
  [[nodiscard]] static std::size_t leaf_size(cursor c) noexcept { return c.leaf->count; }
  /// The first value of the leaf an insert of `key` goes to (the node a split of a
  /// run would have to make room in). Precondition: the tree is not empty.
  [[nodiscard]] cursor leaf_for(page_t key) const noexcept { return cursor{descend(key), 0}; }

  /// Fills the reserve up to worst_need() now. All or nothing: on out_of_memory no
  /// spare was added. For an operation that must leave the reserve full.
  [[nodiscard]] errc prepare_reserve() noexcept {
    const std::size_t had = spares_, need = worst_need();
    while (spares_ < need) {
      if (!add_spare()) {
        while (spares_ > had) free_one_spare();
        return errc::out_of_memory;
      }
    }
    short_ = false;
    return errc::ok;
  }

  // ---- modification -------------------------------------------------------------

  /// Reserves what inserting one value with this key needs now, plus the reserve
  /// for one more insert afterwards. All or nothing: on out_of_memory the tree,
  /// including memory_bytes(), is exactly as before.
  [[nodiscard]] errc prepare_insert(page_t key) noexcept { return prepare_inserts(&key, 1); }

  /// The same for n inserts of the given keys (n small: a handful per operation).
  /// Pass may_restructure when erases come between the inserts: then the bound
  /// cannot rely on the rooms of today's leaves.
  [[nodiscard]] errc prepare_inserts(const page_t* keys_in, std::size_t n, bool may_restructure = false) noexcept {
    if (n == 0) return errc::ok;
    const std::size_t t = target_;
    std::size_t fresh_cap = 0;
    if (root_ == nullptr) {
      fresh_cap = small_capacity(n + t);
    } else if (root_->leaf && root_->capacity < root_capacity_max && root_->count + n + t > root_->capacity) {
      fresh_cap = small_capacity(std::size_t{root_->count} + n + t);
    }
    node* fresh = nullptr;
    if (fresh_cap != 0) {
      fresh = alloc_leaf(fresh_cap);
      if (fresh == nullptr) return errc::out_of_memory;
    }
    std::size_t need = 0;
    if (fresh != nullptr || root_->leaf) {
      const std::size_t have = root_ ? root_->count : 0;
      const std::size_t cap = fresh ? fresh_cap : root_->capacity;
      // The n inserts and the t of the reserve after them, all into this root leaf.
      need = leaf_root_need(have, cap, n + t);
      // If the n inserts outgrow the root, the tree after them may have two levels,
      // whose reserve inner_need counts: keep that much beyond what they take.
      if (have + n > cap) {
        const std::size_t after = leaf_root_need(have, cap, n) + inner_need(2, t);
        if (after > need) need = after;
      }
    } else if (n == 1) {
      const std::size_t path = path_need(keys_in[0]);
      need = path + inner_need(height_ + (path == height_ + 1 ? 1 : 0), t);
    } else {
      // Several inserts: free if every target leaf has a slot for every key routed
      // to it (then nothing splits); otherwise a crude bound, one whole path per
      // insert with room for the height to grow, which is rare and only transient.
      const bool fits = !may_restructure && leaves_have_room(keys_in, n, 1);
      need = fits ? inner_need(height_, t) : n * (height_ + 2) + inner_need(height_ + 1, t);
    }
    const std::size_t had = spares_;
    while (spares_ < need) {
      if (!add_spare()) {
        while (spares_ > had) free_one_spare();
        if (fresh) free_block(fresh);
        return errc::out_of_memory;
      }
    }
    if (fresh != nullptr) replace_root_leaf(fresh);
    return errc::ok;
  }

  /// Whether one value with this key can be inserted without allocating.
  [[nodiscard]] bool insert_ready(page_t key) const noexcept {
    if (root_ == nullptr) return false;
    if (root_->leaf && root_->count < root_->capacity) return true;
    return spares_ >= path_need(key);
  }

  /// Whether n inserts of these keys can be made now without allocating: every
  /// key's leaf has room for the keys routed to it, or the spare nodes cover the
  /// worst case of n inserts. (may_restructure as for prepare_inserts.)
  [[nodiscard]] bool inserts_ready(const page_t* keys_in, std::size_t n, bool may_restructure = false) const noexcept {
    if (n == 0) return true;
    if (root_ == nullptr) return false;
    if (root_->leaf) return spares_ >= leaf_root_need(root_->count, root_->capacity, n);
    if (n == 1) return spares_ >= path_need(keys_in[0]);
    return (!may_restructure && leaves_have_room(keys_in, n, 0)) || spares_ >= inner_need(height_, n);
  }

  /// Sets the inserts the reserve covers on a tree that holds nothing yet, without
  /// allocating: the first insert's preparation fills it.
  void set_reserve_target(std::size_t t) noexcept {
    PMEMPERM_ASSERT(root_ == nullptr && spares_ == 0);
    target_ = t;
  }

  /// Makes insert_ready(key) true by adding spare nodes; `added` counts them, so a
  /// caller that abandons the insert can give them back with drop_spares(). All or
  /// nothing: on out_of_memory no spare was added.
  [[nodiscard]] errc make_insert_ready(page_t key, std::size_t& added) noexcept {
    added = 0;
    if (root_ == nullptr) return errc::invalid_range;  // nothing to insert next to
    while (!insert_ready(key)) {
      if (!add_spare()) {
        drop_spares(added);
        added = 0;
        return errc::out_of_memory;
      }
      ++added;
    }
    return errc::ok;
  }

  /// Frees k spare nodes (k <= spare_nodes()), e.g. the ones make_insert_ready() added.
  void drop_spares(std::size_t k) noexcept {
    for (; k > 0 && spares_ > 0; --k) free_one_spare();
  }

  /// Sets the reserve to cover t inserts (the next settle() keeps it so) and fills it
  /// now. All or nothing: on out_of_memory the target and the spares are as before.
  [[nodiscard]] errc reserve_inserts(std::size_t t) noexcept {
    const std::size_t old_target = target_, had = spares_;
    target_ = t;
    if (root_ != nullptr && root_->leaf && root_->count + t > root_->capacity && root_->count + t < root_capacity_max) {
      // A lone small root grown to hold t more values needs no spare at all.
      node* n = alloc_leaf(small_capacity(std::size_t{root_->count} + t + 1u));
      if (n == nullptr) {
        target_ = old_target;
        return errc::out_of_memory;
      }
      replace_root_leaf(n);
    }
    const std::size_t need = worst_need();
    while (spares_ < need) {
      if (!add_spare()) {
        while (spares_ > had) free_one_spare();
        target_ = old_target;
        return errc::out_of_memory;
      }
    }
    while (spares_ > need) free_one_spare();
    short_ = false;
    return errc::ok;
  }

  /// Inserts v; its key must not be present. Precondition: insert_ready(KeyOf::key(v))
  /// (after a successful prepare_insert it is). Never allocates.
  void insert(const Value& v) noexcept {
    PMEMPERM_ASSERT(insert_ready(KeyOf::key(v)));
    for (;;) {
      node* l = descend(KeyOf::key(v));
      if (l->count < l->capacity) {
        const std::size_t i = leaf_upper_bound(l, KeyOf::key(v));
        Value* a = vals(l);
        std::memmove(static_cast<void*>(a + i + 1), a + i, (l->count - i) * sizeof(Value));
        a[i] = v;
        ++l->count;
        ++size_;
        return;
      }
      make_room_leaf(l, KeyOf::key(v));
    }
  }

  /// Inserts v at position p: p comes from seek(KeyOf::key(v)), the tree has not
  /// changed since, and has_room(p). Never allocates and takes no node: O(leaf size).
  void insert_at(cursor p, const Value& v) noexcept {
    node* l = p.leaf;
    PMEMPERM_ASSERT(l->count < l->capacity && p.slot <= l->count);
    Value* a = vals(l);
    std::memmove(static_cast<void*>(a + p.slot + 1), a + p.slot, (l->count - p.slot) * sizeof(Value));
    a[p.slot] = v;
    ++l->count;
    ++size_;
  }

  /// The value at c had its key lowered in place (still above its predecessor's);
  /// repairs the separator that routed to it.
  void key_lowered(cursor c) noexcept {
    if (c.slot != 0) return;
    const page_t k = KeyOf::key(vals(c.leaf)[0]);
    node* n = c.leaf;
    while (n->parent != nullptr && n->slot == 0) n = n->parent;
    if (n->parent != nullptr) keys(n->parent)[n->slot - 1u] = k;
  }

  /// The value at c had its key raised in place (still below its successor's);
  /// repairs the separator on its right, which may have been left at or below the
  /// new key by an earlier erase of the successor's old neighbours.
  void key_raised(cursor c) noexcept {
    if (c.slot + 1u != c.leaf->count) return;
    const page_t k = KeyOf::key(vals(c.leaf)[c.slot]);
    node* n = c.leaf;
    while (n->parent != nullptr && n->slot + 1u == n->parent->count) n = n->parent;
    if (n->parent == nullptr) return;
    page_t& sep = keys(n->parent)[n->slot];
    if (sep <= k) sep = k + 1;
  }

  /// Erases k values of c's leaf starting at c (k <= run_in_leaf(c)). Never
  /// allocates; nodes it frees go back to the allocator or the spare list.
  void erase(cursor c, std::size_t k) noexcept {
    PMEMPERM_ASSERT(k >= 1 && c.slot + k <= c.leaf->count);
    node* l = c.leaf;
    Value* a = vals(l);
    std::memmove(static_cast<void*>(a + c.slot), a + c.slot + k, (l->count - c.slot - k) * sizeof(Value));
    l->count = static_cast<std::uint16_t>(l->count - k);
    size_ -= k;
    rebalance_leaf(l);
  }

  /// Erases the k consecutive values starting at the first key >= key, a leaf's
  /// worth at a time: O(k + (k / leaf_capacity + 1) log n).
  void erase_from(page_t key, std::size_t k) noexcept {
    while (k > 0) {
      const cursor d = lower_bound(key);
      const std::size_t run = run_in_leaf(d);
      const std::size_t n = run < k ? run : k;
      erase(d, n);
      k -= n;
    }
  }

  /// Ends every mutating operation: trims an oversized lone root leaf, and brings
  /// the spare list to exactly worst_need(). Best effort: never fails; a refused
  /// allocation only sets reserve_short().
  void settle() noexcept {
    if (root_ != nullptr && !root_->leaf && spares_ == inner_need(height_, target_)) {
      short_ = false;  // the common case: nothing to trim, nothing to refill
      return;
    }
    if (root_ != nullptr && root_->leaf && root_->count == 0) {
      retire(root_);
      root_ = nullptr;
      height_ = 0;
    }
    if (root_ != nullptr && root_->leaf) {
      const std::size_t count = root_->count;
      const std::size_t want = small_capacity(count + target_ + 1u);
      const bool over = root_->capacity > 2 * want;
      // Grown only where the grown root holds the reserved inserts itself: one that
      // could not would need more spares than the small root it replaces.
      const bool tight = count + target_ > root_->capacity && count + target_ <= root_capacity_max;
      if (inline_capacity > 0 && !is_inline(root_) && count + target_ <= inline_capacity) {
        // Back into the object: needs no memory, and the bytes are then those of a
        // set that was small all along.
        replace_root_leaf(alloc_leaf(inline_capacity));
      } else if (over || tight) {
        if (node* n = alloc_leaf(want)) replace_root_leaf(n);
      }
    }
    const std::size_t need = worst_need();
    while (spares_ > need) free_one_spare();
    while (spares_ < need) {
      if (!add_spare()) {
        short_ = true;
        return;
      }
    }
    short_ = false;
  }

  /// Frees everything.
  void clear() noexcept {
    release_all();
    forget();
  }

  /// Replaces the contents with n values produced in ascending key order by
  /// `next()`, packed densely. All or nothing: on out_of_memory nothing changed.
  template <class Next>
  [[nodiscard]] errc assign_sorted(std::size_t n, Next&& next_value) noexcept {
    if (n == 0) {
      clear();
      return errc::ok;
    }
    // Plan: nodes per level, leaves first.
    std::size_t per_level[max_height] = {};
    std::size_t levels = 1;
    std::size_t root_cap = leaf_capacity;
    if (n + target_ < root_capacity_max) {
      root_cap = small_capacity(n + target_);
      per_level[0] = 1;
    } else {
      per_level[0] = (n + leaf_capacity - 1) / leaf_capacity;
      while (per_level[levels - 1] > 1) {
        per_level[levels] = (per_level[levels - 1] + internal_capacity - 1) / internal_capacity;
        ++levels;
      }
    }
    std::size_t full_nodes = 0;
    for (std::size_t h = 0; h < levels; ++h) full_nodes += per_level[h];
    const bool small_root = root_cap != leaf_capacity;  // a block of its own size
    const bool inline_root = inline_capacity > 0 && root_cap <= inline_capacity;
    if (small_root) full_nodes = 0;
    const std::size_t reserve =
        levels == 1 ? (small_root ? 0 : leaf_root_need(n, leaf_capacity, target_)) : inner_need(levels, target_);
    // Allocate everything first into a private list.
    node* list = nullptr;
    std::size_t got = 0, got_bytes = 0;
    node* small = nullptr;
    auto undo = [&]() noexcept {
      while (list) {
        node* nx = list->parent;
        alloc_.deallocate(list, NodeBytes, node_align);
        list = nx;
      }
      if (small) alloc_.deallocate(small, leaf_bytes(root_cap), node_align);
    };
    if (small_root && !inline_root) {
      void* p = alloc_.allocate(leaf_bytes(root_cap), node_align);
      if (p == nullptr) return errc::out_of_memory;
      small = ::new (p) node{};
      got_bytes += leaf_bytes(root_cap);
    }
    while (got < full_nodes + reserve) {
      void* p = alloc_.allocate(NodeBytes, node_align);
      if (p == nullptr) {
        undo();
        return errc::out_of_memory;
      }
      node* nd = ::new (p) node{};
      nd->parent = list;
      list = nd;
      ++got;
      got_bytes += NodeBytes;
    }
    // Commit: drop the old tree, then build from the private list.
    release_all();
    forget();
    bytes_ = got_bytes;
    spare_ = list;
    spares_ = got;
    if (small_root) {
      if (inline_root) small = ::new (static_cast<void*>(&inline_)) node{};
      small->leaf = 1;
      small->capacity = static_cast<std::uint16_t>(root_cap);
      for (std::size_t i = 0; i < n; ++i) vals(small)[i] = next_value();
      small->count = static_cast<std::uint16_t>(n);
      root_ = small;
      height_ = 1;
      size_ = n;
      return errc::ok;
    }
    node* open[max_height] = {};
    std::size_t made[max_height] = {};
    page_t open_min[max_height] = {};
    auto planned = [&](std::size_t h, std::size_t j) noexcept {
      const std::size_t items = h == 0 ? n : per_level[h - 1];
      return items / per_level[h] + (j < items % per_level[h] ? 1u : 0u);
    };
    for (std::size_t j = 0; j < per_level[0]; ++j) {
      node* l = take_spare(true);
      const std::size_t c = planned(0, j);
      for (std::size_t i = 0; i < c; ++i) vals(l)[i] = next_value();
      l->count = static_cast<std::uint16_t>(c);
      node* child = l;
      page_t child_min = KeyOf::key(vals(l)[0]);
      for (std::size_t h = 1; h < levels; ++h) {
        node*& x = open[h];
        if (x == nullptr) {
          x = take_spare(false);
          open_min[h] = child_min;
        } else {
          keys(x)[x->count - 1u] = child_min;
        }
        kids(x)[x->count] = child;
        child->parent = x;
        child->slot = x->count;
        ++x->count;
        if (x->count < planned(h, made[h])) {
          child = nullptr;
          break;
        }
        ++made[h];
        child = x;
        child_min = open_min[h];
        x = nullptr;
      }
      if (child != nullptr) root_ = child;
    }
    height_ = levels;
    size_ = n;
    settle();
    return errc::ok;
  }

  /// Nodes reserve_target() inserts may need in the worst case, over all keys.
  [[nodiscard]] std::size_t worst_need() const noexcept {
    if (root_ == nullptr) return 0;
    if (root_->leaf) return leaf_root_need(root_->count, root_->capacity, target_);
    return inner_need(height_, target_);
  }

  /// Structural check for tests: ordering, separators, parent links, uniform
  /// depth, no empty node, byte and spare accounting, the reserve.
  [[nodiscard]] bool check_invariants() const noexcept {
    std::size_t bytes = 0, seen = 0;
    for (node* s = spare_; s != nullptr; s = s->parent) {
      ++seen;
      bytes += NodeBytes;
    }
    if (seen != spares_) return false;
    if (root_ == nullptr) return size_ == 0 && height_ == 0 && bytes == bytes_ && (short_ || spares_ == 0);
    if (root_->parent != nullptr) return false;
    if (!root_->leaf && root_->count < 2) return false;
    std::size_t values = 0;
    page_t lo = 0, hi = 0;
    if (!check_node(root_, 1, values, bytes, lo, hi)) return false;
    if (values != size_ || bytes != bytes_) return false;
    if (size_ == 0) return false;
    if (!short_ && spares_ != worst_need()) return false;
    return true;
  }

 private:
  // ---- raw memory -----------------------------------------------------------------

  /// How often t inserts can raise the height: once, and once more for every
  /// factor of half the fan-out they could fill (a root splits only when full).
  static constexpr std::size_t height_growth(std::size_t t) noexcept {
    std::size_t g = 1;
    for (std::size_t x = t; x >= internal_capacity / 2; x /= internal_capacity / 2) ++g;
    return g;
  }
  /// Spares for t inserts into a tree of height h >= 2 (the first insert's path and
  /// a new root, then each later one with the height grown).
  static constexpr std::size_t inner_need(std::size_t h, std::size_t t) noexcept {
    if (t == 0) return 0;
    return (h + 1) + (t - 1) * (h + 1 + height_growth(t));
  }
  /// Spares for t inserts into a lone root leaf holding `count` of `cap` values: none
  /// while they fit; else the first overflow and then the two-level bound for the rest.
  static constexpr std::size_t leaf_root_need(std::size_t count, std::size_t cap, std::size_t t) noexcept {
    if (count + t <= cap) return 0;
    return root_overflow_need(cap) + (t - 1) * (2 + height_growth(t));
  }
  /// Spares the overflow of a full lone root leaf of `cap` values takes: a small root
  /// grows into a full node (1), a full node splits under a new root (2), a big one
  /// is dealt into cap / leaf_capacity + 1 leaves under a new root.
  static constexpr std::size_t root_overflow_need(std::size_t cap) noexcept {
    if (cap < leaf_capacity) return 1;
    if (cap == leaf_capacity) return 2;
    return cap / leaf_capacity + 2;
  }

  static constexpr std::size_t leaf_bytes(std::size_t cap) noexcept {
    return cap == leaf_capacity ? NodeBytes : header_bytes + cap * sizeof(Value);
  }
  /// Capacity of a lone root leaf holding about n values: 1/8 headroom, rounded
  /// up to 4 values, so small sets pay a few values of slack, not a whole node.
  static constexpr std::size_t small_capacity(std::size_t n) noexcept {
    if (inline_capacity > 0 && n <= inline_capacity) return inline_capacity;
    std::size_t c = (n + n / 8 + 3) & ~std::size_t{3};
    return c >= root_capacity_max ? root_capacity_max : c;
  }

  // The payload starts right after the 16-byte, 16-aligned header, so none of these
  // casts asks for more alignment than the header has.
  static Value* vals(node* n) noexcept { return reinterpret_cast<Value*>(n + 1); }
  static page_t* keys(node* n) noexcept { return reinterpret_cast<page_t*>(n + 1); }
  static node** kids(node* n) noexcept { return reinterpret_cast<node**>(keys(n) + (internal_capacity - 1)); }
  static std::size_t room(const node* n) noexcept { return std::size_t{n->capacity} - n->count; }

  node* inline_node() const noexcept { return const_cast<node*>(&inline_.head); }
  bool is_inline(const node* n) const noexcept { return n == inline_node(); }
  /// Bytes a node holds from the allocator (none for the inline root).
  std::size_t block_bytes(const node* n) const noexcept {
    if (is_inline(n)) return 0;
    return n->leaf ? leaf_bytes(n->capacity) : NodeBytes;
  }
  /// After taking o's fields: an inline root moves with its bytes.
  void adopt_inline(btree& o) noexcept {
    if (root_ != o.inline_node()) return;
    inline_ = o.inline_;
    root_ = inline_node();
  }

  node* alloc_leaf(std::size_t cap) noexcept {
    if (inline_capacity > 0 && cap <= inline_capacity && root_ != inline_node()) {
      node* n = ::new (static_cast<void*>(&inline_)) node{};
      n->leaf = 1;
      n->capacity = static_cast<std::uint16_t>(inline_capacity);
      return n;
    }
    const std::size_t b = leaf_bytes(cap);
    void* p = alloc_.allocate(b, node_align);
    if (p == nullptr) return nullptr;
    bytes_ += b;
    node* n = ::new (p) node{};
    n->leaf = 1;
    n->capacity = static_cast<std::uint16_t>(cap);
    return n;
  }
  void free_block(node* n) noexcept {
    if (is_inline(n)) return;
    const std::size_t b = n->leaf ? leaf_bytes(n->capacity) : NodeBytes;
    bytes_ -= b;
    alloc_.deallocate(n, b, node_align);
  }
  bool add_spare() noexcept {
    void* p = alloc_.allocate(NodeBytes, node_align);
    if (p == nullptr) return false;
    bytes_ += NodeBytes;
    node* n = ::new (p) node{};
    n->parent = spare_;
    spare_ = n;
    ++spares_;
    return true;
  }
  void free_one_spare() noexcept {
    node* n = spare_;
    spare_ = n->parent;
    --spares_;
    bytes_ -= NodeBytes;
    alloc_.deallocate(n, NodeBytes, node_align);
  }
  node* take_spare(bool leaf) noexcept {
    PMEMPERM_ASSERT(spare_ != nullptr);
    node* n = spare_;
    spare_ = n->parent;
    --spares_;
    *n = node{};
    n->leaf = leaf ? 1 : 0;
    n->capacity = static_cast<std::uint16_t>(leaf ? leaf_capacity : internal_capacity);
    return n;
  }
  /// A node leaving the tree: full-size ones wait on the spare list for settle().
  void retire(node* n) noexcept {
    if (n->leaf && n->capacity != leaf_capacity) {
      free_block(n);
      return;
    }
    n->parent = spare_;
    spare_ = n;
    ++spares_;
  }
  /// Moves the lone root leaf's values into `to` (a leaf of another capacity, or
  /// the first root when the tree was empty).
  void replace_root_leaf(node* to) noexcept {
    if (root_ != nullptr) {
      std::memcpy(static_cast<void*>(vals(to)), vals(root_), root_->count * sizeof(Value));
      to->count = root_->count;
      retire(root_);
    }
    root_ = to;
    height_ = 1;
  }
  void release_all() noexcept {
    node* n = root_;
    while (n != nullptr) {
      if (!n->leaf && n->count > 0) {
        --n->count;
        n = kids(n)[n->count];
        continue;
      }
      node* up = n->parent;
      free_block(n);
      n = up;
    }
    root_ = nullptr;
    while (spare_ != nullptr) free_one_spare();
  }
  void forget() noexcept {
    root_ = nullptr;
    spare_ = nullptr;
    size_ = 0;
    bytes_ = 0;
    spares_ = 0;
    height_ = 0;
    short_ = false;
  }

  // ---- search -------------------------------------------------------------------

  // Searches halve the range without a data-dependent branch, which is what keeps
  // lookups fast when the keys are random.
  static std::size_t leaf_upper_bound(node* l, page_t key) noexcept {
    const Value* a = vals(l);
    std::size_t n = l->count;
    if (n == 0) return 0;
    std::size_t lo = 0;
    while (n > 1) {
      const std::size_t half = n / 2;
      lo = KeyOf::key(a[lo + half - 1]) <= key ? lo + half : lo;
      n -= half;
    }
    return lo + static_cast<std::size_t>(KeyOf::key(a[lo]) <= key);
  }
  node* descend(page_t key) const noexcept {
    node* n = root_;
    std::size_t h = height_;
    const bool big = bytes_ >= prefetch_min_bytes;
    while (!n->leaf) {
      const page_t* k = keys(n);
      std::size_t len = std::size_t{n->count} - 1u;  // keys
      std::size_t i = 0;
      while (len > 1) {
        const std::size_t half = len / 2;
        i = k[i + half - 1] <= key ? i + half : i;
        len -= half;
      }
      i += static_cast<std::size_t>(len == 1 && k[i] <= key);
      n = kids(n)[i];
      if (big) {
        if (--h <= 1)
          prefetch<NodeBytes>(n);  // a leaf: all of it
        else
          prefetch<header_bytes + (internal_capacity - 1) * sizeof(page_t)>(n);  // its keys
      }
    }
    return n;
  }
  /// Trees smaller than this are likely to sit in cache, where asking for a node's
  /// lines costs more than it saves; larger ones are read mostly from memory.
  static constexpr std::size_t prefetch_min_bytes = std::size_t{256} << 10;
  /// Asks for every cache line of n's first Bytes at once, so that the search that
  /// follows does not wait for them one after another.
  template <std::size_t Bytes>
  static void prefetch(const node* n) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    const unsigned char* p = reinterpret_cast<const unsigned char*>(n);
    for (std::size_t i = 0; i < Bytes / 64; ++i) __builtin_prefetch(p + i * 64);  // unrolled: Bytes is known
    __builtin_prefetch(p + Bytes - 1);  // nodes are 16-aligned: one more line may start inside
#else
    static_cast<void>(n);
#endif
  }
  static node* next_leaf(node* n) noexcept {
    while (n->parent != nullptr && n->slot + 1u == n->parent->count) n = n->parent;
    if (n->parent == nullptr) return nullptr;
    n = kids(n->parent)[n->slot + 1u];
    while (!n->leaf) n = kids(n)[0];
    return n;
  }
  static node* prev_leaf(node* n) noexcept {
    while (n->parent != nullptr && n->slot == 0) n = n->parent;
    if (n->parent == nullptr) return nullptr;
    n = kids(n->parent)[n->slot - 1u];
    while (!n->leaf) n = kids(n)[n->count - 1u];
    return n;
  }
  /// Whether the leaf of every key has room for all the keys routed to it, plus
  /// `slack` more.
  bool leaves_have_room(const page_t* keys_in, std::size_t n, std::size_t slack) const noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      node* l = descend(keys_in[i]);
      std::size_t same = 0;
      for (std::size_t j = 0; j < n; ++j)
        if (descend(keys_in[j]) == l) ++same;
      if (room(l) < same + slack) return false;
    }
    return true;
  }
  /// Nodes inserting this key may take: one per full node on the path, plus a new
  /// root when the root itself is full (or a first full node for a small root).
  std::size_t path_need(page_t key) const noexcept {
    if (root_ == nullptr) return 0;
    node* l = descend(key);
    if (l->count < l->capacity) return 0;
    if (l->parent == nullptr) return root_overflow_need(l->capacity);
    // make_room_leaf shifts into a neighbour with room for two first.
    node* p = l->parent;
    if (l->slot > 0 && room(kids(p)[l->slot - 1u]) >= 2) return 0;
    if (l->slot + 1u < p->count && room(kids(p)[l->slot + 1u]) >= 2) return 0;
    std::size_t n = 1;
    node* x = l->parent;
    while (x != nullptr && x->count == internal_capacity) {
      ++n;
      x = x->parent;
    }
    if (x == nullptr) ++n;
    return n;
  }

  // ---- insertion: making room ------------------------------------------------------

  void set_child(node* p, std::size_t i, node* c) noexcept {
    kids(p)[i] = c;
    c->parent = p;
    c->slot = static_cast<std::uint16_t>(i);
  }
  /// Inserts child c at index i >= 1 of p (which has room), with separator sep.
  void insert_child(node* p, std::size_t i, node* c, page_t sep) noexcept {
    node** ch = kids(p);
    page_t* k = keys(p);
    for (std::size_t j = p->count; j > i; --j) set_child(p, j, ch[j - 1]);
    std::memmove(k + i, k + i - 1, (p->count - i) * sizeof(page_t));
    k[i - 1] = sep;
    set_child(p, i, c);
    ++p->count;
  }
  /// Removes child i of p (its key with it), keeping p's other links right.
  void remove_child(node* p, std::size_t i) noexcept {
    node** ch = kids(p);
    page_t* k = keys(p);
    for (std::size_t j = i; j + 1 < p->count; ++j) set_child(p, j, ch[j + 1]);
    const std::size_t ki = i > 0 ? i - 1 : 0;
    std::memmove(k + ki, k + ki + 1, (p->count - 2u - ki) * sizeof(page_t));
    --p->count;
  }
  void new_root_over(node* x) noexcept {
    node* r = take_spare(false);
    set_child(r, 0, x);
    r->count = 1;
    root_ = r;
    ++height_;
  }
  bool rightmost(node* n) const noexcept {
    for (; n->parent != nullptr; n = n->parent)
      if (n->slot + 1u != n->parent->count) return false;
    return true;
  }

  void make_room_leaf(node* l, page_t key) noexcept {
    if (l->parent == nullptr) {
      if (l->capacity < leaf_capacity) {  // a small root grows into a full node
        replace_root_leaf(take_spare(true));
        return;
      }
      if (l->capacity > leaf_capacity) {  // a big one is dealt into full-size leaves
        deal_root_leaf(l);
        return;
      }
      new_root_over(l);
    }
    node* p = l->parent;
    std::size_t s = l->slot;
    if (s > 0) {
      node* left = kids(p)[s - 1];
      if (room(left) >= 2) {
        shift_leaf_left(left, l, room(left) / 2);
        return;
      }
    }
    if (s + 1 < p->count) {
      node* right = kids(p)[s + 1];
      if (room(right) >= 2) {
        shift_leaf_right(l, right, room(right) / 2);
        return;
      }
    }
    if (p->count == internal_capacity) {
      // The parent splits or sheds children first; l's neighbours may change, so
      // the caller's loop looks again.
      make_room_internal(p);
      return;
    }
    node* m = take_spare(true);
    if (key > KeyOf::key(vals(l)[l->count - 1u]) && rightmost(l)) {
      // Appending at the very end (a sorted build): leave l full.
      insert_child(p, s + 1, m, key);
    } else if (s + 1 < p->count) {
      split3(l, kids(p)[s + 1], m);
    } else if (s > 0) {
      split3(kids(p)[s - 1], l, m);
    } else {
      const std::size_t keep = l->count / 2u;
      std::memcpy(static_cast<void*>(vals(m)), vals(l) + keep, (l->count - keep) * sizeof(Value));
      m->count = static_cast<std::uint16_t>(l->count - keep);
      l->count = static_cast<std::uint16_t>(keep);
      insert_child(p, s + 1, m, KeyOf::key(vals(m)[0]));
    }
  }
  /// The full lone root leaf l, larger than a node, becomes count / leaf_capacity + 1
  /// full-size leaves of equal shares (each with room, none under leaf_min) under a
  /// new internal root; l's block is freed.
  void deal_root_leaf(node* l) noexcept {
    const std::size_t n = l->count, m = n / leaf_capacity + 1;
    PMEMPERM_ASSERT(l->parent == nullptr && m >= 2 && m <= internal_capacity);
    node* r = take_spare(false);
    for (std::size_t j = 0; j < m; ++j) {
      node* x = take_spare(true);
      const std::size_t from = n * j / m, to = n * (j + 1) / m;
      std::memcpy(static_cast<void*>(vals(x)), vals(l) + from, (to - from) * sizeof(Value));
      x->count = static_cast<std::uint16_t>(to - from);
      set_child(r, j, x);
      if (j > 0) keys(r)[j - 1] = KeyOf::key(vals(x)[0]);
    }
    r->count = static_cast<std::uint16_t>(m);
    retire(l);
    root_ = r;
    height_ = 2;
  }
  /// Two nearly full neighbours a, b and a new node m become three nodes, each
  /// two thirds full: random inserts then fill leaves far better than halving.
  void split3(node* a, node* b, node* m) noexcept {
    const std::size_t t = std::size_t{a->count} + b->count;
    const std::size_t na = (t + 2) / 3, nm = (t + 1) / 3, nb = t / 3;
    PMEMPERM_ASSERT(na <= a->count && na + nm >= a->count);
    const std::size_t from_a = a->count - na;
    const std::size_t from_b = nm - from_a;
    std::memcpy(static_cast<void*>(vals(m)), vals(a) + na, from_a * sizeof(Value));
    std::memcpy(static_cast<void*>(vals(m) + from_a), vals(b), from_b * sizeof(Value));
    std::memmove(static_cast<void*>(vals(b)), vals(b) + from_b, nb * sizeof(Value));
    a->count = static_cast<std::uint16_t>(na);
    m->count = static_cast<std::uint16_t>(nm);
    b->count = static_cast<std::uint16_t>(nb);
    node* p = a->parent;
    insert_child(p, std::size_t{a->slot} + 1u, m, KeyOf::key(vals(m)[0]));
    keys(p)[b->slot - 1u] = KeyOf::key(vals(b)[0]);
  }
  void shift_leaf_left(node* left, node* l, std::size_t k) noexcept {
    std::memcpy(static_cast<void*>(vals(left) + left->count), vals(l), k * sizeof(Value));
    std::memmove(static_cast<void*>(vals(l)), vals(l) + k, (l->count - k) * sizeof(Value));
    left->count = static_cast<std::uint16_t>(left->count + k);
    l->count = static_cast<std::uint16_t>(l->count - k);
    keys(l->parent)[l->slot - 1u] = KeyOf::key(vals(l)[0]);
  }
  void shift_leaf_right(node* l, node* right, std::size_t k) noexcept {
    std::memmove(static_cast<void*>(vals(right) + k), vals(right), right->count * sizeof(Value));
    std::memcpy(static_cast<void*>(vals(right)), vals(l) + (l->count - k), k * sizeof(Value));
    right->count = static_cast<std::uint16_t>(right->count + k);
    l->count = static_cast<std::uint16_t>(l->count - k);
    keys(right->parent)[right->slot - 1u] = KeyOf::key(vals(right)[0]);
  }

  void make_room_internal(node* x) noexcept {
    if (x->parent == nullptr) new_root_over(x);
    node* p = x->parent;
    std::size_t s = x->slot;
    if (s > 0) {
      node* left = kids(p)[s - 1];
      if (room(left) >= 2) {
        shift_internal_left(left, x, room(left) / 2);
        return;
      }
    }
    if (s + 1 < p->count) {
      node* right = kids(p)[s + 1];
      if (room(right) >= 2) {
        shift_internal_right(x, right, room(right) / 2);
        return;
      }
    }
    if (p->count == internal_capacity) {
      make_room_internal(p);
      p = x->parent;
      s = x->slot;
    }
    node* m = take_spare(false);
    const std::size_t n = x->count, h = n / 2;
    for (std::size_t j = h; j < n; ++j) set_child(m, j - h, kids(x)[j]);
    std::memcpy(keys(m), keys(x) + h, (n - 1 - h) * sizeof(page_t));
    m->count = static_cast<std::uint16_t>(n - h);
    x->count = static_cast<std::uint16_t>(h);
    insert_child(p, s + 1, m, keys(x)[h - 1]);
  }
  /// Moves x's first k children to the end of its left neighbour.
  void shift_internal_left(node* left, node* x, std::size_t k) noexcept {
    node* p = x->parent;
    page_t& sep = keys(p)[x->slot - 1u];
    const std::size_t ln = left->count;
    keys(left)[ln - 1] = sep;
    std::memcpy(keys(left) + ln, keys(x), (k - 1) * sizeof(page_t));
    for (std::size_t j = 0; j < k; ++j) set_child(left, ln + j, kids(x)[j]);
    sep = keys(x)[k - 1];
    std::memmove(keys(x), keys(x) + k, (x->count - 1u - k) * sizeof(page_t));
    for (std::size_t j = k; j < x->count; ++j) set_child(x, j - k, kids(x)[j]);
    left->count = static_cast<std::uint16_t>(ln + k);
    x->count = static_cast<std::uint16_t>(x->count - k);
  }
  /// Moves x's last k children to the front of its right neighbour.
  void shift_internal_right(node* x, node* right, std::size_t k) noexcept {
    node* p = x->parent;
    page_t& sep = keys(p)[right->slot - 1u];
    const std::size_t n = x->count, rn = right->count;
    std::memmove(keys(right) + k, keys(right), (rn - 1) * sizeof(page_t));
    keys(right)[k - 1] = sep;
    std::memcpy(keys(right), keys(x) + (n - k), (k - 1) * sizeof(page_t));
    for (std::size_t j = rn; j > 0; --j) set_child(right, j - 1 + k, kids(right)[j - 1]);
    for (std::size_t j = 0; j < k; ++j) set_child(right, j, kids(x)[n - k + j]);
    sep = keys(x)[n - k - 1];
    right->count = static_cast<std::uint16_t>(rn + k);
    x->count = static_cast<std::uint16_t>(n - k);
  }

  // ---- erasure: rebalancing ------------------------------------------------------

  void rebalance_leaf(node* l) noexcept {
    node* p = l->parent;
    if (p == nullptr) return;  // an emptied root leaf stays until settle(): inserts may follow
    if (l->count >= leaf_min && l->count > 0) return;
    const std::size_t s = l->slot;
    node* left = s > 0 ? kids(p)[s - 1] : nullptr;
    node* right = s + 1 < p->count ? kids(p)[s + 1] : nullptr;
    if (left != nullptr && left->count + l->count <= leaf_capacity) {
      merge_leaves(left, l);
    } else if (right != nullptr && l->count + right->count <= leaf_capacity) {
      merge_leaves(l, right);
    } else {
      if (left != nullptr && (right == nullptr || left->count >= right->count))
        shift_leaf_right(left, l, (left->count - l->count) / 2u);
      else if (right != nullptr)
        shift_leaf_left(l, right, (right->count - l->count) / 2u);
      return;
    }
    rebalance_internal(p);
  }
  void merge_leaves(node* a, node* b) noexcept {
    std::memcpy(static_cast<void*>(vals(a) + a->count), vals(b), b->count * sizeof(Value));
    a->count = static_cast<std::uint16_t>(a->count + b->count);
    remove_child(a->parent, b->slot);
    retire(b);
  }
  void rebalance_internal(node* x) noexcept {
    node* p = x->parent;
    if (p == nullptr) {
      if (x->count == 1) {
        node* c = kids(x)[0];
        c->parent = nullptr;
        c->slot = 0;
        root_ = c;
        --height_;
        retire(x);
      }
      return;
    }
    if (x->count >= internal_min) return;
    const std::size_t s = x->slot;
    node* left = s > 0 ? kids(p)[s - 1] : nullptr;
    node* right = s + 1 < p->count ? kids(p)[s + 1] : nullptr;
    if (left != nullptr && left->count + x->count <= internal_capacity) {
      merge_internal(left, x);
    } else if (right != nullptr && x->count + right->count <= internal_capacity) {
      merge_internal(x, right);
    } else {
      if (left != nullptr && (right == nullptr || left->count >= right->count))
        shift_internal_right(left, x, (left->count - x->count) / 2u);
      else if (right != nullptr)
        shift_internal_left(x, right, (right->count - x->count) / 2u);
      return;
    }
    rebalance_internal(p);
  }
  void merge_internal(node* a, node* b) noexcept {
    node* p = a->parent;
    const std::size_t an = a->count;
    keys(a)[an - 1] = keys(p)[b->slot - 1u];
    std::memcpy(keys(a) + an, keys(b), (b->count - 1u) * sizeof(page_t));
    for (std::size_t j = 0; j < b->count; ++j) set_child(a, an + j, kids(b)[j]);
    a->count = static_cast<std::uint16_t>(an + b->count);
    remove_child(p, b->slot);
    retire(b);
  }

  // ---- checking -------------------------------------------------------------------

  bool check_node(node* n, std::size_t depth, std::size_t& values, std::size_t& bytes, page_t& lo,
                  page_t& hi) const noexcept {
    if (n->count == 0 || n->count > n->capacity) return false;
    if (n->leaf) {
      if (depth != height_) return false;
      if (n != root_ && n->capacity != leaf_capacity) return false;
      if (n->capacity > root_capacity_max) return false;
      bytes += block_bytes(n);
      const Value* a = vals(n);
      for (std::size_t i = 1; i < n->count; ++i)
        if (!(KeyOf::key(a[i - 1]) < KeyOf::key(a[i]))) return false;
      values += n->count;
      lo = KeyOf::key(a[0]);
      hi = KeyOf::key(a[n->count - 1u]);
      return true;
    }
    if (n->capacity != internal_capacity) return false;
    if (n != root_ && n->count < 1) return false;
    bytes += NodeBytes;
    for (std::size_t i = 0; i < n->count; ++i) {
      node* c = kids(n)[i];
      if (c->parent != n || c->slot != i) return false;
      page_t clo = 0, chi = 0;
      if (!check_node(c, depth + 1, values, bytes, clo, chi)) return false;
      if (i > 0 && !(keys(n)[i - 1] <= clo && hi < keys(n)[i - 1])) return false;
      if (i == 0) lo = clo;
      hi = chi;
    }
    return true;
  }

  [[no_unique_address]] Alloc alloc_{};
  node* root_ = nullptr;
  node* spare_ = nullptr;
  std::size_t size_ = 0;
  std::size_t bytes_ = 0;
  std::size_t spares_ = 0;
  std::size_t height_ = 0;
  std::size_t target_ = 1;  // inserts the reserve covers
  bool short_ = false;
  // The inline root: a header and inline_capacity values, in the object itself.
  union inline_storage {
    node head;
    unsigned char bytes[header_bytes + inline_capacity * sizeof(Value)];
  };
  inline_storage inline_{};
};

}  // namespace pmemperm::detail
