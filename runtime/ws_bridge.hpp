#pragma once

// The WebSocket side of the stream hub: the HTTP server's WebSocket callbacks
// (io threads) become hub messages that name connections by id; the hub
// reaches a connection through the registry.

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "adapters/http/server.hpp"

namespace motia {

struct runtime_env;

/// Open WebSocket connections and upgrade requests waiting to be
/// authenticated, by id.
///
/// Thread-safety: every member from any thread.
class ws_registry {
public:
  void add(const http::ws_connection_ptr& c);
  void remove(std::uint64_t id);
  http::ws_connection_ptr get(std::uint64_t id) const;
  /// Keeps `done` until complete_auth(id) (or forever: the upgrade times out).
  std::uint64_t add_auth(http::ws_auth_done done);
  void complete_auth(std::uint64_t id, http::ws_auth_result r);

private:
  mutable std::mutex mtx_;
  std::unordered_map<std::uint64_t, http::ws_connection_ptr> conns_;
  std::unordered_map<std::uint64_t, http::ws_auth_done> auths_;
  std::uint64_t next_auth_ = 0;
};

/// The WebSocket handlers that feed the hub: messages are parsed on the io
/// thread (malformed ones answered with a BAD_MESSAGE error event there).
/// With `authenticate` false every upgrade is accepted.
http::ws_handlers make_ws_handlers(std::shared_ptr<runtime_env> env, bool authenticate);

} // namespace motia
