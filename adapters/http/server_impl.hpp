#pragma once

// Private to adapters/http: what server.cpp (listener, stop), session.cpp
// (the Beast HTTP session) and ws_session.cpp (the WebSocket session) share.
// Asio only, no Beast, so server.cpp stays cheap to compile.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "adapters/http/server.hpp"

namespace motia::http::detail {

/// What stop() needs from a connection. Both calls may come from any thread;
/// they post to the connection's strand.
class connection {
public:
  virtual ~connection() = default;
  /// Stop reading new requests: close now if idle, else after the responses
  /// already owed are written (each with `Connection: close`).
  virtual void shutdown() = 0;
  /// Close the socket now, dropping whatever is unanswered.
  virtual void force_close() = 0;
};

/// State shared by the listener and every session; outlives the server object
/// while sessions still hold it.
///
/// Thread-safety: `opts` and `handler` are immutable after start; the session
/// registry is guarded by `mu`.
class server_state {
public:
  server_state(server_options o, request_handler h) : opts(std::move(o)), handler(std::move(h)) {}

  const server_options opts;
  const request_handler handler;

  /// Registers a live connection. False once stopping (the caller must close).
  bool add(connection* c, std::weak_ptr<connection> w);
  /// Unregisters; called once by a connection when it closes its socket.
  void remove(connection* c);
  /// From now on add() fails.
  void begin_stop();
  bool stopping() const;
  std::vector<std::shared_ptr<connection>> live() const;
  /// Waits until no connection is registered or `timeout` passed.
  bool wait_empty_for(std::chrono::milliseconds timeout);

private:
  mutable std::mutex mu_;
  std::condition_variable empty_;
  bool stopping_ = false;
  std::unordered_map<connection*, std::weak_ptr<connection>> conns_;
};

/// The peer going away, a timeout or our own close: not worth a line on
/// stderr (session.cpp; the WebSocket session adds its protocol errors).
bool is_expected(const boost::system::error_code& ec);

/// Starts an HTTP session on an accepted socket (session.cpp).
void start_session(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<server_state> state);

/// Continues a connection whose request `upgrade` asked for a WebSocket
/// (ws_session.cpp): authentication, handshake, then the WebSocket session,
/// registered with `state` like an HTTP session. `buffered` holds the bytes
/// already read after the request. Call on the socket's strand, with no
/// operation pending on the socket.
void start_ws_session(boost::asio::ip::tcp::socket&& socket, std::string buffered, request&& upgrade,
                      std::shared_ptr<server_state> state);

/// Splits a request target into its raw path and raw query, checking the
/// path's percent-escapes. False on a bad escape or an escaped NUL (answered 400).
bool split_target(std::string_view target, std::string& path, std::string& query);

} // namespace motia::http::detail
