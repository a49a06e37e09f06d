#include "adapters/rocksdb/stream_store.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/snapshot.h>

#include "adapters/rocksdb/database.hpp"

// Layout of column family `streams` (docs/formats/rocksdb.md):
//   key   = stream bytes, 0x00, group bytes, 0x00, id bytes
//   value = timestamp (ms, int64, 8 bytes big-endian), then the item's JSON text
// Names never contain 0x00, so the items of one group are exactly the range
// [stream 0 group 0, stream 0 group 1): group "a" never sees group "ab".

namespace motia::rocks {

namespace {

constexpr std::size_t stripe_count = 64;
constexpr std::size_t timestamp_bytes = 8;
/// The issued-timestamp map is pruned when it outgrows this (or twice what
/// survived the last pruning, so a map full of live entries is not rescanned
/// on every change).
constexpr std::size_t prune_floor = 4096;
/// "No stored timestamp": last + 1 stays far below any clock reading.
constexpr std::int64_t no_ts = std::numeric_limits<std::int64_t>::min();

std::int64_t system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void check_name(const std::string& s, const char* what, bool may_be_empty) {
  if (s.empty() && !may_be_empty)
    throw std::invalid_argument(std::string("stream ") + what + " must not be empty");
  if (s.find('\0') != std::string::npos)
    throw std::invalid_argument(std::string("stream ") + what + " must not contain NUL");
}

// JSON text of `j`; nlohmann refuses strings that are not UTF-8.
std::string dump_checked(const json& j, const char* what) {
  try {
    return j.dump();
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string(what) + " is not valid JSON text: " + e.what());
  }
}

void check_status(const rocksdb::Status& s, const char* what) {
  if (!s.ok())
    throw std::runtime_error(std::string("stream ") + what + " failed: " + s.ToString());
}

// Where a call goes: its row key (empty for a group), the group's key prefix,
// and the message fragment `"streamName":S,"groupId":G[,"id":I]`.
struct address {
  std::string key;
  std::string prefix;
  std::string names;
};

address make_address(const std::string& stream, const std::string& group, const std::string& id,
                     bool id_required) {
  check_name(stream, "name", false);
  check_name(group, "group id", false);
  check_name(id, "item id", !id_required);
  address a;
  a.prefix.reserve(stream.size() + group.size() + 2);
  a.prefix.append(stream).push_back('\0');
  a.prefix.append(group).push_back('\0');
  a.names = "\"streamName\":" + dump_checked(stream, "stream name")
            + ",\"groupId\":" + dump_checked(group, "stream group id");
  if (!id.empty()) {
    a.key = a.prefix + id;
    a.names += ",\"id\":" + dump_checked(id, "stream item id");
  }
  return a;
}

std::string encode_value(std::int64_t ts, const std::string& text) {
  std::string v(timestamp_bytes, '\0');
  auto u = static_cast<std::uint64_t>(ts);
  for (std::size_t i = timestamp_bytes; i-- > 0; u >>= 8)
    v[i] = static_cast<char>(u & 0xff);
  return v.append(text);
}

void check_value(const rocksdb::Slice& v) {
  if (v.size() < timestamp_bytes)
    throw std::runtime_error("corrupt stream value: shorter than its timestamp");
}

std::int64_t value_ts(const rocksdb::Slice& v) {
  check_value(v);
  std::uint64_t u = 0;
  for (std::size_t i = 0; i < timestamp_bytes; ++i)
    u = (u << 8) | static_cast<unsigned char>(v.data()[i]);
  return static_cast<std::int64_t>(u);
}

std::string_view value_text(const rocksdb::Slice& v) {
  check_value(v);
  return {v.data() + timestamp_bytes, v.size() - timestamp_bytes};
}

json parse_item(std::string_view text) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw std::runtime_error(std::string("corrupt stream item: ") + e.what());
  }
}

// `{"timestamp":T,<names>,"event":<event>}`, the stored item text spliced in
// as is: it is JSON this store wrote.
std::string make_message(std::int64_t ts, const address& a, std::string_view event) {
  std::string m;
  m.reserve(40 + a.names.size() + event.size());
  m.append("{\"timestamp\":").append(std::to_string(ts)).push_back(',');
  m.append(a.names).append(",\"event\":").append(event).push_back('}');
  return m;
}

