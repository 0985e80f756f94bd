// TimerWheel: the per-core hierarchical timing wheel that holds the TCP
// timers of one worker (retransmission and persist, SYN-ACK retry,
// keepalive, FIN-WAIT-2). TIME-WAIT records are not on it: see below.
//
// A worker owns one wheel, arms and cancels timers while it handles a burst,
// and calls Advance(now, budget, ...) once per loop iteration
// (ARCHITECTURE.md). It exists because a core holds up to millions of live
// timers whose lifetimes run from hundreds of milliseconds (an RTO) to hours
// (keepalive), most of them cancelled or moved before they fire (an RTO is
// restarted by every ACK): Arm, Rearm and Cancel must be O(1) and must not
// allocate, and Advance must cost per timer fired, not per tick elapsed. It is
// pure (no DPDK, no clock, no OS call): time only enters through the arguments.
//
// Shape (Varghese & Lauck's scheme 7, with Linux 2.6's relative level choice):
//  - 6 levels of 64 slots. Level L slot s holds the timers whose expiry tick
//    t has digit s in bits [6L, 6L+6) and lies 2^(6L) <= t - now < 2^(6L+6)
//    ticks ahead, so the wheel spans 2^36 ticks (795 days at 1 ms, 68 s at
//    1 ns). A timer farther out is parked in the top-level slot farthest
//    ahead and re-placed each time that slot comes round.
//  - When the wheel reaches the start of an occupied level-L slot (L >= 1),
//    the slot's timers cascade: each is re-placed relative to the new now, so
//    it drops to a finer level. A timer is relinked at most once per level it
//    passes through (a 60 s timer at 1 ms ticks: twice), and a timer that is
//    cancelled first (most RTOs) is never relinked at all.
//  - One 64-bit occupancy word per level. Advance jumps straight to the next
//    occupied slot (a rotate and count-trailing-zeros per level), so an idle
//    gap of hours costs a few steps, not millions of empty ticks. Between
//    those slots it returns after comparing now_ns with a cached wake time.
//  - Rearm to an expiry in the slot the timer is already in (an RTO pushed
//    back by an ACK, a keepalive by a segment) only rewrites its tick.
//  - Timers are 32-byte nodes in one array allocated by the constructor,
//    threaded into circular doubly-linked lists by 32-bit indices (half the
//    size of pointers, and a handle can name a node). Each list (the 384 wheel
//    slots, the due list, the cascade list) has a sentinel node at the front
//    of the array, so unlinking has no special case for the ends and needs
//    no record of the node's slot: when a node leaves a list and its two
//    neighbours are the same sentinel, that slot just became empty and its
//    occupancy bit is cleared. Free nodes
//    form a LIFO list, so the nodes in use stay few and cache-hot.
//
// Handles are 32 bits: a node index in the low bits and a generation in the
// rest. The index takes bit_width(capacity) bits and the generation the
// remaining 32 - bit_width(capacity) >= 8 bits, so capacity is at most
// kMaxCapacity = 2^24 - 1 (larger requests are clamped) and a small wheel gets
// a longer generation. The generation changes every time a node is freed and
// never takes the value 0, so a zero-initialized Handle is never live, and a
// stale handle (fired, cancelled, or its node reused since) is refused until
// the node has been reused 2^(generation bits) - 1 times, the point where it
// wraps. That is a safety net, not a licence: callers should drop a handle
// when its timer fires or is cancelled. kInvalidHandle is never live (its
// index bits are all ones, and capacity < 2^index bits).
//
// Time and order. Ticks count from start_ns and an expiry is rounded up to
// a tick boundary, so a timer never fires before expires_ns. Called every
// tick, Advance fires it in the first call that reaches its rounded expiry:
// less than one tick after expires_ns when the calls fall on tick boundaries,
// less than two otherwise. Timers fire in tick order; within one tick the
// order is unspecified. A timer armed (or rearmed) with an expiry at or
// before the latest now_ns given to Advance is due at once: it cannot go in a
// slot the wheel has passed, so it goes on the due list (or a slot just
// ahead of the wheel) and fires in the next Advance, or in the current one
// when armed from a callback with budget left. It is ordered as if it expired
// when it was armed (it cannot have expired before it existed), except that
// it may overtake timers of earlier ticks that a budget held back. A now_ns
// earlier than one already seen is treated as no movement.
//
// Per-call work is bounded. Advance makes at most `budget` callbacks, and
// relinks at most kCascadesPerFire * budget cascading timers, then returns:
// the rest continues on the next calls, even with the same now_ns. Without
// the second bound one cascade could stall the worker: 60 s timers armed at
// 300k connections per second put 1.2 million timers in one level-2 slot
// (4.1 s wide), and relinking them takes about 20 ms even with the nodes in
// memory order, long enough to overflow an RX ring. The price is that a
// timer due right after such a cascade can fire a few calls late, and a call
// can return fewer than `budget` while timers are due (NextEventNs() then
// says there is work). With budget kUnlimited both bounds are off.
//
// TIME-WAIT and a FIFO. TIME-WAIT records all live exactly 2*MSL, so they
// expire in the order they were created, and a FIFO (push at the tail, pop
// the head while it is due) expires them in O(1) with no cascades, at a few
// ns per push and pop. Through this wheel a 60 s timer would cost an Arm,
// two cascades and its expiry: BM_ArmExpire in bench/timer/timer_benchmark.cc
// measures 33-40 ns per timer (86-104 TSC cycles) with 10^3 to 10^6 live,
// 5-10x a FIFO. So TIME-WAIT records sit on a FIFO (tcp/time_wait.h), which
// is doubly linked so that a new SYN reopening a 4-tuple (RFC 6191) can
// remove its record from the middle.
//
// Not thread-safe: one wheel per core, used only by that core.
#ifndef SYNWAVE_TIMER_TIMER_WHEEL_H_
#define SYNWAVE_TIMER_TIMER_WHEEL_H_

