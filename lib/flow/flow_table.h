// FlowTable: one core's connection table, mapping a TCP 4-tuple (FlowKey) to
// a 32-bit value (the caller's index of a TCB or TIME-WAIT record);
// FlowTable6, the same over IPv6 4-tuples (FlowKey6). Both are one class
// template, BasicFlowTable<Key>, whose only key-specific part is the bucket
// layout and the slot compare (FlowSlots<Key>, below): the IPv4 table's
// layout, compare and code are what they were before the template, so its
// lookups cost the same instructions (bench/ir_budget.txt).
//
// FlowTable6's slots hold the 36-byte key and the value (40 bytes), three to
// a bucket of two cache lines (128 bytes, both prefetched): a hit reads two
// adjacent lines where an IPv4 hit reads one, and memory is about 61 bytes
// per connection at capacity (25 for IPv4).
//
// Every packet is looked up here, a burst at a time, so the table is shaped
// for one cache miss per lookup and for lookups whose misses overlap:
//
// - Buckets are one 64-byte cache line holding 4 slots of {FlowKey, value}
//   inline, so a hit costs the one line and needs no second, dependent load
//   for a key store.
// - Bucketized linear probing: a key lives in its home bucket (chosen from
//   the high bits of its 32-bit hash) or, if that was full, in the next ones.
//   Spilling to the neighbouring line keeps the second probe in the same DRAM
//   page and within reach of the adjacent-line prefetcher. More important,
//   an insert always succeeds while size() < capacity(): the probe sequence
//   visits every bucket and there are more slots than capacity(), so there is
//   a free slot to find. No stash, no failure mode, no rebuild.
// - Load: the bucket count is chosen so that a full table uses at most 70% of
//   its slots (kMaxLoadPercent). Measured by simulation of 10^6 keys: 89% of
//   hits are in the home bucket (1.19 lines on average) and a miss reads 1.6
//   buckets on average; at 80% load a miss would read 2.9. Memory is about
//   25 bytes per connection at capacity.
// - Each bucket has a one-byte overflow count: how many stored keys passed
//   over this bucket because it was full when they were inserted (folly F14's
//   "outbound overflow"). A lookup stops at the first bucket whose count is
//   zero, so a miss usually reads only its home line (and this byte, which is
//   in a 1-byte-per-bucket array dense enough to stay in cache).
// - Erase does backward shift, not tombstones: the hole is filled from later
//   buckets by a key whose probe sequence passes through it, repeated until
//   no key passes through the hole. That needs each key's home, which the
//   table cannot recompute (it is given hashes, not a hash function), so each
//   slot also records its displacement in a byte (a lower bound, saturating
//   at 255; moving a key only needs a lower bound to be safe). After any
//   sequence of inserts and erases the table is laid out exactly as if its
//   live keys had been inserted into an empty table: the workload of a
//   long-running endpoint (insert, ~10 lookups, re-point to TIME-WAIT, erase
//   60 s later, millions of times a second) cannot degrade it. With
//   tombstones it would, until a rehash that a fixed-capacity, no-pause table
//   cannot afford.
// - Lookups are correct from the overflow counts alone; backward shift only
//   keeps probes short. So a pathological cluster (more than 255 buckets
//   long, which needs hashes an attacker cannot choose, see flow_key.h) makes
//   the table slower but never wrong. Counts saturate at 255 and then stick.
//
// The value 0xffffffff (kNotFound) is reserved: it marks an empty slot and is
// what Find returns for an absent key; Insert and Update refuse it.
//
// Not thread-safe: one table per core, no locks, no atomics. All memory is
// allocated and touched (page-faulted) in the constructor; tables of 2 MiB or
// more are aligned for and advised to use transparent huge pages, because a
// random lookup in a 20 MiB table would otherwise miss the TLB as well.
#ifndef SYNWAVE_FLOW_FLOW_TABLE_H_
#define SYNWAVE_FLOW_FLOW_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "flow/flow_key.h"
#include "flow/index_pool.h"

