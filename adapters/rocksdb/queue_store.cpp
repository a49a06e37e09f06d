#include "adapters/rocksdb/queue_store.hpp"

#include <algorithm>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "adapters/rocksdb/database.hpp"
#include "core/blocking_pool.hpp"
#include "core/log.hpp"

// Layout (docs/formats/rocksdb.md):
//   queue: key = step bytes, 0x00, shard as 2 bytes BE, seq as 8 bytes BE; value = record
//   dlq:   key = seq as 8 bytes big-endian;                                 value = record
//   meta:  "queue.next_seq" = 8 bytes BE, written in every batch that enqueues;
//          "queue.layout" = "2" once rows of layout 1 (no shard) are moved.
// A step name never contains 0x00, so one step's rows are [step "\0", step "\1")
// and one partition's rows are [step "\0" shard, step "\0" shard+1).

namespace motia::rocks {

namespace {

constexpr const char* next_seq_key = "queue.next_seq";
constexpr const char* layout_key = "queue.layout";
// A commit group stops growing here: bounded latency for its first writer
// and bounded memory for the batch.
constexpr std::size_t max_group_writes = 4096;
constexpr std::size_t max_group_bytes = 8 * 1024 * 1024;

void put_be(std::string& out, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t from_be(const char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string be64(std::uint64_t v) {
  std::string out;
  put_be(out, v, 8);
  return out;
}

std::string partition_prefix(const std::string& step, std::uint16_t shard) {
  std::string k;
  k.reserve(step.size() + 3);
  k.append(step).push_back('\0');
  put_be(k, shard, 2);
  return k;
}

std::string queue_key(const std::string& step, std::uint16_t shard, std::uint64_t seq) {
  auto k = partition_prefix(step, shard);
  put_be(k, seq, 8);
  return k;
}

// The step of a queue key and what follows its 0x00.
struct parsed_key {
  std::string_view step;
  std::string_view rest;
};

std::optional<parsed_key> parse_key(rocksdb::Slice k) {
  std::string_view s(k.data(), k.size());
  auto nul = s.find('\0');
  if (nul == std::string_view::npos)
    return std::nullopt;
  return parsed_key{s.substr(0, nul), s.substr(nul + 1)};
}

std::size_t approx_bytes(const queue_write& w) {
  std::size_t n = 64 * (w.ack.size() + w.redrive.size() + w.purge.size());
  for (auto* v : {&w.enqueue, &w.update, &w.bury})
    for (auto& e : *v)
      n += 128 + e.data.bytes().size();
  return n;
}

payload read_value(const rocksdb::Slice& v) { return payload::adopt(std::string(v.data(), v.size())); }

} // namespace

queue_store::queue_store(database& db, blocking_pool& pool) : db_(db), pool_(pool) {
  rocksdb::PinnableSlice v;
  auto s = db_.db()->Get(rocksdb::ReadOptions(), db_.cf("meta"), next_seq_key, &v);
  if (s.ok() && v.size() == 8)
    next_seq_ = from_be(v.data(), 8);
  open_layout();
}

queue_store::~queue_store() {
  std::unique_lock<std::mutex> g(mtx_);
  stopping_ = true;
  idle_.wait(g, [this] { return !leading_ && submitted_.empty(); });
}

void queue_store::open_layout() {
  // Layout 1 keys were step ‖ 0x00 ‖ seq (8 bytes); layout 2 adds the shard.
  // Old rows move to shard 0 (reshard() spreads them if a step has more), and
  // every row is counted for the depth counters on the way.
  rocksdb::PinnableSlice layout;
  bool old = !db_.db()->Get(rocksdb::ReadOptions(), db_.cf("meta"), layout_key, &layout).ok();
  rocksdb::WriteBatch moves;
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(rocksdb::ReadOptions(), db_.cf("queue")));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto k = parse_key(it->key());
    if (!k)
      continue;
    std::string step(k->step);
    if (old && k->rest.size() == 8) {
      moves.Delete(db_.cf("queue"), it->key());
      moves.Put(db_.cf("queue"), queue_key(step, 0, from_be(k->rest.data(), 8)), it->value());
    } else if (k->rest.size() != 10) {
      continue;
    }
    ++depth_slot(step);
  }
  std::unique_ptr<rocksdb::Iterator> dl(db_.db()->NewIterator(rocksdb::ReadOptions(), db_.cf("dlq")));
  for (dl->SeekToFirst(); dl->Valid(); dl->Next())
    if (dl->key().size() == 8)
      ++dead_;
  if (!old)
    return;
  moves.Put(db_.cf("meta"), layout_key, "2");
  auto s = db_.db()->Write(db_.write_options(), &moves);
  if (!s.ok())
    log::error("could not move queue rows to the current layout; they are read as they are",
               {{"error", s.ToString()}});
}

std::atomic<std::int64_t>& queue_store::depth_slot(const std::string& step) {
  std::lock_guard<std::mutex> g(depth_mtx_);
  auto& slot = depth_[step];
  if (!slot)
    slot = std::make_unique<std::atomic<std::int64_t>>(0);
  return *slot;
}

std::int64_t queue_store::depth(const std::string& step) const {
  std::lock_guard<std::mutex> g(depth_mtx_);
  auto it = depth_.find(step);
  return it == depth_.end() ? 0 : it->second->load();
}

std::map<std::string, std::int64_t> queue_store::depths() const {
  std::map<std::string, std::int64_t> out;
  std::lock_guard<std::mutex> g(depth_mtx_);
  for (auto& [step, n] : depth_)
    if (auto v = n->load(); v > 0)
      out.emplace(step, v);
  return out;
}

void queue_store::submit(queue_write w) {
  bool lead_now = false, refused = false;
  {
    std::lock_guard<std::mutex> g(mtx_);
    if (stopping_) {
      refused = true;
    } else {
      submitted_.push_back(std::move(w));
      lead_now = !leading_;
      leading_ = true;
    }
  }
  if (refused) {
    std::vector<queued_event> none;
    if (w.done)
      w.done(none, make_error(errc::unavailable, "the event queue is shut down"));
    return;
  }
  // Posted outside the lock: an inline pool (tests) leads right here.
  if (lead_now)
    pool_.post([this] { lead(); });
}

void queue_store::lead() {
  std::vector<queue_write> group;
  for (;;) {
    {
      std::lock_guard<std::mutex> g(mtx_);
      if (submitted_.empty()) {
        leading_ = false;
        idle_.notify_all();
        return;
      }
      std::size_t n = 0, bytes = 0;
      while (n < submitted_.size() && n < max_group_writes && bytes < max_group_bytes)
        bytes += approx_bytes(submitted_[n++]);
      if (n == submitted_.size()) {
        group.swap(submitted_);
      } else {
        group.assign(std::make_move_iterator(submitted_.begin()),
                     std::make_move_iterator(submitted_.begin() + static_cast<std::ptrdiff_t>(n)));
        submitted_.erase(submitted_.begin(), submitted_.begin() + static_cast<std::ptrdiff_t>(n));
      }
    }
    commit(group);
    group.clear();
  }
}

void queue_store::commit(std::vector<queue_write>& group) {
  auto* q = db_.cf("queue");
  auto* dlq = db_.cf("dlq");
  rocksdb::WriteBatch wb;
  bool sync = false;
  error err;
  const auto first_seq = next_seq_;
  std::vector<std::vector<queued_event>> enqueued(group.size());
  std::map<std::string, std::int64_t> depth_delta;
  std::int64_t dead_delta = 0;
  const auto now = unix_ms_now();
  for (std::size_t i = 0; i < group.size() && !err; ++i) {
    auto& w = group[i];
    sync = sync || w.must_sync;
    for (auto& e : w.enqueue) {
      e.seq = next_seq_++;
      if (e.enqueued_at_ms == 0)
        e.enqueued_at_ms = now;
      wb.Put(q, queue_key(e.step, e.shard, e.seq), encode_queued_event(e));
      ++depth_delta[e.step];
    }
    for (auto& k : w.ack) {
      wb.Delete(q, queue_key(k.step, k.shard, k.seq));
      --depth_delta[k.step];
    }
    for (auto& e : w.update)
      wb.Put(q, queue_key(e.step, e.shard, e.seq), encode_queued_event(e));
    for (auto& e : w.bury) {
      wb.Delete(q, queue_key(e.step, e.shard, e.seq));
      wb.Put(dlq, be64(e.seq), encode_queued_event(e));
      --depth_delta[e.step];
      ++dead_delta;
    }
    enqueued[i] = std::move(w.enqueue);
    for (auto id : w.redrive) {
      rocksdb::PinnableSlice v;
      auto s = db_.db()->Get(rocksdb::ReadOptions(), dlq, be64(id), &v);
      if (s.IsNotFound())
        continue; // redriven or purged by someone else first
      queued_event e;
      std::string why;
      if (!s.ok() || !decode_queued_event(read_value(v), e, why)) {
        err = make_error(errc::storage_error, s.ok() ? why : s.ToString());
        break;
      }
      wb.Delete(dlq, be64(id));
      --dead_delta;
      e.seq = next_seq_++;
      e.attempts = 0;
      e.retry_at_ms = 0;
      e.failed_at_ms = 0;
      e.last_error.clear();
      e.enqueued_at_ms = now;
      e.shard = shard_of(e.step, e.message_group_id.empty() ? e.message_id : e.message_group_id,
                         shards_ ? shards_(e.step) : 1);
      wb.Put(q, queue_key(e.step, e.shard, e.seq), encode_queued_event(e));
      ++depth_delta[e.step];
      enqueued[i].push_back(std::move(e));
    }
    for (auto id : w.purge) {
      rocksdb::PinnableSlice v;
      if (db_.db()->Get(rocksdb::ReadOptions(), dlq, be64(id), &v).ok()) {
        wb.Delete(dlq, be64(id));
        --dead_delta;
      }
    }
  }
  if (!err) {
    if (next_seq_ != first_seq)
      wb.Put(db_.cf("meta"), next_seq_key, be64(next_seq_));
    auto opts = db_.write_options();
    opts.sync = opts.sync && sync;
    // An empty batch that must sync is a barrier: it makes earlier unsynced
    // writes (state) durable before its callers acknowledge anything.
    auto s = wb.Count() > 0 ? db_.db()->Write(opts, &wb)
                            : (opts.sync ? db_.db()->SyncWAL() : rocksdb::Status::OK());
    if (!s.ok())
      err = make_error(errc::storage_error, "queue write failed: " + s.ToString());
  }
  ++batches_;
  if (err) {
    next_seq_ = first_seq;
    log::error("event queue write failed; the callers are told", {{"error", describe(err)}});
    for (auto& e : enqueued)
      e.clear();
  } else {
    for (auto& [step, d] : depth_delta)
      if (d != 0)
        depth_slot(step) += d;
    dead_ += dead_delta;
    if (listener_) {
      // One message per partition: a group may hold thousands of rows.
      std::map<std::pair<std::string, std::uint16_t>, std::vector<queued_event>> by_partition;
      for (auto& rows : enqueued)
        for (auto& e : rows)
          by_partition[{e.step, e.shard}].push_back(e);
      for (auto& [key, rows] : by_partition)
        listener_(std::move(rows));
    }
  }
  for (std::size_t i = 0; i < group.size(); ++i)
    if (group[i].done)
      group[i].done(enqueued[i], err);
}

std::vector<queued_event> queue_store::pending(const std::string& step, std::uint16_t shard,
                                               std::uint64_t after, std::size_t limit) {
  std::vector<queued_event> out;
  const auto prefix = partition_prefix(step, shard);
  std::string upper_bytes = partition_prefix(step, static_cast<std::uint16_t>(shard + 1));
  if (shard == 0xffff)
    upper_bytes = step + '\1';
  const rocksdb::Slice upper(upper_bytes);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(ro, db_.cf("queue")));
  for (it->Seek(queue_key(step, shard, after + 1)); it->Valid() && out.size() < limit; it->Next()) {
    auto k = it->key();
    if (k.size() != prefix.size() + 8)
      continue;
    queued_event e;
    std::string why;
    if (!decode_queued_event(read_value(it->value()), e, why)) {
      log::error("skipping an unreadable queue record", {{"step", step}, {"error", why}});
      continue;
    }
    e.shard = shard;
    e.seq = from_be(k.data() + prefix.size(), 8);
    out.push_back(std::move(e));
  }
  return out;
}

