#pragma once

// Deliveries of emitted events: the record the durable queue keeps for each
// (event, subscribing step), and the per-step scheduling rules (concurrency,
// FIFO message groups, retry backoff). No CAF, no RocksDB: unit-tested alone.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/step_config.hpp"
#include "motia/json.hpp"
#include "motia/payload.hpp"

namespace motia {

/// One delivery of an event to one step: a row of the `queue` column family
/// while pending, of `dlq` once dead-lettered (docs/formats/rocksdb.md).
struct queued_event {
  std::uint64_t seq = 0;  ///< unique per node, increasing in commit order
  std::string step;       ///< the subscribing step
  std::uint16_t shard = 0; ///< its partition of the step (shard_of)
  std::string topic;
  payload data;
  std::string trace_id;
  std::string message_group_id;
  std::string message_id; ///< the emit's id; the same for every subscriber
  unsigned attempts = 0;  ///< failed attempts so far (the next one is attempts + 1)
  std::int64_t enqueued_at_ms = 0; ///< unix ms of the emit
  std::int64_t retry_at_ms = 0;    ///< unix ms before which it must not run again
  std::string last_error;
  std::int64_t failed_at_ms = 0;   ///< unix ms it was dead-lettered (dlq only)
};

/// The record as stored (msgpack map, version 1; `data` is spliced in as it is).
std::string encode_queued_event(const queued_event& e);
/// Parses a stored record without building a tree; `data` becomes a slice of
/// `bytes`. `seq` and `shard` are not part of the value (they are in the key).
/// Returns false and sets `err` when the bytes are not a version-1 record.
bool decode_queued_event(const payload& bytes, queued_event& out, std::string& err);

/// The partition of `step` that a delivery belongs to: FIFO deliveries by
/// their message group, others by their message id, spread over `shards`.
/// Stable across runs and nodes (FNV-1a), so a group always lands in one shard.
std::uint16_t shard_of(std::string_view step, std::string_view group_or_message_id,
                       std::uint16_t shards);

/// The record as the admin API and CLI show it.
json to_json(const queued_event& e);

/// A dead-letter id as the admin API and CLI take it (the seq in decimal);
/// nullopt for anything else.
std::optional<std::uint64_t> parse_dead_letter_id(std::string_view text);

/// Milliseconds since the unix epoch, now.
std::int64_t unix_ms_now();

/// Delay before retry number `failed` (1 = after the first failed attempt):
/// backoffDelayMs doubled per retry with +-20 % jitter and a 1 h cap when
/// `exponential`, else fixed. `unit_random` in [0, 1].
std::chrono::milliseconds retry_delay(const queue_settings& q, unsigned failed,
                                      double unit_random);

/// Which of a step's held deliveries runs next. Standard queues run in arrival
/// order up to `concurrency` at once. FIFO queues run one delivery per message
/// group at a time, in arrival order within the group, while different groups
/// run in parallel up to `concurrency`; a delivery waiting for its retry keeps
/// its group blocked, so order within a group survives failures.
/// Retries ready to run go before new deliveries.
///
/// Thread-safety: none; owned by one step actor.
class delivery_scheduler {
public:
  delivery_scheduler(unsigned concurrency, bool fifo);

  /// A new delivery is ready to run.
  void push(std::uint64_t seq, const std::string& group);
  /// The next delivery to start, now counted as running; nullopt when none may
  /// start (nothing ready, the concurrency limit is reached, or every ready
  /// delivery's group is busy).
  std::optional<std::uint64_t> next();
  /// A running delivery is over for good (succeeded or dead-lettered).
  void finished(const std::string& group);
  /// A running delivery failed and waits for its retry: its slot is freed, its
  /// FIFO group stays blocked.
  void retry_wait(const std::string& group);
  /// A delivery's retry is due: it runs before new deliveries. Under FIFO its
  /// group must be busy already (retry_wait, or claim for a delivery loaded
  /// from the store with a retry still pending).
  void retry_ready(std::uint64_t seq);
  /// Marks a FIFO group busy without running anything (no-op for standard).
  void claim(const std::string& group);

  unsigned running() const { return running_; }
  /// Deliveries waiting to start.
  std::size_t ready() const { return waiting_; }

private:
  unsigned concurrency_;
  bool fifo_;
  unsigned running_ = 0;
  std::size_t waiting_ = 0;
  std::deque<std::uint64_t> retries_; ///< due retries, first
  std::deque<std::uint64_t> ready_;   ///< standard: arrival order
  // fifo
  std::unordered_map<std::string, std::deque<std::uint64_t>> groups_;
  std::deque<std::string> ready_groups_; ///< groups with a waiting head, not busy
  std::unordered_set<std::string> busy_;
};

} // namespace motia