namespace synwave::flow {

// The key-specific part of a flow table: a bucket's slots and how a bucket
// is searched for a key. MatchMask returns a mask with bit 4*i set iff slot
// i holds the key (a free slot, whose value is kNoIndex, never matches).
template <typename Key>
struct FlowSlots;

template <>
struct FlowSlots<FlowKey> {
  static constexpr uint32_t kSlotsPerBucket = 4;
  struct Slot {
    FlowKey key;
    uint32_t value;  // kNoIndex when the slot is free
  };
  struct alignas(64) Bucket {
    Slot slots[kSlotsPerBucket];
  };
  static_assert(sizeof(Slot) == 16);
  static_assert(sizeof(Bucket) == 64);

  // The searched-for key, laid out as a slot whose value is kNoIndex: a slot
  // matches when its three key words are equal and its value word is not,
  // so free slots never match, whatever stale key bytes they hold.
#if defined(__SSE2__)
  using Query = __m128i;
  // Built in registers: storing a Slot and reloading it as one vector
  // would stall on store forwarding, a dozen cycles per lookup.
  static Query MakeQuery(const FlowKey& key) {
    uint32_t ports;
    std::memcpy(&ports, reinterpret_cast<const char*>(&key) + 8, 4);
    const __m128i ips = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(&key));
    const __m128i tail = _mm_unpacklo_epi32(
        _mm_cvtsi32_si128(static_cast<int>(ports)), _mm_set1_epi32(-1));
    return _mm_unpacklo_epi64(ips, tail);  // {local, remote, ports, kEmpty}
  }
  static uint32_t MatchMask(const Bucket& bucket, Query q) {
    const __m128i* p = reinterpret_cast<const __m128i*>(bucket.slots);
    const auto lanes = [&](int i) {
      return static_cast<uint32_t>(_mm_movemask_ps(
          _mm_castsi128_ps(_mm_cmpeq_epi32(_mm_load_si128(p + i), q))));
    };
    // Per slot, lanes 0-2 (key) must be equal and lane 3 (value) must differ.
    const uint32_t x =
        (lanes(0) | lanes(1) << 4 | lanes(2) << 8 | lanes(3) << 12) ^ 0x8888u;
    return x & (x >> 1) & (x >> 2) & (x >> 3) & 0x1111u;
  }
#else
  struct Query {
    uint64_t lo;
    uint32_t hi;
  };
  static Query MakeQuery(const FlowKey& key) {
    Query q;
    std::memcpy(&q.lo, &key, 8);
    std::memcpy(&q.hi, reinterpret_cast<const char*>(&key) + 8, 4);
    return q;
  }
  static uint32_t MatchMask(const Bucket& bucket, Query q) {
    uint32_t mask = 0;
    for (uint32_t i = 0; i < kSlotsPerBucket; ++i) {
      const Slot& s = bucket.slots[i];
      uint64_t lo;
      uint32_t hi;
      std::memcpy(&lo, &s.key, 8);
      std::memcpy(&hi, reinterpret_cast<const char*>(&s.key) + 8, 4);
      mask |= static_cast<uint32_t>((lo == q.lo) & (hi == q.hi) &
                                    (s.value != kNoIndex))
              << (4 * i);
    }
    return mask;
  }
#endif
};

template <>
struct FlowSlots<FlowKey6> {
  static constexpr uint32_t kSlotsPerBucket = 3;
  struct Slot {
    FlowKey6 key;
    uint32_t value;  // kNoIndex when the slot is free
  };
  struct alignas(64) Bucket {
    Slot slots[kSlotsPerBucket];
  };
  static_assert(sizeof(Slot) == 40);
  static_assert(sizeof(Bucket) == 128);

#if defined(__SSE2__)
  // The two addresses as two vectors, compared bytewise, and the ports
  // word. Slot by slot, a free one skipped at its value word and an
  // occupied one rejected at its ports before its addresses are loaded:
  // in a table at most 70% full most slots a lookup passes are free or
  // hold other ports, so most cost two compares, not a 36-byte compare.
  // Keys are unique in the table: the first match is the only one.
  struct Query {
    __m128i local;
    __m128i remote;
    uint32_t ports;
  };
  static Query MakeQuery(const FlowKey6& key) {
    Query q;
    q.local = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&key));
    q.remote = _mm_loadu_si128(reinterpret_cast<const __m128i*>(
        reinterpret_cast<const char*>(&key) + 16));
    std::memcpy(&q.ports, reinterpret_cast<const char*>(&key) + 32, 4);
    return q;
  }
  static uint32_t MatchMask(const Bucket& bucket, const Query& q) {
    for (uint32_t i = 0; i < kSlotsPerBucket; ++i) {
      const char* p = reinterpret_cast<const char*>(&bucket.slots[i]);
      uint32_t ports;
      uint32_t value;
      std::memcpy(&ports, p + 32, 4);
      std::memcpy(&value, p + 36, 4);
      if (value == kNoIndex || ports != q.ports) continue;
      const __m128i eq = _mm_and_si128(
          _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)),
                         q.local),
          _mm_cmpeq_epi8(
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)),
              q.remote));
      if (_mm_movemask_epi8(eq) == 0xffff) return 1u << (4 * i);
    }
    return 0;
  }
