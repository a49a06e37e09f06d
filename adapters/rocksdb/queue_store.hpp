#pragma once

// The durable event queue and dead-letter store of one node, in column
// families `queue` and `dlq` (docs/formats/rocksdb.md). Rows are grouped in
// partitions, one per (step, shard): a partition's rows are one key range, and
// the partition actor that owns them is the only reader.
//
// Writes are group-committed: whoever submits while no commit is running
// makes a storage thread the leader, and the leader writes everything
// submitted meanwhile as one WriteBatch (up to a cap), so many emits share one
// WAL write, and one fsync in strict mode. Nothing runs on the caller's
// thread, so actors can submit without blocking.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/delivery.hpp"
#include "core/error.hpp"

namespace motia {
class blocking_pool;
}

namespace motia::rocks {

class database;

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

/// Thread-safety: submit(), the counters and the listener from any thread;
/// the reads block on RocksDB and belong on storage threads. Commits are
/// applied in submission order; `done` callbacks of one commit group run one
/// after another, groups in commit (= seq) order.
class queue_store {
public:
  /// Gets the deliveries one commit group made pending, one call per
  /// partition (same step and shard), in seq order, after the group is durable
  /// and before its `done` callbacks run.
  using rows_listener = std::function<void(std::vector<queued_event>&& rows)>;

  /// Opens the queue of `db`; commit leaders and reads run on `pool`. Rows
  /// written by an older layout are moved to the current one, and the
  /// per-step depth and dead-letter counters are counted once here.
  queue_store(database& db, blocking_pool& pool);
  /// Waits for every submitted write to be committed and its callback run.
  ~queue_store();
  queue_store(const queue_store&) = delete;
  queue_store& operator=(const queue_store&) = delete;

  /// REQUIRES: before the first submit.
  void set_listener(rows_listener l) { listener_ = std::move(l); }
  /// How many shards each step has (redriven rows are placed by it; 1 when
  /// unset). Called on storage threads. REQUIRES: before the first submit.
  void set_shards(std::function<std::uint16_t(const std::string& step)> f) { shards_ = std::move(f); }

  /// Queues `w` for the next commit group. After the destructor started,
  /// `done` is called at once with errc::unavailable.
  void submit(queue_write w);

  /// Up to `limit` pending deliveries of partition (step, shard) with seq >
  /// `after`, in seq order. Blocking.
  std::vector<queued_event> pending(const std::string& step, std::uint16_t shard,
                                    std::uint64_t after, std::size_t limit);

  /// Moves every pending row of `step` whose shard is not its shard for
  /// `shards` partitions (the count changed since they were written). Blocking;
  /// REQUIRES: before the step's partitions start.
  void reshard(const std::string& step, std::uint16_t shards);

  /// Pending deliveries of `step` (kept as rows are committed, never scanned).
  std::int64_t depth(const std::string& step) const;
  /// Every step with pending deliveries, and how many.
  std::map<std::string, std::int64_t> depths() const;
  /// Dead letters in all (a counter).
  std::int64_t dead_letter_count() const { return dead_.load(); }

  /// Dead letters of `step` (all steps when empty) with id > `after`, oldest
  /// first, at most `limit`. Blocking.
  std::vector<queued_event> dead_letters(const std::string& step, std::uint64_t after,
                                         std::size_t limit);
  /// One dead letter. Blocking.
  std::optional<queued_event> dead_letter(std::uint64_t id);

  /// Commit groups written since start (for tests and metrics).
  std::uint64_t batches() const { return batches_.load(); }

private:
  void lead();
  void commit(std::vector<queue_write>& group);
  void open_layout();
  std::atomic<std::int64_t>& depth_slot(const std::string& step);

  database& db_;
  blocking_pool& pool_;
  rows_listener listener_;
  std::function<std::uint16_t(const std::string&)> shards_;
  std::mutex mtx_;
  std::condition_variable idle_;
  std::vector<queue_write> submitted_;
  bool leading_ = false;  ///< a leader runs or is posted
  bool stopping_ = false;
  std::uint64_t next_seq_ = 1; ///< the leader's
  std::atomic<std::uint64_t> batches_{0};
  mutable std::mutex depth_mtx_;
  std::map<std::string, std::unique_ptr<std::atomic<std::int64_t>>> depth_;
  std::atomic<std::int64_t> dead_{0};
};

} // namespace motia::rocks
