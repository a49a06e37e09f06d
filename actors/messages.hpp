#pragma once

// Atoms and message types shared by the actors. Local-only for now: the types
// are whitelisted as unsafe (not serializable); clustering will add inspect().

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "adapters/http/server.hpp"
#include "adapters/rocksdb/stream_store.hpp"
#include "core/delivery.hpp"
#include "core/step_config.hpp"
#include "motia/json.hpp"

namespace motia {

using api_atom = caf::atom_constant<caf::atom("api")>;
using event_atom = caf::atom_constant<caf::atom("event")>;
using cron_atom = caf::atom_constant<caf::atom("cron")>;
using invoke_atom = caf::atom_constant<caf::atom("invoke")>;
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using frame_atom = caf::atom_constant<caf::atom("frame")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using exited_atom = caf::atom_constant<caf::atom("exited")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using worker_up_atom = caf::atom_constant<caf::atom("worker_up")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using fire_atom = caf::atom_constant<caf::atom("fire")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using pump_atom = caf::atom_constant<caf::atom("pump")>;
using committed_atom = caf::atom_constant<caf::atom("committed")>;
using emitted_atom = caf::atom_constant<caf::atom("emitted")>;
using ws_auth_atom = caf::atom_constant<caf::atom("ws_auth")>;
using ws_open_atom = caf::atom_constant<caf::atom("ws_open")>;
using ws_join_atom = caf::atom_constant<caf::atom("ws_join")>;
using ws_leave_atom = caf::atom_constant<caf::atom("ws_leave")>;
using ws_close_atom = caf::atom_constant<caf::atom("ws_close")>;

/// Deliveries published to a topic's group (or sent to one step on redrive):
/// each step takes the entries with its own name.
using delivery_batch = std::shared_ptr<const std::vector<queued_event>>;

/// An HTTP request routed to an api step. The responder answers the client.
struct api_call {
  json request; ///< Motia's req: pathParams, queryParams, body, headers, rawBody
  std::string trace_id;
  http::responder_ptr responder;
};

/// One handler invocation, as sent to a worker.
struct invocation {
  std::string step;
  step_kind kind = step_kind::api;
  json input;
  std::string trace_id;
  unsigned attempt = 1;
  std::string message_id;
  std::vector<std::string> flows;
  std::chrono::milliseconds deadline{0};
  /// When set, the frame's `kind` instead of `kind` ("canAccess",
  /// "authenticate": docs/protocol.md); handler calls are refused during it.
  std::string special;
};

/// What a handler returned: api response `{status, headers, body}` or null.
struct invocation_result {
  json value;
};

/// What a worker registered after loading its files (the `register` frame).
struct worker_registration {
  json steps;  ///< [{file, config}]
  json errors; ///< [{file, message, line?, stack?}]
  json streams = json::array(); ///< [{file, config: {name, schema?, baseConfig?, canAccess}}]
  bool auth = false;            ///< the stream authenticate hook loaded
};

/// A WebSocket client's `join` or `leave` (Motia's stream protocol).
struct ws_subscription {
  std::uint64_t conn = 0;
  std::string stream;
  std::string group;
  std::string id; ///< empty: the whole group
  std::string subscription_id;
};

/// One upgrade request to authenticate: `{headers, url}` and its answer.
struct ws_auth_reply {
  json request;
  http::ws_auth_done done;
};

} // namespace motia

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(motia::delivery_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(motia::api_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(motia::invocation)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(motia::invocation_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(motia::worker_registration)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(motia::ws_subscription)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(motia::ws_auth_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(motia::http::ws_connection_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(motia::rocks::stream_event)
