#pragma once

// The stream hub: WebSocket subscriptions (Motia's stream protocol) and the
// fan-out of stream changes to them.

#include <chrono>
#include <memory>

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"

namespace motia {

struct runtime_env;

struct stream_hub_settings {
  unsigned max_subscriptions = 1024; ///< per connection
  std::chrono::milliseconds hook_timeout{10000}; ///< canAccess and authenticate
};

/// Spawns the hub. It keeps every connection's subscriptions, answers joins
/// (canAccess, then a `sync` and the subscription in one step, so no change
/// falls between them), leaves and closes, and sends each stream_change to
/// the connections subscribed to its item or its group (once per
/// connection). It never blocks on a client: sends go to each connection's
/// bounded queue. canAccess and the authenticate hook run natively or on a
/// worker of the stream's (hook's) language, taken from the current snapshot.
hub_actor spawn_stream_hub(caf::actor_system& sys, std::shared_ptr<runtime_env> env, stream_hub_settings settings);

} // namespace motia