#else
  // The key's 36 bytes as four words and the ports, compared word by word.
  struct Query {
    uint64_t w[4];
    uint32_t ports;
  };
  static Query MakeQuery(const FlowKey6& key) {
    Query q;
    std::memcpy(q.w, &key, 32);
    std::memcpy(&q.ports, reinterpret_cast<const char*>(&key) + 32, 4);
    return q;
  }
  static bool Equal(const Slot& s, const Query& q) {
    uint64_t w[4];
    uint32_t ports;
    std::memcpy(w, &s.key, 32);
    std::memcpy(&ports, reinterpret_cast<const char*>(&s.key) + 32, 4);
    return ((w[3] ^ q.w[3]) | (ports ^ q.ports) | (w[1] ^ q.w[1]) |
            (w[0] ^ q.w[0]) | (w[2] ^ q.w[2])) == 0;
  }
  static uint32_t MatchMask(const Bucket& bucket, const Query& q) {
    uint32_t mask = 0;
    for (uint32_t i = 0; i < kSlotsPerBucket; ++i) {
      const Slot& s = bucket.slots[i];
      mask |= static_cast<uint32_t>(Equal(s, q) & (s.value != kNoIndex))
              << (4 * i);
    }
    return mask;
  }
#endif
};

template <typename Key>
class BasicFlowTable {
 public:
  static constexpr uint32_t kNotFound = kNoIndex;
  // The largest burst FindBulk prefetches at once; longer arrays are done in
  // groups of this size.
  static constexpr uint32_t kMaxBulk = 64;
  static constexpr uint32_t kSlotsPerBucket = FlowSlots<Key>::kSlotsPerBucket;
  static constexpr uint32_t kMaxLoadPercent = 70;
  // Largest supported capacity (buckets and byte offsets stay in range).
  static constexpr uint32_t kMaxCapacity = 1u << 30;

  // Allocates and initialises everything the table will ever use. `capacity`
  // is clamped to [1, kMaxCapacity].
  explicit BasicFlowTable(uint32_t capacity);
  ~BasicFlowTable();

  BasicFlowTable(const BasicFlowTable&) = delete;
  BasicFlowTable& operator=(const BasicFlowTable&) = delete;

  // Adds key -> value. Returns false, changing nothing, if size() ==
  // capacity(), if `value` is kNotFound, or if `key` is already present
  // (that is a caller bug: the caller looks the key up before creating a
  // connection; the existing entry is kept). `hash` must be the same
  // function of the key on every call for that key (FlowHasher).
  bool Insert(const Key& key, uint32_t hash, uint32_t value);

  // The value stored for `key`, or kNotFound.
  uint32_t Find(const Key& key, uint32_t hash) const {
    return FindFrom(key, Home(hash));
  }

  // Removes `key`. Returns false if it was absent.
  bool Erase(const Key& key, uint32_t hash);

  // Re-points `key` to `new_value` in place (e.g. from its TCB to its
  // TIME-WAIT record), cheaper than Erase + Insert and never failing for lack
  // of room. Returns false if `key` is absent or `new_value` is kNotFound.
  bool Update(const Key& key, uint32_t hash, uint32_t new_value);

  // Where FindBulk found a key: its slot's number (kNoSlot for a miss, or
  // a key it did not place). Only a hint: the slot may have been emptied
  // or refilled since (an Erase moves other keys back into its hole), so
  // the calls below check that it still holds the key (one bucket compare)
  // and otherwise look the key up as Update and Erase do. A caller that
  // changes the tuple it just looked up (re-points it to another record,
  // erases it) saves the second walk of the probe sequence.
  static constexpr uint32_t kNoSlot = kNoIndex;
  bool UpdateAt(uint32_t slot, const Key& key, uint32_t hash,
                uint32_t new_value);
  bool EraseAt(uint32_t slot, const Key& key, uint32_t hash);

