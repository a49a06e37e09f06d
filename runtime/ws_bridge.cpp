// The WebSocket side of the stream hub: turns the HTTP server's WebSocket
// callbacks (io threads) into hub messages. Client messages are parsed here,
// so the hub only sees valid joins and leaves.

#include "runtime/ws_bridge.hpp"

#include <caf/send.hpp>

#include "actors/protocol.hpp"
#include "runtime/runtime_env.hpp"
#include "runtime/streams.hpp"

namespace motia {

namespace {

void bad_message(const http::ws_connection_ptr& conn, const std::string& why) {
  conn->send(stream_error_event({}, {}, {}, "BAD_MESSAGE", why));
}

bool valid_name(const json& v) {
  if (!v.is_string())
    return false;
  const auto& s = v.get_ref<const std::string&>();
  return !s.empty() && s.find('\0') == std::string::npos;
}

// `{"type": "join"|"leave", "data": {streamName, groupId, id?, subscriptionId}}`.
// Returns the error text, or "" with `out` filled.
std::string parse_message(const std::string& text, bool& join, ws_subscription& out) {
  auto msg = json::parse(text, nullptr, false);
  if (msg.is_discarded())
    return "the message is not valid JSON";
  if (!msg.is_object() || !msg.contains("type") || !msg["type"].is_string())
    return "a message must be an object with a string 'type'";
  const auto& type = msg["type"].get_ref<const std::string&>();
  if (type != "join" && type != "leave")
    return "unknown message type '" + type + "' (expected join or leave)";
  join = type == "join";
  auto it = msg.find("data");
  if (it == msg.end() || !it->is_object())
    return "'" + type + "' needs an object 'data'";
  auto& d = *it;
  for (const char* key : {"streamName", "groupId", "subscriptionId"})
    if (!d.contains(key) || !valid_name(d[key]))
      return std::string("'data.") + key + "' must be a non-empty string";
  if (d.contains("id") && !d["id"].is_null() && !valid_name(d["id"]))
    return "'data.id' must be a non-empty string when present";
  out.stream = d["streamName"].get<std::string>();
  out.group = d["groupId"].get<std::string>();
  out.subscription_id = d["subscriptionId"].get<std::string>();
  if (d.contains("id") && d["id"].is_string())
    out.id = d["id"].get<std::string>();
  return {};
}

json request_json(const http::request& req) {
  json headers = json::object();
  for (auto& [name, value] : req.headers) {
    auto it = headers.find(name);
    if (it == headers.end())
      headers[name] = value;
    else // repeated header: joined as Node does
      *it = it->get<std::string>() + ", " + value;
  }
  std::string url = req.path;
  if (!req.query.empty())
    url += "?" + req.query;
  return {{"headers", std::move(headers)}, {"url", std::move(url)}};
}

} // namespace

void ws_registry::add(const http::ws_connection_ptr& c) {
  std::lock_guard<std::mutex> g(mtx_);
  conns_[c->id()] = c;
}

void ws_registry::remove(std::uint64_t id) {
  std::lock_guard<std::mutex> g(mtx_);
  conns_.erase(id);
}

http::ws_connection_ptr ws_registry::get(std::uint64_t id) const {
  std::lock_guard<std::mutex> g(mtx_);
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second;
}

std::uint64_t ws_registry::add_auth(http::ws_auth_done done) {
  std::lock_guard<std::mutex> g(mtx_);
  auths_.emplace(++next_auth_, std::move(done));
  return next_auth_;
}

void ws_registry::complete_auth(std::uint64_t id, http::ws_auth_result r) {
  http::ws_auth_done done;
  {
    std::lock_guard<std::mutex> g(mtx_);
    auto it = auths_.find(id);
    if (it == auths_.end())
      return;
    done = std::move(it->second);
    auths_.erase(it);
  }
  done(std::move(r));
}

http::ws_handlers make_ws_handlers(std::shared_ptr<runtime_env> env, bool authenticate) {
  std::weak_ptr<runtime_env> weak = env;
  auto hub = [weak]() -> hub_actor {
    auto e = weak.lock();
    return e ? e->hub : hub_actor{};
  };
  http::ws_handlers h;
  if (authenticate)
    h.authenticate = [weak, hub](const http::request& req, http::ws_auth_done done) {
      auto e = weak.lock();
      if (!e)
        return;
      auto id = e->ws->add_auth(std::move(done));
      caf::anon_send(hub(), ws_auth_atom::value, ws_auth_request{id, payload::from_json(request_json(req))});
    };
  h.on_open = [weak, hub](const http::ws_connection_ptr& conn, const std::string& context) {
    if (auto e = weak.lock())
      e->ws->add(conn);
    caf::anon_send(hub(), ws_open_atom::value, conn->id(), context);
  };
  h.on_message = [hub](const http::ws_connection_ptr& conn, std::string&& text) {
    bool join = false;
    ws_subscription sub;
    auto err = parse_message(text, join, sub);
    if (!err.empty())
      return bad_message(conn, err);
    sub.conn = conn->id();
    if (join)
      caf::anon_send(hub(), ws_join_atom::value, std::move(sub));
    else
      caf::anon_send(hub(), ws_leave_atom::value, std::move(sub));
  };
  h.on_close = [weak, hub](std::uint64_t id) {
    if (auto e = weak.lock())
      e->ws->remove(id);
    caf::anon_send(hub(), ws_close_atom::value, id);
  };
  return h;
}

} // namespace motia
