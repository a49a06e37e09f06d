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

#include "core/queue.hpp"

namespace motia {
class blocking_pool;
}

namespace motia::rocks {

class database;

using motia::queue_write;
using motia::row_key;

/// The queue in column families `queue` and `dlq` of one RocksDB database.
/// Thread-safety: submit(), the counters and the listener from any thread;
/// the reads block on RocksDB and belong on storage threads. Commits are
/// applied in submission order; `done` callbacks of one commit group run one
/// after another, groups in commit (= seq) order.
class queue_store final : public motia::queue_store {
public:
  /// Opens the queue of `db`; commit leaders and reads run on `pool`. Rows
  /// written by an older layout are moved to the current one, and the
  /// per-step depth and dead-letter counters are counted once here.
  queue_store(database& db, blocking_pool& pool);
  /// Waits for every submitted write to be committed and its callback run.
  ~queue_store() override;

  void set_listener(rows_listener l) override { listener_ = std::move(l); }
  void set_shards(shards_of f) override { shards_ = std::move(f); }
  /// After the destructor started, `done` is called at once with errc::unavailable.
  void submit(queue_write w) override;
  std::vector<queued_event> pending(const std::string& step, std::uint16_t shard, std::uint64_t after,
                                    std::size_t limit) override;
  void reshard(const std::string& step, std::uint16_t shards) override;
  std::int64_t depth(const std::string& step) const override;
  std::map<std::string, std::int64_t> depths() const override;
  std::int64_t dead_letter_count() const override { return dead_.load(); }
  std::vector<queued_event> dead_letters(const std::string& step, std::uint64_t after,
                                         std::size_t limit) override;
  std::optional<queued_event> dead_letter(std::uint64_t id) override;
  std::uint64_t batches() const override { return batches_.load(); }

private:
  void lead();
  void commit(std::vector<queue_write>& group);
  void open_layout();
  std::atomic<std::int64_t>& depth_slot(const std::string& step);

  database& db_;
  blocking_pool& pool_;
  rows_listener listener_;
  shards_of shards_;
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
