#pragma once

#include <functional>
#include <string>
#include <vector>

#include "motia/json.hpp"
#include "motia/payload.hpp"
#include "motia/state_store.hpp"
#include "motia/stream.hpp"

namespace motia {

/// What an api handler receives (Motia's `req`). The request arrives as
/// msgpack bytes; each JSON view is built the first time it is asked for.
///
/// Thread-safety: none; it belongs to the handler call it was made for.
class api_request {
public:
  /// `req` is Motia's req as msgpack: {pathParams, queryParams, body,
  /// headers, rawBody}.
  explicit api_request(payload req = {});
  const json& path_params() const;  ///< name -> string
  const json& query_params() const; ///< name -> string (or array if repeated)
  /// The parsed JSON body; an object for an empty body; a string for a body
  /// that is not JSON (by its content type).
  const json& body() const;
  const json& headers() const;      ///< lower-case name -> value (array if repeated)
  /// The body bytes as received.
  std::string_view raw_body() const;
  /// The whole request as msgpack (no tree built).
  const payload& bytes() const { return req_; }

private:
  const json& view(std::unique_ptr<json>& cache, std::string_view key) const;
  payload req_;
  mutable std::unique_ptr<json> path_params_, query_params_, body_, headers_;
};

/// What an api handler returns (Motia's `{status, headers, body}`).
struct api_response {
  int status = 200;
  json headers = json::object();
  json body;
};

/// Structured logging bound to one invocation: each record is a JSON line
/// carrying level, time, traceId, step, flows, msg and `fields`.
class step_logger {
public:
  virtual ~step_logger() = default;
  virtual void log(std::string_view level, std::string_view msg,
                   const json& fields = json::object()) = 0;
  void info(std::string_view m, const json& f = json::object()) { log("info", m, f); }
  void warn(std::string_view m, const json& f = json::object()) { log("warn", m, f); }
  void error(std::string_view m, const json& f = json::object()) { log("error", m, f); }
  void debug(std::string_view m, const json& f = json::object()) { log("debug", m, f); }
};

/// The context of one handler invocation (Motia's `ctx`).
///
/// Thread-safety: a context belongs to one invocation; use it from the thread
/// that runs the handler, until the handler returns.
class context {
public:
  virtual ~context() = default;
  /// Publishes `data` on `topic`. Throws motia::step_error if the step does
  /// not declare the topic in `emits` (unless `emits` is empty).
  virtual void emit(const std::string& topic, json data,
                    const std::string& message_group_id = {}) = 0;
  /// Alias of emit (Motia 1.0 name).
  void enqueue(const std::string& topic, json data,
               const std::string& message_group_id = {}) {
    emit(topic, std::move(data), message_group_id);
  }
  virtual state_store& state() = 0;
  /// The project's streams (`ctx.streams.<name>` is `streams().set("name", ...)`).
  virtual stream_access& streams() = 0;
  virtual step_logger& logger() = 0;
  virtual const std::string& trace_id() const = 0;
  virtual const std::vector<std::string>& flows() const = 0;
  virtual const std::string& step_name() const = 0;
  /// 1 for the first try, 2 for the first retry, ...
  virtual unsigned attempt() const = 0;
  /// A stable id of the message being handled (empty for api and cron).
  virtual const std::string& message_id() const = 0;
};

/// Thrown by the runtime into a handler for misuse (undeclared emit, ...).
class step_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

using api_handler = std::function<api_response(const api_request&, context&)>;
using event_handler = std::function<void(const json& input, context&)>;
using cron_handler = std::function<void(context&)>;

/// A native (C++, in-process) step: a Motia-shaped config plus one handler
/// matching its type. The config is validated exactly like a JS step's, e.g.
/// `{{"type","api"},{"name","hello"},{"path","/hello"},{"method","GET"}}`.
///
/// Native handlers run on the actor scheduler's threads: they should not block
/// for long. A handler that throws fails the invocation (it is retried for
/// event steps, answered 500 for api steps).
struct step_definition {
  json config;
  api_handler api{};
  event_handler event{};
  cron_handler cron{};
};

} // namespace motia
