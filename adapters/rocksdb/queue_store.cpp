#include "adapters/rocksdb/queue_store.hpp"

#include <cstring>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "adapters/rocksdb/database.hpp"
#include "core/log.hpp"

// Layout (docs/formats/rocksdb.md):
//   queue: key = step bytes, 0x00, seq as 8 bytes big-endian; value = record
//   dlq:   key = seq as 8 bytes big-endian;                   value = record
//   meta:  "queue.next_seq" = 8 bytes big-endian, written in every batch
// A step name never contains 0x00, so one step's rows are [step "\0", step "\1").

namespace motia::rocks {

namespace {

constexpr const char* next_seq_key = "queue.next_seq";

std::string be64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8)
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
  return out;
}

std::uint64_t from_be64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string queue_key(const std::string& step, std::uint64_t seq) {
  std::string k;
  k.reserve(step.size() + 9);
  k.append(step).push_back('\0');
  k.append(be64(seq));
  return k;
}

} // namespace

queue_store::queue_store(database& db) : db_(db) {
  rocksdb::PinnableSlice v;
  auto s = db_.db()->Get(rocksdb::ReadOptions(), db_.cf("meta"), next_seq_key, &v);
  if (s.ok() && v.size() == 8)
    next_seq_ = from_be64(v.data());
  writer_ = std::thread([this] { run(); });
}

queue_store::~queue_store() {
  {
    std::lock_guard<std::mutex> g(mtx_);
    stopping_ = true;
  }
  cv_.notify_all();
  writer_.join();
}

void queue_store::submit(queue_write w) {
  {
    std::lock_guard<std::mutex> g(mtx_);
    if (!stopping_) {
      pending_.push_back(std::move(w));
      if (pending_.size() == 1)
        cv_.notify_one();
      return;
    }
  }
  std::vector<queued_event> none;
  if (w.done)
    w.done(none, "the event queue is shut down");
}

std::uint64_t queue_store::batches() const {
  std::lock_guard<std::mutex> g(mtx_);
  return batches_;
}

void queue_store::run() {
  std::vector<queue_write> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> g(mtx_);
      cv_.wait(g, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty())
        return; // stopping, and everything submitted was committed
      batch.swap(pending_);
    }
    commit(batch);
    batch.clear();
  }
}

void queue_store::commit(std::vector<queue_write>& batch) {
  auto* q = db_.cf("queue");
  auto* dlq = db_.cf("dlq");
  rocksdb::WriteBatch wb;
  bool sync = false;
  std::string error;
  const auto first_seq = next_seq_;
  std::vector<std::vector<queued_event>> enqueued(batch.size());
  const auto now = unix_ms_now();
  for (std::size_t i = 0; i < batch.size() && error.empty(); ++i) {
    auto& w = batch[i];
    sync = sync || w.must_sync;
    for (auto& e : w.enqueue) {
      e.seq = next_seq_++;
      if (e.enqueued_at_ms == 0)
        e.enqueued_at_ms = now;
      wb.Put(q, queue_key(e.step, e.seq), encode_queued_event(e));
    }
    for (auto& [step, seq] : w.ack)
      wb.Delete(q, queue_key(step, seq));
    for (auto& e : w.update)
      wb.Put(q, queue_key(e.step, e.seq), encode_queued_event(e));
    for (auto& e : w.bury) {
      wb.Delete(q, queue_key(e.step, e.seq));
      wb.Put(dlq, be64(e.seq), encode_queued_event(e));
    }
    enqueued[i] = std::move(w.enqueue);
    for (auto id : w.redrive) {
      rocksdb::PinnableSlice v;
      auto s = db_.db()->Get(rocksdb::ReadOptions(), dlq, be64(id), &v);
      if (s.IsNotFound())
        continue; // redriven or purged by someone else first
      queued_event e;
      std::string why;
      if (!s.ok() || !decode_queued_event(v.ToString(), e, why)) {
        error = s.ok() ? why : s.ToString();
        break;
      }
      wb.Delete(dlq, be64(id));
      e.seq = next_seq_++;
      e.attempts = 0;
      e.retry_at_ms = 0;
      e.failed_at_ms = 0;
      e.enqueued_at_ms = now;
      wb.Put(q, queue_key(e.step, e.seq), encode_queued_event(e));
      enqueued[i].push_back(std::move(e));
    }
    for (auto id : w.purge)
      wb.Delete(dlq, be64(id));
  }
  if (error.empty()) {
    if (next_seq_ != first_seq)
      wb.Put(db_.cf("meta"), next_seq_key, be64(next_seq_));
    auto opts = db_.write_options();
    opts.sync = opts.sync && sync;
    // An empty batch that must sync is a barrier: it makes earlier unsynced
    // writes (state) durable before its callers acknowledge anything.
    auto s = wb.Count() > 0 ? db_.db()->Write(opts, &wb)
                            : (opts.sync ? db_.db()->SyncWAL() : rocksdb::Status::OK());
    if (!s.ok())
      error = "queue write failed: " + s.ToString();
  }
  if (!error.empty()) {
    next_seq_ = first_seq;
    log::error("event queue write failed; the callers are told", {{"error", error}});
  }
  {
    std::lock_guard<std::mutex> g(mtx_);
    ++batches_;
  }
  for (std::size_t i = 0; i < batch.size(); ++i)
    if (batch[i].done) {
      if (!error.empty())
        enqueued[i].clear();
      batch[i].done(enqueued[i], error);
    }
}

