#pragma once

// The durable event queue and dead-letter store of one node, in column
// families `queue` and `dlq` (docs/formats/rocksdb.md). Every change goes
// through one writer thread that commits whatever has arrived since its last
// write as one WriteBatch (group commit), so many emits share one WAL write
// (and one fsync in strict mode).

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/delivery.hpp"

namespace motia::rocks {

class database;

/// One atomic change to the queue. The parts are applied in this order, all
/// in one batch.
struct queue_write {
  /// New pending deliveries; the writer assigns their `seq`.
  std::vector<queued_event> enqueue;
  /// Deliveries that succeeded: removed from `queue` by (step, seq).
  std::vector<std::pair<std::string, std::uint64_t>> ack;
  /// Pending deliveries rewritten in place (attempts, retry time, last error).
  std::vector<queued_event> update;
  /// Deliveries moved from `queue` to `dlq` (with error and failed_at set).
  std::vector<queued_event> bury;
  /// Dead letters moved back to `queue` as new deliveries (new seq, attempts
  /// reset); they are appended to the enqueued list passed to `done`.
  std::vector<std::uint64_t> redrive;
  /// Dead letters removed.
  std::vector<std::uint64_t> purge;
  /// In strict mode, whether the WAL is fsynced before `done` runs (it
  /// covers every earlier write too, state included). False only when losing
  /// this write in a power cut is harmless.
  bool must_sync = true;
  /// Called on the writer thread once the batch is in the WAL (error empty) or
  /// failed (nothing of it written). `enqueued` holds the new deliveries with
  /// their seq, in seq order.
  std::function<void(std::vector<queued_event>& enqueued, const std::string& error)> done;
};

/// Thread-safety: submit() and the reads from any thread. `done` callbacks
/// run on the writer thread, one batch after another, in commit (= seq) order.
class queue_store {
public:
  explicit queue_store(database& db);
  /// Commits what was submitted, runs its callbacks, then stops the writer.
  ~queue_store();
  queue_store(const queue_store&) = delete;
  queue_store& operator=(const queue_store&) = delete;

  /// Queues `w` for the next batch. After the destructor started, `done` is
  /// called at once with an error.
  void submit(queue_write w);

  /// Up to `limit` pending deliveries of `step` with seq > `after`, in seq order.
  std::vector<queued_event> pending(const std::string& step, std::uint64_t after,
                                    std::size_t limit);
  /// How many deliveries are pending in all (a scan; for admin and tests).
  std::size_t pending_count();
  /// How many dead letters there are (a scan of keys, values not decoded).
  std::size_t dead_letter_count();

  /// Dead letters, oldest first, of `step` (all steps when empty), at most `limit`.
  std::vector<queued_event> dead_letters(const std::string& step, std::size_t limit);
  std::optional<queued_event> dead_letter(std::uint64_t id);

  /// Batches written and items committed since start (for tests and metrics).
  std::uint64_t batches() const;

private:
  void run();
  std::size_t count_rows(const char* cf);
  void commit(std::vector<queue_write>& batch);

  database& db_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<queue_write> pending_;
  bool stopping_ = false;
  std::uint64_t next_seq_ = 1; ///< writer thread only
  std::uint64_t batches_ = 0;
  std::thread writer_;
};

} // namespace motia::rocks