  // Starts loading the home bucket of `hash` and its overflow count, for
  // callers that pipeline lookups themselves.
  void Prefetch(uint32_t hash) const {
    const uint32_t b = Home(hash);
    PrefetchBucket(b);
    __builtin_prefetch(&overflow_[b]);
  }

  // values_out[i] = Find(keys[i], hashes[i]) for i in [0, n). Prefetches the
  // home buckets of a group of up to kMaxBulk keys before comparing any, so
  // that their cache misses overlap instead of queueing one after another;
  // keys that must read a second bucket get it prefetched together in a
  // second round. Measured on 10^6 entries against compare-as-you-go after
  // the first prefetch: hits 68 -> 53, misses 87 -> 58 TSC cycles.
  // With `slots_out`, each key's slot number as well (kNoSlot where
  // none), for UpdateAt and EraseAt.
  void FindBulk(const Key* keys, const uint32_t* hashes, uint32_t n,
                uint32_t* values_out, uint32_t* slots_out = nullptr) const;

  uint32_t size() const { return size_; }
  uint32_t capacity() const { return capacity_; }
  // What changed since a caller's lookups: a value that Find or FindBulk
  // returned stays the table's until an Insert, Erase or Update of that
  // same key (moving other keys about changes no value). Each change that
  // succeeds sets its hash's bit in a 256-bit filter; a caller that looked
  // a burst up at once clears it (ClearChanges) and, before trusting a
  // value, asks MayHaveChanged(hash): false means that no key with that
  // hash changed since the clear; true may be another key's (a few in a
  // burst set a few bits), and the caller looks its key up again. So a
  // burst whose segments insert and re-point their own tuples keeps the
  // lookups of the others (an epoch that any change moved cost every later
  // segment of the burst a second lookup).
  void ClearChanges() {
    for (uint64_t& w : changed_) w = 0;
  }
  bool MayHaveChanged(uint32_t hash) const {
    return (changed_[(hash >> 6) & 3] >> (hash & 63)) & 1;
  }
  uint32_t bucket_count() const { return bucket_count_; }
  // Bytes of memory held, including this object.
  size_t memory_bytes() const { return sizeof(*this) + block_bytes_; }
  // Bytes per unit of capacity, for sizing a table from a memory budget:
  // a bucket line, its displacement bytes and its overflow byte, shared by
  // the slots a full table uses (kMaxLoadPercent of kSlotsPerBucket).
  static constexpr double BytesPerEntry() {
    return (sizeof(Bucket) + kSlotsPerBucket + 1) * 100.0 /
           (kSlotsPerBucket * kMaxLoadPercent);
  }

  // Probe-length figures, for tests and telemetry. O(bucket_count()).
  struct ProbeStats {
    uint32_t size = 0;
    uint32_t buckets = 0;
    uint32_t full_buckets = 0;
    uint32_t buckets_with_overflow = 0;
    // Sum over keys of buckets passed before the key's own (equal to the sum
    // of overflow counts). Mean buckets read by a hit: 1 + this / size.
    uint64_t total_displacement = 0;
    uint32_t max_displacement = 0;
    // Sum over all buckets of the buckets read by a miss homed there.
    // Mean buckets read by a miss: this / buckets.
    uint64_t total_miss_probes = 0;
    uint32_t max_miss_probes = 0;

    double MeanHitProbes() const {
      return size == 0 ? 0.0 : 1.0 + double(total_displacement) / size;
    }
    double MeanMissProbes() const {
      return buckets == 0 ? 0.0 : double(total_miss_probes) / buckets;
    }
    friend bool operator==(const ProbeStats&, const ProbeStats&) = default;
  };
  ProbeStats ComputeProbeStats() const;

  // Checks the table's internal invariants; returns "" if they hold, else a
  // description of the first violation. O(bucket_count()). For tests.
  std::string CheckInvariants() const;

