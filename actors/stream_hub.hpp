#pragma once

// The stream hub: WebSocket subscriptions (Motia's stream protocol) and the
// fan-out of stream changes to them.

#include <chrono>

#include <caf/fwd.hpp>

#include "adapters/http/server.hpp"
#include "core/step_config.hpp"
#include "motia/stream.hpp"

namespace motia {

struct runtime_services;
class actor_slot;
namespace rocks {
class stream_store;
}

struct stream_hub_settings {
  unsigned max_subscriptions = 1024; ///< per connection
  /// The project's authenticate hook: native, or run by the pool of the
  /// worker language that loaded it (nullptr: none).
  stream_authenticator native_auth;
  actor_slot* auth_pool = nullptr;
  /// The pool of a worker language (canAccess of its streams), or nullptr.
  std::function<actor_slot*(step_language)> pool_of;
  std::chrono::milliseconds hook_timeout{10000};
};

/// Spawns the hub. It keeps every connection's subscriptions, answers joins
/// (canAccess, then a `sync` and the subscription), leaves and closes, and
/// sends each stream_event to the connections subscribed to its item or its
/// group (once per connection). It never blocks on a client: sends go to each
/// connection's bounded queue.
///
/// Messages: (ws_open_atom, ws_connection_ptr, std::string context);
/// (ws_join_atom | ws_leave_atom, ws_subscription); (ws_close_atom, uint64);
/// (ws_auth_atom, ws_auth_reply); rocks::stream_event.
caf::actor spawn_stream_hub(caf::actor_system& sys, runtime_services& svc, rocks::stream_store& store,
                            stream_hub_settings settings);

/// The WebSocket handlers that feed `hub`: messages are parsed on the io
/// thread (malformed ones answered with a BAD_MESSAGE error event there).
/// With `authenticate` false every upgrade is accepted.
http::ws_handlers make_ws_handlers(const caf::actor& hub, bool authenticate);

} // namespace motia
