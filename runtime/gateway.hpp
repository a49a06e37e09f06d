#pragma once

// The HTTP gateway: the io side of api steps. It routes each request with
// the current project snapshot, turns it into msgpack once (Motia's `req`),
// checks `bodySchema`, and sends the step an api_call that names the request
// by a number. The answer comes back by that number, from a worker
// connection (a worker step's result, on the io thread, with no actor in
// between), from a native step actor, or from another node; the gateway turns
// it into the HTTP response once. Responders (sockets) never leave this
// object.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "actors/protocol.hpp"
#include "adapters/http/server.hpp"
#include "adapters/process/worker_process.hpp"
#include "core/snapshot.hpp"

namespace motia {

struct runtime_env;

/// Answers a request itself (admin endpoints) and returns true, or returns
/// false to let the gateway route it.
using request_filter = std::function<bool(http::request&, http::responder_ptr&)>;

/// Thread-safety: handle() on io threads; complete()/on_result()/sweep()
/// from any thread.
class gateway final : public process::result_sink, public std::enable_shared_from_this<gateway> {
public:
  explicit gateway(std::weak_ptr<runtime_env> env);

  /// Requests this filter answers never reach a step (the admin API).
  void set_filter(request_filter f) { filter_ = std::move(f); }

  /// The HTTP server's request handler.
  void handle(http::request&& req, http::responder_ptr out);

  /// The answer to request `r.request` (unknown ids are ignored: answered
  /// already, or timed out).
  void complete(api_result&& r);

  /// A worker's result for an api invocation (token = request id).
  void on_result(std::uint64_t token, process::invocation_outcome&& out) override;

  /// Answers 504 to requests past their deadline (no answer came back, e.g.
  /// from another node). Called periodically.
  void sweep();

  /// Requests waiting for their answer.
  std::size_t pending() const;

private:
  struct pending_request {
    http::responder_ptr out;
    snapshot_ptr snap;
    const step_info* step = nullptr;
    std::string trace_id;
    std::chrono::steady_clock::time_point deadline;
  };

  void dispatch(http::request&& req, http::responder_ptr out, const snapshot_ptr& snap);
  void respond(pending_request& p, api_result&& r);

  std::weak_ptr<runtime_env> env_;
  request_filter filter_;
  mutable std::mutex mtx_;
  std::uint64_t next_id_ = 0;
  std::unordered_map<std::uint64_t, pending_request> pending_;
};

} // namespace motia
