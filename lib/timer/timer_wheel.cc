#include "timer/timer_wheel.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <memory>

namespace synwave::timer {

TimerWheel::TimerWheel(uint32_t capacity, uint64_t tick_ns, uint64_t start_ns)
    : start_ns_(start_ns),
      tick_ns_(tick_ns == 0 ? 1 : tick_ns),
      capacity_(std::min(capacity, kMaxCapacity)) {
  // The index gets just the bits capacity needs (at least 1, so that the
  // shifts below stay under 32), the generation all the others.
  index_bits_ = std::max<uint32_t>(1, std::bit_width(capacity_));
  index_mask_ = (uint32_t{1} << index_bits_) - 1;
  max_gen_ = (uint32_t{1} << (32 - index_bits_)) - 1;
  max_tick_ = (UINT64_MAX - start_ns_) / tick_ns_;

  const uint32_t total = kNumLists + capacity_;
  nodes_ = std::make_unique<Node[]>(total);
  for (uint32_t l = 0; l < kNumLists; ++l) {
    nodes_[l].next = l;
    nodes_[l].prev = l;
  }
  // Writing every node now also faults in the pages, so the first Arm of
  // each node does not take a page fault on the worker.
  for (uint32_t i = kNumLists; i < total; ++i) {
    nodes_[i].next = i + 1 < total ? i + 1 : kNil;
  }
  free_head_ = capacity_ > 0 ? kNumLists : kNil;
}

TimerWheel::Handle TimerWheel::Arm(uint64_t expires_ns, uint64_t cookie) {
  const uint32_t i = free_head_;
  if (i == kNil) return kInvalidHandle;
  Node& n = nodes_[i];
  free_head_ = n.next;
  // After churn the free list is in no memory order, and finding its next
  // node means loading this one: fetch it now, not on the next Arm's
  // critical path.
  if (free_head_ != kNil) __builtin_prefetch(&nodes_[free_head_], 1);
  ++size_;
  n.tick = CeilTick(expires_ns);
  n.cookie = cookie;
  Place(i);
  return HandleOf(i);
}

bool TimerWheel::Rearm(Handle h, uint64_t expires_ns) {
  const uint32_t i = NodeOf(h);
  if (i == kNil) return false;
  Node& n = nodes_[i];
  const uint64_t tick = CeilTick(expires_ns);
  // An RTO restarted by an ACK a few ms later, a keepalive pushed back by a
  // segment: the new expiry usually falls in the slot the timer is already
  // in, and then only its tick changes; no neighbour node is touched (at a
  // million timers each is a cache miss). n.list is stale only for a timer
  // moved with its whole slot to the due list (then n.tick <= cur_) or to
  // the cascade list (not empty only mid-cascade); the tests below exclude
  // both rather than rely on the subtler fact that such a stale slot can
  // never equal the one computed now.
  if (tick > cur_ && n.tick > cur_ &&
      nodes_[kCascadeList].next == kCascadeList && SlotFor(tick) == n.list) {
    n.tick = tick;
    return true;
  }
  Unlink(i);
  n.tick = tick;
  Place(i);
  return true;
}

bool TimerWheel::Cancel(Handle h) {
  const uint32_t i = NodeOf(h);
  if (i == kNil) return false;
  Unlink(i);
  Release(i);
  return true;
}

uint32_t TimerWheel::SlotFor(uint64_t tick) const {
  uint64_t delta = tick - cur_;
  if (delta >= kSpanTicks) {
    // Parked in the top level's farthest slot; when the wheel gets there
    // the timer cascades and is placed again from its real tick.
    delta = kSpanTicks - 1;
    tick = cur_ + delta;
  }
  // The level whose slot width is the largest power of 64 <= delta. The
  // slot with the tick's digit at that level then starts after cur_ and no
  // later than the tick, and the tick is less than one slot width past that
  // start: the timer cascades in time, to a finer level.
  const uint32_t level =
      static_cast<uint32_t>(std::bit_width(delta) - 1) / kLevelBits;
  const uint32_t slot =
      static_cast<uint32_t>(tick >> (level * kLevelBits)) & kSlotMask;
  return level * kSlotsPerLevel + slot;
}

uint64_t TimerWheel::SlotStart(uint32_t slot) const {
  const uint32_t shift = slot / kSlotsPerLevel * kLevelBits;
  // Slot starts at this level come every 64^level ticks; `pos` numbers
  // them, and the first one strictly after cur_ is pos.
  const uint64_t pos = (cur_ >> shift) + 1;
  return (pos + ((slot - pos) & kSlotMask)) << shift;
}

void TimerWheel::Place(uint32_t i) {
  Node& n = nodes_[i];
  uint32_t list = kDueList;
  if (n.tick > cur_) {
    list = SlotFor(n.tick);
    occupied_[list / kSlotsPerLevel] |= uint64_t{1} << (list & kSlotMask);
    wake_ns_ = std::min(wake_ns_, TickToNs(SlotStart(list)));
  }
  n.list = list;
  // At the tail: the due list is in firing order, and a timer that becomes
  // due now is due later than those already on it.
  const uint32_t last = nodes_[list].prev;
  n.next = list;
  n.prev = last;
  nodes_[last].next = i;
  nodes_[list].prev = i;
}

bool TimerWheel::Refill(uint64_t target, uint64_t& relinks) {
  // Work may be left for the next call (budget, cascade bound); only the
  // return below that finds nothing more to do can say when work comes.
  wake_ns_ = 0;
  for (;;) {
    // A cascade must finish before the wheel moves past its tick: its timers
    // can be due in the very next ticks.
    for (uint32_t i = nodes_[kCascadeList].next; i != kCascadeList;
         i = nodes_[kCascadeList].next) {
      if (relinks == 0) return nodes_[kDueList].next != kDueList;
      --relinks;
      const uint32_t next = nodes_[i].next;
      nodes_[kCascadeList].next = next;
      nodes_[next].prev = kCascadeList;
      __builtin_prefetch(&nodes_[next]);
      Place(i);
      ++stats_.cascaded;
    }
    if (nodes_[kDueList].next != kDueList) return true;

    const uint64_t tick = NextOccupiedTick();
    if (tick > target) {
      cur_ = std::max(cur_, target);
      wake_ns_ = TickToNs(tick);
      return false;
    }
    cur_ = tick;
    ++stats_.stops;
    // Every occupied slot that starts at this tick, coarsest first. A level-L
    // slot starts only at multiples of 64^L; any such slot that is occupied
    // is reached now (it cannot have been skipped: `tick` is the earliest).
    for (uint32_t level = kLevels; level-- > 0;) {
      const uint32_t shift = level * kLevelBits;
      if ((tick & ((uint64_t{1} << shift) - 1)) != 0) continue;
      const uint32_t slot = static_cast<uint32_t>(tick >> shift) & kSlotMask;
      if ((occupied_[level] >> slot & 1) == 0) continue;
      occupied_[level] &= ~(uint64_t{1} << slot);
      // Level 0 holds one tick per slot: all of it is due now.
      const uint32_t from = level * kSlotsPerLevel + slot;
      const uint32_t to = level == 0 ? kDueList : kCascadeList;
      const uint32_t first = nodes_[from].next;
      const uint32_t last = nodes_[from].prev;
      const uint32_t tail = nodes_[to].prev;
      nodes_[tail].next = first;
      nodes_[first].prev = tail;
      nodes_[last].next = to;
      nodes_[to].prev = last;
      nodes_[from].next = from;
      nodes_[from].prev = from;
    }
  }
}

uint64_t TimerWheel::NextOccupiedTick() const {
  uint64_t best = UINT64_MAX;
  for (uint32_t level = 0; level < kLevels; ++level) {
    const uint64_t bits = occupied_[level];
    if (bits == 0) continue;
    const uint32_t shift = level * kLevelBits;
    // Slot starts at this level come every 64^level ticks; `pos` numbers
    // them, and the first one strictly after cur_ is pos. Rotating the
    // occupancy word so that pos's slot is bit 0 makes the count of trailing
    // zeros the number of empty slots before the next occupied one.
    const uint64_t pos = (cur_ >> shift) + 1;
    const int skip =
        std::countr_zero(std::rotr(bits, static_cast<int>(pos & kSlotMask)));
    best = std::min(best, (pos + static_cast<uint64_t>(skip)) << shift);
  }
  return best;
}

uint64_t TimerWheel::NextEventNs() const {
  if (size_ == 0) return UINT64_MAX;
  if (nodes_[kDueList].next != kDueList ||
      nodes_[kCascadeList].next != kCascadeList) {
    return TickToNs(cur_);
  }
  const uint64_t tick = NextOccupiedTick();
  return tick == UINT64_MAX ? UINT64_MAX : TickToNs(tick);
}

}  // namespace synwave::timer