std::string data_event(std::string_view type, std::string_view data) {
  std::string e;
  e.reserve(30 + data.size());
  e.append("{\"type\":\"").append(type).append("\",\"data\":").append(data).push_back('}');
  return e;
}

struct stored_item {
  std::int64_t ts;
  std::string text;
};

} // namespace

// Thread-safety: a change (set, del, item send, item sync) holds the stripe
// mutex of its row key from reading the old value to calling the listener, so
// one item's changes are ordered and announced in that order. issued_mutex
// guards the issued-timestamp map and is always taken last. Reads take no
// lock: RocksDB reads are consistent on their own.
struct stream_store::impl {
  impl(database& db, clock clock_fn)
      : raw(db.db()), cf(db.cf("streams")), now(std::move(clock_fn)) {
    // Streams are live data: in either durability mode a write goes to the
    // WAL unsynced and survives a crash of the process, not of the machine.
    wo = db.write_options();
    wo.sync = false;
    if (!now)
      now = system_now_ms;
  }

  std::mutex& stripe(const std::string& key) {
    return stripes[std::hash<std::string>{}(key) % stripe_count];
  }

  std::optional<stored_item> read(const std::string& key) {
    rocksdb::PinnableSlice v;
    const auto s = raw->Get(rocksdb::ReadOptions(), cf, key, &v);
    if (s.IsNotFound())
      return std::nullopt;
    check_status(s, "get");
    return stored_item{value_ts(v), std::string(value_text(v))};
  }

  // The timestamp of a change to item `a.key` whose stored timestamp is
  // `stored`: max(now, last + 1), remembered for the item and its group.
  std::int64_t issue(const address& a, std::int64_t stored) {
    std::lock_guard<std::mutex> guard(issued_mutex);
    const std::int64_t t_now = now();
    std::int64_t last = stored;
    if (const auto it = issued.find(a.key); it != issued.end())
      last = std::max(last, it->second);
    const std::int64_t ts = std::max(t_now, last + 1);
    issued[a.key] = ts;
    // The group's entry (its key prefix, which no item key equals) holds the
    // newest timestamp of any of its items, deleted ones included, for the
    // group sync.
    auto& group_ts = issued.try_emplace(a.prefix, ts).first->second;
    group_ts = std::max(group_ts, ts);
    if (issued.size() > prune_at)
      prune(t_now);
    return ts;
  }

  // An entry below the clock can no longer raise a timestamp: now alone
  // exceeds it. REQUIRES: issued_mutex held.
  void prune(std::int64_t t_now) {
    for (auto it = issued.begin(); it != issued.end();)
      it = it->second < t_now ? issued.erase(it) : std::next(it);
    prune_at = std::max(prune_floor, 2 * issued.size());
  }

  std::int64_t group_sync_ts(const address& a, std::int64_t newest_stored) {
    std::lock_guard<std::mutex> guard(issued_mutex);
    std::int64_t ts = std::max(now(), newest_stored);
    if (const auto it = issued.find(a.prefix); it != issued.end())
      ts = std::max(ts, it->second);
    return ts;
  }

  // Calls fn(value) for every item of the group `prefix`, in id order, as of
  // one snapshot.
  template <class F> void scan(const std::string& prefix, F&& fn) {
    std::string upper_bytes = prefix;
    upper_bytes.back() = '\1';
    const rocksdb::Slice upper(upper_bytes); // must outlive the iterator
    rocksdb::ManagedSnapshot snap(raw);
    rocksdb::ReadOptions ro;
    ro.snapshot = snap.snapshot();
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator(ro, cf));
    for (it->Seek(prefix); it->Valid(); it->Next())
      fn(it->value());
    check_status(it->status(), "scan");
  }

  void announce(const std::string& stream, const std::string& group, const std::string& id,
                std::string message) {
    if (on_change)
      on_change(
          stream_event{stream, group, id, std::make_shared<const std::string>(std::move(message))});
  }

  rocksdb::DB* raw;
  rocksdb::ColumnFamilyHandle* cf;
  rocksdb::WriteOptions wo;
  clock now;
  listener on_change;
  std::array<std::mutex, stripe_count> stripes;
  std::mutex issued_mutex;
  std::unordered_map<std::string, std::int64_t> issued;
  std::size_t prune_at = prune_floor;
};