#include <algorithm>
#include <cstdint>
#include <memory>

namespace synwave::timer {

class TimerWheel {
 public:
  using Handle = uint32_t;
  static constexpr Handle kInvalidHandle = 0xffffffff;
  // Most live timers a wheel can hold: 24 index bits leave 8 for the
  // generation.
  static constexpr uint32_t kMaxCapacity = (uint32_t{1} << 24) - 1;
  // Advance budget meaning "everything due".
  static constexpr uint32_t kUnlimited = 0xffffffff;
  // Cascade relinks Advance may do per callback of budget. A relink is a list
  // move, several times cheaper than a callback that runs TCP code and builds
  // a segment; 8 keeps cascades well ahead of the rate timers can be armed.
  static constexpr uint32_t kCascadesPerFire = 8;

  // Counters for reports and tests; they only grow.
  struct Stats {
    uint64_t fired = 0;     // callbacks made
    uint64_t cascaded = 0;  // timers relinked by a cascade
    uint64_t stops = 0;     // ticks the wheel stopped at (occupied slots)
  };

  // capacity: most live timers (clamped to kMaxCapacity); all nodes are
  // allocated here, nothing later. tick_ns: resolution, > 0 (0 is taken as
  // 1). start_ns: the clock's value now; ticks count from it.
  TimerWheel(uint32_t capacity, uint64_t tick_ns, uint64_t start_ns);

  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;
  TimerWheel(TimerWheel&&) = default;
  TimerWheel& operator=(TimerWheel&&) = default;
  ~TimerWheel() = default;

  // Arms a timer that fires at expires_ns rounded up to a tick; `cookie` is
  // handed back to the callback (e.g. connection index and timer kind).
  // Returns kInvalidHandle when capacity() timers are live.
  Handle Arm(uint64_t expires_ns, uint64_t cookie);

  // Moves a live timer to a new expiry, keeping its handle and cookie (RTO
  // restart on ACK, keepalive push-back). Cheaper than Cancel + Arm: no free
  // list traffic and the handle stays valid. Works on a timer that is due but
  // not yet fired (left over by a budget): it is taken back. Returns false
  // for a stale handle.
  bool Rearm(Handle h, uint64_t expires_ns);

  // Cancels a live timer. Returns false, and does nothing, for a stale handle
  // (fired, cancelled, its node reused since) or kInvalidHandle.
  bool Cancel(Handle h);

  // True if `h` names a live timer (armed, not yet fired or cancelled).
  bool IsLive(Handle h) const { return NodeOf(h) != kNil; }