std::vector<queued_event> queue_store::pending(const std::string& step, std::uint64_t after,
                                               std::size_t limit) {
  std::vector<queued_event> out;
  const std::string upper_bytes = step + '\1';
  const rocksdb::Slice upper(upper_bytes);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(ro, db_.cf("queue")));
  for (it->Seek(queue_key(step, after + 1)); it->Valid() && out.size() < limit; it->Next()) {
    auto k = it->key();
    if (k.size() != step.size() + 9)
      continue;
    queued_event e;
    std::string why;
    if (!decode_queued_event(std::string_view(it->value().data(), it->value().size()), e, why)) {
      log::error("skipping an unreadable queue record", {{"step", step}, {"error", why}});
      continue;
    }
    e.seq = from_be64(k.data() + step.size() + 1);
    out.push_back(std::move(e));
  }
  return out;
}

std::size_t queue_store::count_rows(const char* cf) {
  std::size_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(rocksdb::ReadOptions(), db_.cf(cf)));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    ++n;
  return n;
}

std::size_t queue_store::pending_count() { return count_rows("queue"); }

std::size_t queue_store::dead_letter_count() { return count_rows("dlq"); }

std::vector<queued_event> queue_store::dead_letters(const std::string& step, std::size_t limit) {
  std::vector<queued_event> out;
  std::unique_ptr<rocksdb::Iterator> it(
    db_.db()->NewIterator(rocksdb::ReadOptions(), db_.cf("dlq")));
  for (it->SeekToFirst(); it->Valid() && out.size() < limit; it->Next()) {
    if (it->key().size() != 8)
      continue;
    queued_event e;
    std::string why;
    if (!decode_queued_event(std::string_view(it->value().data(), it->value().size()), e, why))
      continue;
    if (!step.empty() && e.step != step)
      continue;
    e.seq = from_be64(it->key().data());
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<queued_event> queue_store::dead_letter(std::uint64_t id) {
  rocksdb::PinnableSlice v;
  auto s = db_.db()->Get(rocksdb::ReadOptions(), db_.cf("dlq"), be64(id), &v);
  if (!s.ok())
    return std::nullopt;
  queued_event e;
  std::string why;
  if (!decode_queued_event(std::string_view(v.data(), v.size()), e, why))
    return std::nullopt;
  e.seq = id;
  return e;
}

} // namespace motia::rocks