stream_store::stream_store(database& db, clock now)
    : impl_(std::make_unique<impl>(db, std::move(now))) {
  if (impl_->cf == nullptr)
    throw std::runtime_error("stream store: column family `streams` is not open");
}

stream_store::~stream_store() = default;

void stream_store::set_listener(listener l) {
  impl_->on_change = std::move(l);
}

std::optional<json> stream_store::get(const std::string& stream, const std::string& group,
                                      const std::string& id) {
  const address a = make_address(stream, group, id, true);
  auto item = impl_->read(a.key);
  if (!item)
    return std::nullopt;
  return parse_item(item->text);
}

json stream_store::get_group(const std::string& stream, const std::string& group) {
  const address a = make_address(stream, group, {}, false);
  json items = json::array();
  impl_->scan(a.prefix,
              [&items](const rocksdb::Slice& v) { items.push_back(parse_item(value_text(v))); });
  return items;
}

json stream_store::set(const std::string& stream, const std::string& group, const std::string& id,
                       json data) {
  const address a = make_address(stream, group, id, true);
  if (!data.is_object())
    throw std::invalid_argument("stream item data must be a JSON object");
  data["id"] = id;
  const std::string text = dump_checked(data, "stream item");
  std::lock_guard<std::mutex> guard(impl_->stripe(a.key));
  const auto old = impl_->read(a.key);
  const std::int64_t ts = impl_->issue(a, old ? old->ts : no_ts);
  check_status(impl_->raw->Put(impl_->wo, impl_->cf, a.key, encode_value(ts, text)), "put");
  impl_->announce(stream, group, id,
                  make_message(ts, a, data_event(old ? "update" : "create", text)));
  return data;
}

std::optional<json> stream_store::del(const std::string& stream, const std::string& group,
                                      const std::string& id) {
  const address a = make_address(stream, group, id, true);
  std::lock_guard<std::mutex> guard(impl_->stripe(a.key));
  auto old = impl_->read(a.key);
  if (!old)
    return std::nullopt;
  const std::int64_t ts = impl_->issue(a, old->ts);
  check_status(impl_->raw->Delete(impl_->wo, impl_->cf, a.key), "delete");
  impl_->announce(stream, group, id, make_message(ts, a, data_event("delete", old->text)));
  return parse_item(old->text);
}

void stream_store::send(const std::string& stream, const std::string& group, const std::string& id,
                        const json& event) {
  const address a = make_address(stream, group, id, false);
  if (!event.is_object())
    throw std::invalid_argument("stream event must be a JSON object");
  const auto type = event.find("type");
  if (type == event.end() || !type->is_string() || type->get_ref<const std::string&>().empty())
    throw std::invalid_argument("stream event needs a non-empty string `type`");
  const std::string body =
      "{\"type\":\"event\",\"event\":" + dump_checked(event, "stream event") + "}";
  if (id.empty()) { // clients do not order group events: the clock will do
    impl_->announce(stream, group, id, make_message(impl_->now(), a, body));
    return;
  }
  std::lock_guard<std::mutex> guard(impl_->stripe(a.key));
  const auto item = impl_->read(a.key);
  const std::int64_t ts = impl_->issue(a, item ? item->ts : no_ts);
  impl_->announce(stream, group, id, make_message(ts, a, body));
}

std::shared_ptr<const std::string> stream_store::sync_message(const std::string& stream,
                                                              const std::string& group,
                                                              const std::string& id) {
  const address a = make_address(stream, group, id, false);
  if (id.empty()) {
    std::string data = "[";
    std::int64_t newest = no_ts;
    impl_->scan(a.prefix, [&](const rocksdb::Slice& v) {
      newest = std::max(newest, value_ts(v));
      if (data.size() > 1)
        data.push_back(',');
      data.append(value_text(v));
    });
    data.push_back(']');
    const std::int64_t ts = impl_->group_sync_ts(a, newest);
    return std::make_shared<const std::string>(make_message(ts, a, data_event("sync", data)));
  }
  // A fresh timestamp, so that the item's next change is newer than this sync.
  std::lock_guard<std::mutex> guard(impl_->stripe(a.key));
  const auto item = impl_->read(a.key);
  const std::int64_t ts = impl_->issue(a, item ? item->ts : no_ts);
  return std::make_shared<const std::string>(
      make_message(ts, a, data_event("sync", item ? std::string_view(item->text) : "null")));
}

} // namespace motia::rocks
