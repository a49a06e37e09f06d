// The WebSocket side of the stream hub: turns the HTTP server's WebSocket
// callbacks (io threads) into hub messages. Client messages are parsed here,
// so the hub only sees valid joins and leaves.

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/stream_hub.hpp"
#include "actors/streams.hpp"

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

http::ws_handlers make_ws_handlers(const caf::actor& hub, bool authenticate) {
  http::ws_handlers h;
  if (authenticate)
    h.authenticate = [hub](const http::request& req, http::ws_auth_done done) {
      caf::anon_send(hub, ws_auth_atom::value, ws_auth_reply{request_json(req), std::move(done)});
    };
  h.on_open = [hub](const http::ws_connection_ptr& conn, const std::string& context) {
    caf::anon_send(hub, ws_open_atom::value, conn, context);
  };
  h.on_message = [hub](const http::ws_connection_ptr& conn, std::string&& text) {
    bool join = false;
    ws_subscription sub;
    auto err = parse_message(text, join, sub);
    if (!err.empty())
      return bad_message(conn, err);
    sub.conn = conn->id();
    if (join)
      caf::anon_send(hub, ws_join_atom::value, std::move(sub));
    else
      caf::anon_send(hub, ws_leave_atom::value, std::move(sub));
  };
  h.on_close = [hub](std::uint64_t id) { caf::anon_send(hub, ws_close_atom::value, id); };
  return h;
}

} // namespace motia