  // Fires, in tick order, the timers with expiry <= now_ns: calls
  // on_expire(Handle, uint64_t cookie) at most `budget` times and returns how
  // many it called. The handle is already dead when the callback runs (it may
  // be reused by an Arm inside it); the callback may Arm, Rearm and Cancel
  // any timer. A timer it cancels does not fire, and one it arms already due
  // fires in this call if budget is left. Whatever is left (budget used up,
  // or the cascade bound of the header comment) continues on the next call,
  // even if now_ns has not moved. A callback that always arms a timer that is
  // already due makes Advance(kUnlimited) loop for ever.
  template <class F>
  uint32_t Advance(uint64_t now_ns, uint32_t budget, F&& on_expire);

  // When Advance next has work: UINT64_MAX if no timer is live; a time at or
  // before the last now_ns if some is already due (or cascading); otherwise
  // the start of the next tick at which a timer fires or cascades. It is
  // never later than the earliest expiry (it is earlier when the next thing
  // is a cascade), so a worker that idles until then wakes in time.
  uint64_t NextEventNs() const;

  uint32_t size() const { return size_; }
  uint32_t capacity() const { return capacity_; }
  uint64_t tick_ns() const { return tick_ns_; }
  const Stats& stats() const { return stats_; }

 private:
  static constexpr uint32_t kLevelBits = 6;
  static constexpr uint32_t kSlotsPerLevel = uint32_t{1} << kLevelBits;
  static constexpr uint32_t kSlotMask = kSlotsPerLevel - 1;
  static constexpr uint32_t kLevels = 6;
  static constexpr uint32_t kNumSlots = kLevels * kSlotsPerLevel;
  // Span of the wheel in ticks; farther expiries are parked (header comment).
  static constexpr uint64_t kSpanTicks = uint64_t{1} << (kLevels * kLevelBits);
  // Sentinel indices: the wheel slots (level * 64 + slot), then two lists.
  static constexpr uint32_t kDueList = kNumSlots;  // due, in firing order
  static constexpr uint32_t kCascadeList = kNumSlots + 1;  // to be relinked
  static constexpr uint32_t kNumLists = kNumSlots + 2;     // first timer node
  static constexpr uint32_t kNil = 0xffffffff;

  // 32 bytes, aligned so that a node never straddles two cache lines.
  struct alignas(32) Node {
    uint32_t next = kNil;  // list successor; free-list link when free
    uint32_t prev = kNil;  // list predecessor; kNil marks a free node
    uint32_t gen = 1;      // generation of the handle that names it now
    // The list Place put it on. Moving a whole slot to the due or cascade
    // list does not update it (that move is O(1)), so it is trusted only
    // where it cannot be stale (Rearm).
    uint32_t list = 0;
    uint64_t tick = 0;  // expiry, in ticks since start_ns
    uint64_t cookie = 0;
  };
  static_assert(sizeof(Node) == 32);

  // Ticks since start_ns: the tick in which `ns` falls, and the first tick
  // boundary at or after `ns`.
  uint64_t FloorTick(uint64_t ns) const {
    return ns <= start_ns_ ? 0 : (ns - start_ns_) / tick_ns_;
  }
  uint64_t CeilTick(uint64_t ns) const {
    if (ns <= start_ns_) return 0;
    const uint64_t d = ns - start_ns_;
    return d / tick_ns_ + (d % tick_ns_ != 0);
  }
  uint64_t TickToNs(uint64_t tick) const {
    return tick > max_tick_ ? UINT64_MAX : start_ns_ + tick * tick_ns_;
  }

  // Node array index of a live handle's timer, or kNil.
  uint32_t NodeOf(Handle h) const {
    const uint32_t index = h & index_mask_;
    if (index >= capacity_) return kNil;
    const uint32_t i = index + kNumLists;
    const Node& n = nodes_[i];
    return (n.gen == h >> index_bits_ && n.prev != kNil) ? i : kNil;
  }
  Handle HandleOf(uint32_t i) const {
    return (nodes_[i].gen << index_bits_) | (i - kNumLists);
  }

