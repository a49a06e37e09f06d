#pragma once

// The HTTP + WebSocket head. Includes neither Beast nor CAF: the runtime hands
// it a callback and gets plain structs, so this header is cheap to include.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace motia::io {
class io_runtime;
}

namespace motia::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// One parsed request. Header names are lower-case.
struct request {
  std::string method; ///< upper-case, e.g. "GET"
  std::string path;   ///< the path as sent (escapes kept but validated), without the query
  std::string query;  ///< raw query string, without '?'
  header_list headers;
  std::string body;
};

struct response {
  unsigned status = 200;
  header_list headers; ///< content-type defaults to application/json
  std::string body;
};

/// Answers one request. May be called from any thread, exactly once; later
/// calls are ignored. Dropping it without calling answers 500.
class responder {
public:
  virtual ~responder() = default;
  virtual void send(response r) = 0;
};
using responder_ptr = std::shared_ptr<responder>;

/// Called on an io thread for each complete request. Must not block.
using request_handler = std::function<void(request&&, responder_ptr)>;

/// One open WebSocket connection, as the runtime sees it. Implemented by the
/// WebSocket session (ws_session.cpp).
///
/// Thread-safety: every member may be called from any thread; none blocks.
class ws_connection {
public:
  virtual ~ws_connection() = default;
  /// Unique per server run, never 0.
  virtual std::uint64_t id() const = 0;
  /// Queues one text message. Messages leave in the order queued; many queued
  /// messages may leave in one socket write. If the bytes queued and not yet
  /// written would exceed `ws_options::send_queue_limit` the connection is
  /// closed (1008, "send queue full: the client reads too slowly") and the
  /// message dropped. After close, does nothing.
  virtual void send(std::shared_ptr<const std::string> text) = 0;
  /// Sends a close frame with `code` and `reason`, then closes the socket.
  virtual void close(std::uint16_t code, std::string reason) = 0;
};
using ws_connection_ptr = std::shared_ptr<ws_connection>;

/// The answer to an upgrade request's authentication.
struct ws_auth_result {
  bool accepted = true;
  std::string context;       ///< JSON text of the auth context (default "null")
  unsigned status = 401;     ///< HTTP status of a refusal
  std::string message;       ///< why it was refused (in the JSON error body)
};
using ws_auth_done = std::function<void(ws_auth_result)>;

/// What the runtime does with WebSocket connections. Any member may be empty.
/// All run on io threads and must not block.
struct ws_handlers {
  /// Called with the upgrade request (method, path, query, headers; no body)
  /// before the handshake. `done` may be called later from any thread, once.
  /// Refused: the client gets an HTTP response `status` with
  /// `{"error":{"code":"unauthorized","message":...}}` and no upgrade. Empty:
  /// every upgrade is accepted with context "null".
  std::function<void(const request&, ws_auth_done)> authenticate;
  /// After the handshake. `context` is the accepted auth context's JSON text.
  std::function<void(const ws_connection_ptr&, const std::string& context)> on_open;
  /// One complete text message (UTF-8 as sent; not validated further).
  std::function<void(const ws_connection_ptr&, std::string&& text)> on_message;
  /// Once per opened connection, when it is closed for any reason.
  std::function<void(std::uint64_t id)> on_close;
};

struct ws_options {
  std::size_t message_limit = 64 * 1024;       ///< larger client messages: close 1009
  std::size_t send_queue_limit = 4 * 1024 * 1024; ///< bytes queued per connection
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000}; ///< a silent peer gets a ping, then is closed
};

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 3000; ///< 0 picks a free port
  std::size_t body_limit = 1024 * 1024;    ///< larger bodies get 413
  std::size_t header_limit = 16 * 1024;    ///< larger headers get 431
  std::chrono::milliseconds read_timeout{30000}; ///< idle/slow clients are closed
  std::size_t max_pipelined = 16; ///< bounded queue of unanswered requests per connection
  /// WebSocket upgrades (any path) go here. Without `ws.on_open` an upgrade
  /// request is an ordinary request for the request handler.
  ws_handlers ws;
  ws_options ws_limits;
};

/// The HTTP/1.1 server (keep-alive, pipelining). Errors of the HTTP layer
/// (bad syntax 400, body too large 413, headers too large 431) are answered
/// here with a JSON body `{"error": {"code", "message"}}`; everything else goes
/// to the handler.
///
/// Thread-safety: start/stop from one thread; the handler runs on io threads.
class server {
public:
  explicit server(io::io_runtime& io);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and starts accepting. Returns an empty string or the reason it failed.
  std::string start(const server_options& opts, request_handler handler);
  /// The bound port. REQUIRES: start succeeded.
  std::uint16_t port() const;
  /// Stops accepting, closes idle connections and WebSocket connections (1001
  /// "server shutting down"), lets in-flight responses finish up to `grace`,
  /// then closes the rest.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds{5000});

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace motia::http
