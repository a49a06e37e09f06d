#pragma once

// Streams: live data pushed to WebSocket subscribers (Motia's `ctx.streams`).

#include <functional>
#include <string>

#include "motia/json.hpp"

namespace motia {

/// Reads and writes the items of the project's streams (Motia's
/// `ctx.streams.<name>`). An item is a JSON object carrying its `id`. Every
/// change reaches the item's and its group's WebSocket subscribers.
///
/// Thread-safety: every member may be called from any thread.
/// Errors: std::invalid_argument for an unknown stream, an empty `group`/`id`
/// (or one containing NUL) or `data` that is not an object; std::runtime_error
/// when storage fails.
class stream_access {
public:
  virtual ~stream_access() = default;
  /// The item, or null.
  virtual json get(const std::string& stream, const std::string& group, const std::string& id) = 0;
  /// Stores `data` with `id` set and returns the item. A new id reaches
  /// subscribers as `create`, an existing one as `update`.
  virtual json set(const std::string& stream, const std::string& group, const std::string& id,
                   json data) = 0;
  /// Removes the item and returns it (null if there was none; then nothing is sent).
  virtual json del(const std::string& stream, const std::string& group, const std::string& id) = 0;
  /// Every item of the group, by id order.
  virtual json get_group(const std::string& stream, const std::string& group) = 0;
  /// An ephemeral `event` `{type, data}` to the subscribers of the group (`id`
  /// empty) or of one item (and its group). Nothing is stored.
  virtual void send(const std::string& stream, const std::string& group, const std::string& id,
                    json event) = 0;
};

/// A native stream: `config` is Motia's `{name, schema?, baseConfig?}`.
/// `can_access(subscription {groupId, id?}, authContext)` decides joins; empty
/// allows every join. It runs on the actor scheduler and must not block.
struct stream_definition {
  json config;
  std::function<bool(const json& subscription, const json& auth_context)> can_access{};
};

/// The project's stream authentication hook: gets `{headers, url}` of a
/// WebSocket upgrade request and returns the auth context (any JSON) or
/// throws to refuse the connection (401 with the exception's message).
using stream_authenticator = std::function<json(const json& request)>;

} // namespace motia