  // Unlinks node i from whichever list holds it, keeping the occupancy bits
  // exact (header comment).
  void Unlink(uint32_t i) {
    const uint32_t next = nodes_[i].next;
    const uint32_t prev = nodes_[i].prev;
    nodes_[prev].next = next;
    nodes_[next].prev = prev;
    if (prev == next && prev < kNumSlots) {
      occupied_[prev >> kLevelBits] &= ~(uint64_t{1} << (prev & kSlotMask));
    }
  }
  // Returns node i (already unlinked) to the free list, killing its handle.
  void Release(uint32_t i) {
    Node& n = nodes_[i];
    n.prev = kNil;
    n.next = free_head_;
    n.gen = n.gen >= max_gen_ ? 1 : n.gen + 1;
    free_head_ = i;
    --size_;
  }
  // The wheel slot (level * 64 + slot) for a tick after cur_.
  uint32_t SlotFor(uint64_t tick) const;
  // The first tick after cur_ at which `slot` is reached.
  uint64_t SlotStart(uint32_t slot) const;
  // Puts unlinked node i, whose tick is set, in the list its tick calls for.
  void Place(uint32_t i);
  // Moves the wheel forward, at most to `target`, until the due list has a
  // timer or there is nothing more to do now; returns whether it has one.
  // Spends `relinks` on cascades.
  bool Refill(uint64_t target, uint64_t& relinks);
  // The next tick after cur_ at which an occupied slot is reached, or
  // UINT64_MAX.
  uint64_t NextOccupiedTick() const;

  std::unique_ptr<Node[]> nodes_;    // kNumLists sentinels, then the timers
  uint64_t occupied_[kLevels] = {};  // bit s of word L: slot L*64+s nonempty
  // Ticks up to and including cur_ have been reached. It may trail the
  // tick of now_ns_ (Advance's early return does not divide to find it);
  // then a timer armed meanwhile may start a level higher, or, if already
  // due, wait in a slot the next Advance reaches instead of on the due list.
  uint64_t cur_ = 0;
  uint64_t now_ns_ = 0;  // the latest now_ns given to Advance
  // While the due list is empty and now_ns < wake_ns_, Advance has nothing
  // to do. A lower bound (a Cancel does not raise it), so that keeping it
  // costs Place one compare; 0 while a cascade or a budget left work.
  uint64_t wake_ns_ = UINT64_MAX;
  uint64_t start_ns_;
  uint64_t tick_ns_;
  uint64_t max_tick_;  // the last tick whose start fits in a uint64_t of ns
  uint32_t capacity_;
  uint32_t size_ = 0;
  uint32_t free_head_ = kNil;
  uint32_t index_bits_;
  uint32_t index_mask_;
  uint32_t max_gen_;
  Stats stats_;
};

template <class F>
uint32_t TimerWheel::Advance(uint64_t now_ns, uint32_t budget, F&& on_expire) {
  // Time never goes back: an earlier now_ns means no movement.
  now_ns_ = std::max(now_ns_, now_ns);
  // A worker polls far more often than timers fire: when nothing is due
  // yet, return after two compares (no division, no bitmap scan).
  if (now_ns_ < wake_ns_ && nodes_[kDueList].next == kDueList) return 0;
  const uint64_t target = FloorTick(now_ns_);
  uint64_t relinks =
      budget == kUnlimited ? UINT64_MAX : uint64_t{budget} * kCascadesPerFire;
  uint32_t fired = 0;
  while (fired < budget) {
    const uint32_t i = nodes_[kDueList].next;
    if (i == kDueList) {
      if (!Refill(target, relinks)) break;
      continue;
    }
    const uint32_t next = nodes_[i].next;
    nodes_[kDueList].next = next;
    nodes_[next].prev = kDueList;
    // The next due node is a likely cache miss among a million; fetch it
    // while the callback runs.
    __builtin_prefetch(&nodes_[next]);
    const Handle h = HandleOf(i);
    const uint64_t cookie = nodes_[i].cookie;
    // Freed before the call, so the callback sees a stale handle and can
    // reuse the node for the timer it arms next.
    Release(i);
    ++fired;
    on_expire(h, cookie);
  }
  stats_.fired += fired;
  return fired;
}

}  // namespace synwave::timer

#endif  // SYNWAVE_TIMER_TIMER_WHEEL_H_