 private:
  static constexpr uint32_t kEmpty = kNotFound;  // value of a free slot
  static constexpr uint8_t kSticky = 255;        // saturated overflow count
  static constexpr uint32_t kMaxDisplacement = 255;

  using Slots = FlowSlots<Key>;
  using Slot = typename Slots::Slot;
  using Bucket = typename Slots::Bucket;
  using Query = typename Slots::Query;
  static Query MakeQuery(const Key& key) { return Slots::MakeQuery(key); }
  static uint32_t MatchMask(const Bucket& bucket, const Query& q) {
    return Slots::MatchMask(bucket, q);
  }

  // Every cache line of bucket `b` (one for IPv4, two for IPv6).
  void PrefetchBucket(uint32_t b) const {
    const char* p = reinterpret_cast<const char*>(&buckets_[b]);
    for (size_t off = 0; off < sizeof(Bucket); off += 64) {
      __builtin_prefetch(p + off);
    }
  }

  // Multiply-shift range reduction (Lemire): uses the hash's high bits and
  // allows any bucket count, so memory follows capacity without rounding up
  // to a power of two.
  uint32_t Home(uint32_t hash) const {
    return static_cast<uint32_t>((uint64_t{hash} * bucket_count_) >> 32);
  }
  uint32_t Next(uint32_t bucket) const {
    return bucket + 1 == bucket_count_ ? 0 : bucket + 1;
  }

  uint32_t FindFrom(const Key& key, uint32_t bucket) const {
    const Query q = MakeQuery(key);
    // The bound only matters if every count on the ring were non-zero,
    // which needs saturated counts all round; it keeps Find total.
    for (uint32_t probes = 0; probes < bucket_count_; ++probes) {
      const Bucket& b = buckets_[bucket];
      const uint32_t hit = MatchMask(b, q);
      if (hit != 0) return b.slots[__builtin_ctz(hit) / 4].value;
      if (overflow_[bucket] == 0) return kNotFound;
      bucket = Next(bucket);
    }
    return kNotFound;
  }

  void NoteChange(uint32_t hash) {
    changed_[(hash >> 6) & 3] |= uint64_t{1} << (hash & 63);
  }

  struct Position {
    uint32_t bucket;
    uint32_t slot;
    uint32_t distance;  // buckets from home
  };
  // Finds `key`; returns false if absent.
  bool Locate(const Key& key, uint32_t hash, Position* pos) const;
  // True when slot number `slot` holds `key` (its position in *pos).
  bool LocateAt(uint32_t slot, const Key& key, uint32_t hash,
                Position* pos) const {
    if (slot >= bucket_count_ * kSlotsPerBucket) return false;
    const uint32_t b = slot / kSlotsPerBucket;
    const uint32_t s = slot % kSlotsPerBucket;
    // That one slot's key and value words, not the whole bucket's.
    const Slot& at = buckets_[b].slots[s];
    if (at.value == kEmpty || std::memcmp(&at.key, &key, sizeof(Key)) != 0) {
      return false;
    }
    const uint32_t home = Home(hash);
    *pos = {b, s, b >= home ? b - home : b + bucket_count_ - home};
    return true;
  }
  [[gnu::always_inline]] inline void EraseFound(const Position& pos,
                                                uint32_t hash);
  static uint32_t FreeMask(const Bucket& bucket);
  void AddOverflow(uint32_t from, uint32_t count, int delta);
  void FillHole(uint32_t bucket, uint32_t slot);

  uint32_t capacity_;
  uint32_t bucket_count_;
  uint32_t size_ = 0;
  uint64_t changed_[4] = {};  // MayHaveChanged's filter, by hash bits
  Bucket* buckets_;        // bucket_count_ lines
  uint8_t* overflow_;      // per bucket: keys stored beyond that passed over it
  uint8_t* displacement_;  // per slot: lower bound of distance from home
  void* block_;            // one allocation holding the three arrays
  size_t block_bytes_;
  size_t block_align_;
};

extern template class BasicFlowTable<FlowKey>;
extern template class BasicFlowTable<FlowKey6>;

using FlowTable = BasicFlowTable<FlowKey>;
using FlowTable6 = BasicFlowTable<FlowKey6>;

}  // namespace synwave::flow

#endif  // SYNWAVE_FLOW_FLOW_TABLE_H_
