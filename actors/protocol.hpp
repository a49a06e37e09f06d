#pragma once

// The actor protocol of the runtime, in one place: every message type (each
// with inspect(), so it serializes and could cross a node) and every actor
// interface as a typed_actor, so the compiler checks who may send what.
//
// Hot data travels as `payload` (msgpack bytes, shared, never a tree).
// Nothing here holds a socket, a callback or a pointer into another actor's
// state: an HTTP request is named by its gateway request id, a WebSocket
// connection by its id.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "core/delivery.hpp"
#include "motia/payload.hpp"

namespace caf {
class actor_system_config;
}

namespace motia {

// -- atoms --------------------------------------------------------------------

using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using rows_atom = caf::atom_constant<caf::atom("rows")>;
using scanned_atom = caf::atom_constant<caf::atom("scanned")>;
using written_atom = caf::atom_constant<caf::atom("written")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using invoked_atom = caf::atom_constant<caf::atom("invoked")>;
using committed_atom = caf::atom_constant<caf::atom("committed")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using pump_atom = caf::atom_constant<caf::atom("pump")>;
using workers_atom = caf::atom_constant<caf::atom("workers")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using fire_atom = caf::atom_constant<caf::atom("fire")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using frame_atom = caf::atom_constant<caf::atom("frame")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using exited_atom = caf::atom_constant<caf::atom("exited")>;
using ws_open_atom = caf::atom_constant<caf::atom("ws_open")>;
using ws_join_atom = caf::atom_constant<caf::atom("ws_join")>;
using ws_leave_atom = caf::atom_constant<caf::atom("ws_leave")>;
using ws_close_atom = caf::atom_constant<caf::atom("ws_close")>;
using ws_auth_atom = caf::atom_constant<caf::atom("ws_auth")>;

// -- messages -----------------------------------------------------------------

/// An HTTP request for an api step, from a gateway. The answer goes to the
/// gateway named here as an api_result with the same `request` id.
struct api_call {
  std::uint64_t request = 0; ///< the gateway's id of the HTTP request
  std::uint64_t node = 0;    ///< which gateway: 0 = this node's
  std::string step;
  payload input; ///< Motia's req: {pathParams, queryParams, body, headers, rawBody}
  std::string trace_id;
  /// The runtime must not check `bodySchema` before the handler (the step has
  /// middleware: its worker asks once the middleware ran).
  bool validate_in_worker = false;
};

/// The answer to an api_call: the handler's value `{status, headers?, body}`
/// or why there is none.
struct api_result {
  std::uint64_t request = 0;
  payload value;
  caf::error error;
  /// An emit of the handler was refused because a queue was full: with an
  /// error this answers 503 + Retry-After.
  bool overloaded = false;
};

/// Rows of one partition, from the queue (new ones after a commit) or from a
/// partition to its step.
struct delivery_batch {
  std::string step;
  std::uint16_t shard = 0;
  std::vector<queued_event> rows;
};

/// How a delivery ended, from the step to its partition.
enum class outcome : std::uint8_t {
  ack,   ///< succeeded: the row goes, `emits` commit with it
  retry, ///< failed, will run again: the row is rewritten (attempts, retryAt)
  bury,  ///< failed for good or invalid: the row moves to the dead letters
};

struct delivery_outcome {
  outcome what = outcome::ack;
  queued_event row; ///< the row as it is now (attempts, error, times)
  /// A native handler's emits, committed atomically with the ack.
  std::vector<queued_event> emits;
  /// The step wants a `committed` report (it holds the row until then).
  bool report = false;
};

/// The commit of a delivery_outcome that asked for a report.
struct commit_report {
  std::uint64_t seq = 0;
  caf::error error;
};

/// What the partition's store scan found.
struct scan_result {
  std::vector<queued_event> rows;
  bool complete = false; ///< fewer rows than asked: nothing above them yet
  std::uint64_t generation = 0; ///< the partition's reset count when it was asked
};

/// The end of one worker invocation run for a step or the hub.
struct invocation_done {
  std::uint64_t token = 0; ///< the caller's (a delivery's seq, a join's id)
  payload value;
  caf::error error;
};

/// One cron tick for a cron step.
struct cron_tick {
  std::string trace_id;
  std::int64_t at_ms = 0; ///< the minute it is for (unix ms)
};

/// A WebSocket client's `join` or `leave` (Motia's stream protocol).
struct ws_subscription {
  std::uint64_t conn = 0;
  std::string stream;
  std::string group;
  std::string id; ///< empty: the whole group
  std::string subscription_id;
};

/// An upgrade request to authenticate: `{headers, url}`, answered through the
/// WebSocket registry under `id`.
struct ws_auth_request {
  std::uint64_t id = 0;
  payload request;
};

/// A stream change or ephemeral event for WebSocket subscribers: the wire text
/// of Motia's stream protocol, shared by every connection it goes to.
struct stream_change {
  std::string stream;
  std::string group;
  std::string id; ///< empty for a group-level send
  std::shared_ptr<const std::string> message;
};

// -- inspect ------------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payload& x) {
  std::string bytes;
  if constexpr (Inspector::reads_state)
    bytes.assign(x.bytes().data(), x.bytes().size());
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x = payload::adopt(std::move(bytes));
    return caf::none;
  });
  return f(caf::meta::type_name("motia.payload"), bytes, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, queued_event& x) {
  return f(caf::meta::type_name("motia.queued_event"), x.seq, x.step, x.shard, x.topic, x.data,
           x.trace_id, x.message_group_id, x.message_id, x.attempts, x.enqueued_at_ms,
           x.retry_at_ms, x.last_error, x.failed_at_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, api_call& x) {
  return f(caf::meta::type_name("motia.api_call"), x.request, x.node, x.step, x.input, x.trace_id,
           x.validate_in_worker);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, api_result& x) {
  return f(caf::meta::type_name("motia.api_result"), x.request, x.value, x.error, x.overloaded);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delivery_batch& x) {
  return f(caf::meta::type_name("motia.delivery_batch"), x.step, x.shard, x.rows);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delivery_outcome& x) {
  return f(caf::meta::type_name("motia.delivery_outcome"), x.what, x.row, x.emits, x.report);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, commit_report& x) {
  return f(caf::meta::type_name("motia.commit_report"), x.seq, x.error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scan_result& x) {
  return f(caf::meta::type_name("motia.scan_result"), x.rows, x.complete, x.generation);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, invocation_done& x) {
  return f(caf::meta::type_name("motia.invocation_done"), x.token, x.value, x.error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cron_tick& x) {
  return f(caf::meta::type_name("motia.cron_tick"), x.trace_id, x.at_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ws_subscription& x) {
  return f(caf::meta::type_name("motia.ws_subscription"), x.conn, x.stream, x.group, x.id,
           x.subscription_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ws_auth_request& x) {
  return f(caf::meta::type_name("motia.ws_auth_request"), x.id, x.request);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_change& x) {
  std::string text;
  if constexpr (Inspector::reads_state)
    if (x.message)
      text = *x.message;
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.message = std::make_shared<const std::string>(std::move(text));
    return caf::none;
  });
  return f(caf::meta::type_name("motia.stream_change"), x.stream, x.group, x.id, text, load);
}

// -- actor interfaces ---------------------------------------------------------

/// The io side's face in the actor world: answers to HTTP requests it sent
/// (a step on another node answers through it; local steps call the gateway
/// directly).
using gateway_actor = caf::typed_actor<caf::reacts_to<api_result>>;

/// One partition (step, shard) of the durable queue: owns its rows, feeds its
/// step, writes the outcomes back (group-committed).
using partition_actor = caf::typed_actor<
  caf::reacts_to<rows_atom, delivery_batch>,    // rows committed for it
  caf::reacts_to<delivery_outcome>,             // from its step
  caf::reacts_to<scanned_atom, scan_result>,    // its own store scan
  caf::reacts_to<flush_atom>,                   // its own: write what gathered
  caf::reacts_to<written_atom, caf::error>,     // its write landed
  caf::reacts_to<ready_atom>,                   // its step (re)started
  caf::replies_to<drain_atom>::with<done_atom>>; // answered once its writes landed

/// One step: runs its handler for HTTP requests, deliveries and cron ticks,
/// within its concurrency limit and FIFO groups, retrying with backoff.
using step_actor = caf::typed_actor<
  caf::reacts_to<api_call>,
  caf::reacts_to<deliver_atom, partition_actor, delivery_batch>,
  caf::reacts_to<invoked_atom, invocation_done>,  // a worker finished a delivery
  caf::reacts_to<committed_atom, commit_report>,  // a native delivery's emits landed
  caf::reacts_to<retry_atom, std::uint64_t>,      // its own: a backoff is over
  caf::reacts_to<pump_atom>,                      // its own: run more native handlers
  caf::reacts_to<workers_atom>,                   // its language's live workers changed
  caf::reacts_to<timeout_atom>,                   // its own: parked api calls may expire
  caf::reacts_to<cron_tick>,
  caf::replies_to<ready_atom>::with<bool>,        // start-up handshake
  caf::replies_to<drain_atom>::with<done_atom>>;  // answered once nothing runs

/// The proxy of one worker process (control only: invocations go straight to
/// its connection).
using worker_actor = caf::typed_actor<
  caf::reacts_to<frame_atom, payload>,            // hello / register / pong
  caf::reacts_to<closed_atom, std::string>,
  caf::reacts_to<exited_atom, int, int>,
  caf::reacts_to<timeout_atom>,                   // start-up deadline
  caf::reacts_to<ping_atom>,                      // its own heartbeat
  caf::replies_to<drain_atom>::with<done_atom>>;

/// The cron scheduler of every cron step.
using cron_actor = caf::typed_actor<caf::reacts_to<fire_atom, std::int64_t>, caf::reacts_to<done_atom>>;

/// The stream hub: WebSocket subscriptions and the fan-out of stream changes.
using hub_actor = caf::typed_actor<
  caf::reacts_to<ws_open_atom, std::uint64_t, std::string>, // conn id, auth context JSON
  caf::reacts_to<ws_join_atom, ws_subscription>,
  caf::reacts_to<ws_leave_atom, ws_subscription>,
  caf::reacts_to<ws_close_atom, std::uint64_t>,
  caf::reacts_to<ws_auth_atom, ws_auth_request>,
  caf::reacts_to<invoked_atom, invocation_done>,            // canAccess / authenticate ran
  caf::reacts_to<stream_change>>;

/// Registers every message type under its portable name (the names every node
/// must share).
void add_message_types(caf::actor_system_config& cfg);

} // namespace motia
