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

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 3000; ///< 0 picks a free port
  std::size_t body_limit = 1024 * 1024;    ///< larger bodies get 413
  std::size_t header_limit = 16 * 1024;    ///< larger headers get 431
  std::chrono::milliseconds read_timeout{30000}; ///< idle/slow clients are closed
  std::size_t max_pipelined = 16; ///< bounded queue of unanswered requests per connection
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
  /// Stops accepting, closes idle connections, lets in-flight responses finish
  /// up to `grace`, then closes the rest.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds{5000});

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace motia::http