void queue_store::reshard(const std::string& step, std::uint16_t shards) {
  const std::string lower = step + '\0', upper_bytes = step + '\1';
  const rocksdb::Slice upper(upper_bytes);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  rocksdb::WriteBatch wb;
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(ro, db_.cf("queue")));
  for (it->Seek(lower); it->Valid(); it->Next()) {
    auto k = parse_key(it->key());
    if (!k || k->rest.size() != 10)
      continue;
    auto shard = static_cast<std::uint16_t>(from_be(k->rest.data(), 2));
    queued_event e;
    std::string why;
    if (!decode_queued_event(read_value(it->value()), e, why))
      continue;
    auto want = shard_of(step, e.message_group_id.empty() ? e.message_id : e.message_group_id,
                         std::max<std::uint16_t>(shards, 1));
    if (want == shard)
      continue;
    wb.Delete(db_.cf("queue"), it->key());
    wb.Put(db_.cf("queue"), queue_key(step, want, from_be(k->rest.data() + 2, 8)), it->value());
  }
  if (wb.Count() == 0)
    return;
  auto s = db_.db()->Write(db_.write_options(), &wb);
  if (!s.ok())
    log::error("could not move queue rows to their shards", {{"step", step}, {"error", s.ToString()}});
}

std::vector<queued_event> queue_store::dead_letters(const std::string& step, std::uint64_t after,
                                                    std::size_t limit) {
  std::vector<queued_event> out;
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(rocksdb::ReadOptions(), db_.cf("dlq")));
  for (it->Seek(be64(after + 1)); it->Valid() && out.size() < limit; it->Next()) {
    if (it->key().size() != 8)
      continue;
    queued_event e;
    std::string why;
    if (!decode_queued_event(read_value(it->value()), e, why))
      continue;
    if (!step.empty() && e.step != step)
      continue;
    e.seq = from_be(it->key().data(), 8);
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
  if (!decode_queued_event(read_value(v), e, why))
    return std::nullopt;
  e.seq = id;
  return e;
}

} // namespace motia::rocks
