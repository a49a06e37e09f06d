#pragma once

// The durable event queue as the actors see it: rows of partitions (step,
// shard), group-committed writes, dead letters, and counters kept as rows are
// committed. One implementation per store: adapters/rocksdb (one node,
// embedded) and, for a cluster, a PostgreSQL one with fenced partition writes.
// docs/adr/0004-queue-partitions-own-their-rows.md says why it is shaped so.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/delivery.hpp"
#include "core/error.hpp"

namespace motia {

/// Where a pending delivery lives.
struct row_key {
  std::string step;
  std::uint16_t shard = 0;
  std::uint64_t seq = 0;
};

/// One atomic change to the queue. The parts are applied in this order, all
/// in one batch.
struct queue_write {
  /// New pending deliveries (step and shard set); the writer assigns `seq`.
  std::vector<queued_event> enqueue;
  /// Deliveries that succeeded: removed from `queue`.
  std::vector<row_key> ack;
  /// Pending deliveries rewritten in place (attempts, retry time, last error).
  std::vector<queued_event> update;
  /// Deliveries moved from `queue` to `dlq` (with error and failed_at set).
  std::vector<queued_event> bury;
  /// Dead letters moved back to `queue` as new deliveries (new seq, attempts
  /// reset, shard recomputed); they are appended to the enqueued list.
  std::vector<std::uint64_t> redrive;
  /// Dead letters removed.
  std::vector<std::uint64_t> purge;
  /// In strict mode, whether the WAL is fsynced before `done` runs (it
  /// covers every earlier write too, state included). False only when losing
  /// this write in a power cut is harmless.
  bool must_sync = true;
  /// Called on a storage thread once the batch is in the WAL (`err` empty) or
  /// failed (nothing of it written). `enqueued` holds the new deliveries with
  /// their seq, in seq order. Keep it short: send a message, post a reply.
  std::function<void(std::vector<queued_event>& enqueued, const error& err)> done;
};

/// The queue of one runtime.
///
/// Thread-safety: every member may be called from any thread. Reads marked
/// "blocking" wait on storage and belong on storage threads (blocking_pool),
/// never on actor or io threads. Writes are applied in submission order.
class queue_store {
public:
  /// Gets the deliveries one commit made pending, one call per partition
  /// (same step and shard), in seq order, after they are durable and before
  /// the `done` callbacks of that commit run.
  using rows_listener = std::function<void(std::vector<queued_event>&& rows)>;
  using shards_of = std::function<std::uint16_t(const std::string& step)>;

  queue_store() = default;
  queue_store(const queue_store&) = delete;
  queue_store& operator=(const queue_store&) = delete;
  virtual ~queue_store() = default;

  /// REQUIRES: before the first submit.
  virtual void set_listener(rows_listener l) = 0;
  /// How many shards each step has (redriven rows are placed by it; 1 when
  /// unset). REQUIRES: before the first submit.
  virtual void set_shards(shards_of f) = 0;

  /// Queues `w` for the next commit; `w.done` runs once it is durable or
  /// failed (nothing of it written). Never blocks the caller.
  virtual void submit(queue_write w) = 0;

  /// Up to `limit` pending deliveries of partition (step, shard) with seq >
  /// `after`, in seq order. Blocking.
  virtual std::vector<queued_event> pending(const std::string& step, std::uint16_t shard, std::uint64_t after,
                                            std::size_t limit) = 0;
  /// Moves every pending row of `step` to its shard for `shards` partitions.
  /// Blocking. REQUIRES: before the step's partitions start.
  virtual void reshard(const std::string& step, std::uint16_t shards) = 0;

  /// Pending deliveries of `step` (a counter, never a scan).
  virtual std::int64_t depth(const std::string& step) const = 0;
  /// Every step with pending deliveries, and how many.
  virtual std::map<std::string, std::int64_t> depths() const = 0;
  /// Dead letters in all (a counter).
  virtual std::int64_t dead_letter_count() const = 0;

  /// Dead letters of `step` (all steps when empty) with id > `after`, oldest
  /// first, at most `limit`. Blocking.
  virtual std::vector<queued_event> dead_letters(const std::string& step, std::uint64_t after,
                                                 std::size_t limit) = 0;
  /// One dead letter. Blocking.
  virtual std::optional<queued_event> dead_letter(std::uint64_t id) = 0;

  /// Commits written since start (for tests and metrics).
  virtual std::uint64_t batches() const = 0;
};

} // namespace motia
