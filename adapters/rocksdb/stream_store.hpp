#pragma once

// Stream item snapshots in RocksDB (column family `streams`) and the messages
// of Motia's stream protocol that their changes produce.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "motia/json.hpp"

namespace motia::rocks {

class database;

/// One message for WebSocket subscribers: the wire text (Motia's stream
/// client protocol, docs/streams.md) and where it goes. `id` is empty for a
/// group-level `send`; item changes and item sends reach the subscribers of
/// the item and of its group.
struct stream_event {
  std::string stream;
  std::string group;
  std::string id;
  std::shared_ptr<const std::string> message;
};

/// The items of every stream: key `stream 0x00 group 0x00 id`, value an 8-byte
/// big-endian timestamp (ms) followed by the item's JSON text
/// (docs/formats/rocksdb.md). Items are JSON objects that carry their `id`.
///
/// Timestamps increase strictly per item, also across restarts and within one
/// millisecond: a change gets max(now, last timestamp of the item + 1), where
/// the last timestamp is the stored one or the last one this store issued for
/// the item (incl. deletes, sends and syncs). Motia's clients drop messages
/// whose timestamp is not newer than what they hold.
///
/// Every change calls the listener with its message, under the item's lock,
/// so the listener sees changes of one item in the order they were made.
///
/// Thread-safety: every member may be called from any thread; set_listener
/// before the first change. Errors: std::invalid_argument for an empty
/// stream, group or id, a NUL in any of them, text that is not UTF-8, `data`
/// that is not an object, or a `send` event that is not an object with a
/// non-empty string `type`; std::runtime_error when RocksDB fails.
class stream_store {
public:
  using listener = std::function<void(stream_event&&)>;
  using clock = std::function<std::int64_t()>; ///< wall clock in ms since the epoch

  /// An empty `now` means the system clock.
  explicit stream_store(database& db, clock now = {});
  ~stream_store();
  stream_store(const stream_store&) = delete;
  stream_store& operator=(const stream_store&) = delete;

  /// Must not block; runs on the writer's thread under the item's lock.
  void set_listener(listener l);

  std::optional<json> get(const std::string& stream, const std::string& group, const std::string& id);
  /// The group's items by id (byte order); an empty array if none.
  json get_group(const std::string& stream, const std::string& group);
  /// Stores `data` with `id` set; announces `create` (new id) or `update`.
  /// Returns the item.
  json set(const std::string& stream, const std::string& group, const std::string& id, json data);
  /// Removes the item; announces `delete` with the removed item. Returns it,
  /// or nullopt (nothing announced) if there was none.
  std::optional<json> del(const std::string& stream, const std::string& group, const std::string& id);
  /// Announces an ephemeral event `{"type":"event","event":event}` to the group
  /// (`id` empty) or the item. Stores nothing. `event` must be an object.
  void send(const std::string& stream, const std::string& group, const std::string& id, const json& event);
  /// The `sync` message a joining subscriber gets first: the item (data null
  /// if missing) with a freshly issued timestamp, or, for `id` empty, the
  /// group's items with timestamp max(now, newest timestamp of the group's
  /// items, deleted ones this process still remembers included). Send it to
  /// a new subscriber before any change announced after it subscribed.
  std::shared_ptr<const std::string> sync_message(const std::string& stream, const std::string& group,
                                                  const std::string& id);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace motia::rocks
