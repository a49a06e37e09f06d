#include "adapters/rocksdb/database.hpp"

#include <array>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/write_batch.h>

#include "core/state_update.hpp"
#include "motia/state_store.hpp"

// Layout of column family `state` (docs/formats/rocksdb.md):
//   key   = group bytes, 0x00, key bytes
//   value = the JSON value as msgpack
// A group name never contains 0x00, so the first 0x00 ends the group and all
// keys of group g lie in [g "\0", g "\1"): no other group shares that range,
// not even one whose name starts with g.

namespace motia::rocks {

namespace {

std::string row_key(const std::string& group, const std::string& key) {
  std::string k;
  k.reserve(group.size() + 1 + key.size());
  k.append(group).push_back('\0');
  k.append(key);
  return k;
}

json decode_value(const rocksdb::Slice& s) {
  try {
    return json::from_msgpack(s.data(), s.data() + s.size());
  } catch (const json::exception& e) {
    throw store_error(std::string("corrupt state value: ") + e.what());
  }
}

void check(const rocksdb::Status& s, const char* what) {
  if (!s.ok())
    throw store_error(std::string("state ") + what + " failed: " + s.ToString());
}

void check_group(const std::string& group) {
  if (group.find('\0') != std::string::npos)
    throw store_error("state group names must not contain NUL");
}

// Thread-safety: a read-modify-write (set, del) holds the stripe mutex of its
// key, so writes to one key serialize while other keys proceed in parallel.
// clear() holds every stripe so its count and its deletes agree. Reads take
// no lock: RocksDB reads are consistent on their own.
class rocks_state_store final : public state_store {
public:
  // State writes are never fsynced one by one, in either mode: in strict mode
  // the runtime syncs the WAL (group-committed) before it acknowledges
  // anything that depends on them (docs/formats/rocksdb.md, "Durability").
  explicit rocks_state_store(database& db) : db_(db), raw_(db.db()), cf_(db.cf("state")) {
    wo_.sync = false;
  }

  std::optional<json> get(const std::string& group, const std::string& key) override {
    check_group(group);
    return read(row_key(group, key));
  }

  state_change set(const std::string& group, const std::string& key,
                   const json& value) override {
    check_group(group);
    const std::string k = row_key(group, key);
    std::string bytes;
    json::to_msgpack(value, bytes);
    std::lock_guard<std::mutex> guard(stripe(k));
    auto old = read(k);
    check(raw_->Put(wo_, cf_, k, bytes), "put");
    return {old ? std::move(*old) : json(), value};
  }

  state_change update(const std::string& group, const std::string& key,
                      const json& ops) override {
    check_group(group);
    const std::string k = row_key(group, key);
    std::lock_guard<std::mutex> guard(stripe(k));
    auto old = read(k);
    json next = old ? *old : json();
    std::string err;
    if (!apply_update_ops(next, ops, err))
      throw std::invalid_argument(err);
    std::string bytes;
    json::to_msgpack(next, bytes);
    check(raw_->Put(wo_, cf_, k, bytes), "put");
    return {old ? std::move(*old) : json(), std::move(next)};
  }

  std::optional<json> del(const std::string& group, const std::string& key) override {
    check_group(group);
    const std::string k = row_key(group, key);
    std::lock_guard<std::mutex> guard(stripe(k));
    auto old = read(k);
    if (old)
      check(raw_->Delete(wo_, cf_, k), "delete");
    return old;
  }

  std::vector<json> get_group(const std::string& group) override {
    std::vector<json> out;
    scan(group, [&out](const rocksdb::Slice&, const rocksdb::Slice& v) {
      out.push_back(decode_value(v));
    });
    return out;
  }

  std::vector<std::string> keys(const std::string& group) override {
    std::vector<std::string> out;
    const std::size_t skip = group.size() + 1;
    scan(group, [&out, skip](const rocksdb::Slice& k, const rocksdb::Slice&) {
      out.emplace_back(k.data() + skip, k.size() - skip);
    });
    return out;
  }

  std::size_t clear(const std::string& group) override {
    check_group(group);
    std::array<std::unique_lock<std::mutex>, stripes> locks;
    for (std::size_t i = 0; i < stripes; ++i) // in index order: no deadlock
      locks[i] = std::unique_lock<std::mutex>(mutexes_[i]);
    rocksdb::WriteBatch batch;
    std::size_t n = 0;
    scan(group, [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
      check(batch.Delete(cf_, k), "clear");
      ++n;
    });
    if (n > 0)
      check(raw_->Write(wo_, &batch), "clear");
    return n;
  }

  std::vector<std::string> groups() override {
    std::vector<std::string> out;
    rocksdb::ManagedSnapshot snap(raw_);
    rocksdb::ReadOptions ro;
    ro.snapshot = snap.snapshot();
    std::unique_ptr<rocksdb::Iterator> it(raw_->NewIterator(ro, cf_));
    // One seek per group, not one step per key: jump past g "\1".
    for (it->SeekToFirst(); it->Valid();) {
      const rocksdb::Slice k = it->key();
      const auto* nul = static_cast<const char*>(std::memchr(k.data(), '\0', k.size()));
      if (nul == nullptr)
        throw store_error("corrupt state key without a group separator");
      out.emplace_back(k.data(), static_cast<std::size_t>(nul - k.data()));
      it->Seek(out.back() + '\1');
    }
    check(it->status(), "scan");
    return out;
  }

private:
  static constexpr std::size_t stripes = 64;

  std::mutex& stripe(const std::string& k) {
    return mutexes_[std::hash<std::string>{}(k) % stripes];
  }

  std::optional<json> read(const std::string& k) {
    rocksdb::PinnableSlice v;
    const auto s = raw_->Get(rocksdb::ReadOptions(), cf_, k, &v);
    if (s.IsNotFound())
      return std::nullopt;
    check(s, "get");
    return decode_value(v);
  }

  // Calls fn(key, value) for every row of `group`, in key order, as of one
  // snapshot.
  template <class F>
  void scan(const std::string& group, F&& fn) {
    check_group(group);
    const std::string lower = group + '\0';
    const std::string upper_bytes = group + '\1';
    const rocksdb::Slice upper(upper_bytes); // must outlive the iterator
    rocksdb::ManagedSnapshot snap(raw_);
    rocksdb::ReadOptions ro;
    ro.snapshot = snap.snapshot();
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(raw_->NewIterator(ro, cf_));
    for (it->Seek(lower); it->Valid(); it->Next())
      fn(it->key(), it->value());
    check(it->status(), "scan");
  }

  database& db_;
  rocksdb::WriteOptions wo_;
  rocksdb::DB* raw_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::array<std::mutex, stripes> mutexes_;
};

} // namespace

std::unique_ptr<state_store> make_state_store(database& db) {
  return std::make_unique<rocks_state_store>(db);
}

} // namespace motia::rocks
